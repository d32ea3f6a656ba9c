"""Forms without code: POST /f/<event_key> and the site builders' POST /hooks/forms/<token>.

`/f/<event_key>` is a form's `action`: no API key, the event key names the event, and the
browser's Origin (its Referer when it sends no Origin) must be one of the project's active
domains, checked as the tracking API checks it. A browser's form post (Accept prefers HTML) is
answered with a 303 to `_next` or to our thank-you page, and its errors with a readable page;
a script (fetch, curl) gets the tracking API's JSON. `/hooks/forms/<token>` is for builders'
servers (Tilda): a secret token instead of an Origin, `ok` for their connection test.

The checks, in order (the first that fails answers; docs/integration.md "Forms without code"):
413 body too large; 401 unknown event key (or form token); 403 Origin/Referer (/f/ only);
401 event inactive; 429 the API's rate limits with the event in the key's place; 415/422 the
body (formdata.py). Then the spam rules (spam.py) flag the record, never refuse it.

Both are served by the plain WSGI application in production (ingest/wsgi.py) and by the Django
views at the bottom for the URLconf, like the tracking endpoints.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import iri_to_uri
from django.utils.translation import gettext_lazy as _
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from orderreport.ingest import ratelimit, spam
from orderreport.ingest.formdata import Fields, FormRefused, parse_form, split_fields
from orderreport.ingest.http import (
    ALLOW,
    Answer,
    BodyReader,
    BodyTimeout,
    UnreadableBody,
    answer_request,
    body_timeout,
    check_origin,
    client_ip,
    error,
    header_text,
    json_answer,
    request_meta,
    to_response,
)
from orderreport.ingest.lookup import FormInfo, get_form_info
from orderreport.ingest.record import record_form
from orderreport.ingest.rows import Outcome, Result
from orderreport.projects.domains import host_matches, origin_host

FORM_PREFIX = "/f/"
HOOK_PREFIX = "/hooks/forms/"
# Tilda adds these to every post: its id of the submission and of the form block (kept, so
# the owner can find the lead in Tilda too), and, when "send cookies" is on, the visitor's
# cookies on the site (dropped: other services' identifiers, nothing a lead needs).
BUILDER_DROPPED = frozenset({"COOKIES"})
BUILDER_TECHNICAL = frozenset({"tranid", "formid", "COOKIES"})
_THANKS_SALT = "orderreport.forms.thanks"
_MAX_URL = 2048

# Endpoint: (environ, read the body) -> the whole answer.
Endpoint = Callable[[Mapping[str, Any], BodyReader], Answer]


# --- Routing ----------------------------------------------------------------------------------


def route(path: str) -> Endpoint | None:
    """The form endpoint of a path (`/f/<key>`, `/hooks/forms/<token>`, a trailing slash
    forgiven), else None."""
    if path.startswith(FORM_PREFIX):
        key = _segment(path[len(FORM_PREFIX) :])
        return functools.partial(form_answer, key=key) if key else None
    if path.startswith(HOOK_PREFIX):
        token = _segment(path[len(HOOK_PREFIX) :])
        return functools.partial(hook_answer, token=token) if token else None
    return None


def _segment(rest: str) -> str:
    rest = rest.removesuffix("/")
    return rest if rest and "/" not in rest else ""


# --- What the client wants --------------------------------------------------------------------


def _quality(accept: str, mime: str) -> float:
    """The q the Accept header gives `mime`, by its most specific matching range."""
    kind = mime.split("/")[0] + "/*"
    best, rank = 0.0, -1
    for part in accept.split(","):
        media, *params = part.split(";")
        media = media.strip().lower()
        this_rank = {mime: 2, kind: 1, "*/*": 0}.get(media, -1)
        if this_rank <= rank:
            continue
        q = 1.0
        for param in params:
            name, _eq, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        best, rank = q, this_rank
    return best


def wants_html(environ: Mapping[str, Any]) -> bool:
    """A browser's form post (Accept prefers HTML), not fetch's `*/*` nor a script."""
    accept = environ.get("HTTP_ACCEPT", "")
    return _quality(accept, "text/html") > _quality(accept, "application/json")


def visitor_language(environ: Mapping[str, Any]) -> str:
    """The visitor's language by Accept-Language, as the site's pages choose it."""
    for code, _q in parse_accept_lang_header(environ.get("HTTP_ACCEPT_LANGUAGE", "")[:500]):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return str(settings.LANGUAGE_CODE)


def _http_url(value: str) -> str | None:
    """An absolute http(s) URL safe to put in a Location header or a link, else None."""
    value = value.strip()
    if not value or len(value) > _MAX_URL or not value.isprintable() or "\\" in value:
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if "@" in parts.netloc or any(c.isspace() for c in value):
        return None
    return value


def _url_origin(url: str | None) -> str:
    if url is None:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc}"


def _on_domains(url: str | None, domains: tuple[str, ...]) -> bool:
    host = origin_host(_url_origin(url)) if url else None
    return host is not None and host_matches(host, domains)


# --- POST /f/<event_key> -------------------------------------------------------------------------


def form_answer(environ: Mapping[str, Any], read: BodyReader, key: str) -> Answer:
    """The whole answer of a post to /f/<key>: JSON for scripts, pages for browsers."""
    html = wants_html(environ)
    answer = answer_request(environ, "POST", ALLOW, lambda: _form(environ, read, key, html))
    if html and answer.status >= 400:
        return error_page(answer, environ)
    return answer


def _read(read: BodyReader) -> bytes | Answer:
    try:
        body = read(settings.API_MAX_BODY_BYTES)
    except BodyTimeout:
        return body_timeout()
    except UnreadableBody:
        return error(422, "Invalid data payload", "invalid_payload")
    if body is None:
        return error(413, "Payload too large", "payload_too_large")
    return body


def _limited(info: FormInfo, ip: str | None) -> Answer | None:
    retry_after = ratelimit.check_form(info.event_id, ip)
    if not retry_after:
        return None
    answer = error(429, "Too many requests", "rate_limited")
    answer.headers["Retry-After"] = str(retry_after)
    return answer


def _fields(environ: Mapping[str, Any], body: bytes) -> Fields | Answer:
    try:
        return split_fields(parse_form(environ.get("CONTENT_TYPE", ""), body))
    except FormRefused as exc:
        return exc.answer


def _refused(result: Result) -> Answer | None:
    if result.outcome is Outcome.CREATED:
        return None
    if result.outcome is Outcome.EVENT_INACTIVE:
        return error(401, "Event is not active", "event_inactive")
    return error(401, "Invalid event key", "invalid_event_key")  # deleted meanwhile


def _form(environ: Mapping[str, Any], read: BodyReader, key: str, html: bool) -> Answer:
    body = _read(read)
    if isinstance(body, Answer):
        return body
    info = get_form_info("key", key)
    if info is None:
        return error(401, "Invalid event key", "invalid_event_key")
    origin = header_text(environ.get("HTTP_ORIGIN", ""))
    referer = _http_url(header_text(environ.get("HTTP_REFERER", "")))
    # A browser may leave Origin out of a form post (older ones did on same-origin
    # navigations); then its Referer's scheme://host[:port] is checked the same way.
    source = origin if origin else _url_origin(referer)
    refused = check_origin(source, info.domains)
    if refused is not None:
        return refused
    if not info.active:
        return error(401, "Event is not active", "event_inactive")
    ip = client_ip(environ)
    limited = _limited(info, ip or "-")
    if limited is not None:
        return limited
    fields = _fields(environ, body)
    if isinstance(fields, Answer):
        return fields
    reason = spam.verdict(
        [value for _name, value in fields.data],
        honeypot=fields.control("_gotcha"),
        over_rate=bool(ip) and ratelimit.over_form_rate(str(ip)),
    )
    result = record_form(info, fields.data, request_meta(environ, source, ip), reason)
    failed = _refused(result)
    if failed is not None:
        return failed
    if not html:
        return json_answer({"message": "Event tracked", "id": str(result.record_id)}, 201)
    next_url = _http_url(fields.control("_next"))
    if next_url is None or not _on_domains(next_url, info.domains):
        # Never an open redirect: anything but the project's own sites is ignored.
        back = referer if _on_domains(referer, info.domains) else None
        next_url = thanks_url(back or (source + "/"))
    return Answer(303, headers={"Location": _location(next_url)})


def _location(url: str) -> str:
    """A URL as a Location header carries it: ASCII, the host in IDNA form (пример.рф)."""
    parts = urlsplit(url)
    if not parts.netloc.isascii():
        host = origin_host(f"{parts.scheme}://{parts.netloc}") or ""
        port = f":{parts.port}" if parts.port else ""
        parts = parts._replace(netloc=host + port)
    return iri_to_uri(urlunsplit(parts))


def thanks_url(back: str) -> str:
    """Our thank-you page, with a signed link back to the page the form was on."""
    signed = signing.dumps(back, salt=_THANKS_SALT, compress=True)
    return reverse("form-thanks") + "?" + urlencode({"back": signed})


# --- POST /hooks/forms/<token> -------------------------------------------------------------------


def hook_answer(environ: Mapping[str, Any], read: BodyReader, token: str) -> Answer:
    """The whole answer of a site builder's post: `ok` (200) or the JSON error."""
    return answer_request(environ, "POST", ALLOW, lambda: _hook(environ, read, token))


