"""The runbook's recovery from a lost Kafka cluster, on the embedded broker: the broker dies
with every topic, an empty one takes its place, the relays republish from the event stores
(`clinicpay relay republish --from 0`) and the consumers read the new topics from the start
(`clinicpay consumers forget-offsets`), dropping what they had applied. Every balance and
every invoice ends as it was, and new work flows again.

Runs its own suite on its own database and broker: losing the session's broker would take
every other test with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from clinicpay.embedded import free_port, start_broker, wait_for_port
from eventbus.topics import INVOICING, PAYMENTS
from tests.integration.conftest import Suite
from tests.integration.harness import (
    CLINICPAY,
    Infrastructure,
    ServiceProcess,
    StaffClient,
    _database,
    eventually,
    read_topic,
)
from tests.integration.payments_support import pay, save_card
from tests.integration.test_walking_skeleton import balance_of, issue_invoice, open_account


class Broker:
    """An in-memory Tansu on a fixed port, which can be lost and replaced by an empty one."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.generation = 0
        self.process: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.generation += 1
        log = self.workdir / f"recovery-tansu-{self.generation}.broker"
        self.process = start_broker(self.port, log)
        wait_for_port("127.0.0.1", self.port)

    def lose(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)


@contextlib.contextmanager
def recovery_suite(workdir: Path) -> Iterator[tuple[Suite, Broker]]:
    broker = Broker(workdir)
    broker.start()
    try:
        with _database(workdir) as database:
            infra = Infrastructure(database, broker.bootstrap, workdir)
            migrate = ServiceProcess("recovery-migrate", ["migrate"], infra.env(), workdir)
            migrate.start()
            assert migrate.process.wait(timeout=120) == 0, "\n".join(migrate.log_lines())
            suite = Suite(infra, workdir)
            for process in suite.by_name.values():  # beside the session's logs, not over them
                process.log_path = workdir / f"recovery-{process.name}.log"
            try:
                suite.start()
                yield suite, broker
            finally:
                suite.stop()
    finally:  # whatever failed on the way, the broker this suite started stops with it
        with contextlib.suppress(Exception):
            broker.lose()


def clinicpay(suite: Suite, *args: str) -> str:
    done = subprocess.run(
        [CLINICPAY, *args], env=suite.env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def payments_knows(suite: Suite, invoice_id: str) -> None:
    async def known():
        connection = await asyncpg.connect(suite.infra.database.asyncpg_dsn())
        try:
            return await connection.fetchval(
                "SELECT true FROM payments.invoices WHERE invoice_id = $1", uuid.UUID(invoice_id)
            )
        finally:
            await connection.close()

    await eventually(known, timeout=30)


async def settled(suite: Suite, staff: StaffClient, expected: dict[uuid.UUID, int]) -> None:
    async def balances_are_expected():
        return {a: balance_of(suite, staff, a) for a in expected} == expected

    await eventually(balances_are_expected, timeout=60, interval=0.5)


async def send_garbage(bootstrap: str, key: uuid.UUID) -> None:
    """A message no event store holds (consumers dead-letter it): the rebuilt partition will
    be shorter than the lost one, so offsets the consumers stored would skip new events."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for topic in (INVOICING, PAYMENTS):
            await producer.send_and_wait(topic, key=str(key).encode(), value=b"not an event")
    finally:
        await producer.stop()


def invoices(suite: Suite, staff: StaffClient, ids: list[str]) -> dict[str, tuple]:
    url = suite.invoicing_api.url
    found = {i: staff.get(f"{url}/v1/invoices/{i}").json() for i in ids}
    return {i: (v["status"], v["amount_paid"], v["amount_due"]) for i, v in found.items()}


@pytest.fixture
async def recovery(workdir):
    """`recovery_suite`, entered and left off the event loop (it creates a database)."""
    stack = contextlib.ExitStack()
    yield await asyncio.to_thread(stack.enter_context, recovery_suite(workdir))
    await asyncio.to_thread(stack.close)


@pytest.mark.timeout(600)
async def test_a_lost_kafka_cluster_is_rebuilt_from_the_event_stores(recovery, codec):
    suite, broker = recovery
    if True:
        staff = StaffClient(codec, uuid.uuid4(), ["billing", "finance"])
        expected: dict[uuid.UUID, int] = {}
        invoice_ids = []
        for amount, paid in ((12_000, 5_000), (7_500, 0), (3_300, 3_300)):
            account = open_account(suite, staff)
            invoice = issue_invoice(suite, staff, account, (1, amount))
            invoice_ids.append(invoice["id"])
            if paid:
                await payments_knows(suite, invoice["id"])
                card = save_card(suite.payments_api.url, staff, account.id)
                paying = pay(
                    suite.payments_api.url, staff, account.id, card["id"], paid,
                    invoice_id=invoice["id"],
                )  # fmt: skip
                assert paying.status_code == 201, paying.text
            expected[account.id] = amount - paid
        await settled(suite, staff, expected)

        async def invoicing_applied_the_payments():
            states = invoices(suite, staff, invoice_ids)
            return [s[0] for s in states.values()] == ["partially_paid", "issued", "paid"]

        await eventually(invoicing_applied_the_payments, timeout=30)
        later = open_account(suite, staff)  # billed only after the recovery
        await send_garbage(broker.bootstrap, later.id)

        async def dead_lettered():
            return len(await read_topic(broker.bootstrap, f"{PAYMENTS}.dlq")) >= 2

        await eventually(dead_lettered, timeout=30)
        before = invoices(suite, staff, invoice_ids)
        published_before = len(await read_topic(broker.bootstrap, INVOICING)) - 1

        broker.lose()
        broker.start()  # empty: no topics, no records, no consumer groups
        workers = [p for name, p in suite.by_name.items() if name.endswith("-worker")]
        for worker in workers:
            worker.stop()
        forgotten = clinicpay(suite, "consumers", "forget-offsets")
        assert "ledger:" in forgotten and "invoicing:" in forgotten
        services = ("--service", "invoicing", "--service", "payments", "--service", "reminders")
        republished = clinicpay(suite, "relay", "republish", "--from", "0", *services)
        assert "invoicing: 1 relay(s)" in republished and "payments: 1 relay(s)" in republished
        assert "reminders:" in republished and "ledger" not in republished
        for worker in workers:
            worker.start()

        async def republished_everything():
            records = await read_topic(broker.bootstrap, INVOICING)
            payments = await read_topic(broker.bootstrap, PAYMENTS)
            return len(records) >= published_before and len(payments) >= 2

        await eventually(republished_everything, timeout=60, interval=0.5)
        # New work flows as before, at offsets the lost partitions had used for other things.
        invoice = issue_invoice(suite, staff, later, (1, 999))
        await payments_knows(suite, invoice["id"])
        card = save_card(suite.payments_api.url, staff, later.id)
        paying = pay(
            suite.payments_api.url, staff, later.id, card["id"], 999, invoice_id=invoice["id"]
        )
        assert paying.status_code == 201, paying.text
        await settled(suite, staff, {**expected, later.id: 0})

        async def paid_in_invoicing():
            return invoices(suite, staff, [invoice["id"]])[invoice["id"]][0] == "paid"

        await eventually(paid_in_invoicing, timeout=30)
        assert invoices(suite, staff, invoice_ids) == before
