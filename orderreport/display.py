"""Customer strings made safe to show: control and bidi characters written out, never obeyed.

Ids, names and data arrive from shops and forms and are stored exactly as sent (exports and
webhooks hand them on as data). Shown to a person, a CR/LF could start a fake line in a mail
or Telegram body ("Fake: paid") and a U+202E could reverse the rest of a line, so every place
that shows a customer string passes it through `neutralise`: such characters become visible
escapes (`\\n`, `\\u202e`) instead. Tabs are kept: they cannot fake a line or a direction.

Pages also isolate a value that holds right-to-left letters (Hebrew, Arabic) in `<bdi>` (the
`customer` filter), so it cannot pull the punctuation and numbers next to it into its own
direction. A value without such letters cannot reorder anything once its controls are escaped
(our pages are left-to-right), so it is left bare: the markup stays what it was.
"""

from __future__ import annotations

import re
import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r"}

# C0 controls but tab, DEL and C1; the bidi embeddings, overrides, isolates and marks
# (U+202A-U+202E, U+2066-U+2069, U+200E/U+200F, U+061C); the line and paragraph
# separators U+2028/U+2029, which break lines like LF in many clients.
_UNSAFE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or f"\\u{ord(char):04x}"


def neutralise(value: object) -> str:
    """`value` as text with its control and bidi characters written as visible escapes."""
    return _UNSAFE.sub(_escape, str(value))


def is_right_to_left(text: str) -> bool:
    """Whether `text` holds a right-to-left letter or digit (bidi classes R, AL, AN)."""
    return any(unicodedata.bidirectional(c) in ("R", "AL", "AN") for c in text)
