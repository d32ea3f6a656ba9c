"""Domain names: normalising what owners paste, parsing Origin headers, matching.

A domain is stored as a lower-case host in IDNA (punycode) form, optionally prefixed with
"*." for "every subdomain". `example.com` matches itself and `www.example.com`; the wildcard
matches subdomains at any depth but not the bare domain.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

import idna
from django.utils.translation import gettext as _

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*$")


class InvalidDomain(ValueError):
    pass


def _to_ascii(host: str) -> str | None:
    """Return the lower-case IDNA form of host, or None if it is not a valid host name."""
    host = host.strip().rstrip(".").lower()
    if not host or len(host) > 253:
        return None
    if host.isascii():
        ascii_host = host
    else:
        try:
            ascii_host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            return None
    labels = ascii_host.split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return ascii_host


def is_ip_literal(host: str) -> bool:
    """True if a stored domain is an IP address rather than a name."""
    return _ip_literal(host) is not None


def _ip_literal(host: str) -> str | None:
    candidate = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return None


def normalize_domain(text: str) -> str:
    """Turn what people paste (`https://Shop.example.com/cart`, `пример.рф`, `*.example.com`,
    `example.com:8080`) into the stored form, or raise InvalidDomain with a reason."""
    raw = text.strip()
    if not raw:
        raise InvalidDomain(_("Enter a domain, for example example.com."))
    if not raw.isprintable():
        # urlsplit would silently drop tabs and newlines and store another name.
        raise InvalidDomain(_("%(text)r is not a valid domain name.") % {"text": raw})
    if "://" not in raw:
        raw = "http://" + raw
    try:
        parts = urlsplit(raw)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise InvalidDomain(_("%(text)r is not a domain name.") % {"text": text.strip()}) from None
    if parts.username or parts.password:
        raise InvalidDomain(_("A domain cannot contain a user name or password."))
    ip = _ip_literal(host)
    if ip is not None:
        return ip
    wildcard = host.startswith("*.")
    if wildcard:
        host = host[2:]
    if "*" in host:
        raise InvalidDomain(_("A wildcard is only allowed as the first label: *.example.com."))
    ascii_host = _to_ascii(host)
    if ascii_host is None:
        raise InvalidDomain(_("%(text)r is not a valid domain name.") % {"text": text.strip()})
    if wildcard and "." not in ascii_host:
        raise InvalidDomain(_("A wildcard needs a domain with a dot after it: *.example.com."))
    return ("*." + ascii_host) if wildcard else ascii_host


def origin_host(origin: str | None) -> str | None:
    """Return the normalised host of an Origin header, or None if the header is not
    `scheme://host[:port]` (absent, `null`, a path, credentials, a bad port...)."""
    if not origin or origin == "null" or len(origin) > 2100:
        return None
    scheme, sep, rest = origin.partition("://")
    if not sep or not _SCHEME.fullmatch(scheme.lower()) or not rest:
        return None
    # isprintable() refuses control characters (newlines included) and non-ASCII spaces.
    if not rest.isprintable() or any(c in rest for c in "/?#@\\ "):
        return None
    host = rest
    if rest.startswith("["):
        end = rest.find("]")
        if end == -1:
            return None
        host, port = rest[: end + 1], rest[end + 1 :]
        if port and not port.startswith(":"):
            return None
        port = port[1:] if port else ""
    elif ":" in rest:
        host, _, port = rest.rpartition(":")
    else:
        port = ""
    # isdigit() alone takes "²" (int() fails on it) and other scripts' digits.
    if (port or rest.endswith(":")) and not (
        port.isascii() and port.isdigit() and 0 < int(port) < 65536
    ):
        return None
    ip = _ip_literal(host)
    if ip is not None:
        return ip
    return _to_ascii(host)


def host_matches(host: str, domains: Iterable[str]) -> bool:
    """True if the origin's host is covered by one of the stored domains."""
    for domain in domains:
        if domain.startswith("*."):
            if host.endswith(domain[1:]):
                return True
        elif host == domain or host == "www." + domain:
            return True
    return False


def describe_match(domain: str) -> str:
    """A short human description of what a stored domain matches (for the dashboard)."""
    if domain.startswith("*."):
        base = display_host(domain[2:])
        return _("every subdomain of %(domain)s, not %(domain)s itself") % {"domain": base}
    if _ip_literal(domain) is not None:
        return domain
    return _("%(domain)s and www.%(domain)s") % {"domain": display_host(domain)}


def display_host(domain: str) -> str:
    """A stored domain as people type it (`*.пример.рф`), or as stored if it is not IDNA."""
    prefix = "*." if domain.startswith("*.") else ""
    plain = domain.removeprefix(prefix)
    if "xn--" not in plain:
        return domain
    try:
        return prefix + idna.decode(plain)
    except (idna.IDNAError, UnicodeError):
        return domain


def still_accepted(domain: str, others: Iterable[str]) -> list[tuple[list[str], str]]:
    """What `domain` lets in that one of `others` would still let in once it is deleted:
    (hosts, through which domain) pairs, decided by host_matches, the API's own rule."""
    rest = [other for other in others if other != domain]
    if domain.startswith("*."):
        # host_matches reads "*.x" as a host no exact domain equals: only a wildcard over
        # the same or a parent domain covers every subdomain of x.
        whole = [other for other in rest if host_matches(domain, [other])]
        if whole:
            return [([domain], whole[0])]
        # Otherwise only the names under x that have a domain of their own stay accepted.
        return [
            ([other], other) for other in rest if host_matches(other.removeprefix("*."), [domain])
        ]
    hosts = [domain] if _ip_literal(domain) is not None else [domain, "www." + domain]
    found: dict[str, list[str]] = {}
    for host in hosts:
        through = next((other for other in rest if host_matches(host, [other])), None)
        if through is not None:
            found.setdefault(through, []).append(host)
    return [(covered, through) for through, covered in found.items()]
