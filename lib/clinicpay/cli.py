"""The `clinicpay` command: every process of the suite, the embedded default, dev tokens."""

from __future__ import annotations

import argparse
import os
import sys
import uuid

from clinicpay.suite import SERVICES, service_modules


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="clinicpay", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start the whole suite on the embedded default")
    run.set_defaults(handler=_run)

    migrate = commands.add_parser("migrate", help="create the database, schemas, tables and topics")
    migrate.set_defaults(handler=_migrate)

    token = commands.add_parser("token", help="mint a staff token (embedded default only)")
    token.add_argument("--clinic-id", type=uuid.UUID, required=True)
    token.add_argument(
        "--role",
        action="append",
        dest="roles",
        required=True,
        choices=["billing", "finance", "admin", "service"],
    )
    token.add_argument("--subject", default="dev@clinicpay.local")
    token.add_argument("--ttl", type=int, default=12 * 3600, help="lifetime in seconds")
    token.set_defaults(handler=_token)

    relay = commands.add_parser("relay", help="every service's outbox relays")
    relay_commands = relay.add_subparsers(dest="relay_command", required=True)
    republish = relay_commands.add_parser(
        "republish",
        help="publish again every recorded event after a position (a lost Kafka cluster)",
    )
    republish.add_argument(
        "--from", dest="from_position", type=int, required=True, help="0 republishes all"
    )
    republish.set_defaults(handler=_republish)
    _add_service_filter(republish)
    consumers = commands.add_parser("consumers", help="every service's consumers")
    consumer_commands = consumers.add_subparsers(dest="consumers_command", required=True)
    forget = consumer_commands.add_parser(
        "forget-offsets",
        help="drop stored partition offsets so consumers read a new cluster from the start",
    )
    forget.set_defaults(handler=_forget_offsets)
    _add_service_filter(forget)

    for service in service_modules():
        service.register(commands)

    args = parser.parse_args(argv)
    args.handler(args)


def _run(args: argparse.Namespace) -> None:
    from clinicpay.runner import run_suite

    sys.exit(run_suite())


def _migrate(args: argparse.Namespace) -> None:
    import asyncio

    from clinicpay.suite import migrate_all

    asyncio.run(migrate_all(dict(os.environ)))


def _add_service_filter(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--service",
        action="append",
        dest="services",
        choices=SERVICES,
        help="only this service (repeatable; each needs its own settings); default: all",
    )


def _republish(args: argparse.Namespace) -> None:
    from clinicpay.recovery import republish

    for line in republish(args.from_position, args.services):
        print(line)


def _forget_offsets(args: argparse.Namespace) -> None:
    from clinicpay.recovery import forget_consumer_offsets

    for line in forget_consumer_offsets(args.services):
        print(line)


def _token(args: argparse.Namespace) -> None:
    from auth import TokenCodec
    from clinicpay.settings import EMBEDDED_JWT_SECRET

    secret = os.environ.get("JWT_SECRET", EMBEDDED_JWT_SECRET)
    codec = TokenCodec(verify_key=secret)
    print(
        codec.mint(
            subject=args.subject, clinic_id=args.clinic_id, roles=args.roles, ttl_seconds=args.ttl
        )
    )


if __name__ == "__main__":
    main()
