"""No published SECRET_KEY: the demo and the container take it from the environment, or generate one on
first start and keep it in the data volume; ``check --deploy`` reports only what the docs explain.

Each case loads the demo settings in a fresh process, as a server start does.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytestmark = pytest.mark.demo

ROOT = Path(__file__).resolve().parent.parent
PRINT_KEY = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shop_site.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SECRET_KEY_FILE": str(tmp_path / "data" / "secret_key"),
        "DEBUG": "false",
        **extra,
    }
    env.pop("SECRET_KEY", None)
    # A browser test module may have set this in the test process; a server never has it.
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    env.update({key: value for key, value in extra.items() if key == "SECRET_KEY"})
    return env


def _start(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PRINT_KEY], cwd=ROOT, env=env, capture_output=True, text=True)


def test_without_secret_key_one_is_generated_kept_private_and_reused(tmp_path):
    first = _start(_env(tmp_path))
    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) >= 50 and len(set(key)) > 10
    kept = tmp_path / "data" / "secret_key"
    assert kept.read_text().strip() == key
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert _start(_env(tmp_path)).stdout.strip() == key, "the same key after a restart"
    assert _start(_env(tmp_path / "other")).stdout.strip() != key, "another installation gets its own"
    assert key not in first.stderr


def test_processes_starting_together_agree_on_one_key(tmp_path):
    with ThreadPoolExecutor(8) as pool:
        keys = {result.stdout.strip() for result in pool.map(lambda _: _start(_env(tmp_path)), range(8))}
    assert len(keys) == 1 and "" not in keys
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["secret_key"], "no drafts left behind"


def test_secret_key_from_the_environment_wins_and_nothing_is_written(tmp_path):
    given = "k" * 60
    result = _start(_env(tmp_path, SECRET_KEY=given))
    assert result.stdout.strip() == given
    assert not (tmp_path / "data").exists()


def test_a_key_file_that_cannot_be_written_stops_the_start_with_a_clear_message(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a directory")
    result = _start(_env(tmp_path, SECRET_KEY_FILE=str(blocked / "secret_key")))
    assert result.returncode != 0
    assert "set SECRET_KEY" in result.stderr


def test_no_secret_key_is_published_in_the_repository():
    for path in [ROOT / "shop_site" / "settings.py", ROOT / "Dockerfile", ROOT / "docs" / "configuration.md"]:
        assert "demo-only-insecure" not in path.read_text()


def _deploy_check(tmp_path: Path, **extra: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "CRITICAL"],
        cwd=ROOT,
        env=_env(tmp_path, **extra),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return set(re.findall(r"\(([\w.]+\.[WE]\d+)\)", result.stdout + result.stderr))


def test_check_deploy_on_the_image_settings_reports_only_what_the_docs_explain(tmp_path):
    reported = _deploy_check(tmp_path)
    deploying = (ROOT / "docs" / "deploying.md").read_text()
    assert reported, "HTTPS is off by default, so the HTTPS checks are expected"
    assert not [check for check in reported if check not in deploying], reported
    assert "security.W009" not in reported, "the generated key is strong"
    # Served over HTTPS (HTTPS=true), what is left binds the shop's subdomains: the docs say why.
    over_https = _deploy_check(tmp_path, HTTPS="true")
    assert over_https <= {"security.W005", "security.W021"}, over_https
    assert not [check for check in over_https if check not in deploying]
