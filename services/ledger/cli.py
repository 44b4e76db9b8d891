"""`clinicpay ledger api|worker|dlq`: the ledger processes and its operator commands."""

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
    verify = sub.add_parser("verify", help="recompute the audit log's hash chains")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(handler=_verify)
    rebuild = sub.add_parser(
        "rebuild", help="recompute journal and balances from the audit log; compare with live"
    )
    rebuild.add_argument("--keep", action="store_true", help="keep the ledger_rebuild schema")
    rebuild.add_argument("--json", action="store_true")
    rebuild.set_defaults(handler=_rebuild)
    _register_dlq(sub)


def _register_dlq(sub: argparse._SubParsersAction) -> None:
    dlq = sub.add_parser("dlq", help="messages the ledger could not project")
    commands = dlq.add_subparsers(dest="dlq_command", required=True)
    listing = commands.add_parser("list", help="every dead letter with its reason")
    listing.add_argument("--topic", help="only this source topic's dead letters")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_dlq_list)
    replay = commands.add_parser("replay", help="send dead letters back to their topic, once")
    replay.add_argument("--topic", help="only this source topic's dead letters")
    replay.add_argument("--partition", type=int)
    replay.add_argument("--offset", type=int, help="the dead letter's offset in its dlq topic")
    replay.add_argument("--all", action="store_true", help="every dead letter not yet replayed")
    replay.add_argument("--json", action="store_true")
    replay.set_defaults(handler=_dlq_replay)


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


def _verify(args: argparse.Namespace) -> None:
    import json

    from ledger.bootstrap import verify_audit_log

    result = asyncio.run(verify_audit_log(_settings()))
    broken = result.broken
    if args.json:
        document = {"ok": result.ok, "chains": result.chains, "rows": result.rows}
        document["first_bad_row"] = broken and {
            "chain": broken.chain,
            "seq": broken.seq,
            "event_id": str(broken.event_id) if broken.event_id else None,
            "reason": broken.reason,
        }
        print(json.dumps(document))
    elif broken is None:
        print(f"ok: {result.rows} rows in {result.chains} chains match their hashes and heads")
    else:
        print(
            f"BROKEN: chain {broken.chain} row {broken.seq}"
            f" (event {broken.event_id or 'unknown'}): {broken.reason}"
        )
    raise SystemExit(0 if result.ok else 1)


def _rebuild(args: argparse.Namespace) -> None:
    import json
    from dataclasses import asdict

    from ledger.bootstrap import rebuild_from_audit_log

    result = asyncio.run(rebuild_from_audit_log(_settings(), keep=args.keep))
    if args.json:
        print(json.dumps({"equal": result.equal, **asdict(result)}, default=str))
    else:
        print(f"rebuilt {result.entries} journal entries from {result.events} audit log events")
        for d in result.differences:
            print(f"DIFFERENT: {d.table}: {d.count} row(s) only in the {d.only_in} tables")
            for row in d.sample:
                print(f"  {row}")
        print("equal to the live journal and balances" if result.equal else "NOT EQUAL")
    raise SystemExit(0 if result.equal else 1)


def _dlq_list(args: argparse.Namespace) -> None:
    from ledger import dlq

    settings = _settings()
    letters = asyncio.run(
        dlq.list_dead_letters(
            settings.kafka_bootstrap_servers,
            settings.database.asyncpg_dsn(),
            settings.ledger_consumer_group,
            args.topic,
        )
    )
    _print_letters(letters, args.json)


def _dlq_replay(args: argparse.Namespace) -> None:
    from ledger import dlq

    if not args.all and args.offset is None:
        raise SystemExit("name a dead letter with --offset (and --topic, --partition) or use --all")
    settings = _settings()
    letters = asyncio.run(
        dlq.replay(
            settings.kafka_bootstrap_servers,
            settings.database.asyncpg_dsn(),
            settings.ledger_consumer_group,
            args.topic,
            args.partition,
            args.offset,
        )
    )
    _print_letters(letters, args.json)


def _print_letters(letters, as_json: bool) -> None:
    from ledger import dlq

    if as_json:
        print(dlq.as_json(letters))
        return
    for letter in letters:
        print(
            f"{letter.dlq_topic}:{letter.partition}:{letter.offset}  from {letter.source}"
            f"  {'replayed  ' if letter.replayed else ''}{letter.reason}"
        )
    print(f"{len(letters)} dead letter(s)")


async def migrate() -> None:
    from ledger.bootstrap import migrate as migrate_ledger
    from ledger.settings import LedgerSettings

    await migrate_ledger(LedgerSettings())


async def forget_consumer_offsets() -> str:
    from eventbus.recovery import forget_consumer_offsets as forget
    from ledger.settings import LedgerSettings

    forgotten = await forget(LedgerSettings().database.asyncpg_dsn(), "ledger")
    return f"{forgotten} stored offset(s) forgotten"
