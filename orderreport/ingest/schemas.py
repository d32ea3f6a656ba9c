"""Field rules of the tracking API (docs: contract.md, "Order fields" and "Event fields").

Pydantic's core validates in Rust, reports every bad field at once and gives each error a
location we turn into the contract's dotted paths (`products.0.price`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
)
from pydantic.networks import validate_email
from pydantic_core import PydanticCustomError

from orderreport.money import CURRENCIES

MAX_INT64 = 2**63 - 1
# PostgreSQL stores no U+0000 in text or jsonb; refusing it here gives a 422 naming the field
# (instead of a database error) and keeps SQLite and PostgreSQL alike. Checked in Rust.
NO_NUL = r"^[^\x00]*$"
_WHITESPACE = re.compile(r"\s")


def _blank_to_none(value: Any) -> Any:
    """For optional fields, null and "" both mean absent."""
    if value == "" and isinstance(value, str):
        return None
    return value


def _data_value(value: Any) -> Any:
    # A number is kept as its string; bool is a JSON true/false, not a number.
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


# The `data` rules, also the form endpoints' (ingest/formdata.py).
DATA_ITEMS_MAX = 100
DATA_NAME_MAX = 255
DATA_VALUE_MAX = 10_000


class DataItem(_Strict):
    name: StrictStr = Field(min_length=1, max_length=DATA_NAME_MAX, pattern=NO_NUL)
    # The constraints sit before the BeforeValidator so they apply to the string itself.
    value: Annotated[
        StrictStr, Field(max_length=DATA_VALUE_MAX, pattern=NO_NUL), BeforeValidator(_data_value)
    ]


class Product(_Strict):
    name: StrictStr = Field(min_length=1, max_length=500, pattern=NO_NUL)
    price: StrictInt = Field(ge=0, le=MAX_INT64)
    count: StrictInt = Field(ge=1, le=MAX_INT64)
    image: StrictStr = Field(max_length=2048, pattern=NO_NUL)

    @field_validator("image")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        if not _is_absolute_http_url(value):
            raise ValueError("must be an absolute http(s) URL")
        return value


@lru_cache(maxsize=4096)
def _is_absolute_http_url(value: str) -> bool:
    """A shop sends the same few product images over and over: each is parsed once."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return (
        parts.scheme.lower() in ("http", "https")
        and bool(parts.hostname)
        and not _WHITESPACE.search(value)
    )


Optional = BeforeValidator(_blank_to_none)
Phone = Annotated[StrictStr, Field(max_length=64, pattern=NO_NUL)]
# Plain ASCII addresses (nearly all of them) in dot-atom form: email-validator would accept
# their local part exactly as written, so only the domain needs its checks.
_PLAIN_EMAIL = re.compile(
    r"(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*)"
    r"@(?P<domain>[A-Za-z0-9.-]+)"
)


@lru_cache(maxsize=4096)
def _email_domain(domain: str) -> str:
    """email-validator's verdict on a domain, remembered: a shop's customers share a few
    dozen mail domains, and this check is most of the cost of validating an order."""
    _name, address = validate_email("x@" + domain)
    return address.rpartition("@")[2]


def _email(value: str) -> str:
    """What pydantic's EmailStr answers (email-validator's normalised address), faster."""
    plain = _PLAIN_EMAIL.fullmatch(value)
    if plain and len(plain["local"]) <= 64:
        try:
            return plain["local"] + "@" + _email_domain(plain["domain"])
        except PydanticCustomError:
            pass  # the full check below gives the error its message
    _name, address = validate_email(value)
    return address


Email = Annotated[StrictStr, Field(max_length=254), AfterValidator(_email)]
Username = Annotated[StrictStr, Field(max_length=255, pattern=NO_NUL)]
Products = Annotated[list[Product], Field(max_length=500)]
DataItems = Annotated[list[DataItem], Field(max_length=DATA_ITEMS_MAX)]


def _order_id(value: Any) -> str:
    # An integer id is stored as its decimal string; bool is not an integer here. The length
    # limit applies to that string too: the column holds 128 characters.
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, str):
        text = value.strip()
    else:
        raise ValueError("must be a string or an integer")
    if not text:
        raise ValueError("must not be empty")
    if len(text) > 128:
        raise ValueError("must be at most 128 characters")
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    return text


