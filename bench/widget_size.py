"""Bytes the chat widget costs: what every page loads, and what the chat UI adds when it is opened.

    python -m bench.widget_size            # table
    python -m bench.widget_size --json     # machine-readable

Sizes are raw and gzip level 9 (what WhiteNoise's compressed storage serves). The budgets are part of
the product: the page-view cost must stay tiny, because most visitors never open the chat. The static
files' sizes are deterministic; the tag's markup varies by a byte or two with the CSRF token in it.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "chatbot" / "static" / "chatbot"

#: name -> (files, gzipped budget in bytes)
BUNDLES: dict[str, tuple[tuple[str, ...], int]] = {
    "loader (every page)": (("loader.js", "loader.css"), 6 * 1024),
    "chat UI (on demand)": (("chat.js", "chat.css"), 30 * 1024),
}


@dataclass(frozen=True)
class Size:
    name: str
    raw: int
    gzip: int
    budget: int | None = None

    @property
    def within_budget(self) -> bool:
        return self.budget is None or self.gzip <= self.budget


#: Measured for information: only stream-mode shops load it, and only when the chat UI loads.
EXTRAS: dict[str, tuple[str, ...]] = {
    "stream client (stream mode only)": ("stream/chat-stream.js",),
}


def gzipped(data: bytes) -> int:
    # mtime=0 keeps the output (and so the size) identical from run to run.
    return len(gzip.compress(data, compresslevel=9, mtime=0))


def measure_files(names: tuple[str, ...]) -> tuple[int, int]:
    """Raw and gzipped bytes of files served separately (each is compressed on its own)."""
    raw = zipped = 0
    for name in names:
        data = (STATIC / name).read_bytes()
        raw += len(data)
        zipped += gzipped(data)
    return raw, zipped


def markup_size() -> Size | None:
    """The tag's own output (launcher markup, JSON config, script tag), part of every page's HTML."""
    import os

    # The test settings serve static files unhashed, so no collectstatic is needed; nothing is queried.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    try:
        import django

        django.setup()
        from django.template import engines
        from django.test import RequestFactory

        template = engines["django"].from_string("{% load chatbot %}{% chatbot_widget %}")
        data = template.render({}, RequestFactory().get("/")).encode()
    except Exception as exc:  # the bench still reports the static files without a Django project
        print(f"(tag markup not measured: {exc})", file=sys.stderr)
        return None
    return Size("tag markup (in the HTML)", len(data), gzipped(data))


def measure(*, markup: bool = True) -> list[Size]:
    sizes = []
    if markup and (size := markup_size()) is not None:
        sizes.append(size)
    for bundle, (names, budget) in BUNDLES.items():
        for name in names:
            raw, zipped = measure_files((name,))
            sizes.append(Size(f"  {name}", raw, zipped))
        raw, zipped = measure_files(names)
        sizes.append(Size(bundle, raw, zipped, budget))
    for name, names in EXTRAS.items():
        if all((STATIC / file).exists() for file in names):
            raw, zipped = measure_files(names)
            sizes.append(Size(name, raw, zipped))
    return sizes


def table(sizes: list[Size]) -> str:
    lines = [
        f"{'what':<34}{'raw B':>9}{'gzip B':>9}{'budget gz':>11}  ok",
        "-" * 66,
    ]
    for size in sizes:
        budget = f"{size.budget:>11}" if size.budget else " " * 11
        verdict = ("yes" if size.within_budget else "OVER") if size.budget else ""
        lines.append(f"{size.name:<34}{size.raw:>9}{size.gzip:>9}{budget}  {verdict}".rstrip())
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--no-markup", action="store_true", help="skip rendering the template tag")
    args = parser.parse_args(argv)
    sizes = measure(markup=not args.no_markup)
    if args.json:
        print(json.dumps([{**asdict(size), "within_budget": size.within_budget} for size in sizes], indent=2))
    else:
        print(table(sizes))
    return 0 if all(size.within_budget for size in sizes) else 1


if __name__ == "__main__":
    sys.exit(main())
