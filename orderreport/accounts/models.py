"""Users, accounts (the tenants), members, plans and the monthly order counter."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orderreport.queued import Queued


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create(self, email: str, password: str | None, **extra: object) -> User:
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        # Users made by an operator or a command (createsuperuser, demo, tests) are trusted:
        # their address counts as confirmed, or mandatory confirmation would lock them out.
        # Sign-up through allauth does not come here and confirms by e-mail.
        from allauth.account.models import EmailAddress

        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create(email, password, **extra)


class User(AbstractUser):
    """A person who logs in. Identified by e-mail; there is no separate username."""

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail address"), unique=True)
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []  # no fields beyond e-mail and password

    objects = UserManager()  # type: ignore[assignment, misc]

    def __str__(self) -> str:
        return self.email


class Plan(models.Model):
    """A plan: how many orders an account may record per billing period.

    Plans are rows (seeded by a migration, edited in the admin) so an operator can change
    limits without a deploy.
    """

    name = models.SlugField(_("name"), max_length=32, unique=True)
    title = models.CharField(_("title"), max_length=64)
    monthly_order_limit = models.PositiveIntegerField(
        _("monthly order limit"), null=True, blank=True, help_text=_("Empty means unlimited.")
    )
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_unlimited(self) -> bool:
        return self.monthly_order_limit is None


class Account(models.Model):
    """The tenant: owns projects, holds the plan, counts orders per billing period."""

    name = models.CharField(_("name"), max_length=200)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="owned_accounts"
    )
    plan = models.ForeignKey(Plan, models.PROTECT, related_name="accounts")
    # The billing period is a month counted from this date (a sign-up on the 31st renews on
    # the last day of shorter months).
    billing_anchor = models.DateField(_("billing anchor"), default=timezone.localdate)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_named_after_email(self) -> bool:
        """Named after its owner's address, as sign-ups were before they asked for a name."""
        return self.name.strip().lower() == self.owner.email.lower()

    def current_period(self, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
        from orderreport.accounts.billing import billing_period

        return billing_period(self.billing_anchor, today or timezone.now().date())


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Admin")
        VIEWER = "viewer", _("Viewer")

    account = models.ForeignKey(Account, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "user"], name="membership_account_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.account} ({self.role})"


class Usage(models.Model):
    """Orders recorded by an account in one billing period.

    The write side grows `used` in the same transaction as the order insert, under this
    row's lock (PostgreSQL) or the database's single writer (SQLite), so the limit holds
    exactly under any concurrency (see orderreport/ingest/__init__.py).
    """

    account = models.ForeignKey(Account, models.CASCADE, related_name="usages")
    period_start = models.DateField()
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "period_start"], name="usage_account_period")
        ]

    def __str__(self) -> str:
        return f"{self.account} from {self.period_start}: {self.used}"


def _invitation_token() -> str:
    import secrets

    return secrets.token_urlsafe(32)


class Invitation(models.Model):
    """An e-mail invitation to join an account with a role, accepted through a link."""

    account = models.ForeignKey(Account, models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail address"))
    role = models.CharField(max_length=16, choices=Membership.Role.choices)
    # The link's secret: whoever reads the e-mail may join, so it is long and random.
    token = models.CharField(max_length=64, unique=True, default=_invitation_token)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()
    accepted = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        constraints = [
            # One open invitation per address and account; inviting again replaces it.
            models.UniqueConstraint(
                fields=["account", "email"],
                condition=models.Q(accepted__isnull=True),
                name="invitation_open_account_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.account} ({self.role})"

    @property
    def is_expired(self) -> bool:
        return self.expires <= timezone.now()


class HeldOrder(models.Model):
    """An order refused with 402 (the plan's limit was reached), kept until the account has
    room: released into the order table by a larger plan (ingest/held.py), or deleted when it
    expires (the end of its billing period plus HELD_ORDER_DAYS).

    It lives beside the usage counter it overflowed, not with the orders: lists, exports,
    reports, the read API and notifications read the order table only, so a held order is
    invisible to all of them by construction. The columns after `period_start` are the order
    row's (ingest/rows.py OrderRow), so a release inserts exactly what the API accepted.
    """

    account = models.ForeignKey(Account, models.CASCADE, related_name="held_orders")
    # The billing period it was refused in; `received_at` below is when it arrived (held).
    period_start = models.DateField()
    expires_at = models.DateTimeField()
    # A string reference: projects import accounts, never the other way round.
    project = models.ForeignKey(
        "projects.Project", models.CASCADE, related_name="held_orders", db_index=False
    )
    external_id = models.CharField(_("order id"), max_length=128)
    total = models.BigIntegerField(_("total"))
    currency = models.CharField(_("currency"), max_length=3)
    username = models.CharField(max_length=255, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=64, blank=True)
    products = models.JSONField(default=list, blank=True)
    data = models.JSONField(default=list, blank=True)
    origin = models.CharField(max_length=2100, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    received_at = models.DateTimeField(_("received"))
    ingest_tag = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            # One held copy per id: a retry while there is no room keeps the first copy.
            models.UniqueConstraint(fields=["project", "external_id"], name="held_project_id")
        ]
        indexes = [
            # The plan page, the banner and a release read an account's held orders in
            # arrival order.
            models.Index(fields=["account", "received_at", "id"], name="held_account_arrival"),
            models.Index(fields=["expires_at"], name="held_expires"),
        ]

    def __str__(self) -> str:
        return f"{self.external_id} held for {self.account}"


class QueuedMail(Queued):
    """Mail to a person (a sign-up or address confirmation, a password reset, an invitation,
    a channel address confirmation), written in the transaction of what caused it
    (accounts/mail.py) and sent by the worker (notify/account_mail.py): an SMTP outage delays
    the mail instead of failing the request.

    The bodies hold live secrets (reset and confirmation links), so finished rows are deleted
    MAIL_KEEP_HOURS after they were queued.
    """

    to = models.CharField(max_length=254)
    # Empty: DEFAULT_FROM_EMAIL when it is sent.
    from_email = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=998)
    text = models.TextField()
    html = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "queued mail"
        indexes = [
            # The worker asks which pending mails are due; partial, so it stays as small as
            # the backlog.
            models.Index(
                fields=["next_attempt_at"],
                name="queued_mail_due",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["created"], name="queued_mail_created"),
        ]

    def __str__(self) -> str:
        return f"{self.subject} to {self.to} ({self.status})"