class _OrderFields(_Strict):
    """The optional fields of an order, with the same rules for tracking and for updates."""

    currency: Annotated[StrictStr | None, Optional] = None
    phone: Annotated[Phone | None, Optional] = None
    email: Annotated[Email | None, Optional] = None
    username: Annotated[Username | None, Optional] = None
    products: Annotated[Products | None, Optional] = None
    data: Annotated[DataItems | None, Optional] = None

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return _currency_code(value)


class OrderPayload(_OrderFields):
    id: Annotated[str, BeforeValidator(_order_id)]
    total: StrictInt = Field(ge=0, le=MAX_INT64)


def _currency_code(value: str | None) -> str | None:
    if value is None:
        return None
    code = value.upper()
    if code not in CURRENCIES:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return code


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("must not be null")
    return value


def _status(value: str) -> str:
    # Imported here: the field rules load without Django's apps (benchmarks, the schema docs).
    from orderreport.orders.models import Status

    if value not in Status.values:
        raise ValueError(f"unknown status {value!r}; allowed: {', '.join(Status.values)}")
    return value


NotNull = BeforeValidator(_not_null)


class OrderUpdate(_OrderFields):
    """POST /api/orders/update: `id` and any of `status` and the order's fields.

    Only the fields sent change (`model_fields_set`); each has the rule it has in
    OrderPayload. `total` and `status` may not be null; `currency` null or "" leaves the
    currency as it is; `username`, `email` and `phone` null or "" clear them; `products` and
    `data` replace the lists (null means an empty list).
    """

    id: Annotated[str, BeforeValidator(_order_id)]
    status: Annotated[Annotated[StrictStr, AfterValidator(_status)] | None, NotNull] = None
    total: Annotated[Annotated[StrictInt, Field(ge=0, le=MAX_INT64)] | None, NotNull] = None

    def changes(self) -> dict[str, Any]:
        """The order's fields to set, as stored (status apart)."""
        sent = self.model_fields_set - {"id", "status"}
        values = self.model_dump(include=sent)
        changes: dict[str, Any] = {}
        for name, value in values.items():
            if name == "currency":
                if value is not None:
                    changes[name] = value
            elif name in ("products", "data"):
                changes[name] = value or []
            else:
                changes[name] = value if value is not None else ("" if name != "total" else 0)
        return changes


class EventPayload(_Strict):
    event: StrictStr = Field(min_length=1, max_length=64)
    data: DataItems


def _path(loc: tuple[int | str, ...]) -> str:
    # Pydantic adds the union member or validator name to some locations
    # (`id.str`, `email.function-after[...]`); the contract wants field paths only.
    parts = [str(p) for p in loc if not (isinstance(p, str) and ("[" in p or p in _NOISE))]
    return ".".join(parts) or "body"


_NOISE = {"str", "int", "list", "none", "is-instance", "function-after", "function-before"}

_MESSAGES = {
    "missing": "This field is required.",
    "int_type": "Must be an integer.",
    "int_from_float": "Must be an integer.",
    "string_type": "Must be a string.",
    "list_type": "Must be an array.",
    "model_type": "Must be an object.",
    "model_attributes_type": "Must be an object.",
    "dataclass_type": "Must be an object.",
    # NO_NUL is the only pattern.
    "string_pattern_mismatch": "Must not contain NUL characters.",
}


def error_map(exc: ValidationError) -> dict[str, list[str]]:
    """Turn a ValidationError into the contract's `errors`: one entry per bad field."""
    errors: dict[str, list[str]] = {}
    for err in exc.errors(include_url=False, include_context=True, include_input=False):
        path = _path(err["loc"])
        kind = err["type"]
        if kind in _MESSAGES:
            message = _MESSAGES[kind]
        elif kind == "value_error":
            message = str(err["msg"]).removeprefix("Value error, ")
            message = message[0].upper() + message[1:] if message else "Invalid value."
            if not message.endswith("."):
                message += "."
        else:
            message = str(err["msg"]) + "."
        messages = errors.setdefault(path, [])
        if message not in messages:
            messages.append(message)
    return errors
