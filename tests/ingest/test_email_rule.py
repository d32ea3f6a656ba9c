"""The e-mail rule: the fast path for plain addresses answers exactly as pydantic's EmailStr."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import EmailStr, TypeAdapter, ValidationError

from orderreport.ingest.schemas import OrderPayload

REFERENCE = TypeAdapter(EmailStr)

TRICKY = [
    "john@example.com",
    "John.Smith+tag@Example.COM",
    "a@b.co",
    "a..b@example.com",
    ".a@example.com",
    "a.@example.com",
    "a" * 64 + "@example.com",
    "a" * 65 + "@example.com",
    "a@localhost",
    "a@example.test",
    "a@example.invalid",
    "a@123.456",
    "a@-example.com",
    "a@example-.com",
    "a@exa_mple.com",
    "a@example..com",
    "a@.example.com",
    "a@example.com.",
    "a@" + "b" * 64 + ".com",
    '"quoted"@example.com',
    "John Doe <john@example.com>",
    "иван@пример.рф",
    "a@ПРИМЕР.рф",
    "a@xn--e1afmkfd.xn--p1ai",
    "a@[127.0.0.1]",
    "a b@example.com",
    "a@@example.com",
    "@example.com",
    "a@",
]


def reference(value: str) -> str | None:
    try:
        return REFERENCE.validate_python(value)
    except ValidationError:
        return None


def ours(value: str) -> str | None:
    try:
        email = OrderPayload.model_validate({"id": "x", "total": 1, "email": value}).email
    except ValidationError as exc:
        assert [e["loc"] for e in exc.errors()] == [("email",)]
        return None
    assert email is not None
    return email


@pytest.mark.parametrize("value", TRICKY)
def test_it_agrees_with_email_validator_on_tricky_addresses(value: str) -> None:
    assert ours(value) == reference(value)


@settings(max_examples=300, deadline=None)
@given(st.emails() | st.text(alphabet='aAz09.@-_+[]"<> ', max_size=40))
def test_it_agrees_with_email_validator_on_any_text(value: str) -> None:
    if len(value) > 254 or not value.strip():
        return  # the length rule and blank-means-absent come first; tested elsewhere
    assert ours(value) == reference(value)
