"""Payments through the sandbox gateway at concurrency 16, 10 % of requests retried with the
same Idempotency-Key, beside a bare FastAPI endpoint measured by the same client in the same
run. Fails if any payment was charged twice or any retry did not replay its first answer.

Measures the payments API's whole write path (Idempotency-Key claim, access log, event store
with its index rows, sandbox charge, allocation) against PostgreSQL; the relay and worker are
not running, so the figures are the API's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from auth import TokenCodec
from bench.databases import database
from bench.report import BenchEnv, Report, percentile
from clinicpay.embedded import free_port, wait_for_port
from storage import DatabaseUrl

CONCURRENCY = 16
RETRY_EVERY = 10  # every tenth payment is sent again with the same key: 10 % retries
SECONDS = float(os.environ.get("BENCH_PAYMENTS_SECONDS", "20"))
WARMUP_SECONDS = 3.0
ACCOUNTS = 64
API_PROCESSES = int(os.environ.get("BENCH_PAYMENTS_API_PROCESSES", "2"))
SECRET = "bench-" + uuid.uuid4().hex
CLINIC = uuid.uuid4()

BARE_APP = """
import sys, uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

class Body(BaseModel):
    account_id: str
    amount: int
    currency: str
    payment_method_id: str

app = FastAPI()

@app.post("/v1/payments", status_code=201)
def pay(body: Body) -> dict:
    return {"id": body.account_id, "status": "captured", "amount": body.amount}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False)
