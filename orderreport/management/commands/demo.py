"""`orderreport demo`: make sure the demo account exists and print how to use it."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from orderreport.accounts.models import User
from orderreport.accounts.services import create_account
from orderreport.projects.models import ApiKey, Domain, Event, Project, hash_server_key
from orderreport.projects.services import create_server_key

DEMO_EMAIL = "demo@example.com"
DEMO_DOMAIN = "example.com"
DEMO_SERVER_KEY_NAME = "Demo server key"


@transaction.atomic
def ensure_demo() -> dict[str, str]:
    """Create the demo account once; later calls return the same credentials.

    The demo password is random per installation and kept only in a file under var/ (the
    user table stores its hash), so the demo account of one laptop does not open another's.
    """
    password_file = settings.VAR_DIR / "demo-password"
    user = User.objects.select_for_update().filter(email=DEMO_EMAIL).first()
    if user is None or not password_file.exists():
        password = secrets.token_urlsafe(12)
        password_file.parent.mkdir(parents=True, exist_ok=True)
        password_file.write_text(password)
        password_file.chmod(0o600)
        if user is None:
            user = User.objects.create_user(DEMO_EMAIL, password, first_name="Demo")
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
    password = password_file.read_text().strip()
    account = user.owned_accounts.first() or create_account(user, "Demo account")
    project = account.projects.first() or Project.objects.create(account=account, name="Demo shop")
    Domain.objects.get_or_create(project=project, host=DEMO_DOMAIN, defaults={"is_active": True})
    key = project.api_keys.filter(
        is_active=True, kind=ApiKey.Kind.BROWSER
    ).first() or ApiKey.objects.create(project=project, name="Demo key")
    event = project.events.filter(is_active=True).first() or Event.objects.create(
        project=project, name="Call-back request"
    )
    server_key = _demo_server_key(project)
    return {
        "api_key": key.key,
        "event_key": event.key,
        "domain": DEMO_DOMAIN,
        "base_url": settings.BASE_URL,
        "login": DEMO_EMAIL,
        "password": password,
        "server_key": server_key,
    }


def _demo_server_key(project: Project) -> str:
    """The demo's server key: created once and kept beside the password (the database keeps
    only its hash). A new one replaces it when the file is lost or the key is gone, rotated
    or switched off, so the value printed always works."""
    key_file = settings.VAR_DIR / "demo-server-key"
    if key_file.exists():
        raw = key_file.read_text().strip()
        if project.api_keys.filter(
            kind=ApiKey.Kind.SERVER, is_active=True, key=hash_server_key(raw)
        ).exists():
            return raw
    _key, raw = create_server_key(project, DEMO_SERVER_KEY_NAME)
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(raw)
    key_file.chmod(0o600)
    return raw


class Command(BaseCommand):
    help = "Create the demo account, project, domain, API key and event (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print credentials as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        demo = ensure_demo()
        if options["json"]:
            self.stdout.write(json.dumps(demo))
            return
        body = (
            '{"id": "order-100234", "total": 99000, "currency": "RUB", "username": "john_doe", '
            '"email": "john@example.com"}'
        )
        self.stdout.write(
            "\nDemo account ready\n"
            f"  dashboard: {demo['base_url']}/accounts/login/\n"
            f"  login:     {demo['login']}\n"
            f"  password:  {demo['password']}\n"
            f"  API key:   {demo['api_key']}\n"
            f"  event key: {demo['event_key']}\n"
            f"  server key: {demo['server_key']}  (for /api/orders/update and /api/external/*; "
            "keep it on servers)\n"
            f"  domain:    {demo['domain']}\n\n"
            "Send a first order:\n\n"
            f"curl -X POST '{demo['base_url']}/api/orders/track' \\\n"
            "  -H 'Content-Type: application/json' \\\n"
            f"  -H 'X-API-KEY: {demo['api_key']}' \\\n"
            f"  -H 'Origin: https://{demo['domain']}' \\\n"
            f"  -d '{body}'\n\n"
            "Then mark it paid with the server key (no Origin needed):\n\n"
            f"curl -X POST '{demo['base_url']}/api/orders/update' \\\n"
            "  -H 'Content-Type: application/json' \\\n"
            f"  -H 'X-API-KEY: {demo['server_key']}' \\\n"
            """  -d '{"id": "order-100234", "status": "paid"}'\n"""
        )
