from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from auth import TokenCodec
from clinicpay.embedded import free_port
from clinicpay.suite import processes, with_ports
from tests.integration.harness import (
    TEST_JWT_SECRET,
    Infrastructure,
    ServiceProcess,
    StaffClient,
    infrastructure,
)
from tests.integration.portal_support import chromium, phone  # noqa: F401 - browser fixtures


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
    # Checks of the whole run (e.g. what every process logged) go after every other test.
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


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
    """Every process `make run` starts, on free ports, against the session's infrastructure."""

    def __init__(self, infra: Infrastructure, workdir: Path) -> None:
        self.infra = infra
        declared = processes()
        self.env = with_ports(infra.env(), {p.name: free_port() for p in declared if p.port_env})
        self.by_name = {
            p.name: ServiceProcess(
                p.name,
                list(p.args),
                self.env if p.port_env else {**self.env, "METRICS_PORT": str(free_port())},
                workdir,
                int(self.env[p.port_env]) if p.port_env else None,
            )
            for p in declared
        }

    def __getattr__(self, attribute: str) -> ServiceProcess:
        try:
            return self.by_name[attribute.replace("_", "-")]
        except KeyError:
            raise AttributeError(attribute) from None

    def start(self) -> None:
        for process in self.by_name.values():
            process.start(wait=False)
        for process in self.by_name.values():
            process.wait_until_healthy()

    def stop(self) -> None:
        for process in self.by_name.values():
            process.stop()


@pytest.fixture(scope="session")
def suite(infra: Infrastructure, workdir: Path) -> Iterator[Suite]:
    suite = Suite(infra, workdir)
    suite.start()
    yield suite
    suite.stop()


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
