"""The integration guide's example order ("Step 3. Send order"), in one place.

The integration page fills it in for each project, the tests send it, the benchmark loads the
server with it. Plain data, no Django import, so a standalone script can use it too.
"""

from __future__ import annotations

from typing import Any

GUIDE_ORDER: dict[str, Any] = {
    "id": "order-100234",
    "total": 99000,
    "currency": "RUB",
    "username": "john_doe",
    "email": "john@example.com",
    "phone": "+998901112233",
    "data": [
        {"name": "Имя", "value": "John Doe"},
        {"name": "Телефон", "value": "+998901112233"},
    ],
    "products": [
        {
            "name": "Sneakers X",
            "price": 99000,
            "count": 1,
            "image": "https://example.com/images/sneakers-x.jpg",
        }
    ],
}
