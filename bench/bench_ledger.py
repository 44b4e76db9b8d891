"""The ledger worker projecting 200,000 events from the broker, beside the raw limits measured
in the same run on the same messages: aiokafka consuming them with `getmany`, and asyncpg
copying them in batches into a table like the audit log (UUID primary key, jsonb).

Also: end-to-end latency from publish to a visible balance (p50/p99) at a steady 200 events/s
after the backlog, and the worker's RSS at a quarter, half and all of the backlog (it must
stay flat: deduplication is by the database, not an in-memory set). Fails if any balance is
not the arithmetic of its events or the trial balance is not zero; the throughput targets
are printed beside the figures, not enforced (the machine is shared).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench.databases import database
from bench.report import BenchEnv, Report, Stopwatch, percentile
from clinicpay.embedded import free_port, start_broker
from eventbus.topics import EVENT_TOPICS, INVOICING, PAYMENTS, REMINDERS, ensure_topics
from storage import DatabaseUrl

EVENTS = int(os.environ.get("BENCH_LEDGER_EVENTS", "200000"))
ACCOUNTS = 5_000
PARTITIONS = 6
CLINIC = uuid.uuid4()
LATENCY_EVENTS = 1_000
LATENCY_RATE = 200  # events per second
BATCH = 2_000


@contextlib.contextmanager
def broker(workdir: Path) -> Iterator[str]:
    port = free_port()
    process = start_broker(port, workdir / "tansu.log")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


class Workload:
    """Contract events as the relays publish them, with the receivable they should leave."""

    def __init__(self) -> None:
        self.accounts = [uuid.uuid4() for _ in range(ACCOUNTS)]
        self.expected_receivable = 0
        self.now = datetime.now(UTC).isoformat().replace("+00:00", "Z")

    def envelope(self, source: str, name: str, account: uuid.UUID, data: dict) -> bytes:
        return json.dumps(
            {
                "specversion": "1.0",
                "id": str(uuid.uuid4()),
                "type": f"clinicpay.{source}.{name}.v1",
                "source": f"clinicpay/{source}",
                "subject": str(uuid.uuid4()),
                "time": self.now,
                "datacontenttype": "application/json",
                "clinicid": str(CLINIC),
                "accountid": str(account),
                "correlationid": f"bench-{uuid.uuid4().hex[:12]}",
                "causationid": None,
                "sequence": 1,
                "data": data,
            },
            separators=(",", ":"),
        ).encode()

    def message(self, n: int) -> tuple[str, bytes, bytes]:
        """Per account in turn: issue, pay part with some credit, adjust, remind."""
        account = self.accounts[n % ACCOUNTS]
        invoice = str(uuid.uuid5(account, str(n // (ACCOUNTS * 4))))
        step = (n // ACCOUNTS) % 4
        key = str(account).encode()
        base = {"account_id": str(account), "currency": "USD"}
        if step == 0:
            self.expected_receivable += 10_000
            data = {
                **base, "invoice_id": invoice, "patient_id": str(account),
                "total_amount": 10_000, "issued_on": "2026-11-20", "due_date": "2026-12-20",
                "lines": [{"service_date": "2026-11-20", "quantity": 1, "unit_amount": 10_000,
                           "amount": 10_000, "code": "92507"}],
            }  # fmt: skip
            return INVOICING, key, self.envelope("invoicing", "InvoiceIssued", account, data)
        if step == 1:
            self.expected_receivable -= 6_500
            data = {
                **base, "payment_id": str(uuid.uuid4()), "amount": 6_500,
                "captured_at": self.now, "allocations": [{"invoice_id": invoice, "amount": 6_000}],
                "unallocated_amount": 500,
            }  # fmt: skip
            return PAYMENTS, key, self.envelope("payments", "PaymentCaptured", account, data)
        if step == 2:
            self.expected_receivable -= 1_000
            data = {
                **base, "invoice_id": invoice, "adjustment_id": str(uuid.uuid4()),
                "amount": 1_000, "adjusted_on": "2026-11-21", "amount_due": 3_000,
            }  # fmt: skip
            return INVOICING, key, self.envelope("invoicing", "InvoiceAdjusted", account, data)
        data = {
            "reminder_id": str(uuid.uuid4()), "kind": "invoice_due", "step": "due",
            "subject_type": "invoice", "subject_id": invoice, "account_id": str(account),
            "due_at": self.now,
        }  # fmt: skip
        return REMINDERS, key, self.envelope("reminders", "ReminderDue", account, data)


async def produce(bootstrap: str, messages: list[tuple[str, bytes, bytes]]) -> float:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=128 * 1024
    )
    await producer.start()
    try:
        with Stopwatch() as watch:
            for start in range(0, len(messages), 5_000):
                sent = [
                    await producer.send(topic, key=key, value=value)
                    for topic, key, value in messages[start : start + 5_000]
                ]
                await asyncio.gather(*sent)
        return len(messages) / watch.seconds
    finally:
        await producer.stop()


async def raw_consume(bootstrap: str, expected: int) -> float:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [
            TopicPartition(t, p) for t in EVENT_TOPICS for p in consumer.partitions_for_topic(t)
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        received = 0
        with Stopwatch() as watch:
            while received < expected:
                batches = await consumer.getmany(timeout_ms=1000, max_records=BATCH)
                for records in batches.values():
                    for record in records:
                        json.loads(record.value)  # what any consumer does first
                    received += len(records)
        return received / watch.seconds
    finally:
        await consumer.stop()


async def raw_insert(dsn: str, messages: list[tuple[str, bytes, bytes]]) -> float:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            """CREATE TABLE bench_raw_insert (
                   event_id uuid PRIMARY KEY, topic text NOT NULL, "offset" bigint NOT NULL,
                   envelope jsonb NOT NULL, hash bytea NOT NULL)"""
        )
        rows = [
            (uuid.uuid4(), topic, n, value.decode(), b"\x00" * 32)
            for n, (topic, _, value) in enumerate(messages)
        ]
        with Stopwatch() as watch:
            for start in range(0, len(rows), BATCH):
                async with connection.transaction():
                    await connection.copy_records_to_table(
                        "bench_raw_insert", records=rows[start : start + BATCH]
                    )
        await connection.execute("DROP TABLE bench_raw_insert")
        return len(rows) / watch.seconds
    finally:
        await connection.close()


def start_worker(env: BenchEnv, database_url: DatabaseUrl, bootstrap: str) -> subprocess.Popen:
    clinicpay = str(Path(sys.executable).with_name("clinicpay"))
    worker_env = {
        **os.environ,
        "CLINICPAY_ENV": "embedded",
        "DATABASE_URL": database_url.url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "LEDGER_CONSUMER_GROUP": f"bench-{uuid.uuid4().hex[:8]}",
        "TOPIC_PARTITIONS": str(PARTITIONS),
        "LOG_JSON": "true",
    }
    return subprocess.Popen(
        [clinicpay, "ledger", "worker"],
        env=worker_env,
        stdout=(env.workdir / "ledger-worker.log").open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def follow_projection(dsn: str, worker: psutil.Process, total: int) -> dict:
    """Poll the stored offsets until every message is projected; sample the worker's RSS."""
    connection = await asyncpg.connect(dsn)
    samples: list[tuple[int, int]] = []
    try:
        while True:
            try:
                done = await connection.fetchval(
                    "SELECT COALESCE(sum(next_offset), 0)::bigint FROM ledger.consumer_offsets"
                )
            except asyncpg.UndefinedTableError:  # the worker is still migrating
                done = 0
            samples.append((done, worker.memory_info().rss))
            if done >= total:
                return {"samples": samples, **await _projection_rate(connection)}
            if worker.status() == psutil.STATUS_ZOMBIE:
                raise RuntimeError("the ledger worker exited; see its log")
            await asyncio.sleep(0.25)
    finally:
        await connection.close()


