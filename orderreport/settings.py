"""OrderReport settings: one flat module on environment variables.

The defaults run on a laptop with no configuration at all: SQLite in WAL mode under var/,
local-memory cache, DEBUG off. Production sets DATABASE_URL, REDIS_URL, SECRET_KEY,
ALLOWED_HOSTS and BASE_URL. Every variable is listed in README.md.
"""

from __future__ import annotations

from email.utils import formataddr
from pathlib import Path
from typing import Any

import dj_database_url
import dj_email_url

from orderreport.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_secret,
    env_str,
    local_secret_key,
)

BASE_DIR = Path(__file__).resolve().parent
ROOT_DIR = BASE_DIR.parent
VAR_DIR = Path(env_str("VAR_DIR", str(ROOT_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
# Without SECRET_KEY (a laptop, the demo) a random key is generated once and kept under var/,
# so sessions survive restarts without a secret ever sitting in the repository.
SECRET_KEY = env_secret("SECRET_KEY") or local_secret_key(VAR_DIR / "secret_key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
PORT = env_int("PORT", 8000, minimum=1)
BASE_URL = env_str("BASE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")
# The site's name in the header, page titles and every mail ("Hello from …", subjects); without
# it allauth would name the site by the request's host.
SITE_NAME = env_str("SITE_NAME", "OrderReport")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [BASE_URL])
# Fernet keys that encrypt channel secrets (bot tokens, webhook signing secrets) in the
# database, comma-separated: the first encrypts, all decrypt, so rotation is a new key in
# front, `orderreport rotate-secrets`, then the old key dropped (docs/operations.md). Off
# production (DEBUG, or a BASE_URL that is not https) one is generated once under var/, as
# SECRET_KEY is; production must set it (a system check says so), as losing it loses secrets.
SECRETS_KEYS = [key.strip() for key in env_secret("SECRETS_KEYS").split(",") if key.strip()]
if not SECRETS_KEYS and (DEBUG or not BASE_URL.startswith("https://")):
    from cryptography.fernet import Fernet

    SECRETS_KEYS = [
        local_secret_key(VAR_DIR / "secrets_key", lambda: Fernet.generate_key().decode())
    ]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "orderreport",
    "orderreport.accounts",
    "orderreport.projects",
    "orderreport.ingest",
    "orderreport.orders",
    "orderreport.events",
    "orderreport.reports",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "orderreport.notify",
]

MIDDLEWARE = [
    # First: every query of the chain gets the deadline, and a lost database gives a 503.
    "orderreport.dbdeadline.DeadlineMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After authentication: a logged-in user's saved language wins over the cookie.
    "orderreport.accounts.middleware.LanguageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

# The public API's chain (orderreport/wsgi.py): no sessions, users, CSRF or messages there.
# CommonMiddleware stays for its ALLOWED_HOSTS check, SecurityMiddleware for its headers.
API_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "orderreport.urls"
WSGI_APPLICATION = "orderreport.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "orderreport.accounts.context_processors.frame",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'orderreport.sqlite3'}")
# Persistent connections: opening a PostgreSQL connection per request costs more than the
# whole tracking request. `orderreport serve` sets this to 600 unless it is given.
DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 0, minimum=0)
# A hung PostgreSQL costs a page, an API read or a key lookup at most this per query, then a
# 503 (orderreport/dbdeadline.py); connecting gives up after DB_CONNECT_TIMEOUT_SECONDS. The
# tracking endpoints' writes have their own bound, INGEST_WAIT_SECONDS.
DB_CONNECT_TIMEOUT_SECONDS = env_int("DB_CONNECT_TIMEOUT_SECONDS", 5, minimum=2)
DB_QUERY_TIMEOUT_SECONDS = env_float("DB_QUERY_TIMEOUT_SECONDS", 15.0, minimum=0.1)
DATABASES: dict[str, dict[str, Any]] = {
    "default": dict(dj_database_url.parse(DATABASE_URL, conn_max_age=DB_CONN_MAX_AGE))
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the dashboard read while the API writes; synchronous=FULL because a 201
        # promises the order is on disk. IMMEDIATE takes the write lock at BEGIN, so two
        # writers queue on busy_timeout instead of failing with "database is locked".
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env_bool("DB_CONN_HEALTH_CHECKS", False)
    # libpq's own bound on connecting (a hung server accepts TCP and never answers the start-up).
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = DB_CONNECT_TIMEOUT_SECONDS
TEST_DATABASE_NAME = env_str("TEST_DATABASE_NAME")
if TEST_DATABASE_NAME:
    DATABASES["default"]["TEST"] = {"NAME": TEST_DATABASE_NAME}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and rate limits ------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "or")
# Every Redis client of the app (the cache, the rate limits, the one-round-trip admission) gives
# up after these. Redis answers in well under a millisecond, so waiting longer only helps a
# Redis that is hung (accepts, never answers); redis-py's own 5 s, with its retries, cost an
# order about 20 s. A request that gives up goes on without Redis (docs/operations.md,
# "Failure modes"), and while Redis is out only one request a second tries it again.
REDIS_CONNECT_TIMEOUT_SECONDS = env_float("REDIS_CONNECT_TIMEOUT_SECONDS", 0.5, minimum=0.01)
REDIS_TIMEOUT_SECONDS = env_float("REDIS_TIMEOUT_SECONDS", 0.5, minimum=0.01)
REDIS_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": REDIS_CONNECT_TIMEOUT_SECONDS,
    "socket_timeout": REDIS_TIMEOUT_SECONDS,
}
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "orderreport.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": REDIS_OPTIONS,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "orderreport",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }
# Product pictures the order page shows through the app (notify/images.py), up to 512 KB
# each. In Redis (the fleet) they share the cache and its maxmemory; in a process's memory
# they get their own cache, so that its entry limit bounds their size.
PRODUCT_IMAGE_CACHE_ENTRIES = env_int("PRODUCT_IMAGE_CACHE_ENTRIES", 100, minimum=1)
if REDIS_URL:
    # The same dict: the tests' per-run KEY_PREFIX (tests/conftest.py) applies to both.
    CACHES["images"] = CACHES["default"]
