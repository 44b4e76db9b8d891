"""`clinicpay ledger api|worker`: the ledger processes."""

from __future__ import annotations

import argparse
import asyncio

from clinicpay import processes
from clinicpay.suite import Process

PROCESSES = (
    Process("ledger-worker", ("ledger", "worker")),
    Process("ledger-api", ("ledger", "api"), "LEDGER_PORT", 8004, "LEDGER_URL"),
)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("ledger", help="the ledger service's processes")
    sub = parser.add_subparsers(dest="process", required=True)
    api = sub.add_parser("api", help="serve the ledger's read models over HTTP")
    api.add_argument("--host", default="127.0.0.1")
    api.set_defaults(handler=_api)
    worker = sub.add_parser("worker", help="project every topic into the journal and balances")
    worker.set_defaults(handler=_worker)


def _settings():
    from ledger.settings import LedgerSettings

    settings = LedgerSettings()
    processes.start(settings)
    return settings


def _api(args: argparse.Namespace) -> None:
    from ledger.bootstrap import create_http_app, migrate

    settings = _settings()
    asyncio.run(migrate(settings))
    processes.serve_http(create_http_app(settings), settings.ledger_port, args.host)


def _worker(args: argparse.Namespace) -> None:
    from ledger.bootstrap import migrate, run_worker

    settings = _settings()
    processes.run_worker(lambda stop: run_worker(settings, stop), before=lambda: migrate(settings))


async def migrate() -> None:
    from ledger.bootstrap import migrate as migrate_ledger
    from ledger.settings import LedgerSettings

    await migrate_ledger(LedgerSettings())


async def forget_consumer_offsets() -> str:
    from eventbus.recovery import forget_consumer_offsets as forget
    from ledger.settings import LedgerSettings

    forgotten = await forget(LedgerSettings().database.asyncpg_dsn(), "ledger")
    return f"{forgotten} stored offset(s) forgotten"
