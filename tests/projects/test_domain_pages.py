from __future__ import annotations

from django.test import Client
from django.urls import reverse

from orderreport.projects.models import Domain
from tests.conftest import Api, Shop, Team


def _url(shop: Shop, name: str = "projects:domains", *more: int) -> str:
    return reverse(name, args=[shop.project.pk, *more])


def _hosts(shop: Shop) -> list[str]:
    return list(shop.project.domains.order_by("host").values_list("host", flat=True))


def test_it_adds_what_people_paste_normalised(client: Client, team: Team) -> None:
    client.force_login(team.admin)
    for pasted in ["https://Shop.example.net/cart", "пример.рф", "*.example.org"]:
        response = client.post(_url(team.shop), {"domain": pasted})
        assert response.status_code == 302
    assert _hosts(team.shop) == [
        "*.example.org",
        "example.com",
        "shop.example.net",
        "xn--e1afmkfd.xn--p1ai",
    ]
    page = client.get(_url(team.shop)).text
    assert "every subdomain of example.org, not example.org itself" in page
    assert "shop.example.net and www.shop.example.net" in page
    assert "<code>пример.рф</code><br><small" in page


def test_it_refuses_duplicates_with_a_clear_message(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    response = client.post(_url(team.shop), {"domain": "https://Example.com/shop"})
    assert response.status_code == 200
    assert "example.com is already in this project." in response.text
    assert _hosts(team.shop) == ["example.com"]


def test_it_says_what_is_wrong_and_keeps_the_input(client: Client, team: Team) -> None:
    client.force_login(team.owner)
    response = client.post(_url(team.shop), {"domain": "shop.*.example.com"})
    assert "A wildcard is only allowed as the first label: *.example.com." in response.text
    assert 'value="shop.*.example.com"' in response.text
    response = client.post(_url(team.shop), {"domain": ""})
    assert "This field is required." in response.text
    assert _hosts(team.shop) == ["example.com"]


def test_it_deactivates_and_the_api_refuses_the_next_request(
    client: Client, team: Team, api: Api
) -> None:
    key = team.shop.key.key
    assert api.order({"id": "1", "total": 1}, key).status_code == 201
    client.force_login(team.admin)
    domain = team.shop.domain
    response = client.post(_url(team.shop, "projects:domain_active", domain.pk), {"active": "0"})
    assert response.status_code == 302
    response = api.order({"id": "2", "total": 1}, key)
    assert (response.status_code, response.json()["message"]) == (403, "Domain not allowed")
    # htmx gets the row back, with the button to undo.
    response = client.post(
        _url(team.shop, "projects:domain_active", domain.pk),
        {"active": "1"},
        headers={"HX-Request": "true"},
    )
    assert response.text.lstrip().startswith("<tr")
    assert "Deactivate" in response.text
    assert api.order({"id": "3", "total": 1}, key).status_code == 201


def test_it_deletes_after_confirmation(client: Client, team: Team, api: Api) -> None:
    client.force_login(team.owner)
    url = _url(team.shop, "projects:domain_delete", team.shop.domain.pk)
    page = client.get(url).text
    assert "Delete the domain example.com?" in page
    assert Domain.objects.filter(pk=team.shop.domain.pk).exists()
    assert client.post(url).status_code == 302
    assert _hosts(team.shop) == []
    response = api.order({"id": "1", "total": 1}, team.shop.key.key)
    assert response.status_code == 403
    assert "No domains yet." in client.get(_url(team.shop)).text


def test_it_refuses_viewers(client: Client, team: Team) -> None:
    client.force_login(team.viewer)
    page = client.get(_url(team.shop)).text
    assert "example.com and www.example.com" in page
    assert 'name="domain"' not in page
    pk = team.shop.domain.pk
    assert client.post(_url(team.shop), {"domain": "new.example"}).status_code == 403
    assert client.post(_url(team.shop, "projects:domain_active", pk), {}).status_code == 403
    assert client.post(_url(team.shop, "projects:domain_delete", pk)).status_code == 403
    team.shop.domain.refresh_from_db()
    assert team.shop.domain.is_active
    assert _hosts(team.shop) == ["example.com"]


def test_it_answers_404_to_outsiders(client: Client, team: Team, other_shop: Shop) -> None:
    client.force_login(team.outsider)
    pk = team.shop.domain.pk
    assert client.get(_url(team.shop)).status_code == 404
    assert client.post(_url(team.shop), {"domain": "evil.example"}).status_code == 404
    assert client.post(_url(team.shop, "projects:domain_active", pk), {}).status_code == 404
    # A member of one project cannot reach another tenant's domain through it.
    client.force_login(team.owner)
    foreign = other_shop.domain.pk
    response = client.post(_url(team.shop, "projects:domain_delete", foreign))
    assert response.status_code == 404
    assert Domain.objects.filter(pk=foreign).exists()
    assert _hosts(team.shop) == ["example.com"]


def test_it_says_what_a_domain_matches_and_what_is_wrong_in_russian(
    client: Client, team: Team
) -> None:
    team.admin.language = "ru"
    team.admin.save()
    client.force_login(team.admin)
    client.post(_url(team.shop), {"domain": "*.example.org"})
    page = client.get(_url(team.shop)).text
    assert "все поддомены example.org, но не сам example.org" in page
    assert "example.com и www.example.com" in page
    response = client.post(_url(team.shop), {"domain": "пример..рф"})
    assert "недопустимое доменное имя" in response.text
    assert _hosts(team.shop) == ["*.example.org", "example.com"]


def test_it_shows_a_domain_as_typed_and_punycode_second(client: Client, team: Team) -> None:
    client.force_login(team.admin)
    response = client.post(_url(team.shop), {"domain": "*.пример.рф"}, follow=True)
    assert "*.пример.рф added; it matches every subdomain of пример.рф" in response.text
    page = client.get(_url(team.shop)).text
    typed = page.index("<code>*.пример.рф</code>")
    punycode = page.index("*.xn--e1afmkfd.xn--p1ai")
    assert typed < punycode
    assert "every subdomain of пример.рф, not пример.рф itself" in page
    # Plain ASCII names are not shown twice.
    assert "<code>example.com</code></td>" in page


def _delete_page(client: Client, shop: Shop, host: str) -> str:
    domain = shop.project.domains.get(host=host)
    return client.get(_url(shop, "projects:domain_delete", domain.pk)).text


def test_it_warns_about_a_covering_wildcard_in_russian(client: Client, team: Team) -> None:
    team.owner.language = "ru"
    team.owner.save()
    client.force_login(team.owner)
    for pasted in ["магазин.пример.рф", "*.пример.рф"]:
        client.post(_url(team.shop), {"domain": pasted})
    page = _delete_page(client, team.shop, "xn--80aairftm.xn--e1afmkfd.xn--p1ai")
    assert "Удалить домен магазин.пример.рф?" in page
    assert (
        "Заказы и события с магазин.пример.рф и www.магазин.пример.рф по-прежнему будут "  # noqa: RUF001
        "приниматься через *.пример.рф."
    ) in page
    page = _delete_page(client, team.shop, "example.com")
    refused = "Заказы и события с example.com и www.example.com перестанут приниматься."  # noqa: RUF001
    assert refused in page


def test_it_warns_right_when_a_wildcard_still_covers_the_host(
    client: Client, team: Team, api: Api
) -> None:
    client.force_login(team.owner)
    for pasted in ["shop.example.com", "*.example.com", "*.shop.example.com"]:
        client.post(_url(team.shop), {"domain": pasted})
    page = _delete_page(client, team.shop, "shop.example.com")
    assert (
        "Orders and events from shop.example.com and www.shop.example.com will still be "
        "accepted through *.example.com."
    ) in page
    assert "will be refused" not in page
    page = _delete_page(client, team.shop, "*.shop.example.com")
    assert "from *.shop.example.com will still be accepted through *.example.com." in page
    # The bare domain is not under its own wildcard: only www. stays.
    page = _delete_page(client, team.shop, "example.com")
    assert "Orders and events sent from example.com will be refused." in page
    assert "from www.example.com will still be accepted through *.example.com." in page
    # What the page promised is what the API does.
    shop = team.shop.project.domains.get(host="shop.example.com")
    client.post(_url(team.shop, "projects:domain_delete", shop.pk))
    response = api.order(
        {"id": "1", "total": 1}, team.shop.key.key, origin="https://shop.example.com"
    )
    assert response.status_code == 201


def test_it_warns_that_a_host_is_refused_when_no_active_domain_covers_it(
    client: Client, team: Team
) -> None:
    client.force_login(team.owner)
    client.post(_url(team.shop), {"domain": "*.example.com"})
    wildcard = team.shop.project.domains.get(host="*.example.com")
    client.post(_url(team.shop, "projects:domain_active", wildcard.pk), {"active": "0"})
    page = _delete_page(client, team.shop, "example.com")
    assert "Orders and events sent from example.com and www.example.com will be refused." in page
    assert "still be accepted" not in page
    client.post(_url(team.shop), {"domain": "shop.example.com"})
    page = _delete_page(client, team.shop, "*.example.com")
    assert "every subdomain of example.com, not example.com itself will be refused" in page
    assert "shop.example.com stays accepted: it is listed on its own." in page
