"""The widget's bytes beside what a Stream Chat UI would cost: ``bench.widget_size`` (our loader and
chat UI against their budgets) and, in the same run, the sizes of ``stream-chat`` and
``stream-chat-react`` from npm: ``dist.unpackedSize`` (``npm view``, or ``npm pack`` when the registry
metadata lacks it), and the published browser
bundle (``npm pack``, then gzip -9 of the dist JavaScript, as shipped, not re-minified).

Needs ``npm`` and the npm registry; without them only our own sizes are reported.

    python -m bench widget_compare
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from bench import report, widget_size

#: package -> (version, dist files that make up its browser bundle)
PACKAGES = {
    "stream-chat": ("9.53.0", ("dist/cjs/index.browser.js",)),
    # The CommonJS build: its entry and the chunks it loads; the stylesheet the components need.
    "stream-chat-react": ("14.12.0", ("dist/cjs/*.js", "dist/css/index.css")),
}


def _npm(*args: str, cwd: Path | None = None) -> str:
    return subprocess.run(["npm", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=180).stdout


def npm_sizes() -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, (version, patterns) in PACKAGES.items():
            viewed = _npm("view", f"{name}@{version}", "dist.unpackedSize", "--json").strip()
            packed = json.loads(_npm("pack", f"{name}@{version}", "--json", cwd=folder))[0]
            # Some versions' registry metadata lack dist.unpackedSize; npm pack reports the same figure.
            unpacked = json.loads(viewed) if viewed else packed["unpackedSize"]
            tgz = packed["filename"]
            with tarfile.open(folder / tgz) as archive:
                archive.extractall(folder / name, filter="data")
            root = folder / name / "package"
            files = sorted({path for pattern in patterns for path in root.glob(pattern) if path.is_file()})
            raw = sum(path.stat().st_size for path in files)
            zipped = sum(widget_size.gzipped(path.read_bytes()) for path in files)
            rows.append(
                {
                    "what": f"{name} {version}",
                    "npm_unpacked_B": unpacked,
                    "bundle_files": len(files),
                    "bundle_raw_B": raw,
                    "bundle_gzip_B": zipped,
                }
            )
    return rows


def run() -> dict:
    ours = widget_size.measure()
    our_rows = [
        {"what": size.name.strip(), "raw_B": size.raw, "gzip_B": size.gzip, "budget_gzip_B": size.budget or ""}
        for size in ours
    ]
    report.table("Our widget", our_rows)
    theirs: list[dict] = []
    if shutil.which("npm"):
        try:
            theirs = npm_sizes()
        except (subprocess.SubprocessError, OSError, ValueError) as exc:
            print(f"(npm sizes not measured: {exc})")
    report.table("Stream Chat packages from npm", theirs)
    loader = next(s for s in ours if s.name.startswith("loader"))
    chat = next(s for s in ours if s.name.startswith("chat UI"))
    ratios = {}
    for row in theirs:
        ratios[row["what"]] = {
            "x_loader_gzip": round(row["bundle_gzip_B"] / loader.gzip, 1),
            "x_loader_plus_ui_gzip": round(row["bundle_gzip_B"] / (loader.gzip + chat.gzip), 1),
        }
    if ratios:
        print("\nTimes bigger than ours (gzip):", json.dumps(ratios, indent=2))
    return {"ours": our_rows, "npm": theirs, "ratios": ratios, "within_budget": all(s.within_budget for s in ours)}


if __name__ == "__main__":
    report.main("widget_compare", run)
