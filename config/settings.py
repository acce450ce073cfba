"""Settings, all from the environment.

DATABASE_URL         unset: embedded PostgreSQL under .pgdata/ (see config/embedded_pg.py)
DATABASE_APP_ROLE, DATABASE_APP_PASSWORD, DATABASE_OWNER_URL
                     the role the application logs in as (lending_app) and the owner that
                     migrates: see "Database" below and docs/security.md
CELERY_BROKER_URL    unset: tasks run eagerly in-process; set: redis:// or amqp:// broker
CELERY_RESULT_BACKEND  defaults to the broker when it is Redis, else redis://127.0.0.1:6379/1
SECRET_KEY, DEBUG, ALLOWED_HOSTS, BORROWER_HASH_KEY
                     safe development defaults; with DEBUG=0 (production) each must be set,
                     or start-up stops with an error naming what is missing.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int

BASE_DIR = Path(__file__).resolve().parent.parent


DEBUG = env_bool("DEBUG", True)

_DEV_SECRET = "dev-only-secret-key-not-for-production"  # noqa: S105
_DEV_BORROWER_KEY = "dev-only-borrower-hash-key"  # noqa: S105

if not DEBUG:
    _required = ["SECRET_KEY", "ALLOWED_HOSTS", "BORROWER_HASH_KEY", "DATABASE_URL"]
    _missing = [name for name in _required if not os.environ.get(name)]
    if _missing:
        raise ImproperlyConfigured(
            "Production mode (DEBUG=0) needs these environment variables: "
            + ", ".join(_missing)
        )

SECRET_KEY = os.environ.get("SECRET_KEY") or _DEV_SECRET
# A production key is long and random (Django's own check asks for 50 characters, 5 distinct):
# a short one refuses to start rather than sign sessions and password resets weakly.
if not DEBUG and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured(
        "Production mode (DEBUG=0) needs a SECRET_KEY of at least 50 random characters "
        f"(this one has {len(SECRET_KEY)})")
# Key of the HMAC that turns a partner's borrower reference into the token we store: the raw
# reference never reaches the database (no personal data, DESIGN §4).
BORROWER_HASH_KEY = os.environ.get("BORROWER_HASH_KEY") or _DEV_BORROWER_KEY
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from the project, not a CDN
    "django_celery_beat",  # the beat schedule lives in the database, editable in the admin
    "pgtrigger",
    "pghistory",
    "pghistory.admin",  # the audit trail's pages (controls.admin.AuditEventsAdmin)
    "ledger",
    "partners",
    "lending",
    "controls",  # roles, four eyes, the audit trail (issue 21)
    "axes",  # login lockout after repeated failures (issue 21; settings below)
    "reports",  # staff report pages: dashboard, statements, breaks (issue 22)
]
# The benchmarks (bench_settlement, bench_intake, bench_ledger): a development app, installed
# unless DEBUG=0 (production) or BENCHMARKS=0. Its one model (benchmarks.BenchPortfolio, the
# scratch portfolio's state) and its migrations exist only where it is installed.
if env_bool("BENCHMARKS", DEBUG):
    INSTALLED_APPS.append("benchmarks")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "controls.middleware.AuditContextMiddleware",  # who: the audit trail's context
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # answers a locked-out login with 429 (last, per axes)
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

# --- Database: PostgreSQL only; the application logs in as its own role (issue 21) --------
# The tables belong to the owner role, which runs the migrations; the application connects as
# DATABASE_APP_ROLE (lending_app): no superuser, owns no table, no TRUNCATE, append-only
# journals (controls/db_roles.py, docs/security.md "Database roles").
# - DATABASE_URL's user is not that role (development, tests, CI: the owner's URL, here a
#   superuser): the application logs in as DATABASE_APP_ROLE on the same server and database,
#   with DATABASE_APP_PASSWORD (unset: none, where the server trusts the connection); the
#   owner runs `migrate`, which sets the role up.
# - DATABASE_URL's user is that role (production: the application never holds the owner's
#   password): DATABASE_OWNER_URL names the owner for `migrate` and `db_app_role` only.
# - DATABASE_APP_ROLE= (empty): one login for both, as before issue 21 (not for production).
DATABASE_URL = os.environ.get("DATABASE_URL", "")


def _parse_db(url: str, name: str) -> dict[str, Any]:
    db: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=0))
    if db["ENGINE"] not in (
        "django.db.backends.postgresql",
        "django.db.backends.postgresql_psycopg2",
    ):
        raise ImproperlyConfigured(f"{name} must point at PostgreSQL (postgres://...)")
    return db


if DATABASE_URL:
    _db = _parse_db(DATABASE_URL, "DATABASE_URL")
else:
    from config.embedded_pg import ensure_running

    _db = dict(ensure_running())
# controls.db_backend: Django's PostgreSQL backend that keeps the owner beside the app role
_db["ENGINE"] = "controls.db_backend"
DATABASE_APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "lending_app")
_LOGIN_KEYS = ("USER", "PASSWORD", "HOST", "PORT")
if DATABASE_APP_ROLE:
    _db["APP_ROLE"] = DATABASE_APP_ROLE
    if _db.get("USER") != DATABASE_APP_ROLE:
        _db["OWNER"] = {key: _db.get(key, "") for key in _LOGIN_KEYS}
        _db["USER"] = DATABASE_APP_ROLE
        _db["PASSWORD"] = os.environ.get("DATABASE_APP_PASSWORD", "")
    elif os.environ.get("DATABASE_OWNER_URL"):
        _owner = _parse_db(os.environ["DATABASE_OWNER_URL"], "DATABASE_OWNER_URL")
        if _owner["NAME"] != _db["NAME"]:
            raise ImproperlyConfigured("DATABASE_OWNER_URL must name DATABASE_URL's database "
                                       f"({_db['NAME']}), not {_owner['NAME']}")
        _db["OWNER"] = {key: _owner.get(key, "") for key in _LOGIN_KEYS}
_db.setdefault("OPTIONS", {})
# No JIT compilation: it pays only for long analytic plans, and the batch statements that are
# long set it off anyway (positions, reconcile); for the short ones it is pure overhead,
# worst where the planner cannot know the row counts (fresh temp tables): on a server with
# LLVM (Debian's PostgreSQL) one golden test file took 161 s with JIT and 14 s without.
_db["OPTIONS"].setdefault("options", "-c jit=off")
_db.setdefault("TEST", {})
# One test database per test process, so that several test runs against one server (developers
# in parallel, CI beside a developer) never drop each other's database.
_db["TEST"].setdefault("NAME", f"test_{_db['NAME']}_{os.getpid()}")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's four password validators; the minimum length from the environment (12 by default).
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": int(os.environ.get("PASSWORD_MIN_LENGTH") or 12)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out login before the password is even checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- REST API ---------------------------------------------------------------------------------
# The audit trail (django-pghistory, controls.models): event tables are append-only.
PGHISTORY_APPEND_ONLY = True
PGHISTORY_ADMIN_MODEL = "pghistory.MiddlewareEvents"
PGHISTORY_ADMIN_CLASS = "controls.admin.AuditEventsAdmin"

REST_FRAMEWORK = {
    # every operation lists its error answers too (401/403/404/400/429): config/openapi.py
    "DEFAULT_SCHEMA_CLASS": "config.openapi.PartnerApiSchema",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "partners.auth.PartnerApiKeyAuthentication",  # Authorization: Api-Key <key>
        "rest_framework.authentication.SessionAuthentication",
    ],
    # JSON, and the same rows as a file: `Accept: text/csv` / `?format=csv` (UTF-8 with a BOM)
    # and the XLSX media type / `?format=xlsx` (reports.renderers, issue 22)
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
        "reports.renderers.CSVRenderer",
        "reports.renderers.XLSXRenderer",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "reports.renderers.FormatNegotiation",  # bad ?format=: 400
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.URLPathVersioning",
    "ALLOWED_VERSIONS": ["v1"],
    # Throttles (partners/throttles.py): per partner user, and failed API keys per address.
    "DEFAULT_THROTTLE_CLASSES": ["partners.throttles.PartnerRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "partner": os.environ.get("API_RATE_PARTNER") or "600/minute",
        "api_key_failure": os.environ.get("API_RATE_KEY_FAILURES") or "20/minute",
    },
    # Proxies in front of the app: the client address is taken from X-Forwarded-For that many
    # hops back (unset: REMOTE_ADDR, the right value when nothing proxies).
    "NUM_PROXIES": int(os.environ["API_NUM_PROXIES"]) if os.environ.get("API_NUM_PROXIES")
    else None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Joint-lending partner API",
    "DESCRIPTION": "Partner file upload, file registry, quarantined rows and statements.",
    "VERSION": "1.0.0",
    # The docs pages load Swagger UI / ReDoc from the project's static files (the sidecar
    # package), never from a CDN: they work offline and under a strict CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # The schema and the docs need a logged-in user or a partner key (issue 21).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_INCLUDE_SCHEMA": False,  # the schema does not describe its own endpoint
    "ENUM_NAME_OVERRIDES": {
        "InboundFileStatusEnum": "partners.models.InboundFileStatus",
        "BreakStatusEnum": "lending.reconciliation.models.BreakStatus",
        "StatementStatusEnum": "lending.settlement.models.StatementStatus",
    },
}

# --- Celery and the settlement run (config/settings_celery.py) -------------------------------
# CELERY_* and SETTLEMENT_*: the broker, late acknowledgement, time limits, the schedule.
from config.settings_celery import *  # noqa: E402, F403

CELERY_TIMEZONE = TIME_ZONE

# --- Mail (alerts go to ADMINS through Django's mail settings) --------------------------------
# ADMINS="Ops Desk <ops@bank.example>,Jane <jane@bank.example>"
ADMINS = [
    (a.split("<")[0].strip() or a.strip(), a.split("<")[-1].rstrip(">").strip())
    for a in os.environ.get("ADMINS", "").split(",") if a.strip()
]
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND",
                               "django.core.mail.backends.console.EmailBackend" if DEBUG
                               else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "") == "1"
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", "settlement@localhost")
EMAIL_SUBJECT_PREFIX = os.environ.get("EMAIL_SUBJECT_PREFIX", "[jointlend] ")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    # In-process (eager) mode kombu still builds a producer for a chord and warns that the
    # in-memory transport has no host name: noise, not a problem.
    "loggers": {} if os.environ.get("CELERY_BROKER_URL") else {
        "kombu.connection": {"level": "ERROR"}},
}

# --- Hardening (issue 21, finding 4): cookies, HTTPS, HSTS, login lockout ------------------
# Production (DEBUG=0) is secure by default; each setting can be changed from the environment
# (e.g. SECURE_SSL_REDIRECT=0 when the proxy redirects to HTTPS itself).
_PROD = not DEBUG
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _PROD)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _PROD)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)  # a working day, not two weeks
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _PROD)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if _PROD else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _PROD)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", _PROD)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Behind a TLS-terminating proxy: SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https" (only
# when the proxy sets that header itself and strips it from clients).
if os.environ.get("SECURE_PROXY_SSL_HEADER"):
    _header, _, _value = os.environ["SECURE_PROXY_SSL_HEADER"].partition(",")
    if not _header.strip() or not _value.strip():
        raise ImproperlyConfigured("SECURE_PROXY_SSL_HEADER is HEADER,value: "
                                   "HTTP_X_FORWARDED_PROTO,https")
    SECURE_PROXY_SSL_HEADER = (_header.strip(), _value.strip())
USE_X_FORWARDED_HOST = env_bool("USE_X_FORWARDED_HOST", False)
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",")
                        if o.strip()]

# Login lockout (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one user name, or
# from one client address (AXES_LOCKOUT_PARAMETERS, comma-separated; "a+b" is a combination),
# the login is refused (429, even with the right password) for AXES_COOLOFF_MINUTES; an
# administrator lifts it earlier with `manage.py axes_reset_username <name>` /
# `axes_reset_ip <address>`. Attempts are kept in the database (AccessAttempt), so every web
# process sees them.
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [
    [p.strip() for p in group.split("+")]
    for group in (os.environ.get("AXES_LOCKOUT_PARAMETERS") or "username,ip_address").split(",")
    if group.strip()
]
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ADMIN = False  # lockouts are lifted by command; the admin lists no axes pages
AXES_VERBOSE = False
# Throttle counters and other short-lived state: a shared cache in production (CACHE_URL,
# redis://…), so that every process counts the same calls; per process otherwise.
if os.environ.get("CACHE_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": os.environ["CACHE_URL"]}}
