"""The Dockerfile's steps, run without Docker, and what they produce: runtime size and time to healthy.

    python -m bench.docker_steps                    # build, then time 5 cold starts to a healthy server
    python -m bench.docker_steps --runs 10 --json
    python -m bench.docker_steps --database-url postgres://postgres@127.0.0.1:5432/chatbot_image

The Dockerfile is read and its instructions are carried out in a scratch directory that stands for
the image's file system: ``/app``, ``/opt``, ``/src`` and ``/dist`` in the instructions are mapped
below it, each ``FROM`` python image is a fresh virtualenv of this machine's Python 3.11 (standing for
the image's interpreter), ``COPY`` honours .dockerignore, ``RUN`` runs through ``/bin/sh -c`` with
the stage's ``ENV``. BuildKit cache mounts become this machine's pip/uv caches. Commands that change
the machine's users or file ownership (``useradd``, ``chown``) are recorded and skipped. The
runtime's size is the virtualenv plus the site as the runtime stage leaves them; the base image
(python:3.11-slim-bookworm) comes on top. Time to healthy starts the ``CMD`` with the image's
environment against a migrated database and polls ``/api/chatbot/health`` until it answers 200.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.servers import free_port, stop_group

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"

#: Top-level directories of the image that the emulation maps below its scratch root.
IMAGE_DIRS = ("app", "dist", "opt", "src")
_IMAGE_PATH = re.compile(r"(?<![\w.-])/(?=(?:" + "|".join(IMAGE_DIRS) + r")(?:/|\b))")
#: Commands that would change this machine rather than the emulated image.
SYSTEM_ONLY = {"useradd", "groupadd", "adduser", "addgroup", "chown", "apt-get"}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str
    line: int


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[Instruction] = field(default_factory=list)


def parse(path: Path = DOCKERFILE) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults and the stages, with line continuations joined and comments dropped."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    pending, start = "", 0
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        text, pending = pending + line, ""
        keyword, _, value = text.partition(" ")
        keyword, value = keyword.upper(), value.strip()
        if keyword == "FROM":
            words = value.split()
            base = _expand(words[0], args)
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(base=base, name=name))
        elif keyword == "ARG" and not stages:
            key, _, default = value.partition("=")
            args[key] = default
        else:
            stages[-1].instructions.append(Instruction(keyword, value, start))
    return args, stages


def _expand(text: str, env: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), ""), text)


def run_flags(value: str) -> tuple[dict[str, str], str]:
    """Split leading ``--flag=value`` options from an instruction's arguments."""
    flags: dict[str, str] = {}
    while value.startswith("--"):
        flag, _, value = value.partition(" ")
        name, _, flag_value = flag[2:].partition("=")
        flags[name] = flag_value
        value = value.lstrip()
    return flags, value


def exec_form(value: str) -> list[str]:
    """A CMD/HEALTHCHECK command as an argv list (JSON exec form, or shell form through sh -c)."""
    if value.startswith("["):
        return json.loads(value)
    return ["/bin/sh", "-c", value]


class DockerIgnore:
    def __init__(self, context: Path):
        path = context / ".dockerignore"
        lines = path.read_text().splitlines() if path.exists() else []
        self.patterns = [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]

    def ignored(self, relative: str) -> bool:
        for pattern in self.patterns:
            if pattern.startswith("**/"):
                tail = pattern[3:]
                if any(fnmatch.fnmatch(part, tail) for part in relative.split("/")):
                    return True
            if fnmatch.fnmatch(relative, pattern) or relative.startswith(pattern + "/"):
                return True
        return False


@dataclass
class Image:
    """What the last stage leaves: its environment, working directory, user, command and health check."""

    root: Path
    env: dict[str, str]
    workdir: Path
    cmd: list[str]
    healthcheck: list[str]
    user: str
    exposed: list[str]
    skipped: list[str]

    def path(self, image_path: str) -> Path:
        return Path(self.root, image_path.lstrip("/"))