else:
    CACHES["images"] = {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "orderreport-images",
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        "OPTIONS": {"MAX_ENTRIES": PRODUCT_IMAGE_CACHE_ENTRIES},
    }

# Rate limits of the public API: a sustained rate per second and the burst it may reach.
RATE_LIMITS_ENABLED = env_bool("RATE_LIMITS_ENABLED", True)
RATE_LIMIT_KEY_PER_SECOND = env_float("RATE_LIMIT_KEY_PER_SECOND", 100, minimum=0.001)
RATE_LIMIT_KEY_BURST = env_int("RATE_LIMIT_KEY_BURST", 200, minimum=1)
RATE_LIMIT_IP_PER_SECOND = env_float("RATE_LIMIT_IP_PER_SECOND", 20, minimum=0.001)
RATE_LIMIT_IP_BURST = env_int("RATE_LIMIT_IP_BURST", 100, minimum=1)
# How many reverse proxies in front of us append to X-Forwarded-For. 0 trusts no header and
# takes the client address from the socket.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# --- Tracking API ---------------------------------------------------------------------------
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 64 * 1024, minimum=1024)
# How long a client has to send a request's headers, and then its whole body (every path);
# past it the API answers 408 and the server thread is free again (orderreport/slowclients.py).
# 0 switches the body's deadline off: behind a proxy that buffers whole requests it costs ~20 us
# a request for nothing.
REQUEST_READ_TIMEOUT_SECONDS = env_float("REQUEST_READ_TIMEOUT_SECONDS", 10, minimum=0)
# Forms without code (/f/<event_key>): more posts a minute than this from one client address
# are recorded as spam (reason "rate"), not refused; the 429 cap is the API's own limits.
FORM_RATE_PER_MINUTE = env_int("FORM_RATE_PER_MINUTE", 10, minimum=1)
# A form post (or builder webhook post) with more links than this is recorded as spam.
FORM_SPAM_MAX_LINKS = env_int("FORM_SPAM_MAX_LINKS", 3, minimum=0)

