"""The distribution, built and installed the way a shop installs it, in a plain Django project.

``python -m build`` makes the sdist and the wheel from the sdist, so a file missing from the sdist
is missing from the wheel too. The wheel then goes into a fresh virtualenv outside the repository
(its dependencies come from PyPI, through uv's cache when uv is installed), into a project made by
``django-admin startproject`` with only the three integration steps of the README, and a visitor
chats with the local assistant over real HTTP. That project has no shop adapter: it is not Oscar.

Select these tests with ``-m packaging``.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from functools import cache
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "chatbot"


def _uv() -> str | None:
    try:
        from uv import find_uv_bin
    except ImportError:
        return shutil.which("uv")
    return find_uv_bin()


def _scratch(name: str) -> Path:
    """A temporary directory outside the repository, removed when the test run ends."""
    path = Path(tempfile.mkdtemp(prefix=f"chatbot-{name}-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


@cache
def built_dists() -> tuple[Path, Path]:
    """(sdist, wheel) from ``python -m build``, made once per test run."""
    out = _scratch("dist")
    command = [sys.executable, "-m", "build", "--outdir", str(out), str(REPO)]
    if _uv():
        command[3:3] = ["--installer", "uv"]
    subprocess.run(command, check=True, capture_output=True, cwd=out)
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return sdist, wheel


def clean_env(**extra: str) -> dict[str, str]:
    """An environment that knows nothing of this repository or its settings."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    # How this machine reaches PyPI (indexes, proxies, CA bundles) still applies.
    for name, value in os.environ.items():
        network = name.startswith(("PIP_", "UV_", "SSL_CERT_")) or name.lower().endswith("_proxy")
        if network or name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            env[name] = value
    env.update(extra)
    return env


def make_venv(path: Path, requirement: str) -> Path:
    """A new virtualenv at ``path`` with ``requirement`` and its dependencies; returns its bin dir."""
    uv = _uv()
    if uv:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--python", str(path / "bin" / "python"), requirement],
            check=True,
            env=clean_env(),
        )
    else:
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "pip"), "install", "--quiet", requirement], check=True, env=clean_env())
    return path / "bin"


@cache
def wheel_venv() -> Path:
    """Bin dir of a fresh virtualenv holding the wheel and only its declared dependencies."""
    _, wheel = built_dists()
    return make_venv(_scratch("venv") / "venv", str(wheel))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen, deadline: float = 120.0) -> requests.Response:
    """Poll ``url`` until it answers 200, the process dies, or the deadline passes."""
    end = time.monotonic() + deadline
    last: object = None
    while time.monotonic() < end:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}")
        try:
            response = requests.get(url, timeout=10)
        except requests.RequestException as exc:  # not listening yet, or still starting its workers
            last = exc
        else:
            if response.status_code == 200:
                return response
            last = response.status_code
        time.sleep(0.1)
    raise AssertionError(f"{url} not healthy within {deadline}s: {last}")


def _names_in_repo(*patterns: str) -> set[str]:
    return {str(p.relative_to(REPO)) for pattern in patterns for p in APP.glob(pattern) if p.is_file()}


REQUIRED = (
    "templates/**/*.html",
    "static/**/*",
    "migrations/*.py",
    "locale/*/LC_MESSAGES/django.po",
    "locale/*/LC_MESSAGES/django.mo",
    "templatetags/*.py",
    "management/commands/*.py",
    "providers/local/lexicon.txt",
)


def test_wheel_holds_templates_static_migrations_and_locale():
    _, wheel = built_dists()
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = _names_in_repo(*REQUIRED) - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert not [name for name in names if name.startswith(("tests/", "shop_site/", "bench/"))]


def test_sdist_holds_the_app_and_its_documents():
    sdist, _ = built_dists()
    with tarfile.open(sdist) as archive:
        root = archive.getnames()[0].split("/")[0]
        names = {name.removeprefix(f"{root}/") for name in archive.getnames()}
    missing = (_names_in_repo(*REQUIRED) | {"README.md", "CHANGELOG.md", "pyproject.toml", "MANIFEST.in"}) - names
    assert not missing, f"not in the sdist: {sorted(missing)}"
    assert "docs/configuration.md" in names
    assert not [name for name in names if "__pycache__" in name or name.endswith((".pyc", ".sqlite3"))]


