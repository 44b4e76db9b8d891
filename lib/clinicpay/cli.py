"""The `clinicpay` command: every process of the suite, the embedded default, dev tokens."""

from __future__ import annotations

import argparse
import os
import sys
import uuid

from clinicpay.suite import service_modules


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
