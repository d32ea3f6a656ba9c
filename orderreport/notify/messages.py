"""What a notification says, in the account owner's language, before any channel formats it."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from orderreport.display import neutralise
from orderreport.money import format_money
from orderreport.notify import digest
from orderreport.notify.models import Delivery
from orderreport.notify.outbox import account_of
from orderreport.times import format_day, format_moment

# Telegram caps a message at 4096 characters; one very long customer value must not push the
# rest of the order out, so every customer string is shortened for display (never stored so).
MAX_VALUE_CHARS = 300


@dataclass
class Product:
    name: str
    count: int
    price: str


@dataclass
class Message:
    title: str
    project: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)
    data: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""
    link: str = ""
    link_label: str = ""

    @property
    def subject(self) -> str:
        return f"{self.title} · {self.project}"


def short(value: object) -> str:
    """A customer string as a message shows it: control and bidi characters escaped (a CR/LF
    must not start a fake line in a mail or Telegram body), cut to MAX_VALUE_CHARS."""
    text = neutralise(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def language_of(delivery: Delivery) -> str:
    language = account_of(delivery).owner.language
    return language if language in dict(settings.LANGUAGES) else "en"


def order_url(project_id: int, order_pk: int) -> str:
    return f"{settings.BASE_URL}/projects/{project_id}/orders/{order_pk}/"


def build_message(delivery: Delivery) -> Message:
    """The message for a delivery, in its account owner's language."""
    language = language_of(delivery)
    with translation.override(language):
        return _build(delivery, language)


def _local_time(delivery: Delivery, when: dt.datetime) -> str:
    """The time in the project's zone and the owner's language, the zone named after it."""
    assert delivery.channel is not None
    try:
        zone = zoneinfo.ZoneInfo(delivery.channel.project.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return f"{format_moment(when, zone, language_of(delivery))} ({zone.key})"


def _data_pairs(items: object) -> list[tuple[str, str]]:
    if not isinstance(items, list):
        return []
    return [(short(d.get("name", "")), short(d.get("value", ""))) for d in items]


def _build(delivery: Delivery, language: str) -> Message:
    message = _build_message(delivery, language)
    if delivery.order is not None and delivery.order.is_test:
        # The integration page's test order: the owner sees the channel work, and sees that
        # this order is not business (every channel shows the title and the note).
        message.title = _("[TEST] %(title)s") % {"title": message.title}
        message.note = _(
            "A test order from the integration page: not counted against the plan or in reports."
        )
    return message


def _build_message(delivery: Delivery, language: str) -> Message:
    channel = delivery.channel
    project = neutralise(channel.project.name) if channel else ""
    if delivery.topic == Delivery.Topic.ORDER and delivery.order is not None:
        order = delivery.order
        message = Message(
            title=_("New order %(id)s") % {"id": short(order.external_id)},
            project=project,
            link=order_url(order.project_id, order.pk),
            link_label=_("Open the order"),
        )
        message.fields.append((_("Total"), format_money(order.total, order.currency, language)))
        for label, value in (
            (_("Customer"), order.username),
            (_("E-mail"), order.email),
            (_("Phone"), order.phone),
        ):
            if value:
                message.fields.append((label, short(value)))
        message.fields.append((_("Received"), _local_time(delivery, order.received_at)))
        for p in order.products if isinstance(order.products, list) else []:
            message.products.append(
                Product(
                    short(p.get("name", "")),
                    int(p.get("count", 1)),
                    format_money(int(p.get("price", 0)), order.currency, language),
                )
            )
        message.data = _data_pairs(order.data)
        return message
    if (
        delivery.topic == Delivery.Topic.STATUS
        and delivery.status_change is not None
        and delivery.order is not None
    ):
        order, change = delivery.order, delivery.status_change
        # One line: which order, from which status to which (labels in the owner's language).
        return Message(
            title=_("Order %(id)s: %(from)s → %(to)s")
            % {
                "id": short(order.external_id),
                "from": change.get_from_status_display(),
                "to": change.get_to_status_display(),
            },
            project=project,
            link=order_url(order.project_id, order.pk),
            link_label=_("Open the order"),
        )
    if delivery.topic == Delivery.Topic.DIGEST and delivery.digest_day is not None:
        return _digest(digest.of(delivery), language)
    if delivery.topic == Delivery.Topic.EVENT and delivery.event_record is not None:
        record = delivery.event_record
        message = Message(
            title=_("New record: %(event)s") % {"event": short(record.event.name)},
            project=project,
        )
        message.fields.append((_("Received"), _local_time(delivery, record.received_at)))
        message.data = _data_pairs(record.data)
        return message
    if delivery.topic == Delivery.Topic.LIMIT and delivery.limit_warning is not None:
        warning = delivery.limit_warning
        account = warning.account
        message = Message(
            title=_("%(percent)s%% of the monthly order limit used")
            % {"percent": warning.threshold},
            project=project or account.name,
            link=f"{settings.BASE_URL}/",
            link_label=_("Open OrderReport"),
        )
        message.fields.append((_("Account"), short(account.name)))
        message.fields.append(
            (_("Orders this period"), f"{warning.used} / {warning.monthly_limit}")
        )
        if warning.threshold >= 100:
            message.note = _(
                "New orders are refused until the next billing period or a larger plan."
            )
        else:
            message.note = _("New orders will be refused once the limit is reached.")
        return message
    return Message(
        title=_("Test message from OrderReport"),
        project=project,
        note=_("This channel works: notifications will arrive here."),
    )


def _change(current: int | None, previous: int | None) -> str:
    """ " (+12%)" against the day before; nothing where there is nothing to compare with."""
    if current is None or not previous:
        return ""
    return f" ({round((current - previous) * 100 / previous):+d}%)"


def _digest(figures: digest.Digest, language: str) -> Message:
    """Yesterday in a few lines: money per currency (never summed), leads, the best seller."""
    message = Message(
        title=_("Daily summary for %(day)s")
        % {"day": format_day(figures.day, language, long=True)},
        project=neutralise(figures.project.name),
        link=figures.url,
        link_label=_("Open the overview"),
        note=_("In brackets: the change against the day before."),
    )
    several = len(figures.currencies) > 1
    for c in figures.currencies:
        day, before = c.day, c.before
        suffix = f" ({c.currency})" if several else ""

        def money(amount: int, currency: str = c.currency) -> str:
            return format_money(amount, currency, language)

        message.fields += [
            (
                pgettext("digest", "Revenue") + suffix,
                money(day.revenue) + _change(day.revenue, before.revenue),
            ),
            (
                pgettext("digest", "Orders") + suffix,
                f"{day.orders}{_change(day.orders, before.orders)}",
            ),
        ]
        if day.average is not None:
            message.fields.append(
                (
                    pgettext("digest", "Average order") + suffix,
                    money(day.average) + _change(day.average, before.average),
                )
            )
        if day.cancelled_orders:
            message.fields.append(
                (
                    pgettext("digest", "Cancelled or refunded") + suffix,
                    f"{day.cancelled_orders} · {money(day.cancelled_total)}",
                )
            )
        if c.top is not None:
            message.fields.append(
                (
                    pgettext("digest", "Top product") + suffix,
                    f"{short(c.top.name)} × {c.top.quantity} — {money(c.top.revenue)}",  # noqa: RUF001
                )
            )
    if not figures.currencies:
        message.fields.append((pgettext("digest", "Orders"), "0"))
    if figures.has_events or figures.leads or figures.previous_leads:
        message.fields.append(
            (
                pgettext("digest", "Leads"),
                f"{figures.leads}{_change(figures.leads, figures.previous_leads)}",
            )
        )
    return message
