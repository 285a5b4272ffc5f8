"""Test settings: the demo storefront on PostgreSQL, with the assistant typing instantly."""

import os
from importlib.util import find_spec

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chatbot")

from shop_site.settings import *  # noqa: E402,F403

CHATBOT = {**CHATBOT, "LOCAL_STREAM_DELAY": 0, "RATE_LIMITS": "off"}  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {  # noqa: F405
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
WHITENOISE_AUTOREFRESH = True
# Tasks run as they are queued, so a test sees their effect when the call that queued them returns; the
# tests of durability queue in the database and run a worker themselves (tests/test_tasks.py).
# Django's own django.tasks from 6.0 on, the backport before (as chatbot.tasks chooses).
TASKS_MODULE = "django.tasks" if find_spec("django.tasks") else "django_tasks"
TASKS = {"default": {"BACKEND": f"{TASKS_MODULE}.backends.immediate.ImmediateBackend"}}
