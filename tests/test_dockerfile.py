"""The Dockerfile: its structure, and its steps carried out without Docker (bench/docker_steps.py).

Docker may not be available where the tests run, so the emulation builds the image's file system in a
scratch directory from the Dockerfile's own instructions, then the ``CMD`` is started with the image's
environment and its ``HEALTHCHECK`` command must pass. Selected with ``-m packaging``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import requests

from bench.docker_steps import DOCKERFILE, DockerIgnore, Emulation, Image, migrate, parse, start
from bench.servers import free_port, stop_group
from tests.test_packaging import wait_healthy

pytestmark = [pytest.mark.packaging, pytest.mark.demo]

REPO = DOCKERFILE.parent
ARGS, STAGES = parse(DOCKERFILE)
BUILDER, RUNTIME = STAGES[0], STAGES[-1]


def instructions(stage, keyword: str) -> list[str]:
    return [i.value for i in stage.instructions if i.keyword == keyword]


def final_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for value in instructions(RUNTIME, "ENV"):
        for pair in value.split():
            key, _, raw = pair.partition("=")
            env[key] = raw
    return env


def test_multi_stage_from_slim_python_311():
    assert len(STAGES) >= 2
    assert [BUILDER.name, RUNTIME.name] == ["builder", "runtime"]
    for stage in STAGES:
        assert re.fullmatch(r"python:3\.11-slim(-\w+)?", stage.base), stage.base
    assert any(v.startswith("--from=builder ") for v in instructions(RUNTIME, "COPY"))


def test_the_wheel_is_built_in_the_builder_and_installed_with_the_demo_extra():
    runs = " ".join(instructions(BUILDER, "RUN"))
    assert "build --wheel" in runs
    assert re.search(r"pip install .*\.whl\)?\[demo\]", runs)
    # No build tool in the runtime stage.
    assert not re.search(r"\b(pip|uv|build)\b install", " ".join(instructions(RUNTIME, "RUN")))


def test_runtime_runs_as_a_non_root_user():
    users = instructions(RUNTIME, "USER")
    assert users, "no USER in the runtime stage"
    assert users[-1].split(":")[0] not in {"root", "0"}
    keywords = [i.keyword for i in RUNTIME.instructions]
    assert keywords.index("USER") > max(n for n, k in enumerate(keywords) if k == "RUN")


def test_static_files_are_collected_at_build_time():
    assert any("manage.py collectstatic --noinput" in v for v in instructions(RUNTIME, "RUN"))
    assert final_env()["STATIC_ROOT"].startswith("/app/")


def test_port_health_check_and_production_server():
    env = final_env()
    assert instructions(RUNTIME, "EXPOSE") == [env["PORT"]]
    (health,) = instructions(RUNTIME, "HEALTHCHECK")
    assert "/api/chatbot/health" in health
    assert "os.environ['PORT']" in health
    (cmd,) = instructions(RUNTIME, "CMD")
    assert cmd.startswith('["/bin/sh", "-c", "exec gunicorn shop_site.asgi:application ')
    # The configuration that starts the task worker beside the server (shop_site/gunicorn.py), as make demo.
    assert "--config python:shop_site.gunicorn" in cmd
    # The same server options as `make demo`; gunicorn binds 0.0.0.0:$PORT itself when --bind is absent
    # and reads WEB_CONCURRENCY for its number of workers.
    assert "--worker-class uvicorn_worker.UvicornWorker" in cmd
    assert "--bind" not in cmd and "--workers" not in cmd
    makefile = (REPO / "Makefile").read_text()
    assert "shop_site.asgi:application" in makefile
    assert "--worker-class uvicorn_worker.UvicornWorker" in makefile
    assert "--config python:shop_site.gunicorn" in makefile
    for name in ("WEB_CONCURRENCY",):
        assert env[name] == re.search(rf"^{name} \?= (\d+)", makefile, re.M).group(1), name


def test_dockerignore_keeps_secrets_and_caches_out_but_every_copied_path_in():
    ignore = DockerIgnore(REPO)
    for path in (".git", ".venv", ".env", "db.sqlite3", "chatbot/__pycache__", "shop_site/demo/__pycache__"):
        assert ignore.ignored(path), path
    for stage in STAGES:
        for value in instructions(stage, "COPY"):
            if value.startswith("--from="):
                continue
            *sources, _ = value.split()
            for source in sources:
                assert (REPO / source).exists(), source
                assert not ignore.ignored(source), source


# ---- the steps, carried out --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def image():
    scratch = Path(tempfile.mkdtemp(prefix="chatbot-image-"))
    try:
        yield Emulation(scratch).build()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(image: Image, *argv: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(argv), cwd=image.workdir, env={**image.env, **env}, capture_output=True, text=True, check=False
    )


def test_the_runtime_has_the_server_the_site_and_the_collected_static_files(image):
    assert image.workdir == image.path("/app")
    assert (image.workdir / "manage.py").is_file()
    assert image.path("/opt/venv/bin/gunicorn").is_file()
    static_root = Path(image.env["STATIC_ROOT"])
    assert (static_root / "staticfiles.json").is_file()
    assert list(static_root.glob("chatbot/loader.*.js")), "the widget's files were not collected"
    probe = run(image, "python", "-c", "import shop_site.wsgi, chatbot; print(chatbot.__file__)")
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith(str(image.path("/opt/venv"))), "chatbot must come from the installed wheel"
    assert not image.path("/opt/venv/bin/pip").exists()
    assert image.skipped == [
        "useradd --system --user-group --uid 10001 --home-dir /app --no-create-home chatbot",
        "chown -R chatbot:chatbot /app/data",
    ]


def test_the_documented_worker_command_exists(image):
    worker = run(image, "python", "manage.py", "help", "db_worker")
    assert worker.returncode == 0, worker.stderr


def test_the_cmd_becomes_healthy_and_serves_the_storefront_with_the_widget(image):
    env = {**image.env, "PORT": str(free_port())}
    migrate(image, env)
    process = start(image, env, image.root / "server.log")
    try:
        base = f"http://127.0.0.1:{env['PORT']}"
        health = wait_healthy(f"{base}/api/chatbot/health", process)
        assert health.json()["status"] == "ok"
        check = subprocess.run(image.healthcheck, env=env, cwd=image.workdir, timeout=30, check=False)
        assert check.returncode == 0
        page = requests.get(f"{base}/", timeout=30)
        assert page.status_code == 200
        assert 'id="shop-chatbot"' in page.text
        loader = re.search(r'src="(/static/chatbot/loader\.[0-9a-f]+\.js)"', page.text)
        assert loader, "the widget's script is served from the hashed, collected files"
        asset = requests.get(f"{base}{loader.group(1)}", headers={"Accept-Encoding": "gzip"}, timeout=30)
        assert asset.status_code == 200
        assert asset.headers.get("Content-Encoding") == "gzip"
    finally:
        stop_group(process)
    # The same command runs the task worker beside the server.
    assert "Started the task worker (manage.py db_worker" in (image.root / "server.log").read_text()


def test_the_build_uses_a_throwaway_key_and_the_runtime_keeps_its_own_in_the_data_volume(image):
    # The build runs manage.py with a throwaway SECRET_KEY, so it never makes a key the image would carry.
    builds = [run for run in instructions(RUNTIME, "RUN") if "manage.py" in run]
    assert builds and all("export SECRET_KEY=" in run for run in builds)
    assert final_env()["SECRET_KEY_FILE"] == "/app/data/secret_key"
    key_file = Path(image.env["SECRET_KEY_FILE"])
    assert key_file.parent == image.path("/app/data")
    env = {key: value for key, value in image.env.items() if key != "SECRET_KEY"}
    script = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    keys = {
        subprocess.run(
            ["python", "-c", script], cwd=image.workdir, env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(keys) == 1 and key_file.read_text().strip() in keys
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
