"""`clinicpay payments api|relay|worker|reconcile`: the payments processes and tools."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import date

from clinicpay import processes
from clinicpay.suite import Process

PROCESSES = (
    Process("payments-api", ("payments", "api"), "PAYMENTS_PORT", 8002, "PAYMENTS_URL"),
    Process("payments-relay", ("payments", "relay")),
    Process("payments-worker", ("payments", "worker")),
)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("payments", help="the payments service's processes and tools")
    sub = parser.add_subparsers(dest="process", required=True)
    api = sub.add_parser("api", help="serve the payments HTTP API")
    api.add_argument("--host", default="127.0.0.1")
    api.set_defaults(handler=_api)
    relay = sub.add_parser("relay", help="publish recorded events to Kafka (outbox relay)")
    relay.set_defaults(handler=_relay)
    worker = sub.add_parser(
        "worker", help="follow invoices and charge reminders; resolve unknown outcomes and retries"
    )
    worker.set_defaults(handler=_worker)
    reconcile = sub.add_parser(
        "reconcile",
        help="compare a day's gateway charges and refunds with ours; exit 1 on mismatch",
    )
    reconcile.add_argument("--date", required=True, type=date.fromisoformat, help="YYYY-MM-DD")
    reconcile.add_argument(
        "--timezone", default=None, help="the day's zone (default: the clinics')"
    )
    reconcile.set_defaults(handler=_reconcile)


def _settings():
    from payments.settings import PaymentsSettings

    settings = PaymentsSettings()
    processes.start(settings)
    return settings


def _api(args: argparse.Namespace) -> None:
    from payments.bootstrap import create_http_app, migrate

    settings = _settings()
    asyncio.run(migrate(settings))
    processes.serve_http(create_http_app(settings), settings.payments_port, args.host)


def _relay(args: argparse.Namespace) -> None:
    from payments.bootstrap import migrate, run_relay

    settings = _settings()
    processes.run_worker(lambda stop: run_relay(settings, stop), before=lambda: migrate(settings))


def _worker(args: argparse.Namespace) -> None:
    from payments.bootstrap import migrate, run_worker

    settings = _settings()
    processes.run_worker(lambda stop: run_worker(settings, stop), before=lambda: migrate(settings))


def _reconcile(args: argparse.Namespace) -> None:
    from zoneinfo import ZoneInfo

    from payments.application.services import Services
    from payments.bootstrap import build_context, close_context

    settings = _settings()
    ctx = build_context(settings)
    try:
        zone = ZoneInfo(args.timezone or settings.payments_clinic_timezone)
        charges, refunds, mismatches = Services.over(ctx).reconciliation.run(args.date, zone)
    finally:
        close_context(ctx)
    print(
        f"{args.date} ({zone.key}) on {settings.gateway}: "
        f"{charges} gateway charges, {refunds} refunds"
    )
    for mismatch in mismatches:
        print(mismatch.line())
    print(f"{len(mismatches)} mismatch(es)")
    sys.exit(1 if mismatches else 0)


async def migrate() -> None:
    from payments.bootstrap import migrate as migrate_payments
    from payments.settings import PaymentsSettings

    await migrate_payments(PaymentsSettings())


async def republish(from_position: int) -> str:
    from eventbus.recovery import rewind_relays
    from payments.settings import PaymentsSettings

    settings = PaymentsSettings()
    dsn = settings.database.asyncpg_dsn()
    rewound = await rewind_relays(dsn, settings.payments_db_schema, from_position)
    return f"{rewound} relay(s) publish again after notification {from_position}"


async def forget_consumer_offsets() -> str:
    from eventbus.recovery import forget_consumer_offsets as forget
    from payments.settings import PaymentsSettings

    settings = PaymentsSettings()
    forgotten = await forget(settings.database.asyncpg_dsn(), settings.payments_db_schema)
    return f"{forgotten} stored offset(s) forgotten"
