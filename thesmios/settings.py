"""Settings for the Thesmios launch operations portal.

Every value comes from the environment (django-environ). With nothing set the portal
runs on SQLite in the project folder; production values are never written here.
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def env_positive_int(name: str, default: int) -> int:
    """Read a positive integer setting, naming the variable when it is not one."""
    raw = env.str(name, default=str(default))
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a positive integer, got {raw!r}") from None
    if value <= 0:
        raise ImproperlyConfigured(f"{name} must be a positive integer, got {raw!r}")
    return value


DEBUG = env.bool("DEBUG", default=False)

# Commands that only read the code and never sign, hash or serve anything may run without a
# key (`manage.py makemigrations --check` on a fresh checkout); everything else refuses.
KEYLESS_COMMANDS = {"makemigrations"}

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if DEBUG:
        SECRET_KEY = "django-insecure-local-development-only"
    elif Path(sys.argv[0]).name == "manage.py" and sys.argv[1:2] and sys.argv[1] in KEYLESS_COMMANDS:
        SECRET_KEY = secrets.token_urlsafe(50)
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off: set the SECRET_KEY environment variable "
            "(or DEBUG=1 for local development)."
        )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "simple_history",
    "pgtrigger",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "django_guid",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "core",
    "launchroom",
    "billing",
    "evidence",
]

MIDDLEWARE = [
    "django_guid.middleware.guid_middleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "launchroom.tenants.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "launchroom.tenants.middleware.ApiTokenMiddleware",
    "launchroom.tenants.two_factor.StaffTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "thesmios.urls"

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
                "launchroom.notifications.views.unread_count",
            ],
        },
    },
]

WSGI_APPLICATION = "thesmios.wsgi.application"

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite has no row locks (select_for_update is a no-op): a transaction takes the write
    # lock when it begins, so concurrent writers wait their turn instead of failing midway.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("transaction_mode", "IMMEDIATE")
# Persistent connections in production (a new PostgreSQL connection per request is slow),
# checked before reuse; none in DEBUG, where runserver's threads would each keep one open.
# (A `?conn_max_age=` on DATABASE_URL wins over the CONN_MAX_AGE variable.)
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=0 if DEBUG else 60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
# On PostgreSQL the append-only, frozen and history tables refuse TRUNCATE (core/append_only.py),
# and Django's ``flush`` is a TRUNCATE. The test run empties its database after a transactional
# test with ``flush``: only with this switch on (tests/testenv.py, nowhere else; the deploy checks
# refuse it) does ``flush`` run with the triggers suspended for its transaction
# (core/management/commands/flush.py). Any other connection is refused as before.
ALLOW_TEST_FLUSH = env.bool("ALLOW_TEST_FLUSH", default=False)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "launchroom:index"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # Evidence files live here: never under a public URL, only served by an authenticated view.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Serve static files straight from the app folders when there is no collectstatic output.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)
WHITENOISE_AUTOREFRESH = WHITENOISE_USE_FINDERS
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
MEDIA_URL = None  # deliberately unset: evidence has no public URL

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
# Seconds an SMTP connection may wait on the server: a server that accepts and never answers
# fails the attempt (retried later) instead of stalling the worker and every task behind it.
EMAIL_TIMEOUT = env_positive_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Thesmios launch operations <launch@thesmios.local>")

# Security: secure by default, relaxed only where DEBUG is on for local work.
SESSION_COOKIE_AGE = env_positive_int("SESSION_COOKIE_AGE", 8 * 60 * 60)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "core.errorpages.csrf_failure"  # JSON under /api/
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Behind a TLS-terminating proxy, set SECURE_PROXY_SSL_HEADER=1 to trust X-Forwarded-Proto.
if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The client address of a signature: REMOTE_ADDR, unless this many trusted proxies sit in
# front, in which case that many hops are read from the right of X-Forwarded-For.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# Failed-login throttling (django-axes): lock a username+address after repeated failures.
AXES_FAILURE_LIMIT = env_positive_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
# Key the lockout on the client's address by the same trusted-proxy rule as signer
# addresses; otherwise behind a proxy every failure counts against the proxy's address.
AXES_CLIENT_IP_CALLABLE = "launchroom.tenants.access.client_address"

# Password-reset and invitation e-mails: at most this many per client address and per
# recipient account in each window, counted in the database so every worker sees them.
EMAIL_THROTTLE_WINDOW_SECONDS = env_positive_int("EMAIL_THROTTLE_WINDOW_SECONDS", 60 * 60)
EMAIL_THROTTLE_PER_ADDRESS = env_positive_int("EMAIL_THROTTLE_PER_ADDRESS", 20)
EMAIL_THROTTLE_PER_ACCOUNT = env_positive_int("EMAIL_THROTTLE_PER_ACCOUNT", 3)

# Two-factor authentication (django-otp: TOTP, recovery codes) for staff. On in production;
# off in DEBUG so the `make run` demo logs straight in.
STAFF_REQUIRE_2FA = env.bool("STAFF_REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Thesmios launch operations")
STAFF_RECOVERY_CODES = 10

# Launch operations.
# Where links in e-mails point when no request says (invitations sent from a command).
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000")

# Background work (Django's tasks API through django-tasks): the database backend needs no
# broker; the worker is `manage.py db_worker`, the periodic jobs' clock `manage.py run_scheduler`.
TASKS = {"default": {"BACKEND": env.str("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")}}
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=5)
EMAIL_RETRY_BASE_SECONDS = env.int("EMAIL_RETRY_BASE_SECONDS", default=30)
# A task still RUNNING this long after a worker claimed it has lost its worker (killed, out of
# memory, a lost host): the scheduler's `recover_stranded` job retries it or marks it failed.
# Longer than any task runs (an e-mail attempt is bounded by EMAIL_TIMEOUT).
TASK_LEASE_SECONDS = env_positive_int("TASK_LEASE_SECONDS", 10 * 60)
REMINDER_SWEEP_SECONDS = env.int("REMINDER_SWEEP_SECONDS", default=3600)
READINESS_REFRESH_SECONDS = env.int("READINESS_REFRESH_SECONDS", default=60)
THESMIOS_SMOKE_URL = env.str("THESMIOS_SMOKE_URL", default="")
SMOKE_TIMEOUT_SECONDS = env.float("SMOKE_TIMEOUT_SECONDS", default=10.0)
LAUNCH_OPERATIONS_SECRET = env.str("LAUNCH_OPERATIONS_SECRET", default="")
# The launch packet's Ed25519 signing key (PEM text). `make run` writes a demo key to the
# git-ignored .packet-key.pem, read only with DEBUG on and the variable unset.
PACKET_SIGNING_KEY = env.str("PACKET_SIGNING_KEY", default="", multiline=True)
if not PACKET_SIGNING_KEY and DEBUG and (BASE_DIR / ".packet-key.pem").is_file():
    PACKET_SIGNING_KEY = (BASE_DIR / ".packet-key.pem").read_text()
EVIDENCE_FRESHNESS_DAYS = env_positive_int("EVIDENCE_FRESHNESS_DAYS", 30)
# Django's cache framework, where the rendered launch rooms are kept (launchroom/room/cache.py):
# local memory, per process, unless CACHE_URL names a shared cache, e.g. redis://127.0.0.1:6379/0
# (Django's own RedisCache backend; it needs the redis package).
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://")}
# How long a rendered launch room may be served again to the same viewer while nothing it
# shows has changed (launchroom/room/cache.py); 0 renders every request.
ROOM_CACHE_SECONDS = (
    0 if env.str("ROOM_CACHE_SECONDS", default="") == "0" else env_positive_int("ROOM_CACHE_SECONDS", 300)
)
EVIDENCE_MAX_UPLOAD_BYTES = env_positive_int("EVIDENCE_MAX_UPLOAD_BYTES", 25 * 1024 * 1024)
EVIDENCE_MAX_OUTPUT_CHARS = env_positive_int("EVIDENCE_MAX_OUTPUT_CHARS", 1024 * 1024)
# An upload waiting on a confirmation page nobody confirmed or cancelled (evidence/pending.py) is
# deleted by the hourly sweep once older than this; never less than the hour its page's token lives.
EVIDENCE_PENDING_MAX_AGE_SECONDS = env_positive_int("EVIDENCE_PENDING_MAX_AGE_SECONDS", 24 * 60 * 60)
if EVIDENCE_PENDING_MAX_AGE_SECONDS < 60 * 60:
    raise ImproperlyConfigured(
        "EVIDENCE_PENDING_MAX_AGE_SECONDS must be at least 3600: a confirmation page's upload "
        f"is kept for the hour its token is valid, got {EVIDENCE_PENDING_MAX_AGE_SECONDS}"
    )
INVITE_TIMEOUT_SECONDS = env_positive_int("INVITE_TIMEOUT_SECONDS", 3 * 24 * 60 * 60)
PASSWORD_RESET_TIMEOUT = INVITE_TIMEOUT_SECONDS
# Uploads bigger than this are streamed to a temporary file, never held whole in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_HANDLERS = ["evidence.uploads.InspectingUploadHandler"]  # checks and hashes uploads as they stream in
PORTAL_VERSION = env.str("PORTAL_VERSION", default="0.1.0")

# Logs: one JSON object a line in production, plain text in DEBUG; every line carries the
# request id (django-guid; a valid incoming Correlation-ID header is kept, else a new one).
LOG_FORMAT = env.str("LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, got {LOG_FORMAT!r}")
DJANGO_GUID = {"GUID_HEADER_NAME": "Correlation-ID", "VALIDATE_GUID": True, "RETURN_HEADER": True}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.events.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {
            "()": "core.events.TextFormatter",
            "format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "loggers": {
        # The audit events (core/events.py): decisions, refusals, failed logins, token use, proofs.
        "thesmios.events": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="WARNING")},
}
SIMPLE_HISTORY_REVERT_DISABLED = True
