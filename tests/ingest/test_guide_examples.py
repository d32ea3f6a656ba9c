"""The integration guide's own request bodies, verbatim, answer 201."""

from __future__ import annotations

import json

from orderreport.events.models import EventRecord
from orderreport.examples import GUIDE_ORDER
from orderreport.orders.models import Order
from tests.conftest import Api, Shop

# The guide's curl body for an order, byte for byte (Cyrillic and indentation included).
GUIDE_CURL_ORDER = """{
    "id": "order-100234",
    "total": 99000,
    "currency": "RUB",
    "username": "john_doe",
    "email": "john@example.com",
    "phone": "+998901112233",
    "data": [
      { "name": "Имя", "value": "John Doe" },
      { "name": "Телефон", "value": "+998901112233" }
    ],
    "products": [
      {
        "name": "Sneakers X",
        "price": 99000,
        "count": 1,
        "image": "https://example.com/images/sneakers-x.jpg"
      }
    ]
  }"""

GUIDE_CURL_EVENT = """{
    "event": "cfsdfsfds",
    "data": [
      { "name": "Имя", "value": "Ruslan Garapov" },
      { "name": "Телефон", "value": "+998888214888" }
    ]
  }"""


def test_it_accepts_the_guides_curl_order(api: Api, shop: Shop) -> None:
    response = api.order(GUIDE_CURL_ORDER.encode(), shop.key.key, origin="https://example.com")
    assert response.status_code == 201
    assert response.json() == {"message": "Order tracked", "id": "order-100234"}
    order = Order.objects.get(project=shop.project, external_id="order-100234")
    assert order.total == 99000
    assert order.currency == "RUB"
    assert order.data == GUIDE_ORDER["data"]
    assert order.products == GUIDE_ORDER["products"]
    assert order.origin == "https://example.com"


def test_it_accepts_the_guides_curl_event(api: Api, shop: Shop) -> None:
    shop.event.key = "cfsdfsfds"
    shop.event.save()
    response = api.event(GUIDE_CURL_EVENT.encode(), shop.key.key)
    assert response.status_code == 201
    body = response.json()
    assert body["message"] == "Event tracked"
    record = EventRecord.objects.get(pk=int(body["id"]))
    assert record.event == shop.event
    assert record.data == json.loads(GUIDE_CURL_EVENT)["data"]
