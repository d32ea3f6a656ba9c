"""Product pictures on the order page, fetched by the server and served from the app.

A product's `image` URL comes from the customer's browser, so any host can be named there.
Loaded by the owner's browser, it would be a tracking pixel: the host would learn the owner's
address and when they looked. Instead the page points at `product_image` below, which takes
the URL from the stored order (never from the request, so it is no open proxy), fetches it
through the outbound guard (notify/http.py: no private addresses, DNS rebinding checked, a
deadline) and serves only raster images, under headers that keep a browser from running them.

It lives in notify because that is where the one outbound HTTP wrapper is (orders may not
import it). What was fetched is cached by URL (shops reuse a picture across many orders); a
failure is cached briefly, and a host that failed is not asked again for as long.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import caches
from django.core.checks import CheckMessage, Error, register
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from orderreport.accounts.access import project_for
from orderreport.notify import http
from orderreport.orders.models import Order
from orderreport.outage import cache_outage

log = logging.getLogger(__name__)

# Content types a shop's picture may arrive as; SVG (scripts, external loads) and anything
# else are refused. image/jpg and image/pjpeg are common mislabels of JPEG.
ACCEPTED_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/jpg", "image/pjpeg", "image/gif", "image/webp", "image/avif"}
)
ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif;q=0.9"
IMAGE_SECONDS = 24 * 3600  # how long a fetched picture is kept (and a browser may keep it)
# Larger pictures are served but not kept on the server (the browser still keeps them): product
# thumbnails are far smaller, and the cache (Redis on the fleet) also holds the rate limits.
CACHED_MAX_BYTES = 512 * 1024
FAILURE_SECONDS = 60  # how long a failed picture, and its host, is not asked again
PLACEHOLDER = Path(__file__).resolve().parent.parent / "static" / "img" / "no-picture.svg"
# A picture served from the app must stay a picture: no sniffing it into HTML, no scripts or
# loads of its own should a browser open it as a document.
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class NotAnImage(Exception):
    """The URL answered, but not with a picture we serve."""


def sniff(head: bytes) -> str | None:
    """The raster type the first bytes say, or None. Five signatures, so no library: the
    content type was already checked, this makes sure the bytes agree it is a picture."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in (b"avif", b"avis"):
        return "image/avif"
    return None


@dataclass(frozen=True)
class Picture:
    content_type: str
    content: bytes


def fetch_picture(url: str) -> Picture:
    """Fetch `url` through the outbound guard; raise OutboundError or NotAnImage."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise NotAnImage("not an http(s) URL")
    total = float(settings.PRODUCT_IMAGE_TIMEOUT_SECONDS)
    response = http.request(
        "GET",
        url,
        headers={"Accept": ACCEPT},
        # http.request ends the whole request, redirects and body, within 3 x its timeout.
        timeout=total / 3,
        max_bytes=int(settings.PRODUCT_IMAGE_MAX_BYTES),
    )
    if response.status_code != 200:
        raise NotAnImage(f"answered {response.status_code}")
    declared = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared not in ACCEPTED_TYPES:
        raise NotAnImage(f"content type {declared or 'missing'}")
    sniffed = sniff(response.content[:16])
    if sniffed is None:
        raise NotAnImage(f"{declared} whose bytes are no known picture")
    return Picture(sniffed, response.content)


def _key(kind: str, value: str) -> str:
    return f"product-image:v1:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def _cache_get(key: str) -> object:
    if not cache_outage.available():
        cache_outage.skipped()
        return None
    try:
        value = caches["images"].get(key)
    except Exception as exc:  # a cache outage costs a fetch, never the picture
        cache_outage.failed("product image lookup", exc)
        return None
    cache_outage.succeeded()
    return value


def _cache_set(key: str, value: object, seconds: int) -> None:
    if not cache_outage.available():
        return
    try:
        caches["images"].set(key, value, seconds)
    except Exception as exc:
        cache_outage.failed("product image cache write", exc)


def picture_for(url: str) -> Picture | None:
    """The picture at `url`, from the cache or fetched; None when there is none to show."""
    key = _key("url", url)
    cached = _cache_get(key)
    if isinstance(cached, Picture):
        return cached
    if cached is not None:
        return None  # failed a moment ago
    host_key = _key("host", urlsplit(url).netloc.rsplit("@", 1)[-1].lower())
    if _cache_get(host_key) is not None:
        return None  # its host failed a moment ago: a host that hangs costs one wait a minute
    started = time.monotonic()
    try:
        picture = fetch_picture(url)
    except NotAnImage as exc:
        log.info("product image refused: %s", exc)
        _cache_set(key, False, FAILURE_SECONDS)
        return None
    except http.OutboundError as exc:
        log.info("product image not fetched: %s", exc)
        _cache_set(key, False, FAILURE_SECONDS)
        # A failure that cost a wait (a host that hangs or trickles) holds back the host's
        # other pictures too: a page of 20 of them must not wait 20 times.
        if time.monotonic() - started >= settings.PRODUCT_IMAGE_TIMEOUT_SECONDS / 3:
            _cache_set(host_key, True, FAILURE_SECONDS)
        return None
    if len(picture.content) <= CACHED_MAX_BYTES:
        _cache_set(key, picture, IMAGE_SECONDS)
    return picture


@cache
def placeholder() -> bytes:
    return PLACEHOLDER.read_bytes()


def image_url(order: Order, index: int) -> str:
    """The stored picture URL of the order's product at `index` (as sent); 404 without one."""
    products = order.products if isinstance(order.products, list) else []
    if not 0 <= index < len(products) or not isinstance(products[index], dict):
        raise Http404("No such product")
    url = products[index].get("image")
    if not isinstance(url, str) or not url:
        raise Http404("The product has no picture")
    return url


@register()
def check_product_images(app_configs: object = None, **kwargs: object) -> list[CheckMessage]:
    if settings.PRODUCT_IMAGES in ("proxy", "off"):
        return []
    return [
        Error(
            f"PRODUCT_IMAGES must be proxy or off, not {settings.PRODUCT_IMAGES!r}.",
            hint="proxy (the default) shows product pictures through this server; off fetches "
            "none and links to them instead.",
            id="notify.E010",
        )
    ]


@login_required
@require_GET
def product_image(request: HttpRequest, project_id: int, order_pk: int, index: int) -> HttpResponse:
    """The picture of an order's product, or a neutral placeholder (404) when it cannot be had."""
    if settings.PRODUCT_IMAGES != "proxy":
        raise Http404("Product pictures are switched off")
    access = project_for(request.user, project_id)  # type: ignore[arg-type]
    order = Order.objects.filter(project=access.project, pk=order_pk).only("products").first()
    if order is None:
        raise Http404("No such order")
    picture = picture_for(image_url(order, index))
    if picture is None:
        # Browsers draw an image's body whatever its status: the page shows a neutral tile,
        # while the status says the shop's picture is missing (a 4xx, which Django's request
        # log leaves out: a shop's dead link is no server error).
        response = HttpResponse(placeholder(), status=404, content_type="image/svg+xml")
        response["Cache-Control"] = f"private, max-age={FAILURE_SECONDS}"
    else:
        response = HttpResponse(picture.content, content_type=picture.content_type)
        response["Cache-Control"] = f"private, max-age={IMAGE_SECONDS}"
    for name, value in HEADERS.items():
        response[name] = value
    return response
