"""Form bodies as ordered (name, value) pairs: urlencoded, multipart/form-data and JSON.

The form endpoints (ingest/forms.py) keep a form's fields in the order it sent them, repeated
names as repeated pairs, so nothing here goes through a dict or Django's QueryDict. Fields whose
names start with `_` are controls (`_next`, `_gotcha`), never stored. Every refusal is a
FormRefused carrying the contract's error answer; nothing is ever decoded leniently: a body
that is not valid in its charset is refused rather than stored garbled.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
from django.utils.http import parse_header_parameters
from pydantic import TypeAdapter, ValidationError

from orderreport.ingest.http import Answer, _parse_json, error
from orderreport.ingest.schemas import (
    DATA_ITEMS_MAX,
    DATA_NAME_MAX,
    DATA_VALUE_MAX,
    DataItems,
    error_map,
)

Pair = tuple[str, str]

# Parsing stops here (Django's DATA_UPLOAD_MAX_NUMBER_FIELDS): controls included, a body of
# 64 KiB could otherwise hold 30,000 empty fields.
MAX_PARSED_FIELDS = 1000
# Charsets a form may declare (`Content-Type: ...; charset=`), by Python's codec name. Pages
# in windows-1251 and KOI8-R still exist on the Russian web.
_CHARSETS = frozenset({"utf-8", "ascii", "cp1251", "koi8-r", "iso8859-1"})
# `%` not followed by two hex digits: parse_qsl would keep it as it is, a garbled value.
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DATA = TypeAdapter(DataItems)


class FormRefused(Exception):
    """The body cannot be taken; `answer` is the contract's error answer for it."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.body)
        self.answer = answer


@dataclass
class Fields:
    """A form's data pairs, in order, and its controls."""

    data: list[Pair] = field(default_factory=list)
    controls: list[Pair] = field(default_factory=list)

    def control(self, name: str) -> str:
        """The first value of a control, "" if absent."""
        return next((v for n, v in self.controls if n == name), "")


def _invalid_encoding(message: str = "Invalid encoding: send the form as UTF-8") -> FormRefused:
    return FormRefused(error(422, message, "invalid_encoding"))


def _invalid_payload() -> FormRefused:
    return FormRefused(error(422, "Invalid data payload", "invalid_payload"))


def _too_many(count: int | None = None) -> FormRefused:
    sent = f"; this one sent {count}" if count is not None else ""
    message = f"A form may send at most {DATA_ITEMS_MAX} fields{sent}."
    return FormRefused(
        error(422, "Validation error", "validation_error", errors={"body": [message]})
    )


def _codec(charset: str | None) -> str:
    if not charset:
        return "utf-8"
    try:
        name = codecs.lookup(charset).name
    except LookupError:
        name = ""
    if name not in _CHARSETS:
        raise _invalid_encoding("Unsupported charset: send the form as UTF-8")
    return name


def parse_form(content_type: str, body: bytes) -> list[Pair]:
    """The body's fields in order, by its Content-Type; raises FormRefused."""
    mime, params = parse_header_parameters(content_type or "")
    if mime == "application/x-www-form-urlencoded":
        return _urlencoded(body, _codec(params.get("charset")))
    if mime == "multipart/form-data":
        return _multipart(body, params.get("boundary", ""), _codec(params.get("charset")))
    if mime == "application/json":
        return _json(body)
    supported = "application/x-www-form-urlencoded, multipart/form-data or application/json"
    raise FormRefused(
        error(415, f"Unsupported content type: send {supported}", "unsupported_media_type")
    )


def _urlencoded(body: bytes, codec: str) -> list[Pair]:
    try:
        # Browsers percent-encode; curl's `-d 'имя=Иван'` sends the raw bytes. Both decode.
        text = body.decode(codec)
    except UnicodeDecodeError:
        raise _invalid_encoding() from None
    if _BAD_ESCAPE.search(text):
        raise _invalid_encoding("Invalid percent-encoding")
    try:
        return parse_qsl(
            text,
            keep_blank_values=True,
            encoding=codec,
            errors="strict",
            max_num_fields=MAX_PARSED_FIELDS,
        )
    except UnicodeDecodeError:
        raise _invalid_encoding() from None
    except ValueError:  # max_num_fields
        raise _too_many() from None


