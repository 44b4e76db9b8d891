"""`clinicpay portal serve`: the patient portal and the staff view."""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid

from clinicpay import processes
from clinicpay.suite import Process

PROCESSES = (Process("portal", ("portal", "serve"), "PORTAL_PORT", 8005, "PORTAL_URL"),)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("portal", help="the patient portal and staff view")
    sub = parser.add_subparsers(dest="process", required=True)
    serve = sub.add_parser("serve", help="serve the portal's pages over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.set_defaults(handler=_serve)
    demo = sub.add_parser(
        "demo-link",
        help="a fresh portal link for the demo parent (seeds the demo clinic if missing)",
    )
    demo.set_defaults(handler=_demo_link)
    link = sub.add_parser("link", help="mint a portal link for an account, as notices carry")
    link.add_argument("--clinic-id", type=uuid.UUID, required=True)
    link.add_argument("--account-id", type=uuid.UUID, required=True)
    link.set_defaults(handler=_link)


def _serve(args: argparse.Namespace) -> None:
    from portal.bootstrap import create_http_app, migrate
    from portal.settings import PortalSettings

    settings = PortalSettings()
    processes.start(settings)
    asyncio.run(migrate(settings))
    processes.serve_http(create_http_app(settings), settings.portal_port, args.host)


def _link(args: argparse.Namespace) -> None:
    from auth import LinkCodec
    from clinicpay.settings import EMBEDDED_LINK_SECRET

    # Like `clinicpay token`: the embedded secret unless LINK_SECRET names another.
    codec = LinkCodec(os.environ.get("LINK_SECRET", EMBEDDED_LINK_SECRET))
    token = codec.mint(clinic_id=args.clinic_id, account_id=args.account_id)
    print(f"{os.environ.get('PORTAL_URL', 'http://127.0.0.1:8005')}/l/{token}")


def _demo_link(args: argparse.Namespace) -> None:
    from clinicpay.demo import seed
    from clinicpay.suite import with_ports

    print(seed(with_ports(dict(os.environ))))


async def migrate() -> None:
    from portal.bootstrap import migrate as migrate_portal
    from portal.settings import PortalSettings

    await migrate_portal(PortalSettings())
