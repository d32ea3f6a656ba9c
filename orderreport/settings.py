"""OrderReport settings: one flat module on environment variables.

The defaults run on a laptop with no configuration at all: SQLite in WAL mode under var/,
local-memory cache, DEBUG off. Production sets DATABASE_URL, REDIS_URL, SECRET_KEY,
ALLOWED_HOSTS and BASE_URL. Every variable is listed in README.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import dj_database_url

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
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [BASE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "orderreport",
    "orderreport.accounts",
    "orderreport.projects",
    "orderreport.tracking",
    "orderreport.orders",
    "orderreport.events",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
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
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'orderreport.sqlite3'}")
# Persistent connections: opening a PostgreSQL connection per request costs more than the
# whole tracking request. `orderreport serve` sets this to 600 unless it is given.
DB_CONN_MAX_AGE = env_int("DB_CONN_MAX_AGE", 0, minimum=0)
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
TEST_DATABASE_NAME = env_str("TEST_DATABASE_NAME")
if TEST_DATABASE_NAME:
    DATABASES["default"]["TEST"] = {"NAME": TEST_DATABASE_NAME}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and rate limits ------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
CACHE_KEY_PREFIX = env_str("CACHE_KEY_PREFIX", "or")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
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
DEFAULT_PLAN = env_str("DEFAULT_PLAN", "free")

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
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

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_SECURE = BASE_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# Mounts /bench/baseline, the do-nothing view benchmarks compare the API against.
BENCHMARK_BASELINE = env_bool("BENCHMARK_BASELINE", False)
