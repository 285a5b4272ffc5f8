"""Printing results: a plain table on stdout and, for BENCHMARKS.md, JSON in bench/results/."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def table(title: str, rows: list[dict]) -> None:
    print(f"\n{title}")
    if not rows:
        return
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))


def save(name: str, data: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {
        "bench": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": f"{platform.machine()}, {_cpus()} CPUs, Python {platform.python_version()}",
        # Other work on the machine skews every timing; the load average says how much there was.
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        **data,
    }
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def _cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 0


def main(name: str, run: Callable[[], dict]) -> None:
    """Run one benchmark as a script: print its tables and save its JSON."""
    data = run()
    print(f"\nsaved {save(name, data)}")
    sys.exit(0)
