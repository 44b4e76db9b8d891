"""A Stripe-configured payments deployment for the tests: localstripe (the real `stripe` SDK's
counterpart) as a subprocess, a proxy in front of it that can fail a call after localstripe has
done it, and the payments processes pointed at the proxy, in their own schema.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import stripe
from aiohttp import ClientSession, web

from clinicpay.embedded import free_port, wait_for_port
from tests.integration.harness import ServiceProcess

SCHEMA = "payments_stripe"
SECRET_KEY = "sk_test_clinicpay_integration"
FORWARDED = ("Authorization", "Content-Type", "Idempotency-Key", "Stripe-Version")


@dataclass
class Fault:
    method: str
    path: str
    action: str  # "502_after", "hang_after", "crash_after"
    callback: Callable[[], None] | None = None


@dataclass
class FaultProxy:
    """Forwards to localstripe; a queued fault fires once, after the call reached localstripe."""

    upstream: str
    port: int = field(default_factory=free_port)
    faults: list[Fault] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def inject(self, method: str, path: str, action: str, callback=None) -> None:
        with self.lock:
            self.faults.append(Fault(method, path, action, callback))

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()

    def _take(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and path == fault.path:
                    self.faults.remove(fault)
                    return fault
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        fault = self._take(request.method, request.path)
        headers = {k: request.headers[k] for k in FORWARDED if k in request.headers}
        async with self.session.request(
            request.method, self.upstream + request.path_qs, data=body, headers=headers
        ) as answer:
            payload, status = await answer.read(), answer.status
        if fault is not None and fault.action == "502_after":
            return web.json_response({"error": {"message": "bad gateway"}}, status=502)
        if fault is not None and fault.action == "hang_after":
            await asyncio.sleep(30)
        if fault is not None and fault.action == "crash_after":
            assert fault.callback is not None
            fault.callback()
            await asyncio.sleep(30)
        return web.Response(status=status, body=payload, content_type="application/json")

    def start(self) -> None:
        ready = threading.Event()

        async def serve() -> None:
            self.session = ClientSession()
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            runner = web.AppRunner(app)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port).start()
            ready.set()
            await asyncio.Event().wait()

        self.thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
        self.thread.start()
        ready.wait(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def localstripe(workdir: Path) -> Iterator[str]:
    port = free_port()
    log = (workdir / "localstripe.log").open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
        start_new_session=True,
    )
    try:
        wait_for_port("127.0.0.1", port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class StripeDeployment:
    api: ServiceProcess
    relay: ServiceProcess
    worker: ServiceProcess
    proxy: FaultProxy
    localstripe_url: str
    webhook_secret: str
    env: dict[str, str]

    @property
    def url(self) -> str:
        return self.api.url

    @property
    def client(self) -> stripe.StripeClient:
        """Straight to localstripe: what Stripe.js and Stripe's dashboard would do."""
        return stripe.StripeClient(
            SECRET_KEY,
            base_addresses={"api": self.localstripe_url},
            http_client=stripe.HTTPXClient(allow_sync_methods=True, timeout=10),
            max_network_retries=0,
        )

    def tokenize(self, number: str) -> str:
        """The card number goes to the gateway only; payments sees the `pm_...` token."""
        card = {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"}
        return self.client.v1.payment_methods.create(params={"type": "card", "card": card}).id

    def intents_for(self, payment_id: str) -> list:
        listed = self.client.v1.payment_intents.list(params={"limit": 100})
        return [
            i
            for i in listed.auto_paging_iter()
            if (i.metadata.to_dict() if i.metadata else {}).get("clinicpay_payment_id")
            == payment_id
        ]

    def sign(self, payload: bytes, timestamp: int | None = None, secret: str | None = None) -> str:
        moment = timestamp if timestamp is not None else int(time.time())
        signed = f"{moment}.".encode() + payload
        digest = hmac.new((secret or self.webhook_secret).encode(), signed, hashlib.sha256)
        return f"t={moment},v1={digest.hexdigest()}"

    @contextlib.contextmanager
    def worker_stopped(self) -> Iterator[None]:
        """Nothing resolves payments in the background: what happens is the test's doing."""
        self.worker.stop()
        try:
            yield
        finally:
            self.worker.start()


def event(event_type: str, resource: dict) -> bytes:
    return json.dumps(
        {
            "id": f"evt_test_{uuid.uuid4().hex[:20]}",
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "data": {"object": resource},
        }
    ).encode()


_shared: list[StripeDeployment] = []


@pytest.fixture(scope="session")
def stripe_payments(suite, workdir: Path, request) -> StripeDeployment:
    """One deployment for the whole session, whichever test module asks first.

    Each module that imports this fixture registers its own copy; the cache makes them share
    one localstripe and one set of processes (PostgreSQL connections are a shared budget).
    """
    if not _shared:
        stack = contextlib.ExitStack()
        request.addfinalizer(stack.close)  # torn down before `suite`, which it depends on
        _shared.append(stack.enter_context(_deployment(suite, workdir)))
    return _shared[0]


@contextlib.contextmanager
def _deployment(suite, workdir: Path) -> Iterator[StripeDeployment]:
    with localstripe(workdir) as localstripe_url:
        proxy = FaultProxy(localstripe_url)
        proxy.start()
        port = free_port()
        secret = f"whsec_{uuid.uuid4().hex}"
        env = {
            **suite.env,
            "PAYMENTS_PORT": str(port),
            "PAYMENTS_DB_SCHEMA": SCHEMA,
            "PAYMENTS_GATEWAY": "stripe",
            "PAYMENTS_CONSUMER_GROUP": f"clinicpay-payments-stripe-{uuid.uuid4().hex[:6]}",
            "PAYMENTS_RESOLVE_AFTER_SECONDS": "2",
            "PAYMENTS_WORK_INTERVAL_SECONDS": "0.2",
            "PAYMENTS_RETRY_AFTER_SECONDS": "1,2",
            "PAYMENTS_POOL_SIZE": "3",
            "STRIPE_SECRET_KEY": SECRET_KEY,
            "STRIPE_API_BASE": proxy.url,
            "STRIPE_WEBHOOK_SECRET": secret,
            "STRIPE_TIMEOUT_SECONDS": "2",
            "PAYMENTS_IDEMPOTENCY_LEASE_SECONDS": "6",
        }
        processes = {
            name: ServiceProcess(
                f"stripe-payments-{name}",
                ["payments", name],
                env,
                workdir,
                port if name == "api" else None,
            )
            for name in ("api", "relay", "worker")
        }
        for process in processes.values():
            process.start(wait=False)
        try:
            for process in processes.values():
                process.wait_until_healthy()
            yield StripeDeployment(
                processes["api"],
                processes["relay"],
                processes["worker"],
                proxy,
                localstripe_url,
                secret,
                env,
            )
        finally:
            for process in processes.values():
                process.stop()
