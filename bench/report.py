"""What a benchmark reports: rows of figures, the targets, and the ratios between them."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psutil


@dataclass
class BenchEnv:
    workdir: Path

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)


@dataclass
class Row:
    measure: str
    value: float
    unit: str
    target: str = ""
    note: str = ""


@dataclass
class Report:
    name: str
    rows: list[Row] = field(default_factory=list)
    failed: bool = False
    failures: list[str] = field(default_factory=list)

    def add(self, measure: str, value: float, unit: str, target: str = "", note: str = "") -> None:
        self.rows.append(Row(measure, value, unit, target, note))

    def fail(self, reason: str) -> None:
        self.failed = True
        self.failures.append(reason)

    def print(self) -> None:
        width = max([len(r.measure) for r in self.rows] + [20])
        print(f"\n== {self.name} ({machine()})")
        for r in self.rows:
            value = f"{r.value:,.2f}" if isinstance(r.value, float) else f"{r.value:,}"
            extra = "  ".join(x for x in (f"target {r.target}" if r.target else "", r.note) if x)
            print(f"  {r.measure:<{width}}  {value:>14} {r.unit:<10} {extra}")
        for reason in self.failures:
            print(f"  FAILED: {reason}")

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.name}.json"
        document = {
            "name": self.name,
            "measured_at": datetime.now(UTC).isoformat(),
            "machine": machine(),
            "rows": [asdict(r) for r in self.rows],
            "failed": self.failed,
            "failures": self.failures,
        }
        path.write_text(json.dumps(document, indent=2) + "\n")
        return path


def machine() -> str:
    return f"{platform.machine()}, {psutil.cpu_count()} cores, Python {platform.python_version()}"


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.started
