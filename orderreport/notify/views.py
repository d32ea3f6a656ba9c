"""Dashboard pages of a project's notification channels and their delivery log."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from orderreport.accounts.access import ProjectAccess, project_for
from orderreport.notify import crypto, services
from orderreport.notify.config import EmailConfig
from orderreport.notify.forms import FORMS, initial_for
from orderreport.notify.models import Channel, Delivery
from orderreport.notify.outbox import enqueue_test, send_again

SECRET_SESSION_KEY = "notify-webhook-secret-{}"  # noqa: S105 - a session key name
LOG_PAGE_SIZE = 50


def _channel(access: ProjectAccess, channel_id: int) -> Channel:
    return get_object_or_404(Channel, pk=channel_id, project=access.project)


def _language(request: HttpRequest) -> str:
    return getattr(request.user, "language", "en") or "en"


@login_required
@require_GET
def channels(request: HttpRequest, project_id: int) -> HttpResponse:
    access = project_for(request.user, project_id)  # type: ignore[arg-type]
    items = list(Channel.objects.filter(project=access.project).prefetch_related("events"))
    return render(
        request,
        "notify/channels.html",
        {
            "project": access.project,
            "access": access,
            "channels": items,
            "kinds": Channel.Kind.choices,
        },
    )


@never_cache  # shows a key or secret: never kept by a browser or proxy
@login_required
@require_http_methods(["GET", "POST"])
def add_channel(request: HttpRequest, project_id: int, kind: str) -> HttpResponse:
    access = project_for(request.user, project_id, write=True)  # type: ignore[arg-type]
    if kind not in FORMS:
        raise Http404("No such kind of channel")
    form = FORMS[kind](request.POST or None, project=access.project)
    if request.method == "POST" and form.is_valid():
        assert form.config is not None
        channel = services.save_channel(
            access.project,
            kind,
            form.cleaned_data["name"],
            form.config,
            receives_orders=form.cleaned_data["receives_orders"],
            receives_limits=form.cleaned_data["receives_limits"],
            receives_status_changes=form.cleaned_data["receives_status_changes"],
            sends_digest=form.cleaned_data["sends_digest"],
            digest_hour=form.cleaned_data["digest_hour"],
            events=form.cleaned_data["events"],
        )
        _after_save(request, channel, created=True)
        return redirect("notify:channel", access.project.pk, channel.pk)
    return render(
        request,
        "notify/channel_form.html",
        {
            "project": access.project,
            "access": access,
            "form": form,
            "kind": kind,
            "kind_label": Channel.Kind(kind).label,
        },
    )


def _after_save(
    request: HttpRequest, channel: Channel, created: bool, previous: frozenset[str] = frozenset()
) -> None:
    messages.success(request, _("Channel saved."))
    if channel.kind == Channel.Kind.WEBHOOK and created:
        # Shown on the next page once, then gone: the secret is never rendered again. The
        # session keeps it encrypted, as the database does.
        request.session[SECRET_SESSION_KEY.format(channel.pk)] = channel.config["secret"]
    if channel.kind == Channel.Kind.EMAIL:
        try:
            # Only addresses added by this save: saving again mails nobody a second time.
            result = services.send_confirmations(
                channel, _language(request), user_id=request.user.pk, skip=previous
            )
        except Exception:
            messages.error(request, _("Could not send the confirmation e-mail; try again later."))
            return
        _confirmation_messages(request, result)


def _confirmation_messages(request: HttpRequest, result: services.Confirmations) -> None:
    """What became of each confirmation link: queued, held back by the cooldown, or over the
    member's daily number."""
    if result.sent:
        messages.info(
            request,
            _("A confirmation link is on its way to: %(addresses)s")
            % {"addresses": ", ".join(result.sent)},
        )
    if result.cooling:
        messages.warning(
            request,
            _(
                "A confirmation link was sent to %(addresses)s a few minutes ago; "
                "it was not sent again."
            )
            % {"addresses": ", ".join(result.cooling)},
        )
    if result.capped:
        messages.error(
            request,
            _(
                "Not sent to %(addresses)s: you have sent %(count)s confirmation e-mails "
                "today, the most allowed in a day. Send the link again tomorrow."
            )
            % {
                "addresses": ", ".join(result.capped),
                "count": settings.CONFIRMATION_MAILS_PER_DAY,
            },
        )


@never_cache  # shows a key or secret: never kept by a browser or proxy
@login_required
@require_http_methods(["GET", "POST"])
def channel_detail(request: HttpRequest, project_id: int, channel_id: int) -> HttpResponse:
    writing = request.method == "POST"
    access = project_for(request.user, project_id, write=writing)  # type: ignore[arg-type]
    channel = _channel(access, channel_id)
    form_class = FORMS[channel.kind]
    if writing:
        form = form_class(request.POST, project=access.project, channel=channel)
        if form.is_valid():
            assert form.config is not None
            config = channel.settings
            previous = frozenset(config.addresses if isinstance(config, EmailConfig) else ())
            services.save_channel(
                access.project,
                channel.kind,
                form.cleaned_data["name"],
                form.config,
                receives_orders=form.cleaned_data["receives_orders"],
                receives_limits=form.cleaned_data["receives_limits"],
                receives_status_changes=form.cleaned_data["receives_status_changes"],
                sends_digest=form.cleaned_data["sends_digest"],
                digest_hour=form.cleaned_data["digest_hour"],
                events=form.cleaned_data["events"],
                channel=channel,
            )
            _after_save(request, channel, created=False, previous=previous)
            return redirect("notify:channel", access.project.pk, channel.pk)
    else:
        form = form_class(initial=initial_for(channel), project=access.project, channel=channel)
    deliveries = (
        Delivery.objects.filter(channel=channel)
        .select_related("order", "event_record__event", "limit_warning")
        .prefetch_related("attempt_log")
        .order_by("-created", "-id")
    )
    page = Paginator(deliveries, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "notify/channel.html",
        {
            "project": access.project,
            "access": access,
            "channel": channel,
            "config": channel.settings,
            "form": form,
            "page": page,
            "new_secret": _new_secret(request, channel),
            "secret_problem": services.unreadable_secret(channel),
        },
    )


