"""The mark of the integration page's test order: who may say an order is only a test.

"Send a test order" (services.send_test_order) posts a real order to our own public API, so
that keys, domains and CORS are checked end to end. The write side flags it `is_test` (not
counted against the plan, kept out of reports, notified with a "test" mark) only when the
request carries this mark: an HMAC of the project and the order id under SECRET_KEY, which
only this server can make. A shop that sends the header without it gets an ordinary order.
"""

from __future__ import annotations

from django.core import signing
from django.utils.crypto import constant_time_compare

# The header as the client sends it, and as WSGI names it in the environ.
HEADER = "X-OrderReport-Test"
ENVIRON_KEY = "HTTP_X_ORDERREPORT_TEST"

# A salt of its own: no other signature this application makes can stand in for the mark.
_signer = signing.Signer(salt="orderreport.projects.testmark")


def _value(project_id: int, order_id: str) -> str:
    return f"{project_id}:{order_id}"


def mark(project_id: int, order_id: str) -> str:
    """The header value that makes this project's order `order_id` a test order."""
    return _signer.signature(_value(project_id, order_id))


def is_valid(project_id: int, order_id: str, value: str) -> bool:
    """True if `value` is the mark of this very project and order id."""
    return bool(value) and constant_time_compare(value, mark(project_id, order_id))