# The batch writer (ingest/writer.py): how long a database that is stuck (a lock held by a
# migration, a hung server) may cost one order or event request before it gets a 503, and
# the timeouts every statement of the writer runs under (docs/operations.md, "Bad days").
INGEST_WAIT_SECONDS = env_float("INGEST_WAIT_SECONDS", 10.0, minimum=0.1)
INGEST_LOCK_TIMEOUT_MS = env_int("INGEST_LOCK_TIMEOUT_MS", 2000, minimum=1)
INGEST_STATEMENT_TIMEOUT_MS = env_int("INGEST_STATEMENT_TIMEOUT_MS", 5000, minimum=1)
DEFAULT_PLAN = env_str("DEFAULT_PLAN", "free")

# --- Notifications ------------------------------------------------------------------------
# Mail for e-mail channels and plan-limit warnings uses the EMAIL_* settings below.
# Telegram's Bot API; tests and air-gapped installs point it at a local server.
TELEGRAM_API_BASE = env_str("TELEGRAM_API_BASE", "https://api.telegram.org").rstrip("/")
# Webhook URLs must be https unless the operator allows plain http (a private test rig).
WEBHOOK_ALLOW_HTTP = env_bool("WEBHOOK_ALLOW_HTTP", False)
# Requests to user-given URLs never reach private, loopback or link-local addresses unless
# the operator allows them all, or lists the networks that may be reached (comma-separated).
OUTBOUND_ALLOW_PRIVATE = env_bool("OUTBOUND_ALLOW_PRIVATE", False)
OUTBOUND_ALLOWED_NETWORKS = env_list("OUTBOUND_ALLOWED_NETWORKS", [])
OUTBOUND_TIMEOUT_SECONDS = env_float("OUTBOUND_TIMEOUT_SECONDS", 10, minimum=0.1)
OUTBOUND_MAX_RESPONSE_BYTES = env_int("OUTBOUND_MAX_RESPONSE_BYTES", 256 * 1024, minimum=1024)
# The worker: how often it looks for due deliveries when idle, and how long a claimed
# delivery stays reserved before another worker may take it over (after a crash).
NOTIFY_POLL_SECONDS = env_float("NOTIFY_POLL_SECONDS", 1.0, minimum=0.01)
NOTIFY_LEASE_SECONDS = env_int("NOTIFY_LEASE_SECONDS", 300, minimum=5)
NOTIFY_BATCH_SIZE = env_int("NOTIFY_BATCH_SIZE", 20, minimum=1)
NOTIFY_RETRY_HOURS = env_float("NOTIFY_RETRY_HOURS", 24, minimum=0.01)
# Sent and failed deliveries (the log the owner reads) are deleted after this many days.
NOTIFY_KEEP_DAYS = env_int("NOTIFY_KEEP_DAYS", 90, minimum=1)
# Account mail (sign-up, password reset, invitations, address confirmations) waits in the
# database for the worker; its links are live secrets, so sent and given-up mail is deleted
# this many hours after it was queued.
MAIL_KEEP_HOURS = env_int("MAIL_KEEP_HOURS", 24, minimum=1)
# Orders refused with 402 are held until the end of their billing period plus this many days
# (released by a larger plan meanwhile); the worker deletes them after that.
HELD_ORDER_DAYS = env_int("HELD_ORDER_DAYS", 30, minimum=0)
# Where the plan page sends an owner who wants a larger plan: a link (a billing page), an
# address (a mailto: link), or both; without either it names DEFAULT_FROM_EMAIL.
UPGRADE_URL = env_str("UPGRADE_URL", "")
UPGRADE_EMAIL = env_str("UPGRADE_EMAIL", "")

