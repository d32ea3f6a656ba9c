"""URL converters: `<id:name>` for every database id in a dashboard URL."""

from __future__ import annotations

# The largest bigint (PostgreSQL) and SQLite integer: ids are never larger.
MAX_ID = 2**63 - 1


class IdConverter:
    """1 to 2**63 - 1; anything else does not match, so the page is a 404.

    Django's `<int:…>` passes any number of digits on, and a lookup past the database's
    integers fails with an error (SQLite, a raw query) instead of finding nothing.
    """

    regex = "[1-9][0-9]{0,18}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError(value)  # the resolver takes a ValueError for "no match"
        return number

    def to_url(self, value: int | str) -> str:
        return str(value)


class IndexConverter:
    """A position in a stored list (a product of an order): 0 to 9999, else a 404.

    Positions count from 0, which `<id:…>` does not match; bounded like it, so no number of
    digits reaches the view, whatever the method.
    """

    regex = "0|[1-9][0-9]{0,3}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int | str) -> str:
        return str(value)
