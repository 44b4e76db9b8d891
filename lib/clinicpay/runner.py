"""`make run`: the whole suite on one machine, with no Docker and no accounts anywhere.

Starts PostgreSQL (unless DATABASE_URL is set) and a Kafka-protocol broker (unless
KAFKA_BOOTSTRAP_SERVERS is set), creates what the services need, runs every process,
prints where they listen with a staff token, and stops everything on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from pathlib import Path

from honcho.manager import Manager

from auth import TokenCodec
from clinicpay.embedded import free_port, port_is_open, start_broker, start_postgres
from clinicpay.settings import EMBEDDED_JWT_SECRET
from clinicpay.suite import DEMO_CLINIC_ID, migrate_all, processes, with_ports

RUN_DIR = Path(os.environ.get("CLINICPAY_RUN_DIR", ".run"))


def run_suite() -> int:
    env = dict(os.environ)
    env.setdefault("CLINICPAY_ENV", "embedded")
    env.setdefault("LOG_JSON", "false")
    broker = None
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = start_postgres(RUN_DIR / "pgdata").url
    if not env.get("KAFKA_BOOTSTRAP_SERVERS"):
        port = 9092 if not port_is_open("127.0.0.1", 9092) else free_port()
        broker = start_broker(port, RUN_DIR / "tansu.log")
        env["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{port}"
    env = with_ports(env)
    try:
        asyncio.run(migrate_all(env))
        manager = Manager()
        metrics_ports = {p.name: free_port() for p in processes() if not p.port_env}
        for process in processes():
            own = {"METRICS_PORT": str(metrics_ports[process.name])} if not process.port_env else {}
            manager.add_process(process.name, " ".join(process.command()), env={**env, **own})
        _print_banner(env, metrics_ports)
        if env.get("CLINICPAY_DEMO", "1") != "0":
            threading.Thread(target=_seed_demo, args=(env,), name="demo", daemon=True).start()
        manager.loop()
        return manager.returncode or 0
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait(timeout=10)


def _print_banner(env: dict[str, str], metrics_ports: dict[str, int]) -> None:
    codec = TokenCodec(verify_key=env.get("JWT_SECRET", EMBEDDED_JWT_SECRET))
    token = codec.mint(
        subject="demo-staff@clinicpay.local",
        clinic_id=DEMO_CLINIC_ID,
        roles=["admin", "billing", "finance"],
        ttl_seconds=12 * 3600,
    )
    lines = ["", "clinicpay is starting on the embedded default:"]
    lines += [
        f"  {p.name:<16} http://127.0.0.1:{env[p.port_env]}" for p in processes() if p.port_env
    ]
    lines += [
        f"  {name:<16} http://127.0.0.1:{port}/metrics" for name, port in metrics_ports.items()
    ]
    lines += [
        f"  kafka            {env['KAFKA_BOOTSTRAP_SERVERS']}",
        f"  postgres         {env['DATABASE_URL']}",
        f"  demo clinic      {DEMO_CLINIC_ID}",
        "  staff token (admin, billing, finance; 12 h):",
        f"    {token}",
        "  Ctrl-C stops everything.",
        "",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)


def _seed_demo(env: dict[str, str]) -> None:
    """Seeds the demo clinic once the services answer, then prints a family's link."""
    from clinicpay.demo import PARENT, seed

    try:
        link = seed(env)
    except Exception as error:  # the suite runs on without demo data; say why
        print(f"\n  the demo clinic could not be seeded: {error!r}\n", file=sys.stderr, flush=True)
        return
    lines = [
        "",
        "The demo clinic is ready:",
        f"  patient portal   {link}",
        f"    (single use; date of birth {PARENT['date_of_birth']} for {PARENT['name']},",
        "     or a child's; `clinicpay portal demo-link` prints another)",
        f"  staff view       {env['PORTAL_URL']}/staff (sign in with the staff token above)",
        "",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)
