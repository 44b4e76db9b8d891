from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from auth import TokenCodec
from clinicpay.embedded import free_port
from tests.integration.harness import (
    TEST_JWT_SECRET,
    Infrastructure,
    ServiceProcess,
    StaffClient,
    infrastructure,
)


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("clinicpay-it")


@pytest.fixture(scope="session")
def infra(workdir: Path) -> Iterator[Infrastructure]:
    with infrastructure(workdir) as infra:
        migrate = ServiceProcess("migrate", ["migrate"], infra.env(), workdir)
        migrate.start()
        assert migrate.process.wait(timeout=120) == 0, "\n".join(migrate.log_lines())
        yield infra


class Suite:
    def __init__(self, infra: Infrastructure, workdir: Path) -> None:
        env = infra.env()
        self.infra = infra
        self.invoicing_api = ServiceProcess(
            "invoicing-api", ["invoicing", "api"], env, workdir, free_port()
        )
        self.invoicing_relay = ServiceProcess(
            "invoicing-relay", ["invoicing", "relay"], env, workdir
        )
        self.ledger_worker = ServiceProcess("ledger-worker", ["ledger", "worker"], env, workdir)
        self.ledger_api = ServiceProcess("ledger-api", ["ledger", "api"], env, workdir, free_port())

    @property
    def processes(self) -> list[ServiceProcess]:
        return [self.invoicing_api, self.invoicing_relay, self.ledger_worker, self.ledger_api]


@pytest.fixture(scope="session")
def suite(infra: Infrastructure, workdir: Path) -> Iterator[Suite]:
    suite = Suite(infra, workdir)
    for process in suite.processes:
        process.start()
    yield suite
    for process in suite.processes:
        process.stop()


@pytest.fixture(scope="session")
def codec() -> TokenCodec:
    return TokenCodec(verify_key=TEST_JWT_SECRET)


@pytest.fixture
def clinic_id() -> uuid.UUID:
    return uuid.uuid4()


@pytest.fixture
def staff(codec: TokenCodec, clinic_id: uuid.UUID) -> StaffClient:
    return StaffClient(codec, clinic_id, ["billing", "finance"])


@pytest.fixture
def other_clinic_staff(codec: TokenCodec) -> StaffClient:
    return StaffClient(codec, uuid.uuid4(), ["billing", "finance", "admin"])


@pytest.fixture
async def db(infra: Infrastructure):
    connection = await asyncpg.connect(infra.database.asyncpg_dsn())
    yield connection
    await connection.close()