class Emulation:
    """Carries out a Dockerfile's stages below ``root``; see the module docstring for the rules."""

    def __init__(self, root: Path, context: Path = ROOT, dockerfile: Path = DOCKERFILE, verbose: bool = False):
        self.root = root
        self.context = context
        self.args, self.stages = parse(dockerfile)
        self.ignore = DockerIgnore(context)
        self.verbose = verbose
        self.skipped: list[str] = []

    def map(self, text: str) -> str:
        return _IMAGE_PATH.sub(str(self.root) + "/", text)

    def _base_env(self, stage: Stage) -> dict[str, str]:
        # The python image's own interpreter: a fresh virtualenv of this machine's Python.
        base = self.root / ".base" / stage.name
        subprocess.run([sys.executable, "-m", "venv", str(base)], check=True)
        env = {
            key: value
            for key, value in os.environ.items()
            if key in {"HOME", "LANG", "TMPDIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"}
            or key.startswith(("PIP_", "UV_", "SSL_CERT_"))
            or key.lower().endswith("_proxy")
        }
        env["PATH"] = f"{base}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        return env

    def build(self) -> Image:
        image: Image | None = None
        for stage in self.stages:
            image = self._build_stage(stage)
        assert image is not None, "no stage in the Dockerfile"
        return image

    def _log(self, message: str) -> None:
        if self.verbose:
            print(message, file=sys.stderr)

    def _build_stage(self, stage: Stage) -> Image:
        env = self._base_env(stage)
        workdir = self.root
        image = Image(self.root, env, workdir, [], [], "root", [], self.skipped)
        for instruction in stage.instructions:
            keyword, value = instruction.keyword, instruction.value
            self._log(f"[{stage.name}] {keyword} {value}")
            if keyword == "ARG":  # a build argument is in the environment of the RUNs after it
                key, _, default = value.partition("=")
                env[key] = shlex.split(default)[0] if default else self.args.get(key, "")
            elif keyword == "ENV":
                for pair in shlex.split(value):
                    key, _, raw = pair.partition("=")
                    env[key] = self.map(_expand(raw, env))
            elif keyword == "WORKDIR":
                workdir = Path(self.map(value)) if value.startswith("/") else workdir / value
                workdir.mkdir(parents=True, exist_ok=True)
            elif keyword == "COPY":
                self._copy(value, workdir)
            elif keyword == "RUN":
                self._run(value, env, workdir)
            elif keyword == "USER":
                image.user = value
            elif keyword == "EXPOSE":
                image.exposed.extend(value.split())
            elif keyword == "CMD":
                image.cmd = [self.map(part) for part in exec_form(value)]
            elif keyword == "HEALTHCHECK":
                _, command = run_flags(value)
                image.healthcheck = [self.map(part) for part in exec_form(command.removeprefix("CMD").strip())]
        image.workdir = workdir
        return image

    def _copy(self, value: str, workdir: Path) -> None:
        flags, rest = run_flags(value)
        *sources, dest = shlex.split(rest)
        target = Path(self.map(dest)) if dest.startswith("/") else workdir / dest
        for source in sources:
            if "from" in flags:
                origin = Path(self.map(source))
                if origin == target:  # one file system for all stages: already there
                    continue
                shutil.copytree(origin, target, symlinks=True, dirs_exist_ok=True)
                continue
            origin = self.context / source
            if origin.is_dir():
                shutil.copytree(origin, target, dirs_exist_ok=True, ignore=self._ignored_in(origin))
            else:
                into = target / origin.name if dest.endswith("/") or len(sources) > 1 else target
                into.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, into)

    def _ignored_in(self, origin: Path):
        def ignore(directory: str, names: list[str]) -> list[str]:
            relative = Path(directory).relative_to(self.context)
            return [name for name in names if self.ignore.ignored(str(relative / name).removeprefix("./"))]

        return ignore

    def _run(self, value: str, env: dict[str, str], workdir: Path) -> None:
        _, command = run_flags(value)  # --mount=type=cache: this machine's own caches stand in
        kept = []
        for part in re.split(r"\s+&&\s+", command):
            if part.split()[0] in SYSTEM_ONLY:
                self.skipped.append(part)
            else:
                kept.append(part)
        if kept:
            # The build's output goes to stderr, so that --json output stays parseable.
            subprocess.run(
                ["/bin/sh", "-c", self.map(" && ".join(kept))], check=True, cwd=workdir, env=env, stdout=sys.stderr
            )


def build_image(root: Path, *, verbose: bool = False) -> Image:
    return Emulation(root, verbose=verbose).build()


def health_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - a local URL
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return None


def migrate(image: Image, env: dict[str, str]) -> None:
    """The release step the Dockerfile documents: ``python manage.py migrate``."""
    subprocess.run(["python", "manage.py", "migrate", "--noinput", "-v", "0"], check=True, cwd=image.workdir, env=env)


