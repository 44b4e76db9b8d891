"""The processes that make up clinicpay, and the set-up they share."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from uuid import UUID

from storage import DatabaseUrl, ensure_database

DEMO_CLINIC_ID = UUID("3f6c1a52-8d0e-4b7a-9c61-2a5e7d9b0c11")


@dataclass(frozen=True)
class Process:
    name: str
    args: tuple[str, ...]
    port_env: str | None = None
    default_port: int | None = None

    def command(self) -> list[str]:
        executable = shutil.which("clinicpay") or f"{sys.executable} -m clinicpay.cli"
        return [*executable.split(), *self.args]


PROCESSES = (
    Process("invoicing-api", ("invoicing", "api"), "INVOICING_PORT", 8001),
    Process("invoicing-relay", ("invoicing", "relay")),
    Process("ledger-worker", ("ledger", "worker")),
    Process("ledger-api", ("ledger", "api"), "LEDGER_PORT", 8004),
)


def http_ports(env: dict[str, str]) -> dict[str, int]:
    return {
        p.name: int(env.get(p.port_env, p.default_port))
        for p in PROCESSES
        if p.port_env and p.default_port
    }


async def migrate_all(env: dict[str, str]) -> None:
    """Create the database if missing, then every service's schema, tables and the topics."""
    from eventbus.topics import ensure_topics
    from invoicing.bootstrap import migrate as migrate_invoicing
    from invoicing.settings import InvoicingSettings
    from ledger.bootstrap import migrate as migrate_ledger
    from ledger.settings import LedgerSettings

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        await ensure_database(DatabaseUrl(env["DATABASE_URL"]))
        invoicing = InvoicingSettings()
        await migrate_invoicing(invoicing)
        await migrate_ledger(LedgerSettings())
        await ensure_topics(
            invoicing.kafka_bootstrap_servers, partitions=invoicing.topic_partitions
        )
    finally:
        os.environ.clear()
        os.environ.update(saved)
