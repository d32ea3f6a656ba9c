"""Posting to the form endpoints as a browser's form, a page's fetch or a builder's server."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.test import Client

from orderreport.events.models import EventRecord
from tests.conftest import Shop

# What Chromium sends with a form's navigation, and with fetch() by default.
BROWSER_ACCEPT = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
)
JSON_ACCEPT = "application/json"
URLENCODED = "application/x-www-form-urlencoded"


def urlencoded(pairs: list[tuple[str, str]]) -> bytes:
    return urlencode(pairs).encode()


def multipart(parts: list[tuple[str, str | bytes]], boundary: str = "----b0undary") -> bytes:
    """A multipart/form-data body of plain fields (values given as text or raw bytes)."""
    out = b""
    for name, value in parts:
        raw = value if isinstance(value, bytes) else value.encode()
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += raw + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


class Forms:
    """POSTs to /f/<key> and /hooks/forms/<token> through the production WSGI application."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def post(
        self,
        path: str,
        body: bytes | str,
        content_type: str = URLENCODED,
        *,
        origin: str | None = "https://example.com",
        referer: str | None = None,
        accept: str | None = JSON_ACCEPT,
        **headers: str,
    ) -> Any:
        extra: dict[str, str] = {}
        if origin is not None:
            extra["HTTP_ORIGIN"] = origin
        if referer is not None:
            extra["HTTP_REFERER"] = referer
        if accept is not None:
            extra["HTTP_ACCEPT"] = accept
        extra.update(headers)
        return self.client.generic("POST", path, body, content_type=content_type, **extra)

    def form(self, shop: Shop, pairs: list[tuple[str, str]], **kwargs: Any) -> Any:
        """A urlencoded post to the shop's event."""
        return self.post(f"/f/{shop.event.key}", urlencoded(pairs), **kwargs)

    def browser(self, shop: Shop, pairs: list[tuple[str, str]], **kwargs: Any) -> Any:
        """A browser's plain form post (no script) to the shop's event."""
        kwargs.setdefault("referer", "https://example.com/contact")
        return self.form(shop, pairs, accept=BROWSER_ACCEPT, **kwargs)

    def hook(self, token: str, body: bytes | str, content_type: str = URLENCODED, **kw: Any) -> Any:
        kw.setdefault("origin", None)
        kw.setdefault("accept", "*/*")
        return self.post(f"/hooks/forms/{token}", body, content_type, **kw)


def records(shop: Shop) -> list[EventRecord]:
    return list(EventRecord.objects.filter(project=shop.project).order_by("id"))


def only_record(shop: Shop) -> EventRecord:
    stored = records(shop)
    assert len(stored) == 1, stored
    return stored[0]


def pairs_of(record: EventRecord) -> list[tuple[str, str]]:
    return [(item["name"], item["value"]) for item in record.data]
