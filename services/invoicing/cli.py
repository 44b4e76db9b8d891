"""`clinicpay invoicing api|relay|worker|rebuild-invoice-list`: the invoicing processes."""

from __future__ import annotations

import argparse
import asyncio

from clinicpay import processes
from clinicpay.suite import Process

PROCESSES = (
    Process("invoicing-api", ("invoicing", "api"), "INVOICING_PORT", 8001, "INVOICING_URL"),
    Process("invoicing-relay", ("invoicing", "relay")),
    Process("invoicing-worker", ("invoicing", "worker")),
)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("invoicing", help="the invoicing service's processes")
    sub = parser.add_subparsers(dest="process", required=True)
    api = sub.add_parser("api", help="serve the invoicing HTTP API")
    api.add_argument("--host", default="127.0.0.1")
    api.set_defaults(handler=_api)
    relay = sub.add_parser("relay", help="publish recorded events to Kafka (outbox relay)")
    relay.set_defaults(handler=_relay)
    worker = sub.add_parser(
        "worker", help="apply payments to invoices; keep the invoice list current"
    )
    worker.set_defaults(handler=_worker)
    rebuild = sub.add_parser(
        "rebuild-invoice-list", help="empty the invoice list; it is rebuilt from the events"
    )
    rebuild.set_defaults(handler=_rebuild_invoice_list)


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


def _worker(args: argparse.Namespace) -> None:
    from invoicing.bootstrap import migrate, run_worker

    settings = _settings()
    processes.run_worker(lambda stop: run_worker(settings, stop), before=lambda: migrate(settings))


def _rebuild_invoice_list(args: argparse.Namespace) -> None:
    from invoicing.bootstrap import build_application
    from invoicing.invoice_list import view_for

    app = build_application(_settings(), pool_size=1)
    try:
        view_for(app).reset(app.name)
    finally:
        app.close()
    print("the invoice list is empty; the worker (or the next list request) rebuilds it")


async def migrate() -> None:
    from invoicing.bootstrap import migrate as migrate_invoicing
    from invoicing.settings import InvoicingSettings

    await migrate_invoicing(InvoicingSettings())


async def republish(from_position: int) -> str:
    from eventbus.recovery import rewind_relays
    from invoicing.settings import InvoicingSettings

    settings = InvoicingSettings()
    dsn = settings.database.asyncpg_dsn()
    rewound = await rewind_relays(dsn, settings.invoicing_db_schema, from_position)
    return f"{rewound} relay(s) publish again after notification {from_position}"


async def forget_consumer_offsets() -> str:
    """The payments consumer records its partition positions as eventsourcing tracking
    records named `<topic>#<partition>`."""
    import asyncpg

    from invoicing.settings import InvoicingSettings

    settings = InvoicingSettings()
    connection = await asyncpg.connect(settings.database.asyncpg_dsn())
    try:
        status = await connection.execute(
            f"""DELETE FROM {settings.invoicing_db_schema}.invoicing_tracking
                WHERE application_name LIKE 'clinicpay.%#%'"""
        )
    finally:
        await connection.close()
    return f"{status.split()[-1]} stored position(s) forgotten"
