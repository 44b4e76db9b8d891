"""`clinicpay portal serve`: the patient portal and the staff view."""

from __future__ import annotations

import argparse
import asyncio

from clinicpay import processes
from clinicpay.suite import Process

PROCESSES = (Process("portal", ("portal", "serve"), "PORTAL_PORT", 8005, "PORTAL_URL"),)


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("portal", help="the patient portal and staff view")
    sub = parser.add_subparsers(dest="process", required=True)
    serve = sub.add_parser("serve", help="serve the portal's pages over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> None:
    from portal.bootstrap import create_http_app, migrate
    from portal.settings import PortalSettings

    settings = PortalSettings()
    processes.start(settings)
    asyncio.run(migrate(settings))
    processes.serve_http(create_http_app(settings), settings.portal_port, args.host)


async def migrate() -> None:
    from portal.bootstrap import migrate as migrate_portal
    from portal.settings import PortalSettings

    await migrate_portal(PortalSettings())