def is_connection_test(fields: Fields) -> bool:
    """Tilda's check when a webhook is added: `test=test`, maybe with its technical fields."""
    own = [(n, v) for n, v in fields.data if n not in BUILDER_TECHNICAL]
    return own == [("test", "test")]


def _hook(environ: Mapping[str, Any], read: BodyReader, token: str) -> Answer:
    body = _read(read)
    if isinstance(body, Answer):
        return body
    info = get_form_info("form_token", token)
    if info is None:
        return error(401, "Invalid form token", "invalid_form_token")
    if not info.active:
        return error(401, "Event is not active", "event_inactive")
    # The event only: a builder's few servers post for every site it hosts.
    limited = _limited(info, None)
    if limited is not None:
        return limited
    fields = _fields(environ, body)
    if isinstance(fields, Answer):
        return fields
    if is_connection_test(fields):
        return _ok()
    data = [(n, v) for n, v in fields.data if n not in BUILDER_DROPPED]
    reason = spam.verdict([v for _n, v in data], honeypot=fields.control("_gotcha"))
    origin = header_text(environ.get("HTTP_ORIGIN", ""))
    meta = request_meta(environ, origin if origin_host(origin) else "", client_ip(environ))
    failed = _refused(record_form(info, data, meta, reason))
    return failed if failed is not None else _ok()