def start(image: Image, env: dict[str, str], log_path: Path | None = None) -> subprocess.Popen:
    log = log_path.open("ab") if log_path else subprocess.DEVNULL
    return subprocess.Popen(
        image.cmd, cwd=image.workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )


def time_to_healthy(image: Image, env: dict[str, str], deadline: float = 60.0, log_path: Path | None = None) -> float:
    """Seconds from starting the CMD to the first 200 from /api/chatbot/health."""
    url = f"http://127.0.0.1:{env['PORT']}/api/chatbot/health"
    started = time.perf_counter()
    process = start(image, env, log_path)
    try:
        while time.perf_counter() - started < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            if health_status(url) == 200:
                elapsed = time.perf_counter() - started
                # Docker's own HEALTHCHECK command must agree.
                subprocess.run(image.healthcheck, check=True, env=env, cwd=image.workdir, timeout=10)
                return elapsed
            time.sleep(0.02)
        raise RuntimeError(f"not healthy within {deadline}s")
    finally:
        stop_group(process)


def du(path: Path) -> int:
    """Bytes on disk below ``path`` (as ``du -sb`` counts them, symlinks not followed)."""
    total = 0
    for dirpath, _, filenames in os.walk(path):
        for name in filenames:
            file = Path(dirpath, name)
            if not file.is_symlink():
                total += file.stat().st_size
    return total


def app_only_bytes(image: Image, scratch: Path) -> int:
    """Size of a virtualenv with only the wheel the builder made and its dependencies (no demo extra).

    What a shop adds to its own environment; no bytecode compiled, as a plain install leaves it.
    """
    venv = scratch / "app-only"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (wheel,) = image.path("/dist").glob("*.whl")
    uv = image.root / ".base" / "builder" / "bin" / "uv"
    env = {**image.env, "UV_LINK_MODE": "copy"}
    subprocess.run(
        [str(uv), "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel)],
        check=True,
        env=env,
    )
    return du(venv)


def runtime_env(image: Image, database_url: str | None = None) -> dict[str, str]:
    env = {**image.env, "PORT": str(free_port())}
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="cold starts to time")
    parser.add_argument("--database-url", help="default: the image's SQLite file in /app/data")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    options = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="chatbot-image-"))
    try:
        began = time.perf_counter()
        image = build_image(scratch, verbose=options.verbose)
        build_seconds = time.perf_counter() - began
        env = runtime_env(image, options.database_url)
        migrate(image, env)
        log = scratch / "server.log"
        times = [
            time_to_healthy(image, runtime_env(image, options.database_url), log_path=log) for _ in range(options.runs)
        ]
        venv, app = image.path("/opt/venv"), image.workdir
        result: dict[str, Any] = {
            "venv_bytes": du(venv),
            "app_only_venv_bytes": app_only_bytes(image, scratch),
            "app_bytes": du(app) - du(app / "data"),
            "static_bytes": du(app / "staticfiles"),
            "build_seconds": round(build_seconds, 1),
            "healthy_seconds": [round(t, 3) for t in times],
            "healthy_median_seconds": round(statistics.median(times), 3),
            "database": "postgres" if (options.database_url or "").startswith("postgres") else "sqlite",
            "python": sys.version.split()[0],
            "skipped_commands": image.skipped,
        }
    finally:
        if options.keep:
            print(f"scratch kept at {scratch}", file=sys.stderr)
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    if options.json:
        print(json.dumps(result, indent=2))
        return 0
    mb = 1000 * 1000
    print(f"runtime virtualenv (/opt/venv)   {result['venv_bytes'] / mb:7.1f} MB")
    print(
        f"site (/app, incl. static files)   {result['app_bytes'] / mb:7.1f} MB  "
        f"(static files {result['static_bytes'] / mb:.1f} MB)"
    )
    print(f"the app alone (wheel + its deps)  {result['app_only_venv_bytes'] / mb:7.1f} MB  (no Oscar, no bytecode)")
    print(f"build (all stages, warm caches)   {result['build_seconds']:7.1f} s")
    print(
        f"time to healthy, {result['database']}, median of {len(times)}: "
        f"{result['healthy_median_seconds']:.2f} s  {result['healthy_seconds']}"
    )
    print(f"skipped on this machine: {result['skipped_commands']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
