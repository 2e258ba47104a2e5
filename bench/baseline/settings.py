"""The baseline's whole Django configuration: no portal app, no middleware, one view, one table.

It is the bare floor our webhook endpoint is compared with (DESIGN.md "Targets"): verify the signature,
insert the raw body, answer. Only what Django needs to serve that view is set."""

import environ

env = environ.Env()

SECRET_KEY = "paysage-bench-baseline-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.baseline.urls"
USE_TZ = True
# Persistent connections like the portal's CONN_MAX_AGE, or the figure would mostly measure connecting.
DATABASES = {"default": {**env.db_url("DATABASE_URL"), "CONN_MAX_AGE": 60}}
PAYTRACE_WEBHOOK_SECRET = env.str("PAYTRACE_WEBHOOK_SECRET")