def _ok() -> Answer:
    # Tilda waits a few seconds for a 200 and reads `ok`; anything else counts as a failure.
    return Answer(200, b"ok", {"Content-Type": "text/plain; charset=utf-8"})


# --- Pages for browsers ---------------------------------------------------------------------------

_TITLES: dict[str, Any] = {
    "payload_too_large": _("The form is too large"),
    "invalid_event_key": _("This form is not connected"),
    "event_inactive": _("This form is switched off"),
    "invalid_origin": _("This form cannot be sent from this page"),
    "domain_not_allowed": _("This form cannot be sent from this page"),
    "rate_limited": _("Too many submissions"),
    "method_not_allowed": _("This address only receives forms"),
}
_HINTS: dict[str, Any] = {
    "payload_too_large": _(
        "The form sent more data than we accept. Files cannot be sent with this form."
    ),
    "invalid_event_key": _(
        "The form's address points to an event that does not exist. "
        "The site's owner should check the form's action address."
    ),
    "event_inactive": _("The site's owner has paused this form."),
    "invalid_origin": _(
        "Your browser did not say which site the form was on, or the site is not one of "
        "those allowed to send this form. The site's owner should add it to the project."
    ),
    "domain_not_allowed": _(
        "The site is not one of those allowed to send this form. "
        "The site's owner should add it to the project."
    ),
    "rate_limited": _("Please wait a little and send the form again."),
    "method_not_allowed": _("Open the page with the form and send it from there."),
    "validation_error": _("Some fields could not be accepted:"),
}
_DEFAULT_TITLE = _("The form could not be sent")
_SERVER_TITLE = _("Something went wrong on our side")
_SERVER_HINT = _("Please send the form again in a minute.")


def error_page(answer: Answer, environ: Mapping[str, Any]) -> Answer:
    """A JSON error answer as a readable page in the visitor's language, same status."""
    import orjson

    try:
        body = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        body = {}
    code = str(body.get("code", ""))
    server = answer.status >= 500
    errors = body.get("errors") if isinstance(body.get("errors"), dict) else {}
    context = {
        "status": answer.status,
        "message": str(body.get("message", "")),
        "code": code,
        "errors": sorted(errors.items()) if errors else [],
        "back": _http_url(header_text(environ.get("HTTP_REFERER", ""))),
    }
    with translation.override(visitor_language(environ)):
        context["title"] = _SERVER_TITLE if server else _TITLES.get(code, _DEFAULT_TITLE)
        context["hint"] = _SERVER_HINT if server else _HINTS.get(code, "")
        context["language"] = translation.get_language()
        html = render_to_string("forms/error.html", context)
    headers = {k: v for k, v in answer.headers.items() if k != "Content-Type"}
    headers["Content-Type"] = "text/html; charset=utf-8"
    headers["Content-Language"] = str(context["language"])
    headers["Content-Security-Policy"] = PAGE_CSP
    return Answer(answer.status, html.encode(), headers)


# The pages load our stylesheet and nothing else.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'"
)


@require_safe
def thanks(request: HttpRequest) -> HttpResponse:
    """Our thank-you page after a form post without `_next`, with a link back."""
    try:
        back = signing.loads(request.GET.get("back", ""), salt=_THANKS_SALT)
    except signing.BadSignature:
        back = None
    back = _http_url(back) if isinstance(back, str) else None
    return render(request, "forms/thanks.html", {"back": back})


# --- The Django views (URLconf, runserver) ------------------------------------------------------


def _django_view(answer: Callable[..., Answer], name: str) -> Any:
    from orderreport.ingest.views import _django_reader

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: str) -> HttpResponse:
        return to_response(answer(request.META, _django_reader(request), kwargs[name]))

    return view


form_view = _django_view(lambda environ, read, key: form_answer(environ, read, key), "key")
hook_view = _django_view(lambda environ, read, token: hook_answer(environ, read, token), "token")
