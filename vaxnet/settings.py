"""Django settings for vaxnet: one file, every deployment choice read from the environment."""

import os
import tomllib
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from vaxnet.core.env import env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env_str("VAXNET_VAR_DIR", str(BASE_DIR / "var")))

# Development mode: DEBUG, a throwaway secret, local hosts. `make run` turns it on.
VAXNET_DEV = env_bool("VAXNET_DEV", False)
DEBUG = VAXNET_DEV

SECRET_KEY = env_secret(
    "SECRET_KEY", default="dev-only-insecure-key-never-used-in-production" if VAXNET_DEV else None
)

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"] if VAXNET_DEV else []
)
if not VAXNET_DEV and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the host names vaxnet is served under.")

# Where citizens reach this deployment; links in SMS point here.
PUBLIC_URL = env_str("VAXNET_PUBLIC_URL", "http://127.0.0.1:8000" if VAXNET_DEV else None).rstrip(
    "/"
)

# The country this deployment serves; its pack decides the languages offered.
COUNTRY_PACKS_DIR = PACKAGE_DIR / "countries" / "packs"
VAXNET_COUNTRY = env_str("VAXNET_COUNTRY", "IN").upper()
_pack_file = COUNTRY_PACKS_DIR / VAXNET_COUNTRY / "country.toml"
try:
    _pack = tomllib.loads(_pack_file.read_text(encoding="utf-8"))
    _pack_languages: list[str] = _pack["languages"]
    _pack_timezone: str = _pack["timezone"]
except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
    raise ImproperlyConfigured(
        f"VAXNET_COUNTRY={VAXNET_COUNTRY}: cannot read the languages and time zone "
        f"of {_pack_file}: {exc}"
    ) from None

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "vaxnet.core",
    "vaxnet.countries",
    "vaxnet.geo",
    "vaxnet.vaccines",
    "vaxnet.facilities",
    "vaxnet.booking",
    "vaxnet.vaccination",
    "vaxnet.stock",
    "vaxnet.certificates",
    "vaxnet.dashboard",
    "vaxnet.people",
    "vaxnet.notifications",
    "vaxnet.api",
]

MIDDLEWARE = [
    "vaxnet.core.middleware.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: an expired staff session is sent to sign in with a message.
    "vaxnet.core.middleware.StaffSessionExpiryMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "vaxnet.core.middleware.RequestContextMiddleware",
]

# Behind proxies: the header that carries the client's address (X-Forwarded-For,
# X-Real-IP…) and how many proxies of ours add to it. Unset: REMOTE_ADDR is the client.
CLIENT_IP_HEADER = env_str("VAXNET_CLIENT_IP_HEADER", "")
TRUSTED_PROXIES = env_int("VAXNET_TRUSTED_PROXIES", 1)
if TRUSTED_PROXIES < 1:
    raise ImproperlyConfigured("VAXNET_TRUSTED_PROXIES must be at least 1.")

ROOT_URLCONF = "vaxnet.urls"
WSGI_APPLICATION = "vaxnet.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "vaxnet.core.context_processors.site",
                "vaxnet.core.context_processors.staff_links",
            ],
        },
    },
]

