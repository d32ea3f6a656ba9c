"""Every rule of the contract's order field table, and what an accepted order stores."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from orderreport.examples import GUIDE_ORDER
from orderreport.orders.models import Order
from tests.conftest import Api, Shop
from tests.ingest.helpers import assert_invalid, order

MAX_INT64 = 2**63 - 1
IMAGE = "https://example.com/a.jpg"


def product(**fields: Any) -> dict[str, Any]:
    return {"name": "Sneakers", "price": 100, "count": 1, "image": IMAGE, **fields}


def accepted(api: Api, shop: Shop, body: dict[str, Any]) -> Order:
    response = api.order(body, shop.key.key)
    assert response.status_code == 201, response.content
    return Order.objects.get(project=shop.project, external_id=response.json()["id"])


def rejected(api: Api, shop: Shop, body: Any) -> dict[str, list[str]]:
    errors = assert_invalid(api.order(body, shop.key.key))
    assert not Order.objects.exists()
    return errors


# --- id ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("a", "a"),
        ("x" * 128, "x" * 128),
        ("  padded  ", "padded"),
        ("заказ-1", "заказ-1"),
        (0, "0"),
        (42, "42"),
        (-7, "-7"),
        (MAX_INT64, str(MAX_INT64)),
        (10**127, "1" + "0" * 127),
    ],
)
def test_it_accepts_ids_within_the_rules(api: Api, shop: Shop, sent: Any, stored: str) -> None:
    response = api.order({"id": sent, "total": 1}, shop.key.key)
    assert response.status_code == 201, response.content
    assert response.json() == {"message": "Order tracked", "id": stored}
    assert Order.objects.get().external_id == stored


@pytest.mark.parametrize(
    "sent", ["", "   ", "x" * 129, " " + "x" * 129, 10**128, 1.5, 1.0, True, None, [], {}, "a\x00b"]
)
def test_it_rejects_bad_ids(api: Api, shop: Shop, sent: Any) -> None:
    assert list(rejected(api, shop, {"id": sent, "total": 1})) == ["id"]


def test_it_requires_id_and_total(api: Api, shop: Shop) -> None:
    errors = rejected(api, shop, {})
    assert errors == {"id": ["This field is required."], "total": ["This field is required."]}


# --- total ------------------------------------------------------------------------------------


@pytest.mark.parametrize("total", [0, 1, 99000, MAX_INT64])
def test_it_accepts_totals_from_0_below_2_to_the_63(api: Api, shop: Shop, total: int) -> None:
    assert accepted(api, shop, order(total=total)).total == total


@pytest.mark.parametrize("total", [-1, 2**63, 2**64, 10**30, 1.0, 990.5, "99000", "", True, None])
def test_it_rejects_bad_totals(api: Api, shop: Shop, total: Any) -> None:
    assert list(rejected(api, shop, order(total=total))) == ["total"]


# --- currency ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "stored"),
    [("RUB", "RUB"), ("usd", "USD"), ("Eur", "EUR"), ("uzs", "UZS"), (None, "RUB"), ("", "RUB")],
)
def test_it_stores_currency_upper_case_with_rub_by_default(
    api: Api, shop: Shop, sent: str | None, stored: str
) -> None:
    assert accepted(api, shop, order(currency=sent)).currency == stored


def test_it_defaults_an_absent_currency_to_rub(api: Api, shop: Shop) -> None:
    assert accepted(api, shop, order()).currency == "RUB"


@pytest.mark.parametrize("sent", ["ABC", "RUBL", "RU", " rub", "₽", 643, True, ["RUB"]])
def test_it_rejects_unknown_currencies(api: Api, shop: Shop, sent: Any) -> None:
    assert list(rejected(api, shop, order(currency=sent))) == ["currency"]


# --- phone, email, username -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "longest"), [("phone", "+" * 64), ("username", "ю" * 255)], ids=["phone", "username"]
)
def test_it_accepts_text_fields_up_to_their_limit(
    api: Api, shop: Shop, field: str, longest: str
) -> None:
    assert getattr(accepted(api, shop, order(**{field: longest})), field) == longest


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("phone", "1" * 65),
        ("phone", 998901112233),
        ("phone", "+998\x00"),
        ("username", "u" * 256),
        ("username", 5),
        ("username", "bad\x00name"),
        ("email", "not-an-address"),
        ("email", "john@"),
        ("email", "a" * 250 + "@b.com"),
        ("email", 5),
        ("email", "jo\x00hn@example.com"),
    ],
)
def test_it_rejects_bad_optional_text_fields(api: Api, shop: Shop, field: str, value: Any) -> None:
    assert list(rejected(api, shop, order(**{field: value}))) == [field]


@pytest.mark.parametrize("email", ["john@example.com", "a@b.co", "иван@пример.рф"])
def test_it_accepts_valid_email_addresses(api: Api, shop: Shop, email: str) -> None:
    assert accepted(api, shop, order(email=email)).email == email


def test_it_accepts_an_email_of_254_characters(api: Api, shop: Shop) -> None:
    email = "a" * 64 + "@" + ".".join(["b" * 60] * 3) + "." + "c" * 6
    assert len(email) == 254
    assert accepted(api, shop, order(email=email)).email == email


@pytest.mark.parametrize("blank", [None, ""])
def test_it_treats_null_and_empty_optional_fields_as_absent(
    api: Api, shop: Shop, blank: str | None
) -> None:
    fields = ("currency", "phone", "email", "username", "products", "data")
    stored = accepted(api, shop, order(**dict.fromkeys(fields, blank)))
    assert (stored.currency, stored.phone, stored.email, stored.username) == ("RUB", "", "", "")
    assert stored.products == [] and stored.data == []


def test_it_ignores_unknown_fields(api: Api, shop: Shop) -> None:
    body = order(
        coupon="SALE", products=[product(sku="X1")], data=[{"name": "a", "value": "b", "x": 1}]
    )
    stored = accepted(api, shop, body)
    assert stored.products == [product()]
    assert stored.data == [{"name": "a", "value": "b"}]


# --- products ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "item",
    [
        product(name="n"),
        product(name="н" * 500),
        product(price=0),
        product(price=MAX_INT64),
        product(count=1),
        product(count=MAX_INT64),
        product(image="http://example.com/a.png"),
        product(image="HTTPS://cdn.example.com/img?x=1#y"),
        product(image="https://example.com/" + "a" * (2048 - 20)),
    ],
)
def test_it_accepts_products_within_the_rules(api: Api, shop: Shop, item: dict[str, Any]) -> None:
    assert accepted(api, shop, order(products=[item])).products == [item]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (product(name=""), "name"),
        (product(name="n" * 501), "name"),
        (product(name=5), "name"),
        (product(price=-1), "price"),
        (product(price=1.5), "price"),
        (product(price="100"), "price"),
        (product(price=2**63), "price"),
        (product(count=0), "count"),
        (product(count=True), "count"),
        (product(image="/images/a.jpg"), "image"),
        (product(image="ftp://example.com/a.jpg"), "image"),
        (product(image="javascript:alert(1)"), "image"),
        (product(image="https://"), "image"),
        (product(image="https://example.com/a b.jpg"), "image"),
        (product(image="https://example.com/" + "a" * (2049 - 20)), "image"),
        (product(image=None), "image"),
    ],
)
def test_it_rejects_bad_product_fields(
    api: Api, shop: Shop, item: dict[str, Any], field: str
) -> None:
    errors = rejected(api, shop, order(products=[product(), item]))
    assert list(errors) == [f"products.1.{field}"]


def test_it_requires_all_four_product_fields(api: Api, shop: Shop) -> None:
    errors = rejected(api, shop, order(products=[{}]))
    assert sorted(errors) == [f"products.0.{f}" for f in ("count", "image", "name", "price")]


@pytest.mark.parametrize("products", [{}, "x", 5, [5], [None]])
def test_it_rejects_products_that_are_not_arrays_of_objects(
    api: Api, shop: Shop, products: Any
) -> None:
    assert set(rejected(api, shop, order(products=products))) <= {"products", "products.0"}


def test_it_accepts_500_products_and_rejects_501(api: Api, shop: Shop) -> None:
    item = {"name": "p", "price": 1, "count": 1, "image": "https://e.co/i"}
    assert list(rejected(api, shop, order(products=[item] * 501))) == ["products"]
    assert len(accepted(api, shop, order(products=[item] * 500)).products) == 500


def test_it_reports_one_entry_per_bad_field_with_dotted_paths(api: Api, shop: Shop) -> None:
    body = {
        "id": "",
        "total": "1",
        "currency": "XYZ",
        "email": "nope",
        "products": [product(), product(price=-1, count=0), product(image="nope")],
        "data": [{"name": "", "value": "v"}, {"name": "n", "value": None}],
    }
    errors = rejected(api, shop, body)
    assert sorted(errors) == [
        "currency",
        "data.0.name",
        "data.1.value",
        "email",
        "id",
        "products.1.count",
        "products.1.price",
        "products.2.image",
        "total",
    ]
    assert all(len(messages) == 1 for messages in errors.values())


# --- data -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("John Doe", "John Doe"),
        ("", ""),
        ("я" * 10_000, "я" * 10_000),
        (998901112233, "998901112233"),
        (0, "0"),
        (-5, "-5"),
        (1.5, "1.5"),
        (123456789012345678901234567890, "123456789012345678901234567890"),
    ],
)
def test_it_accepts_data_values_and_keeps_numbers_as_strings(
    api: Api, shop: Shop, value: Any, stored: str
) -> None:
    item = {"name": "Телефон", "value": value}
    assert accepted(api, shop, order(data=[item])).data == [{"name": "Телефон", "value": stored}]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"name": "", "value": "v"}, "name"),
        ({"name": "n" * 256, "value": "v"}, "name"),
        ({"name": 5, "value": "v"}, "name"),
        ({"value": "v"}, "name"),
        ({"name": "n", "value": "v" * 10_001}, "value"),
        ({"name": "n", "value": None}, "value"),
        ({"name": "n", "value": True}, "value"),
        ({"name": "n", "value": ["v"]}, "value"),
        ({"name": "n", "value": {"v": 1}}, "value"),
        ({"name": "n"}, "value"),
        ({"name": "n", "value": "a\x00"}, "value"),
    ],
)
def test_it_rejects_bad_data_items(api: Api, shop: Shop, item: dict[str, Any], field: str) -> None:
    assert list(rejected(api, shop, order(data=[item]))) == [f"data.0.{field}"]


def test_it_accepts_100_data_items_and_rejects_101(api: Api, shop: Shop) -> None:
    item = {"name": "n", "value": "v"}
    assert list(rejected(api, shop, order(data=[item] * 101))) == ["data"]
    assert len(accepted(api, shop, order(data=[item] * 100)).data) == 100


def test_it_names_255_characters_as_the_longest_data_name(api: Api, shop: Shop) -> None:
    item = {"name": "n" * 255, "value": "v"}
    assert accepted(api, shop, order(data=[item])).data == [item]


# --- what is stored ---------------------------------------------------------------------------


def test_it_stores_the_order_as_validated_with_its_request_metadata(api: Api, shop: Shop) -> None:
    before = timezone.now()
    body = {**GUIDE_ORDER, "id": 100234, "currency": "rub", "unknown": {"x": 1}}
    body["data"] = [*GUIDE_ORDER["data"], {"name": "Сумма", "value": 990}]
    response = api.order(
        body,
        shop.key.key,
        origin="https://www.example.com",
        HTTP_USER_AGENT="Mozilla/5.0 (Test) Кириллица-free",
        REMOTE_ADDR="203.0.113.5",
    )
    assert response.status_code == 201
    assert response.json() == {"message": "Order tracked", "id": "100234"}
    stored = Order.objects.get()
    assert stored.project == shop.project
    assert stored.external_id == "100234"
    assert (stored.total, stored.currency) == (99000, "RUB")
    assert (stored.username, stored.email, stored.phone) == (
        "john_doe",
        "john@example.com",
        "+998901112233",
    )
    assert stored.products == GUIDE_ORDER["products"]
    assert stored.data == [*GUIDE_ORDER["data"], {"name": "Сумма", "value": "990"}]
    assert stored.origin == "https://www.example.com"
    assert stored.client_ip == "203.0.113.5"
    assert stored.user_agent == "Mozilla/5.0 (Test) Кириллица-free"
    assert before <= stored.received_at <= timezone.now()
    assert stored.received_at.utcoffset() == dt.timedelta(0)


def test_it_stores_a_long_user_agent_cut_to_512_characters(api: Api, shop: Shop) -> None:
    api.order(order(), shop.key.key, HTTP_USER_AGENT="u" * 2000)
    assert Order.objects.get().user_agent == "u" * 512