async def _projection_rate(connection: asyncpg.Connection) -> dict:
    """From the audit log's own clock: events recorded after the first batch, over the time
    from the first batch to the last."""
    first, last = await connection.fetchrow(
        "SELECT min(recorded_at), max(recorded_at) FROM ledger.audit_log"
    )
    after_first = await connection.fetchval(
        "SELECT count(*) FROM ledger.audit_log WHERE recorded_at > $1", first
    )
    seconds = (last - first).total_seconds()
    return {"rate": after_first / seconds if seconds else float("nan"), "seconds": seconds}


async def measure_latency(bootstrap: str, dsn: str, workload: Workload) -> list[float]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    connection = await asyncpg.connect(dsn)
    await producer.start()
    published: dict[uuid.UUID, float] = {}
    latencies: list[float] = []

    async def publish() -> None:
        for _ in range(LATENCY_EVENTS):
            account = uuid.uuid4()
            data = {
                "account_id": str(account), "currency": "USD", "invoice_id": str(uuid.uuid4()),
                "patient_id": str(account), "total_amount": 100, "issued_on": "2026-11-20",
                "due_date": "2026-12-20", "lines": [],
            }  # fmt: skip
            value = workload.envelope("invoicing", "InvoiceIssued", account, data)
            published[account] = time.perf_counter()
            await producer.send(INVOICING, key=str(account).encode(), value=value)
            await asyncio.sleep(1 / LATENCY_RATE)

    async def watch() -> None:
        while len(latencies) < LATENCY_EVENTS:
            pending = list(published)
            if pending:
                rows = await connection.fetch(
                    """SELECT account_id FROM ledger.account_balances
                       WHERE clinic_id = $1 AND account_id = ANY($2::uuid[])""",
                    CLINIC,
                    pending,
                )
                now = time.perf_counter()
                for r in rows:
                    latencies.append((now - published.pop(r["account_id"])) * 1000)
            await asyncio.sleep(0.005)

    try:
        await asyncio.wait_for(asyncio.gather(publish(), watch()), timeout=120)
        return latencies
    finally:
        await producer.stop()
        await connection.close()