# --- Product images -------------------------------------------------------------------------
# A product's picture URL comes from the customer's browser: loaded by the owner's browser, it
# would tell any host the owner's address and when they look. "proxy" fetches it on the
# server (through the outbound guard) and serves it from the app; "off" fetches nothing and
# the order page links to the picture instead.
PRODUCT_IMAGES = env_str("PRODUCT_IMAGES", "proxy")
PRODUCT_IMAGE_MAX_BYTES = env_int("PRODUCT_IMAGE_MAX_BYTES", 2 * 1024 * 1024, minimum=1024)
# The whole fetch, redirects included, ends within this; a host that never answers costs a
# page's image request this long, then its failure is remembered for a minute.
PRODUCT_IMAGE_TIMEOUT_SECONDS = env_float("PRODUCT_IMAGE_TIMEOUT_SECONDS", 5, minimum=0.3)

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
# Our own assets, and front-end packages exactly as npm installed them (package.json pins
# their versions); collectstatic copies both to STATIC_ROOT, nothing is loaded from a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", ROOT_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/chartjs", ROOT_DIR / "node_modules" / "chart.js" / "dist"),
]
# Hashed names need `collectstatic` to have run; DEBUG and the tests serve from the finders.
STATIC_HASHED = env_bool("STATIC_HASHED", not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_HASHED
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ru", "Русский")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Sign-up, log-in and two-factor (django-allauth) --------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/projects/"
ACCOUNT_ADAPTER = "orderreport.accounts.adapter.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
# The sign-up form adds the name of the account it creates ("Shop or company name").
ACCOUNT_FORMS = {"signup": "orderreport.accounts.forms.SignupForm"}
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False  # mail scanners follow links; confirming takes a click
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"{SITE_NAME}: "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if BASE_URL.startswith("https://") else "http"
# Failed log-ins per IP and per e-mail address; counters live in the cache (Redis when set),
# so the limit holds across web processes.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env_str("LOGIN_FAILED_RATE_LIMIT", "10/m/ip,5/5m/key"),
}
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
INVITATION_DAYS = env_int("INVITATION_DAYS", 7, minimum=1)
# Mail to addresses a member types (accounts/mail_limits.py): one invitation or confirmation
# per address per cooldown, and a daily number of each per member.
MAIL_ADDRESS_COOLDOWN_SECONDS = env_int("MAIL_ADDRESS_COOLDOWN_SECONDS", 600, minimum=0)
INVITATION_MAILS_PER_DAY = env_int("INVITATION_MAILS_PER_DAY", 30, minimum=1)
CONFIRMATION_MAILS_PER_DAY = env_int("CONFIRMATION_MAILS_PER_DAY", 30, minimum=1)

# --- E-mail ---------------------------------------------------------------------------------
# EMAIL_URL (smtp://user:password@host:587/?tls=True, or EMAIL_URL_FILE) sets everything at
# once; otherwise the EMAIL_* variables. With no mail server configured, mail is printed to
# the console, so a laptop can sign up without one (a system check warns in production).
EMAIL_URL = env_secret("EMAIL_URL")
_email: dict[str, Any] = dict(dj_email_url.parse(EMAIL_URL)) if EMAIL_URL else {}
EMAIL_HOST = _email.get("EMAIL_HOST") or env_str("EMAIL_HOST")
EMAIL_PORT = _email.get("EMAIL_PORT") or env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or env_secret("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS") or env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL") or env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
EMAIL_BACKEND = _email.get("EMAIL_BACKEND") or env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST and not DEBUG
    else "django.core.mail.backends.console.EmailBackend",
)
# formataddr quotes a name with a comma or a dot ("Acme, Inc.") that would split the header.
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", formataddr((SITE_NAME, "noreply@localhost")))
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Security -------------------------------------------------------------------------------
# An https BASE_URL turns on what only makes sense over https: Secure cookies, HSTS and the
# redirect of plain http. Behind a proxy that terminates TLS, Django sees every request as http
# unless SECURE_PROXY_SSL_HEADER says the proxy's X-Forwarded-Proto may be trusted (check
# orderreport.E003 refuses the redirect loop otherwise).
HTTPS = BASE_URL.startswith("https://")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SECURE = HTTPS
# false when the proxy in front redirects http to https itself.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", HTTPS)
# Load balancers check health over plain http.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# A year; subdomains only when the operator says so: they may serve other sites over plain http.
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Our own scripts, styles and images only (no inline code, not even htmx's indicator style):
# product pictures come through the app (PRODUCT_IMAGES), never from the shop's host, and the
# two-factor QR code is a data: URI. The tracking API answers JSON to other sites and needs none.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # A request that lost the database answers 503 and is counted by the outage's own log.
    "filters": {"database_lost": {"()": "orderreport.dbdeadline.SkipLostDatabase"}},
    "loggers": {
        "django.request": {"level": "ERROR", "filters": ["database_lost"]},
        # httpx logs every request URL at INFO, and a Telegram URL holds the bot token.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# Mounts /bench/baseline, the do-nothing view benchmarks compare the API against.
BENCHMARK_BASELINE = env_bool("BENCHMARK_BASELINE", False)