# Database: embedded SQLite (WAL) by default, PostgreSQL in production and CI.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'vaxnet.sqlite3'}")
_db = dj_database_url.parse(DATABASE_URL, conn_max_age=0)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    if _db["NAME"] != ":memory:":
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    _db["OPTIONS"] = {
        # WAL lets readers go on while one writer writes; IMMEDIATE takes the write lock
        # at BEGIN, so two writers queue instead of failing on a lock upgrade. FULL syncs
        # the log at every commit: a booking we acknowledged survives a power cut too
        # (NORMAL may roll the last commits back after one).
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # Tests race real threads and processes, which need a database file with real locks
    # (an in-memory database shared between threads fails writers instead of queueing them).
    # One file per test process, so that simultaneous test runs never share one.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-vaxnet-{os.getpid()}.sqlite3")}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 60)
    _db["CONN_HEALTH_CHECKS"] = True
else:
    raise ImproperlyConfigured("DATABASE_URL must be a sqlite:// or postgres:// URL.")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache (availability, rate limits): Redis when REDIS_URL is set, else this process's memory.
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "vaxnet.core.cache.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background work (SMS, bulk jobs): Celery on a broker in production; without one, tasks
# run in-process right after the transaction that queued them commits.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Periodic work for `celery -A vaxnet beat`; without a broker, run the same commands from cron
# every minute: vaxnet run_draws, vaxnet run_waitlist, vaxnet send_pending (and every hour
# vaxnet send_reminders; and keep `vaxnet rollups fold --every 10` running).
CELERY_BEAT_SCHEDULE = {
    "run-draws": {"task": "vaxnet.booking.tasks.run_draws", "schedule": 60.0},
    "run-waitlist": {"task": "vaxnet.booking.tasks.run_waitlist", "schedule": 60.0},
    "send-pending": {"task": "vaxnet.notifications.tasks.send_pending", "schedule": 60.0},
    # Hourly rather than daily at a set hour: each reminder goes once (a dedupe key), so an
    # hourly run also reminds people who book for tomorrow later in the day and makes up
    # for a run missed while beat was down; the sending hours are kept by the task itself,
    # in each country's time zone, so beat needs no time zone of its own.
    "send-reminders": {"task": "vaxnet.booking.tasks.send_reminders", "schedule": 3600.0},
    # The dashboard promises its numbers within a minute of the event; the page also folds
    # for itself when they are older than 10 s (`vaxnet rollups fold --every 10` without beat).
    "fold-tallies": {"task": "vaxnet.dashboard.tasks.fold_tallies", "schedule": 10.0},
}

# Certificate signing keys: one folder per format, private key files readable only by the
# service (`vaxnet keys generate` makes them). Keep the folder outside the repository and back
# it up; certificates stay verifiable only while their keys are published.
CERTIFICATE_KEYS_DIR = Path(env_str("VAXNET_CERT_KEYS_DIR", str(VAR_DIR / "keys")))
# How long a signed certificate is valid (EU DCC `exp`), in days.
CERTIFICATE_VALIDITY_DAYS = env_int("VAXNET_CERT_VALIDITY_DAYS", 365)

# Outgoing SMS: console (development), file (one JSON line per message) or http (a gateway).
SMS_TRANSPORT = env_str("VAXNET_SMS_TRANSPORT", "console")
SMS_FILE = env_str("VAXNET_SMS_FILE", str(VAR_DIR / "sms.jsonl"))
SMS_GATEWAY_URL = env_str("VAXNET_SMS_GATEWAY_URL", "")
SMS_GATEWAY_TOKEN = env_secret("VAXNET_SMS_GATEWAY_TOKEN", default="")
if SMS_TRANSPORT not in ("console", "file", "http"):
    raise ImproperlyConfigured("VAXNET_SMS_TRANSPORT must be console, file or http.")
if SMS_TRANSPORT == "http" and not SMS_GATEWAY_URL:
    raise ImproperlyConfigured("VAXNET_SMS_TRANSPORT=http needs VAXNET_SMS_GATEWAY_URL.")

# Mail to staff (alerts of serious adverse events to district administrators): printed in
# development; an SMTP server in production (VAXNET_EMAIL_HOST and the rest).
EMAIL_HOST = env_str("VAXNET_EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = env_int("VAXNET_EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("VAXNET_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_secret("VAXNET_EMAIL_PASSWORD", default="")
EMAIL_USE_TLS = env_bool("VAXNET_EMAIL_TLS", True)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("VAXNET_EMAIL_FROM", "vaxnet@localhost")

# The key for hashing identity document numbers (HMAC-SHA256). Changing it orphans every
# stored hash, so production must set it explicitly and keep it.
ID_HASH_KEY = env_secret(
    "VAXNET_ID_HASH_KEY", default="dev-only-id-hash-key" if VAXNET_DEV else None
)

AUTH_USER_MODEL = "core.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "staff:sign_in"

# Staff sign-in. TOTP is required of administrators (superusers, Django staff, district, state
# and national administrators) in production; development and the test suite, which signs
# staff in without a second factor, leave it off unless asked.
VAXNET_STAFF_TOTP_REQUIRED = env_bool("VAXNET_STAFF_TOTP_REQUIRED", not VAXNET_DEV)
# After LOCKOUT_ATTEMPTS failed passwords or codes for one user name within
# LOCKOUT_WINDOW_MINUTES, that user name is locked for LOCKOUT_MINUTES.
VAXNET_STAFF_LOCKOUT_ATTEMPTS = env_int("VAXNET_STAFF_LOCKOUT_ATTEMPTS", 5)
VAXNET_STAFF_LOCKOUT_WINDOW_MINUTES = env_int("VAXNET_STAFF_LOCKOUT_WINDOW_MINUTES", 15)
VAXNET_STAFF_LOCKOUT_MINUTES = env_int("VAXNET_STAFF_LOCKOUT_MINUTES", 15)
# Sign-in attempts (passwords and codes) from one client address per hour, whatever the name.
VAXNET_STAFF_SIGN_IN_PER_CLIENT_PER_HOUR = env_int("VAXNET_STAFF_SIGN_IN_PER_CLIENT_PER_HOUR", 100)
# Staff sessions end after this long without a request, and this long after signing in.
VAXNET_STAFF_IDLE_MINUTES = env_int("VAXNET_STAFF_IDLE_MINUTES", 30)
VAXNET_STAFF_SESSION_HOURS = env_int("VAXNET_STAFF_SESSION_HOURS", 12)
for _name in (
    "VAXNET_STAFF_LOCKOUT_ATTEMPTS",
    "VAXNET_STAFF_LOCKOUT_WINDOW_MINUTES",
    "VAXNET_STAFF_LOCKOUT_MINUTES",
    "VAXNET_STAFF_SIGN_IN_PER_CLIENT_PER_HOUR",
    "VAXNET_STAFF_IDLE_MINUTES",
    "VAXNET_STAFF_SESSION_HOURS",
):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1.")

# Languages: those of the country pack, the first being the default.
LANGUAGE_CODE = _pack_languages[0]
_LANGUAGE_NAMES = {
    "en": _("English"),
    "hi": _("Hindi"),
    "ta": _("Tamil"),
    "sw": _("Swahili"),
}
LANGUAGES = [(code, _LANGUAGE_NAMES.get(code, code)) for code in _pack_languages]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
# Stored in UTC; shown in the country's zone, where session dates are local dates.
TIME_ZONE = _pack_timezone
LANGUAGE_COOKIE_NAME = "vaxnet_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    PACKAGE_DIR / "static",
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/pico", NODE_MODULES / "@picocss" / "pico" / "css"),
    ("vendor/jsqr", NODE_MODULES / "jsqr" / "dist"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
]
# Production serves hashed, compressed copies made by `vaxnet collectstatic`; development
# and tests serve the source files directly.
STATIC_MANIFEST = env_bool("VAXNET_STATIC_MANIFEST", not VAXNET_DEV)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST

# Production hardening; `vaxnet check --deploy` is clean with VAXNET_DEV off.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not VAXNET_DEV
CSRF_COOKIE_SECURE = not VAXNET_DEV
LANGUAGE_COOKIE_SECURE = not VAXNET_DEV
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not VAXNET_DEV)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if VAXNET_DEV else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not VAXNET_DEV
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not VAXNET_DEV)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
