from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.conftest import Shop
from tests.mail import sent_mail

pytestmark = pytest.mark.django_db


def test_it_mails_a_reset_link_that_sets_a_new_password(client: Client, shop: Shop) -> None:
    response = client.post("/accounts/password/reset/", {"email": shop.user.email})
    assert response.status_code == 302
    assert len(sent_mail()) == 1
    match = re.search(r"https?://[^/\s]+(/accounts/password/reset/key/\S+/)", sent_mail()[0].body)
    assert match, sent_mail()[0].body

    # The key URL redirects to a form without the key in it (it stays in the session).
    form_url = client.get(match.group(1))["Location"]
    new = "another long passphrase 77"
    done = client.post(form_url, {"password1": new, "password2": new})
    assert done.status_code == 302
    shop.user.refresh_from_db()
    assert shop.user.check_password(new)


def test_it_does_not_reveal_unknown_addresses(client: Client) -> None:
    response = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302
    assert "nobody@example.com" in sent_mail()[0].to  # a "no account here" notice
    assert "/accounts/password/reset/key/" not in sent_mail()[0].body


def test_it_explains_a_malformed_address(client: Client) -> None:
    response = client.post("/accounts/password/reset/", {"email": "not an address"})
    assert response.status_code == 200
    assert "valid email" in response.content.decode()
    assert sent_mail() == []