"""


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    first_answers: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    retries: int = 0
    retry_mismatches: int = 0
    seconds: float = 0.0


@contextlib.contextmanager
def process(args: list[str], env: dict[str, str], log: Path, port: int) -> Iterator[str]:
    started = subprocess.Popen(
        args, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        started.terminate()
        started.wait(timeout=15)


@contextlib.contextmanager
def payments_apis(database_url: DatabaseUrl, workdir: Path) -> Iterator[list[str]]:
    clinicpay = str(Path(sys.executable).with_name("clinicpay"))
    with contextlib.ExitStack() as stack:
        urls = []
        for n in range(API_PROCESSES):
            port = free_port()
            env = {
                **os.environ,
                "CLINICPAY_ENV": "embedded",
                "DATABASE_URL": database_url.url,
                "JWT_SECRET": SECRET,
                "PAYMENTS_PORT": str(port),
                "PAYMENTS_POOL_SIZE": "8",
                "LOG_JSON": "true",
            }
            log = workdir / f"payments-api-{n}.log"
            urls.append(
                stack.enter_context(process([clinicpay, "payments", "api"], env, log, port))
            )
        yield urls


def _body(account: uuid.UUID, method_id: str, amount: int) -> dict:
    return {
        "account_id": str(account),
        "amount": amount,
        "currency": "USD",
        "payment_method_id": method_id,
    }


async def seed(urls: list[str], headers: dict, dsn: str) -> list[tuple[uuid.UUID, str]]:
    """Accounts with a saved card each and open invoices for the payments to settle."""
    cards = []
    async with httpx.AsyncClient(timeout=30, headers=headers) as client:
        for _ in range(ACCOUNTS):
            account = uuid.uuid4()
            response = await client.post(
                f"{urls[0]}/v1/payment-methods",
                json={"account_id": str(account), "token": "pm_card_visa"},
                headers={"Idempotency-Key": str(uuid.uuid4())},
            )
            response.raise_for_status()
            cards.append((account, response.json()["id"]))
    connection = await asyncpg.connect(dsn)
    try:
        await connection.executemany(
            """INSERT INTO payments.invoices (invoice_id, clinic_id, account_id, currency,
                   issued_on, due_date, issued_at, total_amount)
               VALUES ($1, $2, $3, 'USD', current_date - $4::int, current_date + 30, now(), $5)""",
            [(uuid.uuid4(), CLINIC, a, day, 50_000) for a, _ in cards for day in range(20)],
        )
    finally:
        await connection.close()
    return cards


async def drive(urls: list[str], headers: dict, cards, seconds: float) -> Run:
    run = Run()
    counter = iter(range(10**9))
    deadline = time.perf_counter() + seconds

    async def worker(client: httpx.AsyncClient, lane: int) -> None:
        while time.perf_counter() < deadline:
            n = next(counter)
            account, method_id = cards[n % len(cards)]
            body, key = _body(account, method_id, 100 + n % 900), f"bench-{uuid.uuid4()}"
            url = f"{urls[n % len(urls)]}/v1/payments"
            answer = await _timed(client, run, url, body, key)
            if answer is not None:
                run.first_answers[key] = answer
                if n % RETRY_EVERY == 0:
                    run.retries += 1
                    retried_url = f"{urls[(n + 1) % len(urls)]}/v1/payments"
                    if await _timed(client, run, retried_url, body, key) != answer:
                        run.retry_mismatches += 1

    started = time.perf_counter()
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(timeout=60, headers=headers, limits=limits) as client:
        await asyncio.gather(*(worker(client, lane) for lane in range(CONCURRENCY)))
    run.seconds = time.perf_counter() - started
    return run


async def _timed(client, run: Run, url: str, body: dict, key: str) -> str | None:
    began = time.perf_counter()
    try:
        response = await client.post(url, json=body, headers={"Idempotency-Key": key})
    except httpx.HTTPError as error:
        run.errors.append(type(error).__name__)
        return None
    run.latencies.append((time.perf_counter() - began) * 1000)
    if response.status_code != 201:
        run.errors.append(str(response.status_code))
        return None
    return response.json()["id"]


async def charged_twice(dsn: str) -> tuple[int, int]:
    connection = await asyncpg.connect(dsn)
    try:
        doubled = await connection.fetchval(
            """SELECT count(*) FROM (SELECT reference FROM sandbox_gateway.charges
               GROUP BY reference HAVING count(*) > 1) d"""
        )
        captured = await connection.fetchval(
            "SELECT count(*) FROM payments.payment_records WHERE status = 'captured'"
        )
        return doubled, captured
    finally:
        await connection.close()


def run(env: BenchEnv) -> Report:
    report = Report("payments")
    load_before = os.getloadavg()[0]
    codec = TokenCodec(verify_key=SECRET)
    token = codec.mint(subject="bench", clinic_id=CLINIC, roles=["billing"], ttl_seconds=3600)
    headers = {"Authorization": f"Bearer {token}"}
    with database(env.workdir) as database_url, payments_apis(database_url, env.workdir) as urls:
        dsn = database_url.asyncpg_dsn()
        cards = asyncio.run(seed(urls, headers, dsn))
        port = free_port()
        bare_log = env.workdir / "bare.log"
        with process(
            [sys.executable, "-c", BARE_APP, str(port)], dict(os.environ), bare_log, port
        ) as bare:
            asyncio.run(drive([bare], headers, cards, WARMUP_SECONDS))
            bare_run = asyncio.run(drive([bare], headers, cards, SECONDS))
        asyncio.run(drive(urls, headers, cards, WARMUP_SECONDS))
        before = asyncio.run(charged_twice(dsn))[1]
        paid = asyncio.run(drive(urls, headers, cards, SECONDS))
        doubled, captured_total = asyncio.run(charged_twice(dsn))
    captured = captured_total - before
    _report(report, paid, bare_run, captured)
    # Other work on the machine slows both endpoints alike; the ratio is the steadier figure.
    report.add(
        "machine load (1 min)", os.getloadavg()[0], "runnable", "", f"{load_before:.1f} at start"
    )
    if doubled:
        report.fail(f"{doubled} payment(s) were charged more than once")
    if paid.retry_mismatches:
        report.fail(f"{paid.retry_mismatches} retries did not replay their first answer")
    if captured != len(paid.first_answers):
        report.fail(f"{captured} captured payments for {len(paid.first_answers)} accepted requests")
    if paid.errors:
        report.fail(f"{len(paid.errors)} requests failed: {sorted(set(paid.errors))}")
    return report


def _report(report: Report, paid: Run, bare: Run, captured: int) -> None:
    rate = captured / paid.seconds
    bare_rate = len(bare.latencies) / bare.seconds
    p50, p99 = percentile(paid.latencies, 0.5), percentile(paid.latencies, 0.99)
    note = f"{API_PROCESSES} API process(es), concurrency {CONCURRENCY}, {paid.seconds:.0f} s"
    report.add("captured payments", rate, "per s", ">= 200", note)
    report.add("payment latency p50", p50, "ms")
    report.add("payment latency p99", p99, "ms", "<= 150")
    report.add(
        "retried with the same key", paid.retries, "requests", "", "each replayed, none charged"
    )
    report.add("bare FastAPI endpoint", bare_rate, "per s", "", "same client, 1 process")
    report.add(
        "bare p50 / p99",
        percentile(bare.latencies, 0.5),
        "ms",
        "",
        f"p99 {percentile(bare.latencies, 0.99):.1f} ms",
    )
    report.add("payments / bare throughput", rate / bare_rate, "ratio")
