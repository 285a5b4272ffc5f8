"""Settings for the benchmarks: the demo storefront on its own PostgreSQL database, plus a bare view.

Everything else (middleware, templates, ``CONN_MAX_AGE``, ``CONN_HEALTH_CHECKS``) is the demo's, so
the numbers are those of the server ``make demo`` runs. Rate limits are off: the load comes from one
address. ``BENCH_CHATBOT`` (JSON) adds ``CHATBOT`` keys for one server run.
"""

import json
import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chatbot_bench")

from shop_site.settings import *  # noqa: E402,F403

ROOT_URLCONF = "bench.urls"
CHATBOT = {**CHATBOT, "RATE_LIMITS": "off", **json.loads(os.environ.get("BENCH_CHATBOT") or "{}")}  # noqa: F405
DEBUG = False
# The static files are served unhashed, so no collectstatic is needed before a run.
STORAGES = {  # noqa: F405
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
