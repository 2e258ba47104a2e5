"""Paysage settings, read from the environment (or a `.env` file) through django-environ.

With no environment at all the portal runs on its embedded default: an SQLite file, the django-q2
ORM broker, the sandbox simulators mounted. `DATABASE_URL`, `REDIS_URL` and `PAYSAGE_ENV=prod` (or
`qa`, which runs as prod does) move it to a real deployment without code changes.
"""

from datetime import timedelta
from pathlib import Path

import environ

from portal.deploy_secrets import (
    DEV_SECRET_KEY,
    DEV_WEBHOOK_SECRET,
    fernet_key_derived,
    secret_settings_refuse_weak,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

PAYSAGE_ENV = env.str("PAYSAGE_ENV", default="dev")
if PAYSAGE_ENV not in ("dev", "qa", "prod"):
    raise ValueError(f"PAYSAGE_ENV must be dev, qa or prod, not {PAYSAGE_ENV!r}")
IS_PROD = PAYSAGE_ENV == "prod"
# qa runs as production does (no debug pages, no simulators unless SANDBOX asks, its own secrets, the
# same security settings), so what passes in qa passes in prod.
PRODUCTION_LIKE = PAYSAGE_ENV in ("qa", "prod")

# Production-like environments bring their own secrets and refuse to start when one is empty, short or
# a dev default (portal/deploy_secrets.py); elsewhere fixed dev values keep `make run` reproducible
# (encrypted demo credentials stay readable across runs).
SECRET_KEY = env.str("SECRET_KEY", default="" if PRODUCTION_LIKE else DEV_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=not PRODUCTION_LIKE)
ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=[] if PRODUCTION_LIKE else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Comma-separated Fernet keys: the first encrypts, every one decrypts (rotate with credentials_reencrypt).
FIELD_ENCRYPTION_KEY = env.str(
    "FIELD_ENCRYPTION_KEY", default="" if PRODUCTION_LIKE else fernet_key_derived(secret=SECRET_KEY)
)
PAYTRACE_WEBHOOK_SECRET = env.str(
    "PAYTRACE_WEBHOOK_SECRET", default="" if PRODUCTION_LIKE else DEV_WEBHOOK_SECRET
)
if PRODUCTION_LIKE:
    secret_settings_refuse_weak(
        environment=PAYSAGE_ENV,
        secret_key=SECRET_KEY,
        webhook_secret=PAYTRACE_WEBHOOK_SECRET,
        field_encryption_key=FIELD_ENCRYPTION_KEY,
    )
# Settings holding URLs with passwords (REDIS_URL, DATABASE_URL, ...) are hidden from error reports too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "portal.error_reports.CredentialUrlReporterFilter"
PAYTRACE_WEBHOOK_TOLERANCE_SECONDS = 300
SANDBOX = env.bool("SANDBOX", default=not PRODUCTION_LIKE)
ALERT_EMAILS = env.list("ALERT_EMAILS", default=[])
ALERT_WEBHOOK_URL = env.str("ALERT_WEBHOOK_URL", default="")
# A connection whose calls fail with no success in between for longer than this raises an alert.
CONNECTION_OUTAGE_ALERT_MINUTES = env.int("CONNECTION_OUTAGE_ALERT_MINUTES", default=3)
if CONNECTION_OUTAGE_ALERT_MINUTES < 1:
    raise ValueError(f"CONNECTION_OUTAGE_ALERT_MINUTES must be 1 or more: {CONNECTION_OUTAGE_ALERT_MINUTES}")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="paysage@localhost")
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION_LIKE
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)

INSTALLED_APPS = [
    "portal",
    "portal.admin_apps.PaysageAdminConfig",  # django.contrib.admin with the dashboard as its index
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",  # before payments, whose admin replaces knox's token admin
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "rangefilter",  # date-range list filters (portal.admin_lists.filters)
    "integrations",
    "customers",
    "payments",
]
if SANDBOX:
    INSTALLED_APPS += [
        "simulators",
        "simulators.paytrace",
        "simulators.sage300",
        "simulators.x3",
        "simulators.sagepro",
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

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'paysage.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# Off by default: a health check is one more round trip on every request (measured by
# bench/webhook_ingest.py); turn it on where the database drops idle connections.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # The embedded default serves the portal and a django-q2 cluster from one file: wait for the
    # writer lock instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Logins and passwords --------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "portal.passwords.GuessableWordPasswordValidator"},
]
# django-axes counts failed logins per username and client address in the database (so the count holds
# across web workers) and refuses that pair for a cool-off once the limit is reached. First in
# INSTALLED_APPS so its failure receiver records the attempt before portal.logins audits it.
INSTALLED_APPS.insert(0, "axes")
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # last, as django-axes requires
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portal.logins.login_lockout_response"
# Lockouts are read in the audit trail and end by themselves; `manage.py axes_reset_username` lifts one.
AXES_ENABLE_ADMIN = False
# What axes stores of a failed login: the username masked, and nothing of the form but masked values.
AXES_USERNAME_CALLABLE = "portal.logins.login_username"
AXES_SENSITIVE_PARAMETERS = ["username"]
AXES_VERBOSE = False  # no banner on every manage.py command; failures are still logged

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION_LIKE
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