def test_wheel_metadata_declares_the_runtime_dependencies():
    _, wheel = built_dists()
    with zipfile.ZipFile(wheel) as archive:
        (meta_name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        meta = archive.read(meta_name).decode()
    requires = {
        re.split(r"[\s;<>=!\[(]", line.split(":", 1)[1].strip())[0].lower()
        for line in meta.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    }
    # Everything the app imports at runtime must come with it.
    assert {"django", "djangorestframework", "drf-spectacular", "django-tasks"} <= requires


# ---- a plain Django project, outside the repository ------------------------------------------------

BASE_TEMPLATE = """{% load chatbot %}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A shop</title></head>
<body><h1>A shop that is not Oscar</h1>
{% chatbot_widget %}
</body></html>
"""


def make_project(bin_dir: Path, where: Path) -> Path:
    """``django-admin startproject`` plus the README's three steps, and nothing else."""
    where.mkdir(parents=True)
    subprocess.run(
        [str(bin_dir / "django-admin"), "startproject", "plainshop", str(where)], check=True, env=clean_env()
    )
    settings = where / "plainshop" / "settings.py"
    text = settings.read_text()
    # Step 1: "chatbot" in INSTALLED_APPS, the only app added.
    text, count = re.subn(r"(INSTALLED_APPS = \[.*?)(\n\])", r'\1\n    "chatbot",\2', text, count=1, flags=re.S)
    assert count == 1
    # The project's own base template lives in templates/ (startproject leaves DIRS empty).
    text, count = re.subn(r"""["']DIRS["']: \[\]""", '"DIRS": [BASE_DIR / "templates"]', text, count=1)
    assert count == 1
    settings.write_text(text)
    # Step 2: the URLs.
    urls = where / "plainshop" / "urls.py"
    text = urls.read_text().replace("from django.urls import path", "from django.urls import include, path")
    text = text.replace(
        "from django.contrib import admin",
        "from django.contrib import admin\nfrom django.views.generic import TemplateView",
    )
    text, count = re.subn(
        r"""(path\(["']admin/["'], admin.site.urls\),)""",
        r'\1\n    path("api/chatbot/", include("chatbot.urls")),'
        r'\n    path("", TemplateView.as_view(template_name="base.html")),',
        text,
        count=1,
    )
    assert count == 1
    assert 'include("chatbot.urls")' in text
    urls.write_text(text)
    # Step 3: the tag in the base template.
    (where / "templates").mkdir()
    (where / "templates" / "base.html").write_text(BASE_TEMPLATE)
    return where


def sse_events(response: requests.Response) -> list[tuple[str, dict]]:
    """Read a text/event-stream response up to and including ``done`` or ``error``."""
    events: list[tuple[str, dict]] = []
    name, data = "message", []
    for line in response.iter_lines(decode_unicode=False):
        line = line.decode("utf-8")
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
        elif not line and data:
            events.append((name, json.loads("\n".join(data))))
            if name in {"done", "error"}:
                break
            name, data = "message", []
    return events


@pytest.fixture(scope="module")
def plain_site():
    """Base URL of the plain project served by ``manage.py runserver`` from the fresh virtualenv."""
    bin_dir = wheel_venv()
    where = make_project(bin_dir, _scratch("project") / "plainshop")
    python = str(bin_dir / "python")
    env = clean_env()
    probe = subprocess.run(
        [python, "-c", "import chatbot, django_tasks, rest_framework; print(chatbot.__file__)"],
        check=True,
        capture_output=True,
        text=True,
        cwd=where,
        env=env,
    )
    assert str(bin_dir.parent) in probe.stdout, probe.stdout
    subprocess.run([python, "manage.py", "check", "--fail-level", "ERROR"], check=True, cwd=where, env=env)
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v", "0"], check=True, cwd=where, env=env)
    subprocess.run(
        [python, "manage.py", "createsuperuser", "--noinput", "--username", "staff", "--email", "staff@example.com"],
        check=True,
        cwd=where,
        env={**env, "DJANGO_SUPERUSER_PASSWORD": "staff-pass"},
    )
    port = free_port()
    log = (where / "server.log").open("wb")
    server = subprocess.Popen(
        [python, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=where,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(f"{base}/api/chatbot/health", server)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
        if sys.exc_info()[0] is not None:
            print((where / "server.log").read_text())


def _visitor(base: str) -> tuple[requests.Session, str, dict]:
    session = requests.Session()
    page = session.get(f"{base}/", timeout=10)
    assert page.status_code == 200
    assert 'id="shop-chatbot"' in page.text
    assert "csrftoken" in session.cookies
    config = json.loads(
        re.search(r'<script id="shop-chatbot-config" type="application/json">(.*?)</script>', page.text, re.S).group(1)
    )
    return session, session.cookies["csrftoken"], config


def _ask(session: requests.Session, base: str, token: str, text: str) -> list[tuple[str, dict]]:
    response = session.post(
        f"{base}/api/chatbot/messages", json={"text": text}, headers={"X-CSRFToken": token}, stream=True, timeout=60
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "text/event-stream; charset=utf-8"
    return sse_events(response)


def test_health_in_the_plain_project(plain_site):
    body = requests.get(f"{plain_site}/api/chatbot/health", timeout=10).json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "provider", "stream"}


def test_widget_and_its_static_files_come_from_the_wheel(plain_site):
    session, _, config = _visitor(plain_site)
    assert config["mode"] == "builtin"
    assert config["endpoints"]["messages"] == "/api/chatbot/messages"
    for url in (config["assets"]["js"], config["assets"]["css"], "/static/chatbot/loader.js"):
        asset = session.get(f"{plain_site}{url}", timeout=10)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100


def test_a_visitor_chats_with_the_local_assistant_without_a_shop_adapter(plain_site):
    session, token, _ = _visitor(plain_site)
    events = _ask(session, plain_site, token, "What is your returns policy?")
    names = [name for name, _ in events]
    assert names[0] == "message"
    assert names[-1] == "done", events
    assert "delta" in names
    reply = events[-1][1]
    assert reply["role"] == "assistant"
    assert reply["text"].strip()
    assert reply["text"] == "".join(data["text"] for name, data in events if name == "delta")

    general = _ask(session, plain_site, token, "Hello, can you help me?")
    assert general[-1][0] == "done" and general[-1][1]["text"].strip()

    handoff = _ask(session, plain_site, token, "talk to a human")
    assert handoff[-1][0] == "done" and handoff[-1][1]["text"].strip()
    # From now on the conversation waits for staff: the message is stored, no provider answers.
    waiting = _ask(session, plain_site, token, "hello?")
    assert waiting[-1] == ("done", {**waiting[-1][1], "status": "waiting"})

    history = session.get(f"{plain_site}/api/chatbot/messages", timeout=10)
    assert history.status_code == 200
    messages = history.json()["messages"]
    assert [m["role"] for m in messages][:2] == ["user", "assistant"]
    assert messages[0]["text"] == "What is your returns policy?"
    assert messages[1]["text"] == reply["text"]
    assert len([m for m in messages if m["role"] == "user"]) == 4


def test_a_post_without_the_csrf_token_is_refused(plain_site):
    session, _, _ = _visitor(plain_site)
    response = session.post(f"{plain_site}/api/chatbot/messages", json={"text": "hi"}, timeout=10)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"


def test_json_and_the_schema_without_rest_framework_in_installed_apps(plain_site):
    # A browser asking for HTML still gets JSON: DRF's browsable API would need its templates.
    health = requests.get(f"{plain_site}/api/chatbot/health", headers={"Accept": "text/html"}, timeout=10)
    assert health.headers["Content-Type"].startswith("application/json")
    schema = requests.get(f"{plain_site}/api/chatbot/schema", headers={"Accept": "application/json"}, timeout=30)
    assert schema.status_code == 200, schema.text[:500]
    assert "/api/chatbot/messages" in schema.json()["paths"]


def test_staff_see_the_conversations_in_the_admin(plain_site):
    session, _, _ = _visitor(plain_site)
    _ask(session, plain_site, session.cookies["csrftoken"], "talk to a human")
    staff = requests.Session()
    login = staff.get(f"{plain_site}/admin/login/", timeout=10)
    assert login.status_code == 200
    answer = staff.post(
        f"{plain_site}/admin/login/?next=/admin/",
        data={
            "username": "staff",
            "password": "staff-pass",
            "csrfmiddlewaretoken": staff.cookies["csrftoken"],
            "next": "/admin/",
        },
        timeout=10,
    )
    assert answer.status_code == 200 and "Log out" in answer.text
    listing = staff.get(f"{plain_site}/admin/chatbot/conversation/", timeout=10)
    assert listing.status_code == 200
    change = re.search(r'href="(/admin/chatbot/conversation/\d+/change/[^"]*)"', listing.text)
    assert change, "no conversation listed"
    transcript = staff.get(f"{plain_site}{change.group(1)}", timeout=10)
    assert transcript.status_code == 200
    assert "talk to a human" in transcript.text
