"""`make bench`: run every benchmark module in this folder (`bench/bench_*.py`), print a table,
save the figures as JSON under `bench/results/`, and fail when a benchmark says it failed.

A benchmark module defines `run(env: BenchEnv) -> Report`.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from pathlib import Path

from bench.report import BenchEnv, Report

BENCH_DIR = Path(__file__).parent


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    args = parser.parse_args()
    available = sorted(p.stem.removeprefix("bench_") for p in BENCH_DIR.glob("bench_*.py"))
    chosen = args.names or available
    unknown = set(chosen) - set(available)
    if unknown:
        parser.error(f"unknown benchmarks {sorted(unknown)}; available: {available}")
    if not chosen:
        print("no benchmarks found", file=sys.stderr)
        return 1
    failed = False
    with tempfile.TemporaryDirectory(prefix="clinicpay-bench-") as workdir:
        for name in chosen:
            module = importlib.import_module(f"bench.bench_{name}")
            report: Report = module.run(BenchEnv(Path(workdir) / name))
            report.print()
            path = report.save(BENCH_DIR / "results")
            print(f"saved {path.relative_to(BENCH_DIR.parent)}\n")
            failed |= report.failed
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
