"""`clinicpay invoicing api|relay`: the invoicing processes."""

from __future__ import annotations

import argparse
import asyncio

from clinicpay import processes
from clinicpay.suite import Process

PROCESSES = (
    Process("invoicing-api", ("invoicing", "api"), "INVOICING_PORT", 8001, "INVOICING_URL"),
    Process("invoicing-relay", ("invoicing", "relay")),
)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("invoicing", help="the invoicing service's processes")
    sub = parser.add_subparsers(dest="process", required=True)
    api = sub.add_parser("api", help="serve the invoicing HTTP API")
    api.add_argument("--host", default="127.0.0.1")
    api.set_defaults(handler=_api)
    relay = sub.add_parser("relay", help="publish recorded events to Kafka (outbox relay)")
    relay.set_defaults(handler=_relay)


def _settings():
    from invoicing.settings import InvoicingSettings

    settings = InvoicingSettings()
    processes.start(settings)
    return settings


def _api(args: argparse.Namespace) -> None:
    from invoicing.bootstrap import create_http_app, migrate

    settings = _settings()
    asyncio.run(migrate(settings))
    processes.serve_http(create_http_app(settings), settings.invoicing_port, args.host)


def _relay(args: argparse.Namespace) -> None:
    from invoicing.bootstrap import migrate, run_relay

    settings = _settings()
    processes.run_worker(lambda stop: run_relay(settings, stop), before=lambda: migrate(settings))


async def migrate() -> None:
    from invoicing.bootstrap import migrate as migrate_invoicing
    from invoicing.settings import InvoicingSettings

    await migrate_invoicing(InvoicingSettings())
