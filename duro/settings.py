"""Every Duro setting, read from the environment in this one place.

With nothing configured Duro runs embedded: three SQLite files (core, test,
live) and a filesystem Celery broker in the data folder, so a newcomer needs
no server. Point ``DATABASE_URL`` at PostgreSQL and ``CELERY_BROKER_URL`` at
Redis for the real thing; the README's configuration table lists the rest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
DATA_DIR = Path(env.str("DURO_DATA_DIR", default=str(BASE_DIR / ".data"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The configured key; in local (DEBUG) use one generated once and kept."""
    configured = env.str("SECRET_KEY", default="")
    if configured:
        return configured
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
DURO_PUBLIC_URL = env.str("DURO_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[DURO_PUBLIC_URL])

INSTALLED_APPS = [
    "unfold.apps.BasicAppConfig",  # the dashboard's theme: its templates come before the admin's
    "dashboard.apps.DashboardAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "duro.apps.DuroConfig",
    "checkout",
    "billing",
    "webhooks",
    "appearance",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "duro.middleware.ModeResetMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "duro.middleware.AdminModeMiddleware",
    "duro.middleware.DashboardTimezoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "duro.urls"
WSGI_APPLICATION = "duro.wsgi.application"

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

# --- Databases: one store per mode -------------------------------------------------
# PostgreSQL: three aliases on one database, each pinned to its schema by
# search_path. SQLite: three files. duro.routers.ModeRouter picks the alias.
STORES = {"default": "core", "test": "test", "live": "live"}

if env.str("DATABASE_URL", default=""):
    _base = env.db_url("DATABASE_URL")
    if "postgresql" not in _base["ENGINE"]:
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL (or unset for SQLite).")
    DATABASES = {}
    for _alias, _schema in STORES.items():
        _db = {**_base, "OPTIONS": {**_base.get("OPTIONS", {})}}
        _db["OPTIONS"]["options"] = f"-c search_path={_schema}"
        _db["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
        _db["CONN_HEALTH_CHECKS"] = True
        DATABASES[_alias] = _db
else:
    # DURO_SQLITE_TEST_FILES=1 opens the test_ files: a Celery worker started by the
    # tests must see the same stores as the pytest process.
    _sqlite_prefix = "test_" if env.bool("DURO_SQLITE_TEST_FILES", default=False) else ""
    DATABASES = {
        alias: {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / f"{_sqlite_prefix}{schema}.sqlite3"),
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
            # Files, not memory, so that a worker process in the tests sees the same data.
            "TEST": {"NAME": str(DATA_DIR / f"test_{schema}.sqlite3")},
        }
        for alias, schema in STORES.items()
    }

DATABASE_ROUTERS = ["duro.routers.ModeRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USING_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

# --- Cache: shared between the web and worker processes ---------------------------
_cache_url = env.str("CACHE_URL", default="")
_broker_env = env.str("CELERY_BROKER_URL", default="")
if not _cache_url and _broker_env.startswith("redis"):
    _cache_url = _broker_env.rsplit("/", 1)[0] + "/" + str(env.int("CACHE_REDIS_DB", default=2))
if _cache_url:
    CACHES = {"default": env.cache_url_config(_cache_url)}
    if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
        CACHES["default"]["BACKEND"] = "duro.cache.RedisCache"  # keeps its Redis clients
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

# --- Celery ------------------------------------------------------------------------
if _broker_env:
    CELERY_BROKER_URL = _broker_env
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {"visibility_timeout": 3600}
else:
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
# Webhook deliveries have a queue of their own: they never wait behind a batch of
# renewals or emails, and an operator can give them workers of their own
# (``celery -A duro worker -Q webhooks``). A worker started without -Q consumes both.
CELERY_TASK_QUEUES = (Queue("celery"), Queue("webhooks"))
CELERY_TASK_ROUTES = {"webhooks.deliver": {"queue": "webhooks"}}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE: dict = {
    # Every minute, per mode: settle payments a crash left processing, write down
    # expired sessions, re-queue due webhook deliveries not leased by a worker (the
    # database is the source of truth), run the renewal engine (billing/tasks.py),
    # send the receipts still pending (renewals', and any whose first send was lost),
    # settle refunds left pending (a crash, or an automatic refund's lost task) and send
    # the invoice links and reminders whose first send was lost.
    f"{task.replace('.', '-')}-{mode}": {
        "task": task, "schedule": 60.0, "args": [mode], "options": {"expires": 55},
    }
    for task in ("checkout.recover_payments", "checkout.expire_sessions", "webhooks.sweep",
                 "billing.renewals_run", "billing.receipts_sweep", "billing.refunds_recover",
                 "billing.invoice_notices_sweep", "billing.customer_notices_sweep")
    for mode in ("test", "live")
} | {
    # Daily at 07:00 UTC (08:00 in Lagos), per mode: warn customers whose saved card
    # expires before their next renewal (DURO_CARD_EXPIRY_NOTICE_DAYS ahead).
    f"billing-card_expiry_notices-{mode}": {
        "task": "billing.card_expiry_notices", "schedule": crontab(hour=7, minute=0),
        "args": [mode], "options": {"expires": 6 * 3600},
    }
    for mode in ("test", "live")
}

# --- REST framework ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["duro.api.authentication.SecretKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["duro.api.authentication.IsMerchant"],
    "DEFAULT_RENDERER_CLASSES": ["djangorestframework_camel_case.render.CamelCaseJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["duro.api.parsers.StrictJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "duro.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
}
# camelCase on the wire, snake_case inside; a merchant's metadata keys pass untouched.
JSON_CAMEL_CASE = {
    "JSON_UNDERSCOREIZE": {"no_underscore_before_number": True, "ignore_fields": ("metadata",)},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Duro API",
    "DESCRIPTION": "Hosted checkout and subscription billing. Amounts are integers in minor units.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "CAMELIZE_NAMES": True,
    "ENFORCE_NON_BLANK_FIELDS": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.contrib.djangorestframework_camel_case.camelize_serializer_fields",
        "drf_spectacular.hooks.postprocess_schema_enums",
        "duro.api.openapi.envelope_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "SessionStatusEnum": "checkout.serializers.SESSION_STATUSES",
        "PaymentStatusEnum": "billing.serializers.PAYMENT_STATUSES",
        "InvoicePageStatusEnum": "checkout.serializers.INVOICE_PAGE_STATUSES",
        "EndpointStatusEnum": "webhooks.models.WebhookEndpoint.Status",
    },
}

# --- Auth, i18n, static ------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "duro.staticfiles.CachedURLStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "/media/"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = DURO_PUBLIC_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("SECURE_PROXY_SSL", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Email: receipts -----------------------------------------------------------------
# EMAIL_URL (smtp://user:pass@host:587, smtp+tls://…, consolemail://) configures the
# mail server; without it emails are written as files under DATA_DIR/mail to read.
if env.str("EMAIL_URL", default=""):
    globals().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(DATA_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Duro <receipts@duro.local>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- Duro --------------------------------------------------------------------------
DURO_IDEMPOTENCY_TTL_HOURS = env.int("DURO_IDEMPOTENCY_TTL_HOURS", default=24)
# Webhooks: a 2xx within the timeout is success; a worker's lease on a delivery must
# outlast one attempt; short retries go back to the broker with a countdown up to
# DURO_WEBHOOK_MAX_COUNTDOWN seconds (far below the 1 h visibility timeout), longer
# ones wait for the sweep.
DURO_WEBHOOK_TIMEOUT = env.float("DURO_WEBHOOK_TIMEOUT", default=15.0)
DURO_WEBHOOK_LEASE_SECONDS = env.int("DURO_WEBHOOK_LEASE_SECONDS", default=120)
DURO_WEBHOOK_MAX_COUNTDOWN = env.int("DURO_WEBHOOK_MAX_COUNTDOWN", default=300)
# One task delivers up to this many due deliveries (its own, topped up with others due).
DURO_WEBHOOK_BATCH = env.int("DURO_WEBHOOK_BATCH", default=50)
DURO_WEBHOOK_ROTATION_GRACE_HOURS = env.int("DURO_WEBHOOK_ROTATION_GRACE_HOURS", default=24)
# Test-mode endpoints may point at loopback (a receiver on the developer's machine) only
# when the operator allows it; never in live mode.
DURO_WEBHOOK_ALLOW_LOOPBACK = env.bool("DURO_WEBHOOK_ALLOW_LOOPBACK", default=DEBUG)
# Dunning: retry a failed renewal this many days after it was due, then cancel.
DURO_DUNNING_DAYS = env.list("DURO_DUNNING_DAYS", cast=int, default=[1, 3, 5])
# Customer emails (billing/notices.py): the trial-ending email (and the
# subscription_trial_will_end event) goes this many days before a trial ends; the
# expiring-card email this many days before the renewal the card cannot pay.
DURO_TRIAL_NOTICE_DAYS = env.int("DURO_TRIAL_NOTICE_DAYS", default=3)
DURO_CARD_EXPIRY_NOTICE_DAYS = env.int("DURO_CARD_EXPIRY_NOTICE_DAYS", default=7)
DURO_RENEWAL_BATCH = env.int("DURO_RENEWAL_BATCH", default=200)

# --- Logging: one JSON object a line ----------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "duro.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
    },
}
DURO_MAX_AMOUNT = env.int("DURO_MAX_AMOUNT", default=100_000_000_000)  # ₦1bn in kobo
# Saved cards are told apart by HMAC-SHA256 of the number keyed with this secret (the number
# itself is never kept). Unset, a key derived from SECRET_KEY: set it so that fingerprints
# outlive a SECRET_KEY rotation.
DURO_CARD_FINGERPRINT_KEY = env.str("DURO_CARD_FINGERPRINT_KEY", default="") or hmac.new(
    SECRET_KEY.encode(), b"duro.card-fingerprint", hashlib.sha256).hexdigest()
DURO_PAY_RATE_WINDOW = env.int("DURO_PAY_RATE_WINDOW", default=600)  # seconds
DURO_PAY_RATE_PER_TOKEN = env.int("DURO_PAY_RATE_PER_TOKEN", default=20)
# A high ceiling only: carrier-grade NAT puts many mobile customers behind one address.
DURO_PAY_RATE_PER_IP = env.int("DURO_PAY_RATE_PER_IP", default=300)
DURO_PAY_RATE_PER_CARD = env.int("DURO_PAY_RATE_PER_CARD", default=10)
# Back from the bank's 3-D Secure page, the processor is asked at most this many times a
# minute per payment (more reloads, or a script, are answered from Duro's own state).
DURO_STEP_LOOKUPS_PER_MINUTE = env.int("DURO_STEP_LOOKUPS_PER_MINUTE", default=6)
# "Use a saved card": one-time-code asks per checkout session an hour (any emails; each
# email also gets at most 3 codes an hour, checkout.identity).
DURO_IDENTITY_ASKS_PER_TOKEN = env.int("DURO_IDENTITY_ASKS_PER_TOKEN", default=10)
# Promo codes one checkout session may try an hour (the page's Apply, a pay naming a code).
DURO_COUPON_TRIES_PER_TOKEN = env.int("DURO_COUPON_TRIES_PER_TOKEN", default=10)
# HSTS on every https answer (never on plain http: SecurityMiddleware sends it only there).
SECURE_HSTS_SECONDS = env.int("DURO_HSTS_SECONDS", default=31_536_000)
DURO_TRUST_X_FORWARDED_FOR = env.bool("DURO_TRUST_X_FORWARDED_FOR", default=False)
DURO_PAY_WAIT_SECONDS = env.float("DURO_PAY_WAIT_SECONDS", default=5.0)
# Processors (live mode, API.md §11): merchants' processor secrets are stored encrypted
# with these Fernet keys (comma-separated; the first encrypts, all decrypt: duro/crypto.py).
# Unset, DEBUG derives one from SECRET_KEY; elsewhere using it raises ImproperlyConfigured.
DURO_ENCRYPTION_KEY = env.list("DURO_ENCRYPTION_KEY", default=[])
# Each processor's API, a setting so that tests run against a local stand-in; calls time
# out well inside gunicorn's 30 s (then the pay answers "processing").
DURO_PAYSTACK_BASE_URL = env.str("DURO_PAYSTACK_BASE_URL", default="https://api.paystack.co")
DURO_FLUTTERWAVE_BASE_URL = env.str("DURO_FLUTTERWAVE_BASE_URL",
                                    default="https://api.flutterwave.com")
DURO_PROCESSOR_TIMEOUT = env.float("DURO_PROCESSOR_TIMEOUT", default=15.0)

# The dashboard's theme (django-unfold): its fonts and scripts ship in its static
# files; the menu is built per request from what the signed-in role may see.
UNFOLD = {
    "SITE_TITLE": "Duro",
    "SITE_HEADER": "Duro",
    "SITE_URL": "/",
    "SHOW_VIEW_ON_SITE": False,
    "THEME": "light",  # our cards, charts and banners are drawn for the light theme
    "SIDEBAR": {"show_search": False, "show_all_applications": False,
                "navigation": "dashboard.navigation.sidebar"},
    "COLORS": {"primary": {
        "50": "#ecf8f3", "100": "#d2efe3", "200": "#a6dfc8", "300": "#6fc8a6",
        "400": "#39a97f", "500": "#168a62", "600": "#0b6e4f", "700": "#0a5a41",
        "800": "#0a4835", "900": "#083b2c", "950": "#042219"}},
    "STYLES": ["dashboard.navigation.stylesheet"],
}

# ./dev up sets this: the schema generator's warnings stay out of the server's console.
SPECTACULAR_SETTINGS["DISABLE_ERRORS_AND_WARNINGS"] = env.bool("DURO_QUIET_SCHEMA",
                                                               default=False)
