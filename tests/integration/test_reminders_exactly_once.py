"""Exactly one ReminderDue per (subject, kind, step), counted from the topic: with two
workers, a worker killed with SIGKILL and restarted, schedulers killed mid-tick, and every
input event delivered twice."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections import Counter
from datetime import timedelta

from aiokafka import AIOKafkaProducer

from eventbus.topics import INVOICING, REMINDERS
from tests.integration.harness import CLINICPAY, ServiceProcess, eventually, read_topic
from tests.integration.reminders_support import issued_for_new_account, scheduled, tick

INVOICES = 12


async def redeliver_invoicing_events(bootstrap_servers: str, invoice_ids: set[str]) -> int:
    """Every record invoicing published for these invoices, published a second time."""

    async def all_issued():
        records = [
            r
            for r in await read_topic(bootstrap_servers, INVOICING)
            if json.loads(r.value)["data"].get("invoice_id") in invoice_ids
        ]
        return records if len(records) >= len(invoice_ids) else None

    records = await eventually(all_issued, timeout=30)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        for record in records:
            await producer.send_and_wait(INVOICING, key=record.key, value=record.value)
    finally:
        await producer.stop()
    return len(records)


def ticks_at(suite, at, count: int) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [CLINICPAY, "reminders", "tick", "--at", at.isoformat()],
            env=suite.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for _ in range(count)
    ]


async def published_steps(bootstrap_servers: str, invoice_ids: set[str]) -> Counter:
    found: Counter = Counter()
    for record in await read_topic(bootstrap_servers, REMINDERS):
        document = json.loads(record.value)
        data = document["data"]
        if document["type"].endswith("ReminderDue.v1") and data["subject_id"] in invoice_ids:
            found[(data["subject_id"], data["kind"], data["step"])] += 1
    return found


async def test_one_reminder_per_step_with_two_workers_kills_and_duplicates(
    suite, codec, staff, db, workdir
):
    second = ServiceProcess("reminders-worker-2", ["reminders", "worker"], suite.env, workdir)
    second.start()
    try:
        invoices = [
            issued_for_new_account(suite, staff, 2_500 + n, due_date="2027-04-01")
            for n in range(INVOICES)
        ]
        ids = {invoice["id"] for invoice in invoices}
        second.kill()  # SIGKILL while it may be holding partitions mid-batch
        second.start()
        assert await redeliver_invoicing_events(suite.infra.bootstrap_servers, ids) >= INVOICES
        steps = {invoice_id: await scheduled(db, invoice_id) for invoice_id in ids}
        due_at = next(iter(steps.values()))["due"]["due_at"]

        # Four schedulers at once, one of them killed mid-tick, then one more to finish.
        running = ticks_at(suite, due_at + timedelta(minutes=1), 4)
        time.sleep(1.5)  # past start-up: it is claiming or committing
        running[0].kill()
        for process in running:
            process.wait(timeout=60)
        tick(suite, due_at + timedelta(minutes=1))
        # And a week later, three at once again.
        for process in ticks_at(suite, due_at + timedelta(days=7, minutes=1), 3):
            assert process.wait(timeout=60) == 0

        expected = {(i, "invoice_due", "due") for i in ids} | {
            (i, "invoice_overdue", "due+7") for i in ids
        }

        async def all_published():
            found = await published_steps(suite.infra.bootstrap_servers, ids)
            return found if set(found) >= expected else None

        found = await eventually(all_published, timeout=30)
        await asyncio.sleep(1)  # anything published twice would be there by now
        found = await published_steps(suite.infra.bootstrap_servers, ids)
        assert set(found) == expected
        assert set(found.values()) == {1}
        rows = await db.fetchval(
            "SELECT count(*) FROM reminders.schedule WHERE subject_id = ANY($1::text[])",
            list(ids),
        )
        assert rows == 6 * INVOICES
    finally:
        second.stop()
