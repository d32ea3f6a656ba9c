from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    # Every shop fixture creates a user; the real hasher is deliberately slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def forms(client: Any) -> Any:
    """Posts to the form endpoints (tests/ingest/form_helpers.py)."""
    from tests.ingest.form_helpers import Forms

    return Forms(client)
