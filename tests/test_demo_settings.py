"""The demo site's settings from the environment, each read in a fresh process (settings load once)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.demo

ROOT = Path(__file__).resolve().parent.parent


def _in_a_fresh_process(script: str, env: dict[str, str]) -> str:
    """What ``script`` prints, run by a new Python with ``env``."""
    return subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


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
    out = _in_a_fresh_process(script, env).split()
    if cache_url:
        assert out == [
            "django.core.cache.backends.redis.RedisCache",
            "shop_site.sessions",
            "shared",
        ]
    else:
        assert out == ["django.core.cache.backends.locmem.LocMemCache", "django.contrib.sessions.backends.db"]


@pytest.mark.parametrize("db_pool", ["", "true"])
def test_db_pool_picks_djangos_pool_instead_of_the_connection_gate(db_pool):
    """PostgreSQL connections of the demo: the bounded gate (shop_site.database) by default, Django's own
    psycopg pool, bounded the same way, with DB_POOL=true."""
    script = (
        "import django; django.setup()\n"
        "from django.db import connection\n"
        "conf = connection.settings_dict\n"
        "print(conf['ENGINE'], conf['CONN_MAX_AGE'], conf.get('MAX_CONNECTIONS'), conf['OPTIONS'].get('pool'))\n"
        "connection.ensure_connection(); print(type(getattr(connection.connection, '_pool', None)).__name__)\n"
    )
    server = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shop_site.settings",
        "DATABASE_URL": f"{server}/postgres",
        "DB_POOL": db_pool,
        "DB_MAX_CONNECTIONS": "7",
    }
    out = _in_a_fresh_process(script, env).splitlines()
    if db_pool:
        assert out == [
            "django.db.backends.postgresql 0 None {'min_size': 2, 'max_size': 7, 'timeout': 10}",
            "ConnectionPool",
        ]
    else:
        assert out == ["shop_site.database 60 7 None", "NoneType"]
