"""The demo site's settings from the environment, each read in a fresh process (settings load once)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("cache_url", ["", "redis://127.0.0.1:6379/13"])
def test_cache_url_shares_the_cache_and_the_sessions_between_processes(cache_url):
    """The demo settings with and without CACHE_URL, each in a fresh process (settings are read once)."""
    script = (
        "import django; django.setup()\n"
        "from django.conf import settings; from django.core.cache import cache\n"
        "print(settings.CACHES['default']['BACKEND'], settings.SESSION_ENGINE)\n"
        "if 'redis' in settings.CACHES['default']['BACKEND']:\n"
        "    cache.set('chatbot-test', 'shared'); print(cache.get('chatbot-test'))\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "shop_site.settings", "CACHE_URL": cache_url}
    if not cache_url:
        env.pop("CACHE_URL")
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    if cache_url:
        assert out == [
            "django.core.cache.backends.redis.RedisCache",
            "shop_site.sessions",
            "shared",
        ]
    else:
        assert out == ["django.core.cache.backends.locmem.LocMemCache", "django.contrib.sessions.backends.db"]