async def receivable_total(dsn: str) -> tuple[int, int]:
    connection = await asyncpg.connect(dsn)
    try:
        balances = await connection.fetchval(
            "SELECT COALESCE(sum(balance), 0)::bigint FROM ledger.account_balances"
        )
        trial = await connection.fetchval(
            "SELECT COALESCE(sum(amount), 0)::bigint FROM ledger.postings"
        )
        return balances, trial
    finally:
        await connection.close()


def rss_at(samples: list[tuple[int, int]], fraction: float, total: int) -> float:
    reached = [rss for done, rss in samples if done >= fraction * total]
    return (reached[0] if reached else samples[-1][1]) / 2**20


def run(env: BenchEnv) -> Report:
    report = Report("ledger")
    load_before = os.getloadavg()[0]
    workload = Workload()
    messages = [workload.message(n) for n in range(EVENTS)]
    with database(env.workdir) as database_url, broker(env.workdir) as bootstrap:
        dsn = database_url.asyncpg_dsn()
        asyncio.run(ensure_topics(bootstrap, partitions=PARTITIONS))
        produced = asyncio.run(produce(bootstrap, messages))
        consumed = asyncio.run(raw_consume(bootstrap, EVENTS))
        inserted = asyncio.run(raw_insert(dsn, messages))
        worker = start_worker(env, database_url, bootstrap)
        try:
            followed = asyncio.run(follow_projection(dsn, psutil.Process(worker.pid), EVENTS))
            latencies = asyncio.run(measure_latency(bootstrap, dsn, workload))
            peak_rss = psutil.Process(worker.pid).memory_info().rss / 2**20
            balances, trial = asyncio.run(receivable_total(dsn))
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    limit = min(consumed, inserted)
    rate = followed["rate"]
    samples = followed["samples"]
    peak_rss = max([peak_rss] + [rss / 2**20 for _, rss in samples])
    report.add("events projected", EVENTS, "events", ">= 200,000", "3 topics x 6 partitions")
    report.add("produced (acks=all)", produced, "msg/s", "", "setup, not a limit")
    report.add("raw: aiokafka getmany + json", consumed, "msg/s", "", "same messages")
    report.add("raw: asyncpg COPY, 2,000/txn", inserted, "rows/s", "", "uuid PK + jsonb")
    report.add("ledger projection, sustained", rate, "events/s", ">= 20,000",
               f"{followed['seconds']:.1f} s, 1 worker")  # fmt: skip
    report.add("projection / min(raw limits)", rate / limit, "ratio", ">= 0.50")
    report.add("latency publish -> balance p50", percentile(latencies, 0.5), "ms", "",
               f"{LATENCY_RATE} events/s after the backlog")  # fmt: skip
    report.add("latency publish -> balance p99", percentile(latencies, 0.99), "ms")
    report.add("worker RSS at 25 % of events", rss_at(samples, 0.25, EVENTS), "MiB")
    report.add("worker RSS at 100 % of events", rss_at(samples, 1.0, EVENTS), "MiB", "flat")
    report.add("worker peak RSS", peak_rss, "MiB")
    report.add("machine load (1 min)", os.getloadavg()[0], "runnable", "",
               f"{load_before:.1f} at start")  # fmt: skip
    expected = workload.expected_receivable + LATENCY_EVENTS * 100
    if balances != expected:
        report.fail(f"receivable {balances} where the events add up to {expected}")
    if trial != 0:
        report.fail(f"the trial balance is {trial}, not zero")
    return report
