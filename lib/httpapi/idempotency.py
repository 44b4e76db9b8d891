"""`Idempotency-Key` for every POST: the first answer is stored with a hash of the request and
replayed for a retry; the same key with a different request is refused with 422; two
concurrent requests with one key produce one effect (the second waits for the first).

Keys are scoped to the caller's clinic and kept for 24 hours. A request that ends in a 5xx
stores nothing, so a retry runs again; 401, 403 and 429 answers are not stored either.
A service whose answers hold PHI gives the store a cipher: stored bodies are then encrypted.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Protocol

import asyncpg
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth import InvalidToken, StaffClaims, TokenCodec
from httpapi.access import record_replay
from httpapi.problems import problem_response

HEADER = b"idempotency-key"
KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
NOT_STORED = frozenset({401, 403, 429})

DDL = """
CREATE TABLE IF NOT EXISTS {schema}.idempotency_keys (
    scope         text        NOT NULL,
    key           text        NOT NULL,
    request_hash  text        NOT NULL,
    status        smallint,
    content_type  text,
    body          bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    locked_until  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
ALTER TABLE {schema}.idempotency_keys ADD COLUMN IF NOT EXISTS accesses jsonb;
"""


class BodyCipher(Protocol):
    def encrypt(self, plaintext: bytes) -> bytes: ...

    def decrypt(self, ciphertext: bytes) -> bytes: ...


@dataclass(frozen=True)
class Stored:
    request_hash: str
    status: int | None
    content_type: str | None
    body: bytes | None
    accesses: list[list[str]] | None = None  # the records the first answer disclosed


class IdempotencyStore:
    def __init__(
        self,
        pool: asyncpg.Pool,
        schema: str,
        ttl: timedelta = timedelta(hours=24),
        lease: timedelta = timedelta(seconds=30),
        cipher: BodyCipher | None = None,
    ) -> None:
        self.pool = pool
        self.table = f"{schema}.idempotency_keys"
        self.ttl = ttl
        self.lease = lease
        self.cipher = cipher

    async def claim(self, scope: str, key: str, request_hash: str) -> Stored | None:
        """None when this request may run; else what is stored under the key."""
        async with self.pool.acquire() as connection:
            if random.random() < 0.01:
                await connection.execute(f"DELETE FROM {self.table} WHERE expires_at < now()")
            claimed = await connection.fetchval(
                f"""INSERT INTO {self.table} (scope, key, request_hash, locked_until, expires_at)
                    VALUES ($1, $2, $3, now() + $4::interval, now() + $5::interval)
                    ON CONFLICT (scope, key) DO UPDATE
                        SET request_hash = EXCLUDED.request_hash,
                            locked_until = EXCLUDED.locked_until,
                            expires_at = EXCLUDED.expires_at,
                            status = NULL, body = NULL, content_type = NULL
                        WHERE {self.table}.expires_at < now()
                           OR ({self.table}.status IS NULL
                               AND {self.table}.locked_until < now()
                               AND {self.table}.request_hash = EXCLUDED.request_hash)
                    RETURNING true""",
                scope,
                key,
                request_hash,
                self.lease,
                self.ttl,
            )
            if claimed:
                return None
            row = await connection.fetchrow(
                f"""SELECT request_hash, status, content_type, body, accesses FROM {self.table}
                    WHERE scope = $1 AND key = $2""",
                scope,
                key,
            )
        if row is None:
            return Stored(request_hash, None, None, None)
        stored = Stored(**{**dict(row), "accesses": json.loads(row["accesses"] or "null")})
        if self.cipher is not None and stored.body is not None:
            stored = replace(stored, body=self.cipher.decrypt(stored.body))
        return stored

    async def complete(
        self,
        scope: str,
        key: str,
        status: int,
        content_type: str,
        body: bytes,
        accesses: list[list[str]] | None = None,
    ) -> None:
        if self.cipher is not None:
            body = self.cipher.encrypt(body)
        await self.pool.execute(
            f"""UPDATE {self.table} SET status = $3, content_type = $4, body = $5, accesses = $6
                WHERE scope = $1 AND key = $2""",
            scope,
            key,
            status,
            content_type,
            body,
            json.dumps(accesses) if accesses else None,
        )

    async def release(self, scope: str, key: str) -> None:
        await self.pool.execute(
            f"DELETE FROM {self.table} WHERE scope = $1 AND key = $2 AND status IS NULL", scope, key
        )


def request_hash(method: str, path: str, query: bytes, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (UnicodeDecodeError, json.JSONDecodeError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, canonical):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


class IdempotencyMiddleware:
    """Wraps the app; finds its store and token codec on `app.state` at request time."""

    def __init__(
        self,
        app: ASGIApp,
        required: bool = False,
        wait_seconds: float = 10.0,
        exempt_paths: Collection[str] = (),
    ) -> None:
        self.app = app
        self.required = required
        self.wait_seconds = wait_seconds
        # Callers that cannot send a key (a gateway's webhooks) dedupe by their own event id.
        self.exempt_paths = frozenset(exempt_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or scope["path"] in self.exempt_paths
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        caller = _caller(scope, headers)
        if caller is None:  # not authenticated: let the route answer 401, store nothing
            await self.app(scope, receive, send)
            return
        raw_key = headers.get(HEADER)
        if raw_key is None:
            if self.required:
                await _problem(
                    400,
                    "idempotency-key-missing",
                    "An Idempotency-Key header is required",
                    scope,
                    receive,
                    send,
                )
                return
            await self.app(scope, receive, send)
            return
        key = raw_key.decode("latin-1")
        if not KEY_PATTERN.match(key):
            await _problem(
                400,
                "idempotency-key-invalid",
                "An Idempotency-Key is 1-255 visible ASCII characters",
                scope,
                receive,
                send,
            )
            return
        body = await _read_body(receive)
        digest = request_hash(scope["method"], scope["path"], scope.get("query_string", b""), body)
        store: IdempotencyStore = scope["app"].state.idempotency_store
        await self._handle(store, caller, key, digest, body, scope, send)

    async def _handle(self, store, staff, key, digest, body, scope, send) -> None:
        caller = str(staff.clinic_id)
        deadline = asyncio.get_running_loop().time() + self.wait_seconds
        while True:
            stored = await store.claim(caller, key, digest)
            if stored is None:
                await self._run_once(store, caller, key, body, scope, send)
                return
            if stored.request_hash != digest:
                await _problem(
                    422,
                    "idempotency-key-reused",
                    "This Idempotency-Key was used with a different request",
                    scope,
                    _no_body,
                    send,
                )
                return
            if stored.status is not None:
                # The replayed answer discloses its records again: the access log says so.
                await record_replay(scope, staff, stored.accesses or [], stored.status)
                await _replay(stored, send)
                return
            if asyncio.get_running_loop().time() > deadline:
                await _problem(
                    409,
                    "idempotency-key-in-use",
                    "A request with this Idempotency-Key is still in progress",
                    scope,
                    _no_body,
                    send,
                )
                return
            await asyncio.sleep(0.05)

    async def _run_once(self, store, caller, key, body, scope, send) -> None:
        captured: dict = {"status": 500, "content_type": "", "body": bytearray()}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                for name, value in message.get("headers", []):
                    if name.lower() == b"content-type":
                        captured["content_type"] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, _replaying(body), capture)
        finally:
            status = captured["status"]
            if status >= 500 or status in NOT_STORED:
                await store.release(caller, key)
            else:
                accesses = scope.get("state", {}).get("accesses")
                records = [[t, i] for _, t, i in accesses.entries] if accesses else None
                await store.complete(
                    caller, key, status, captured["content_type"], bytes(captured["body"]), records
                )


def _caller(scope: Scope, headers: dict[bytes, bytes]) -> StaffClaims | None:
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    codec: TokenCodec = scope["app"].state.token_codec
    try:
        return codec.verify(token)
    except InvalidToken:
        return None


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client does not disconnect while we answer
        return {"type": "http.disconnect"}

    return receive


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _replay(stored: Stored, send: Send) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": stored.status,
            "headers": [
                (b"content-type", (stored.content_type or "application/json").encode()),
                (b"idempotent-replayed", b"true"),
                (b"content-length", str(len(stored.body or b"")).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": stored.body or b""})


async def _problem(status, slug, title, scope, receive, send) -> None:
    await problem_response(status, slug, title)(scope, receive, send)
