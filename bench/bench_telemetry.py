"""What per-request telemetry costs: the same FastAPI route bare, and behind the shared
middleware (correlation id, server span, latency histogram, request log line filtered out),
called in-process through ASGI in alternating rounds so both see the same machine load.

`python -m bench telemetry`; `BENCH_REQUESTS` per round (default 2000), 5 rounds each.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import httpx
from fastapi import FastAPI

from bench.report import BenchEnv, Report, percentile
from httpapi.tracing import CorrelationMiddleware
from telemetry import configure_logging
from telemetry.tracing import configure_tracing

ROUNDS = 5


def app(with_telemetry: bool) -> FastAPI:
    service = FastAPI()

    @service.get("/v1/things/{thing_id}")
    async def thing(thing_id: uuid.UUID) -> dict[str, str]:
        return {"id": str(thing_id)}

    if with_telemetry:
        service.add_middleware(CorrelationMiddleware)
    return service


async def round_of(client: httpx.AsyncClient, requests: int) -> list[float]:
    durations = []
    for _ in range(requests):
        started = time.perf_counter()
        response = await client.get(f"/v1/things/{uuid.uuid4()}")
        durations.append(time.perf_counter() - started)
        assert response.status_code == 200
    return durations


async def measure(requests: int) -> dict[str, list[float]]:
    clients = {
        name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app(flag)), base_url="http://b")
        for name, flag in (("bare", False), ("telemetry", True))
    }
    samples: dict[str, list[float]] = {name: [] for name in clients}
    for client in clients.values():  # warm up both
        await round_of(client, 200)
    for _ in range(ROUNDS):
        for name, client in clients.items():
            samples[name] += await round_of(client, requests)
    for client in clients.values():
        await client.aclose()
    return samples


def run(env: BenchEnv) -> Report:
    requests = int(os.environ.get("BENCH_REQUESTS", "2000"))
    configure_logging(json=True, level="WARNING")  # the request line is filtered, not written
    configure_tracing("bench", exporter="none")  # spans made and dropped, as in production
    samples = asyncio.run(measure(requests))
    report = Report("telemetry")
    for name, durations in samples.items():
        report.add(f"{name} p50", percentile(durations, 0.5) * 1e6, "us")
        report.add(f"{name} p99", percentile(durations, 0.99) * 1e6, "us")
    mean = {name: sum(d) / len(d) for name, d in samples.items()}
    overhead = mean["telemetry"] - mean["bare"]
    report.add("added per request (mean)", overhead * 1e6, "us")
    report.add(
        "telemetry / bare (mean)", mean["telemetry"] / mean["bare"], "ratio", "< 1.5",
        f"{ROUNDS} alternating rounds of {requests} requests each",
    )  # fmt: skip
    if mean["telemetry"] / mean["bare"] >= 1.5:
        report.fail("per-request telemetry costs more than half a bare request")
    return report
