"""Dashboard forms for channels; each turns its fields into the kind's typed config."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from pydantic import ValidationError

from orderreport.notify import http
from orderreport.notify.config import (
    ChannelConfig,
    EmailConfig,
    TelegramConfig,
    WebhookConfig,
)
from orderreport.notify.models import Channel
from orderreport.projects.models import Event, Project

DEFAULT_DIGEST_HOUR = 9


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return str(error.get("msg", "")).removeprefix("Value error, ")


# What a channel gets, in the order the form offers it; the daily summary last.
SENDS = (
    "receives_orders",
    "events",
    "receives_status_changes",
    "receives_limits",
    "sends_digest",
    "digest_hour",
)


class ChannelForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    receives_orders = forms.BooleanField(label=_("New orders"), required=False, initial=True)
    events = forms.ModelMultipleChoiceField(
        label=_("Records of these events"),
        queryset=Event.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Call-back requests, sign-ups and the like, sent with an event key."),
    )
    receives_status_changes = forms.BooleanField(
        label=_("Status changes"),
        required=False,
        help_text=_("When an order's status changes on the dashboard or through the API."),
    )
    receives_limits = forms.BooleanField(
        label=_("Plan-limit warnings"),
        required=False,
        help_text=_("When orders reach 80 and 100 percent of the plan's monthly limit."),
    )
    sends_digest = forms.BooleanField(label=_("Daily summary"), required=False)
    digest_hour = forms.TypedChoiceField(
        label=_("Send the daily summary at"),
        choices=[(h, f"{h:02d}:00") for h in range(24)],
        coerce=int,
        initial=DEFAULT_DIGEST_HOUR,
        required=False,
    )

    def __init__(
        self, *args: Any, project: Project, channel: Channel | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        self.channel = channel
        events = self.fields["events"]
        assert isinstance(events, forms.ModelMultipleChoiceField)
        events.queryset = Event.objects.filter(project=project)
        self.fields["digest_hour"].help_text = _(
            "Yesterday's revenue, orders and leads against the day before, at this hour "
            "of the project's time zone (%(zone)s)."
        ) % {"zone": project.timezone}
        # Where to send (the name, the kind's own fields) first, then what to send.
        self.order_fields([name for name in self.fields if name not in SENDS] + list(SENDS))
        self.config: ChannelConfig | None = None

    def where_fields(self) -> list[forms.BoundField]:
        """The name and the kind's own fields: where notifications go."""
        return [self[name] for name in self.fields if name not in SENDS]

    def what_fields(self) -> list[forms.BoundField]:
        """What the channel gets: orders, records, status changes, limits, the summary."""
        return [self[name] for name in SENDS]

    def clean_digest_hour(self) -> int:
        # Optional, so forms posted before the summary existed (and API-like tests) still
        # validate; they get the default hour.
        value = self.cleaned_data.get("digest_hour")
        return DEFAULT_DIGEST_HOUR if value in (None, "") else int(value)

    def build_config(self) -> ChannelConfig:
        raise NotImplementedError

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors:
            try:
                self.config = self.build_config()
            except ValidationError as exc:
                field = str(exc.errors()[0]["loc"][0]) if exc.errors()[0]["loc"] else None
                self.add_error(field if field in self.fields else None, _first_error(exc))
        return cleaned


class TelegramForm(ChannelForm):
    bot_token = forms.CharField(
        label=_("Bot token"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("From @BotFather. Stored, never shown again; leave empty to keep it."),
    )
    chat_id = forms.CharField(label=_("Chat id"), max_length=40)

    def build_config(self) -> ChannelConfig:
        token = self.cleaned_data["bot_token"]
        if not token and self.channel is not None:
            old = self.channel.settings
            assert isinstance(old, TelegramConfig)
            token = old.bot_token
        if not token:
            raise forms.ValidationError({"bot_token": _("Enter the bot token.")})
        return TelegramConfig(bot_token=token, chat_id=self.cleaned_data["chat_id"])


class EmailForm(ChannelForm):
    addresses = forms.CharField(
        label=_("E-mail addresses"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One or more, separated by commas or new lines. Each gets a confirmation link."
        ),
    )

    def build_config(self) -> ChannelConfig:
        from orderreport.notify.services import email_config

        addresses = [a for a in re.split(r"[\s,;]+", self.cleaned_data["addresses"]) if a]
        old = self.channel.settings if self.channel else None
        return email_config(self.project, addresses, old if isinstance(old, EmailConfig) else None)


class WebhookForm(ChannelForm):
    url = forms.CharField(label=_("URL"), max_length=2048)

    def build_config(self) -> ChannelConfig:
        old = self.channel.settings if self.channel else None
        if isinstance(old, WebhookConfig):
            config = WebhookConfig(url=self.cleaned_data["url"], secret=old.secret)
        else:
            config = WebhookConfig(url=self.cleaned_data["url"])
        # Refused now rather than failing at every delivery; the guard still checks each
        # request, as a name can resolve elsewhere later. The message names no address: what
        # an internal name resolves to is none of the tenant's business.
        try:
            http.check_url(config.url)
        except http.BlockedAddress:
            raise forms.ValidationError(
                {
                    "url": _(
                        "This address leads to a private or local network. Webhooks go to "
                        "public addresses only."
                    )
                }
            ) from None
        return config


FORMS: dict[str, type[ChannelForm]] = {
    Channel.Kind.TELEGRAM: TelegramForm,
    Channel.Kind.EMAIL: EmailForm,
    Channel.Kind.WEBHOOK: WebhookForm,
}


def initial_for(channel: Channel) -> dict[str, Any]:
    """Form values of an existing channel, secrets left out."""
    initial: dict[str, Any] = {
        "name": channel.name,
        "receives_orders": channel.receives_orders,
        "receives_limits": channel.receives_limits,
        "receives_status_changes": channel.receives_status_changes,
        "sends_digest": channel.sends_digest,
        "digest_hour": channel.digest_hour,
        "events": list(channel.events.all()),
    }
    config = channel.settings
    if isinstance(config, TelegramConfig):
        initial["chat_id"] = config.chat_id
    elif isinstance(config, EmailConfig):
        initial["addresses"] = "\n".join(config.addresses)
    elif isinstance(config, WebhookConfig):
        initial["url"] = config.url
    return initial
