"""``python -m bench`` runs every benchmark; ``python -m bench NAME...`` runs the named ones.

Each runs in its own process, prints its tables and saves JSON to ``bench/results/NAME.json`` (the
figures in BENCHMARKS.md come from those files). Servers run on 127.0.0.1 only, each benchmark is
bounded in requests and time, and every process it starts is stopped when it ends. PostgreSQL is
``BENCH_DATABASE_URL`` (default ``postgres://postgres@127.0.0.1:5432/chatbot_bench``, created and
loaded with a 10,000-product demo shop on first use).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

#: name -> module; the order ``python -m bench`` runs them in.
BENCHES = {
    "widget_size": "bench.widget_size",
    "widget_compare": "bench.widget_compare",
    "tag_cost": "bench.tag_cost",
    "relay_overhead": "bench.relay_overhead",
    "concurrency": "bench.concurrency",
    "throughput": "bench.throughput",
    "local_answers": "bench.local_answers",
    "stream_updates": "bench.stream_updates",
    "stream_cost": "bench.stream_cost",
    "storefront": "bench.storefront",
    "turn_cost": "bench.turn_cost",
    "stream_memory": "bench.stream_memory",
}
#: Run only when named: they take minutes (one builds whole environments, one compares two
#: database setups round after round, one holds 1,000 slow replies open, one needs a checkout of the
#: original Node service).
ON_REQUEST = {
    "docker_steps": "bench.docker_steps",
    "connections": "bench.connections",
    "slow_streams": "bench.slow_streams",
    "node_service": "bench.node_service",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=", ".join([*BENCHES, *ON_REQUEST]))
    args = parser.parse_args(argv)
    known = {**BENCHES, **ON_REQUEST}
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(known)}")
    failed = []
    for name in args.names or BENCHES:
        print(f"\n=== {name} ===", flush=True)
        started = time.monotonic()
        # A process per benchmark: each sets up Django with its own settings, and nothing one leaves
        # behind (threads, connections, configured settings) reaches the next.
        if subprocess.run([sys.executable, "-m", known[name]], check=False).returncode != 0:
            failed.append(name)
        print(f"({name}: {time.monotonic() - started:.0f} s)", flush=True)
    if failed:
        print(f"\nfailed or over budget: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