def _new_secret(request: HttpRequest, channel: Channel) -> str | None:
    """A webhook secret just made, decrypted for the one page that shows it."""
    sealed = request.session.pop(SECRET_SESSION_KEY.format(channel.pk), None)
    if not sealed:
        return None
    try:
        return crypto.unseal(sealed)
    except crypto.SecretUnreadable:
        return None  # the keys changed in between: secret_problem tells what to do


@login_required
@require_POST
def toggle_channel(request: HttpRequest, project_id: int, channel_id: int) -> HttpResponse:
    access = project_for(request.user, project_id, write=True)  # type: ignore[arg-type]
    channel = _channel(access, channel_id)
    services.set_active(channel, not channel.is_active)
    messages.success(
        request, _("Channel switched on.") if channel.is_active else _("Channel switched off.")
    )
    return redirect("notify:channels", access.project.pk)


@login_required
@require_POST
def test_channel(request: HttpRequest, project_id: int, channel_id: int) -> HttpResponse:
    access = project_for(request.user, project_id, write=True)  # type: ignore[arg-type]
    channel = _channel(access, channel_id)
    enqueue_test(channel, timezone.now())
    messages.success(request, _("Test message queued: it arrives within seconds."))
    return redirect("notify:channel", access.project.pk, channel.pk)


@login_required
@require_POST
def confirm_again(request: HttpRequest, project_id: int, channel_id: int) -> HttpResponse:
    """Send one unconfirmed address of an e-mail channel its confirmation link again (the
    first one was lost, expired or went to spam), within the same cooldown and daily number."""
    access = project_for(request.user, project_id, write=True)  # type: ignore[arg-type]
    channel = _channel(access, channel_id)
    if channel.kind != Channel.Kind.EMAIL:
        raise Http404("Only e-mail channels confirm addresses")
    config = channel.settings
    assert isinstance(config, EmailConfig)
    address = request.POST.get("address", "").strip().lower()
    if address not in config.addresses:
        messages.error(request, _("That address is not one of this channel's."))
    elif address in config.confirmed:
        messages.info(request, _("%(address)s is confirmed already.") % {"address": address})
    else:
        others = [a for a in config.addresses if a != address]
        result = services.send_confirmations(
            channel, _language(request), user_id=request.user.pk, skip=others
        )
        _confirmation_messages(request, result)
    return redirect("notify:channel", access.project.pk, channel.pk)


@login_required
@require_POST
def rotate_secret(request: HttpRequest, project_id: int, channel_id: int) -> HttpResponse:
    access = project_for(request.user, project_id, write=True)  # type: ignore[arg-type]
    channel = _channel(access, channel_id)
    if channel.kind != Channel.Kind.WEBHOOK:
        raise Http404("Only webhooks have a secret")
    services.rotate_webhook_secret(channel)
    request.session[SECRET_SESSION_KEY.format(channel.pk)] = channel.config["secret"]
    messages.success(request, _("New secret made; the old one no longer verifies."))
    return redirect("notify:channel", access.project.pk, channel.pk)


@login_required
@require_POST
def delete_channel(request: HttpRequest, project_id: int, channel_id: int) -> HttpResponse:
    access = project_for(request.user, project_id, write=True)  # type: ignore[arg-type]
    _channel(access, channel_id).delete()
    messages.success(request, _("Channel deleted."))
    return redirect("notify:channels", access.project.pk)


@login_required
@require_POST
def resend(
    request: HttpRequest, project_id: int, channel_id: int, delivery_id: int
) -> HttpResponse:
    access = project_for(request.user, project_id, write=True)  # type: ignore[arg-type]
    channel = _channel(access, channel_id)
    delivery = get_object_or_404(Delivery, pk=delivery_id, channel=channel)
    send_again(delivery, timezone.now())
    messages.success(request, _("Queued to be sent again."))
    return redirect("notify:channel", access.project.pk, channel.pk)


@require_http_methods(["GET", "POST"])
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    """The link in a confirmation e-mail. GET only shows a button, so a mail scanner that
    follows links cannot confirm an address on its owner's behalf."""
    if request.method == "POST":
        result = services.confirm_email(token)
        return render(
            request,
            "notify/confirm.html",
            {"done": result is not None, "address": result[1] if result else ""},
            status=200 if result else 400,
        )
    return render(request, "notify/confirm.html", {"ask": True})
