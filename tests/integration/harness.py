"""Real infrastructure for integration tests: PostgreSQL, a Kafka-protocol broker, and the
clinicpay processes themselves, started as the operating system would start them.

PostgreSQL: the server in DATABASE_URL when set (each session gets a fresh database on it),
else an embedded one. The broker: KAFKA_BOOTSTRAP_SERVERS when set, else an embedded
Tansu. With CLINICPAY_TEST_BACKEND=testcontainers, both come from testcontainers' images.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from auth import TokenCodec
from clinicpay.embedded import free_port, start_broker, start_postgres, wait_for_port
from storage import DatabaseUrl

CLINICPAY = str(Path(sys.executable).with_name("clinicpay"))
TEST_JWT_SECRET = "integration-tests-" + uuid.uuid4().hex


@dataclass
class Infrastructure:
    database: DatabaseUrl
    bootstrap_servers: str
    workdir: Path
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    def env(self, **overrides: str) -> dict[str, str]:
        env = {
            **os.environ,
            "CLINICPAY_ENV": "embedded",
            "DATABASE_URL": self.database.url,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "JWT_SECRET": TEST_JWT_SECRET,
            "LOG_JSON": "true",
            "LEDGER_CONSUMER_GROUP": f"clinicpay-ledger-{self.run_id}",
        }
        env.update(overrides)
        return env


@contextlib.contextmanager
def infrastructure(workdir: Path) -> Iterator[Infrastructure]:
    backend = os.environ.get("CLINICPAY_TEST_BACKEND", "embedded")
    if backend == "testcontainers":
        with _testcontainers(workdir) as infra:
            yield infra
        return
    if backend != "embedded":
        raise ValueError(
            f"CLINICPAY_TEST_BACKEND must be embedded or testcontainers, not {backend}"
        )
    with _database(workdir) as database, _broker(workdir) as bootstrap:
        yield Infrastructure(database, bootstrap, workdir)


@contextlib.contextmanager
def _database(workdir: Path) -> Iterator[DatabaseUrl]:
    server = DatabaseUrl(os.environ["DATABASE_URL"]) if os.environ.get("DATABASE_URL") else None
    if server is None:
        server = start_postgres(workdir / "pgdata", dbname="postgres")
    name = f"clinicpay_test_{uuid.uuid4().hex[:10]}"
    _psql(server, f'CREATE DATABASE "{name}"')
    try:
        yield server.with_database(name)
    finally:
        _psql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _psql(server: DatabaseUrl, statement: str) -> None:
    import asyncio

    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(server.with_database("postgres").asyncpg_dsn())
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


@contextlib.contextmanager
def _broker(workdir: Path) -> Iterator[str]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        return
    port = free_port()
    process = start_broker(port, workdir / "tansu.log")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextlib.contextmanager
def _testcontainers(workdir: Path) -> Iterator[Infrastructure]:
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    with (
        PostgresContainer("postgres:16-alpine") as pg,
        KafkaContainer("confluentinc/cp-kafka:7.6.1") as kafka,
    ):
        url = DatabaseUrl(pg.get_connection_url().replace("postgresql+psycopg2", "postgresql"))
        yield Infrastructure(url, kafka.get_bootstrap_server(), workdir)


class ServiceProcess:
    """One clinicpay process (`clinicpay <args>`), its output in a log file."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        workdir: Path,
        port: int | None = None,
    ):
        self.name = name
        self.args = args
        self.env = env
        self.port = port
        self.log_path = workdir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        assert self.port is not None
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: bool = True) -> ServiceProcess:
        self.process = subprocess.Popen(
            [CLINICPAY, *self.args],
            env=self.env,
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        if wait:
            self.wait_until_healthy()
        return self

    def wait_until_healthy(self, timeout: float = 60.0) -> None:
        """Wait for an API's /healthz; a worker only has to stay up."""
        if self.port is None:
            self.check_running()
            return
        deadline = time.monotonic() + timeout
        wait_for_port("127.0.0.1", self.port, timeout)
        while time.monotonic() < deadline:
            self.check_running()
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} did not become healthy; see {self.log_path}")

    def check_running(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.process.returncode}; see {self.log_path}"
            )

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_lines(self) -> list[str]:
        return (
            self.log_path.read_text(errors="replace").splitlines() if self.log_path.exists() else []
        )


class StaffClient:
    """An HTTP client holding a staff token for one clinic."""

    def __init__(self, codec: TokenCodec, clinic_id: uuid.UUID, roles: list[str]) -> None:
        self.clinic_id = clinic_id
        self.token = codec.mint(
            subject=f"staff-{uuid.uuid4().hex[:6]}", clinic_id=clinic_id, roles=roles
        )
        self.headers = {"Authorization": f"Bearer {self.token}"}

    def post(self, url: str, **kwargs) -> httpx.Response:
        return httpx.post(
            url, headers={**self.headers, **kwargs.pop("headers", {})}, timeout=10, **kwargs
        )

    def get(self, url: str, **kwargs) -> httpx.Response:
        return httpx.get(
            url, headers={**self.headers, **kwargs.pop("headers", {})}, timeout=10, **kwargs
        )


async def eventually(check, timeout: float = 10.0, interval: float = 0.1):
    """Await `check()` until it returns a truthy value, or fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)


async def read_topic(bootstrap_servers: str, topic: str) -> list:
    """Every record on `topic` right now, read without a consumer group."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        if not partitions:
            await consumer.force_metadata_update()
            partitions = [
                TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()
            ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                records.extend(messages)
        return records
    finally:
        await consumer.stop()
