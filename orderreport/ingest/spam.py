"""The spam rules of the form endpoints: which posts are recorded with `spam=True`, and why.

Nothing is dropped and the sender is never told: a post the rules catch is answered exactly
as any other, stored with a short reason (EventRecord.spam_reason), and neither counted in
reports nor notified (ingest/__init__.py) until a member marks it "not spam". The rules, the
first that applies giving the reason:

    honeypot   the hidden `_gotcha` field is filled (people never see it; bots fill
               every field they find)
    rate       more than FORM_RATE_PER_MINUTE posts a minute from the client's address
               (/f/ only: a site builder posts every site's forms from its own servers)
    links      more than FORM_SPAM_MAX_LINKS links in the values together
    only_urls  every non-empty value is nothing but URLs
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from django.conf import settings

HONEYPOT = "honeypot"
RATE = "rate"
LINKS = "links"
ONLY_URLS = "only_urls"

# A link as spam bots write them: with a scheme, or bare "www.". One URL counts once.
_LINK = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"']+")
_URL = re.compile(r"(?i)(?:https?://|www\.)\S+")


def count_links(values: Sequence[str]) -> int:
    return sum(len(_LINK.findall(value)) for value in values)


def only_urls(values: Sequence[str]) -> bool:
    """True if there is something and all of it is URLs."""
    words = [word for value in values for word in value.split()]
    return bool(words) and all(_URL.fullmatch(word) for word in words)


def verdict(values: Sequence[str], *, honeypot: str = "", over_rate: bool = False) -> str:
    """The reason a post is spam ("" if it is not): the first rule above that applies."""
    if honeypot.strip():
        return HONEYPOT
    if over_rate:
        return RATE
    if count_links(values) > settings.FORM_SPAM_MAX_LINKS:
        return LINKS
    if only_urls(values):
        return ONLY_URLS
    return ""