if PRODUCTION_LIKE:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- django-q2 -------------------------------------------------------------------------------
# Retry state lives in our own tables; django-q2 only catches crashes. Every task's timeout stays
# below the broker's `retry` (enforced by a system check) so a slow task is never delivered twice.
Q_TASK_TIMEOUT = 120
REDIS_URL = env.str("REDIS_URL", default="")
Q_CLUSTER = {
    "name": env.str("Q_CLUSTER_NAME", default="paysage"),
    "workers": env.int("Q_WORKERS", default=2),
    "timeout": Q_TASK_TIMEOUT,
    "retry": Q_TASK_TIMEOUT * 3,
    "max_attempts": 3,
    "ack_failures": False,
    "catch_up": False,
    "save_limit": 500,
    "queue_limit": 20,
    "label": "Task queue",
    "poll": 0.5,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# Queues (portal.queue): the tasks of a queue listed here (inbox, outbox) go to a broker list of their own,
# served by a cluster started with Q_QUEUE=<queue> (`Q_QUEUE=outbox manage.py qcluster`); unlisted queues
# stay on the default cluster, which also runs every schedule whose task is not on a listed queue.
TASK_QUEUES = env.list("TASK_QUEUES", default=[])
Q_QUEUE = env.str("Q_QUEUE", default="")
if Q_QUEUE:
    if Q_QUEUE not in TASK_QUEUES:
        raise ValueError(f"Q_QUEUE={Q_QUEUE!r} is not one of TASK_QUEUES {TASK_QUEUES}")
    Q_CLUSTER["cluster_name"] = f"{Q_CLUSTER['name']}-{Q_QUEUE}"

# --- Sage Pro drop folders ---------------------------------------------------------------------
# A connection's `drop_folder` must resolve (symlinks followed) to a folder under this root.
SAGEPRO_DROP_ROOT = Path(env.str("SAGEPRO_DROP_ROOT", default=str(VAR_DIR / "sagepro-drop")))

# --- Cache -----------------------------------------------------------------------------------
# One cache for every process (web workers, the cluster), so refund-request locks, the inbox wake-up
# and API throttles hold across them: Redis when there is one, else a database table (made after
# every migrate by portal.apps). REDIS_CACHE_URL moves it off the broker's Redis database.
REDIS_CACHE_URL = env.str("REDIS_CACHE_URL", default=REDIS_URL)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_CACHE_URL}
    if REDIS_CACHE_URL
    else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "paysage_cache"}
}
# Apart from django-q2's own keys when they share a Redis database.
CACHES["default"]["KEY_PREFIX"] = "paysage-cache"

# --- REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["knox.auth.TokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["payments.api.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env.str("API_THROTTLE_RATE", default="600/minute")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "payments.api.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
# API keys are stored as SHA-512 digests (django-rest-knox) and shown once, when made. A storefront key is a
# long-lived machine credential, rotated by revoking and re-issuing it: no expiry unless API_TOKEN_TTL_DAYS
# is set, and never extended by use. The header stays `Authorization: Token <key>`.
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=0)
if API_TOKEN_TTL_DAYS < 0:
    raise ValueError(f"API_TOKEN_TTL_DAYS must be 0 (no expiry) or more, not {API_TOKEN_TTL_DAYS}")
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=API_TOKEN_TTL_DAYS) if API_TOKEN_TTL_DAYS else None,
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_PREFIX": "pys_",  # recognisable by secret scanners; its first characters are the listed prefix
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Paysage order-to-cash API",
    "DESCRIPTION": "Orders, payments and their ERP status for eCommerce storefronts.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Production-like environments show the schema and its docs to logged-in staff (the admin session)
    # and API tokens only, unless API_DOCS_PUBLIC says otherwise (payments/api/docs_access.py).
    "SERVE_PERMISSIONS": ["payments.api.docs_access.ApiDocsAccess"],
    # The API's own first, so an anonymous call is answered 401 with its WWW-Authenticate.
    "SERVE_AUTHENTICATION": [
        *REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"],
        "rest_framework.authentication.SessionAuthentication",
    ],
}
API_DOCS_PUBLIC = env.bool("API_DOCS_PUBLIC", default=not PRODUCTION_LIKE)

# --- Logging ---------------------------------------------------------------------------------
# No card number reaches a log. `portal.pci.logging_configure` applies LOGGING, then masks every record
# as it is made, whichever logger it comes from and whichever handler writes it (a library's own, or
# gunicorn's access log). Every handler below also has the masking filter, for records made without the
# record factory (`logging.makeLogRecord`). Django's default handlers are replaced: `django` records
# (`django.request` among them) go to the root's console instead of Django's console and mail_admins (a
# mail would carry the request's data), and `django.server`, runserver's access log with its query
# strings, keeps its own format through a handler declared here.
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING_CONFIG = "portal.pci.logging_configure"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_card_numbers": {"()": "portal.pci.CardNumberMaskingFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_card_numbers"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["mask_card_numbers"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "INFO"},
    },
}
