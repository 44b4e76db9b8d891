"""`clinicpay reminders api|worker|relay|tick` and `clinicpay mailbox`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from datetime import datetime

from clinicpay import processes
from clinicpay.suite import Process

PROCESSES = (
    Process("reminders-api", ("reminders", "api"), "REMINDERS_PORT", 8003, "REMINDERS_URL"),
    Process("reminders-worker", ("reminders", "worker")),
    Process("reminders-relay", ("reminders", "relay")),
)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("reminders", help="the reminders service's processes")
    sub = parser.add_subparsers(dest="process", required=True)
    api = sub.add_parser("api", help="reminder policy, the dev mailbox, failed notices")
    api.add_argument("--host", default="127.0.0.1")
    api.set_defaults(handler=_api)
    sub.add_parser("worker", help="learn events, settle due steps, deliver notices").set_defaults(
        handler=_worker
    )
    sub.add_parser("relay", help="publish the outbox to Kafka").set_defaults(handler=_relay)
    tick = sub.add_parser("tick", help="settle every step due now (or --at, embedded only)")
    tick.add_argument("--at", type=_instant, help="an instant with its offset (embedded only)")
    tick.set_defaults(handler=_tick)

    mailbox = commands.add_parser("mailbox", help="the messages the dev mailbox holds")
    mailbox.add_argument("--account-id", type=uuid.UUID)
    mailbox.add_argument("--json", action="store_true")
    mailbox.add_argument("--limit", type=int, default=20)
    mailbox.set_defaults(handler=_mailbox)


def _instant(value: str) -> datetime:
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise argparse.ArgumentTypeError("give the offset, e.g. 2026-12-01T09:00:00-05:00")
    return instant


def _settings():
    from reminders.settings import RemindersSettings

    settings = RemindersSettings()
    processes.start(settings)
    return settings


def _api(args: argparse.Namespace) -> None:
    from reminders.api import create_http_app
    from reminders.bootstrap import migrate

    settings = _settings()
    asyncio.run(migrate(settings))
    processes.serve_http(create_http_app(settings), settings.reminders_port, args.host)


def _worker(args: argparse.Namespace) -> None:
    from reminders.bootstrap import migrate, run_worker

    settings = _settings()
    processes.run_worker(lambda stop: run_worker(settings, stop), before=lambda: migrate(settings))


def _relay(args: argparse.Namespace) -> None:
    from reminders.bootstrap import migrate, run_relay_process

    settings = _settings()
    processes.run_worker(
        lambda stop: run_relay_process(settings, stop), before=lambda: migrate(settings)
    )


def _tick(args: argparse.Namespace) -> None:
    from reminders.bootstrap import migrate, tick_once
    from reminders.clock import FixedClock, SystemClock

    settings = _settings()
    if args.at is not None and not settings.embedded:
        sys.exit("--at exists only on the embedded default (CLINICPAY_ENV=embedded)")
    clock = FixedClock(args.at) if args.at else SystemClock()

    async def run() -> int:
        await migrate(settings)
        return await tick_once(settings, clock)

    print(json.dumps({"at": clock.now().isoformat(), "reminders_due": asyncio.run(run())}))


def _mailbox(args: argparse.Namespace) -> None:
    from reminders.bootstrap import migrate
    from reminders.mailbox import list_messages

    settings = _settings()

    async def run() -> list[dict]:
        import asyncpg

        await migrate(settings)
        connection = await asyncpg.connect(settings.database.asyncpg_dsn())
        try:
            return await list_messages(connection, None, args.account_id, args.limit)
        finally:
            await connection.close()

    messages = asyncio.run(run())
    if args.json:
        print(json.dumps({"messages": messages}, indent=2))
        return
    for m in messages:
        print(f"{m['created_at']}  {m['channel']:<5} {m['kind']:<18} to {m['to']}")
        print(f"  {m['subject'] or m['text']}")
        print(f"  {m['link']}\n")


async def migrate() -> None:
    from reminders.bootstrap import migrate as migrate_reminders
    from reminders.settings import RemindersSettings

    await migrate_reminders(RemindersSettings())


async def republish(from_position: int) -> str:
    """The outbox keeps every row it published: mark those after the position unpublished."""
    import asyncpg

    from reminders.settings import RemindersSettings

    connection = await asyncpg.connect(RemindersSettings().database.asyncpg_dsn())
    try:
        status = await connection.execute(
            "UPDATE reminders.outbox SET published_at = NULL WHERE position > $1",
            from_position,
        )
    finally:
        await connection.close()
    return f"{status.split()[-1]} outbox row(s) publish again after position {from_position}"


async def forget_consumer_offsets() -> str:
    from eventbus.recovery import forget_consumer_offsets as forget
    from reminders.settings import RemindersSettings

    forgotten = await forget(RemindersSettings().database.asyncpg_dsn(), "reminders")
    return f"{forgotten} stored offset(s) forgotten"
