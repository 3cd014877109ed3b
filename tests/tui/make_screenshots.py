"""Regenerate ``screenshots/``: an SVG (and optionally a PNG) of every pane, view and dialog.

The screenshots are the snapshot tests' own SVGs, so what is published is
what the tests check. Usage, from the repository root::

    python tests/tui/make_screenshots.py            # run the snapshot tests, copy their SVGs
    python tests/tui/make_screenshots.py --update   # accept UI changes first (--snapshot-update)
    python tests/tui/make_screenshots.py --png      # also PNGs (needs rsvg-convert: apt-get install librsvg2-bin)
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SNAPSHOTS = HERE / "__snapshots__" / "test_snapshots"
OUT = REPO / "screenshots"


def friendly(name: str) -> str:
    """``TestPanes.test_containers[80x24].svg`` → ``containers-80x24.svg``."""
    match = re.match(r"Test\w+\.test_(\w+)\[(\d+x\d+)\]\.svg$", name)
    if not match:
        return name
    return f"{match.group(1).replace('_', '-')}-{match.group(2)}.svg"


def main() -> int:
    """Run the snapshots, then copy (and convert) them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="accept changed snapshots (--snapshot-update)")
    parser.add_argument("--png", action="store_true", help="also write PNGs with rsvg-convert")
    args = parser.parse_args()
    command = [sys.executable, "-m", "pytest", str(HERE / "test_snapshots.py"), "-q", "-p", "no:cacheprovider"]
    if args.update:
        command.append("--snapshot-update")
    result = subprocess.run(command, cwd=REPO)
    (REPO / "snapshot_report.html").unlink(missing_ok=True)
    if result.returncode != 0:
        print("snapshot tests failed: fix them, or rerun with --update after checking the report", file=sys.stderr)
        return result.returncode
    OUT.mkdir(exist_ok=True)
    converter = shutil.which("rsvg-convert") if args.png else None
    if args.png and converter is None:
        print("rsvg-convert not found: SVGs only (apt-get install librsvg2-bin)", file=sys.stderr)
    count = 0
    for svg in sorted(SNAPSHOTS.glob("*.svg")):
        target = OUT / friendly(svg.name)
        shutil.copyfile(svg, target)
        if converter:
            subprocess.run([converter, "-o", str(target.with_suffix(".png")), str(target)], check=True)
        count += 1
    print(f"{count} screenshots in {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
