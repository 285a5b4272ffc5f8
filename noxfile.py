"""The app on each Django version it supports, in a plain project without the demo shop.

    make matrix              # every session below
    make matrix NOX_ARGS='-s "app(6.0)"'   # one of them; `.venv/bin/nox -l` lists them

Each session makes a virtualenv with the app, its dependencies and one Django version, and runs the
app's tests that need no shop (``tests/settings_app.py``: no django-oscar, nothing of ``shop_site``)
against PostgreSQL (``DATABASE_URL``, as for ``make test``). The demo shop stays on the Django that
django-oscar supports and is tested by ``make test``.

Django 6.0 and 6.1 need Python 3.12 or newer: their sessions run under the first of ``python3.12``,
``python3.13``, ``python3.14`` found on ``PATH`` or among pyenv's installed versions, and are skipped,
saying so, where there is none. A session installs the app without resolving its own Django range,
so a new Django series can be tried here before ``pyproject.toml`` claims it. ``deprecations`` runs
the same tests on Django 5.2 with the warnings of what Django 6.0 and 6.1 remove made errors.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import nox
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
#: The test tools the app's own tests use, with the pins of the ``test`` extra.
TEST_TOOLS = {"pytest", "pytest-django", "schemathesis"}
#: The Django series and the oldest Python each one supports.
DJANGO = {
    "5.2.0": ("Django==5.2", "3.11"),  # the floor of the range pyproject.toml declares
    "5.2": ("Django>=5.2,<5.3", "3.11"),  # the newest 5.2.x
    "6.0": ("Django>=6.0,<6.1", "3.12"),
    "6.1": ("Django>=6.1,<6.2", "3.12"),
}
NEWER_PYTHONS = ("3.12", "3.13", "3.14")

# Interpreters this machine has, never one downloaded.
nox.options.default_venv_backend = "venv"
nox.options.download_python = "never"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["app", "deprecations"]


def _interpreter(version: str) -> str | None:
    """A working ``python<version>``: on PATH, or installed by pyenv without being selected (its shim
    on PATH then fails)."""
    pyenv = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found = [shutil.which(f"python{version}")]
    found += sorted((str(p) for p in pyenv.glob(f"versions/{version}.*/bin/python{version}")), reverse=True)
    for exe in filter(None, found):
        # An interpreter of this machine's, run to see that it starts (a pyenv shim may not).
        if subprocess.run([exe, "-c", ""], capture_output=True, check=False).returncode == 0:  # noqa: S603
            return exe
    return None


def _python_for(oldest: str) -> str | None:
    """The first Python at least as new as ``oldest`` that this machine has."""
    candidates = ("3.11", *NEWER_PYTHONS)
    return next(filter(None, map(_interpreter, candidates[candidates.index(oldest) :])), None)


def _requirements(names: set[str], group: list[str]) -> list[str]:
    return [spec for spec in group if Requirement(spec).name.lower() in names]


def _install(session: nox.Session, django: str) -> None:
    app_deps = [spec for spec in PROJECT["dependencies"] if Requirement(spec).name.lower() != "django"]
    test_tools = _requirements(TEST_TOOLS, PROJECT["optional-dependencies"]["test"])
    session.install(django, *app_deps, *test_tools)
    # The app itself without its Django pin: the session's Django is the one under test.
    session.install("--no-deps", "-e", ".")


def _pytest(session: nox.Session, *options: str) -> None:
    env = {"DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chatbot")}
    session.run("python", "-m", "django", "--version")
    # Not the demo's tests, nor the packaging tests (they build the wheel and test it in a project of
    # their own, on the Python and Django of `make test`).
    selection = ["-m", "not demo and not packaging", "-p", "no:cacheprovider", "-q"]
    session.run("python", "-m", "pytest", "--ds=tests.settings_app", *selection, *options, *session.posargs, env=env)


#: (Python, Django) for each session; False where no Python new enough is on PATH (the session says so).
MATRIX = [(_python_for(oldest) or False, django) for django, (_, oldest) in DJANGO.items()]


@nox.session
@nox.parametrize(("python", "django"), MATRIX, ids=list(DJANGO))
def app(session: nox.Session, django: str) -> None:
    """The app's tests without the demo shop, on one Django version."""
    requirement, oldest = DJANGO[django]
    if not session.python:
        session.skip(
            f"Django {django} needs Python >= {oldest}: no {', '.join('python' + v for v in NEWER_PYTHONS)}"
            " on PATH or among pyenv's versions"
        )
    _install(session, requirement)
    _pytest(session)


@nox.session(python="3.11")
def deprecations(session: nox.Session) -> None:
    """The app's tests on the newest Django 5.2 with what Django 6.0 and 6.1 remove made an error."""
    _install(session, DJANGO["5.2"][0])
    _pytest(
        session,
        "-W",
        "error::django.utils.deprecation.RemovedInDjango60Warning",
        "-W",
        "error::django.utils.deprecation.RemovedInDjango61Warning",
    )