def _multipart(body: bytes, boundary: str, codec: str) -> list[Pair]:
    if not boundary or len(boundary) > 70 or not boundary.isascii():
        raise _invalid_payload()
    delimiter = b"\r\n--" + boundary.encode("ascii")
    chunks = (b"\r\n" + body).split(delimiter)
    pairs: list[Pair] = []
    closed = False
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            closed = True
            break
        if len(pairs) >= MAX_PARSED_FIELDS:
            raise _too_many()
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise _invalid_payload()
        name, filename = _disposition(head)
        if filename is not None:
            # A file input left empty still sends a part with filename="" and no content.
            if filename == "" and not content:
                continue
            message = "Files are not accepted: remove the file field from the form."
            raise FormRefused(
                error(422, "Files are not accepted", "file_not_accepted", errors={name: [message]})
            )
        try:
            pairs.append((name, content.decode(codec)))
        except UnicodeDecodeError:
            raise _invalid_encoding() from None
    if not closed:  # cut short: never store half a form
        raise _invalid_payload()
    return pairs


def _disposition(head: bytes) -> tuple[str, str | None]:
    """The part's field name and file name (None: not a file) from its headers."""
    try:
        # Browsers send names as raw UTF-8 (the HTML standard), quotes as %22.
        lines = head.decode("utf-8").split("\r\n")
    except UnicodeDecodeError:
        raise _invalid_encoding() from None
    for line in lines:
        header, _, value = line.partition(":")
        if header.strip().lower() == "content-disposition":
            kind, params = parse_header_parameters(value)
            if kind != "form-data" or "name" not in params:
                break
            filename = params.get("filename", params.get("filename*"))
            return params["name"], filename
    raise _invalid_payload()


def _json(body: bytes) -> list[Pair]:
    """A JSON object: the tracking API's `{"data": [{name, value}, ...]}`, else flat.

    An object whose `data` is an array is read as the tracking API reads it (its `event`, if
    any, is ignored: the URL names the event); any other object is `{"name": value}` in
    order: a string as it is, a number as its digits, an array as one pair per element, and
    anything else (true, null, an object: a builder's nested order data) as its JSON text,
    so that no lead is refused for its shape.
    """
    payload = _parse_json(body)
    if not isinstance(payload, dict):
        raise _invalid_payload()
    data = payload.get("data")
    if isinstance(data, list):
        try:
            items = _DATA.validate_python(data)
        except ValidationError as exc:
            paths = {
                (f"data.{path}" if path != "body" else "data"): messages
                for path, messages in error_map(exc).items()
            }
            raise FormRefused(
                error(422, "Validation error", "validation_error", errors=paths)
            ) from None
        return [(item.name, item.value) for item in items]
    pairs: list[Pair] = []
    for name, value in payload.items():
        for one in value if isinstance(value, list) else [value]:
            pairs.append((name, _json_value(one)))
    return pairs


def _json_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if value is None:
        return ""
    return orjson.dumps(value).decode()


def _label(name: str) -> str:
    return name if len(name) <= 60 else name[:60] + "…"


def split_fields(pairs: Sequence[Pair]) -> Fields:
    """Separate the controls and check the data fields against the tracking API's rules."""
    fields = Fields()
    for name, value in pairs:
        (fields.controls if name.startswith("_") else fields.data).append((name, value))
    if len(fields.data) > DATA_ITEMS_MAX:
        raise _too_many(len(fields.data))
    errors: dict[str, list[str]] = {}
    for number, (name, value) in enumerate(fields.data, 1):
        if not name:
            errors.setdefault("body", []).append(f"Field {number} has no name.")
        elif len(name) > DATA_NAME_MAX:
            errors[_label(name)] = [f"The name is longer than {DATA_NAME_MAX} characters."]
        elif "\x00" in name:
            errors[_label(name.replace("\x00", ""))] = ["Must not contain NUL characters."]
        elif len(value) > DATA_VALUE_MAX:
            errors[name] = [
                f"Must be at most {DATA_VALUE_MAX:,} characters; this one has {len(value):,}."
            ]
        elif "\x00" in value:
            errors[name] = ["Must not contain NUL characters."]
    if errors:
        raise FormRefused(error(422, "Validation error", "validation_error", errors=errors))
    return fields
