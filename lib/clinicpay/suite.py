"""The services that make up clinicpay, their processes, and the set-up they share.

Each service package has a `cli` module declaring its `PROCESSES`, a `register` function
for the `clinicpay` command and a `migrate` coroutine. `make run` and the integration tests
start exactly the processes listed here.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from dataclasses import dataclass
from types import ModuleType
from uuid import UUID

from storage import ensure_database

DEMO_CLINIC_ID = UUID("3f6c1a52-8d0e-4b7a-9c61-2a5e7d9b0c11")
SERVICES = ("invoicing", "ledger", "payments", "reminders", "portal")


@dataclass(frozen=True)
class Process:
    name: str
    args: tuple[str, ...]
    port_env: str | None = None
    default_port: int | None = None
    url_env: str | None = None

    def command(self) -> list[str]:
        executable = shutil.which("clinicpay") or f"{sys.executable} -m clinicpay.cli"
        return [*executable.split(), *self.args]


def service_modules() -> list[ModuleType]:
    return [importlib.import_module(f"{service}.cli") for service in SERVICES]


def processes() -> list[Process]:
    return [process for module in service_modules() for process in module.PROCESSES]


def with_ports(env: dict[str, str], ports: dict[str, int] | None = None) -> dict[str, str]:
    """`env` plus every HTTP process's port and URL (`ports` overrides the defaults by name)."""
    env = dict(env)
    for process in processes():
        if process.port_env:
            port = (ports or {}).get(process.name) or int(
                env.get(process.port_env, process.default_port)
            )
            env[process.port_env] = str(port)
            if process.url_env:
                env.setdefault(process.url_env, f"http://127.0.0.1:{port}")
    return env


async def migrate_all(env: dict[str, str]) -> None:
    """Create the database if missing, then every service's schema, tables and the topics."""
    from clinicpay.settings import ServiceSettings
    from eventbus.topics import ensure_topics

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        settings = ServiceSettings()
        await ensure_database(settings.database)
        for module in service_modules():
            await module.migrate()
        await ensure_topics(settings.kafka_bootstrap_servers, partitions=settings.topic_partitions)
    finally:
        os.environ.clear()
        os.environ.update(saved)
