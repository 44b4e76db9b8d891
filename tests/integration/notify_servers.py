"""Real local servers the notifiers talk to in the tests: an SMTP server (aiosmtpd) and a
Twilio-style SMS API (a small HTTP server answering as its script says)."""

from __future__ import annotations

import base64
import contextlib
import json
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller

from clinicpay.embedded import free_port


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd hook)
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[int, list[EmailMessage]]]:
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox.messages
    finally:
        controller.stop()


class SmsApi:
    """Accepts messages for any number, except: `failing` numbers get 503 for their first
    `failures` tries, `invalid` numbers a 400 with Twilio's code 21211."""

    def __init__(self, sid: str, token: str) -> None:
        self.sid, self.token = sid, token
        self.sent: list[dict[str, str]] = []
        self.tries: dict[str, int] = {}
        self.failing: dict[str, int] = {}
        self.invalid: set[str] = set()
        self.lock = threading.Lock()

    def answer(self, path: str, authorization: str, form: dict[str, str]) -> tuple[int, dict]:
        expected = "Basic " + base64.b64encode(f"{self.sid}:{self.token}".encode()).decode()
        if authorization != expected:
            return 401, {"code": 20003, "message": "Authenticate"}
        if path != f"/2010-04-01/Accounts/{self.sid}/Messages.json":
            return 404, {"code": 20404}
        to = form.get("To", "")
        with self.lock:
            self.tries[to] = self.tries.get(to, 0) + 1
            if to in self.invalid:
                return 400, {"code": 21211, "message": "Invalid 'To' Phone Number"}
            if self.tries[to] <= self.failing.get(to, 0):
                return 503, {"code": 20500, "message": "Service unavailable"}
            self.sent.append(form)
        return 201, {"sid": f"SM{len(self.sent):032d}", "status": "queued"}


@contextlib.contextmanager
def sms_server(
    sid: str = "AC" + "0" * 32, token: str = "test-token"
) -> Iterator[tuple[str, SmsApi]]:
    api = SmsApi(sid, token)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server hook)
            length = int(self.headers.get("Content-Length", 0))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            status, body = api.answer(self.path, self.headers.get("Authorization", ""), form)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", api
    finally:
        server.shutdown()
        server.server_close()
