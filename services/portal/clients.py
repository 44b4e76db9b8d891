"""The other services' HTTP APIs, as the portal uses them.

Patient pages call with a short-lived `service` token of the patient's clinic and name the
session in `X-Acting-For`, so each service's access log traces the read back to it. Staff
pages call with the signed-in staff member's own token: their roles decide what they may do.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx

from auth import TokenCodec
from telemetry import current_trace

SERVICE_TOKEN_TTL = 300


class ServiceUnavailable(Exception):
    """Another service did not answer, or answered with a server error."""


@dataclass
class Answer:
    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class ServiceTokens:
    """One service token per clinic, minted again shortly before it expires."""

    def __init__(self, codec: TokenCodec) -> None:
        self.codec = codec
        self._cache: dict[UUID, tuple[float, str]] = {}

    def for_clinic(self, clinic_id: UUID) -> str:
        expires, token = self._cache.get(clinic_id, (0.0, ""))
        if expires - time.time() < 60:
            token = self.codec.mint(
                subject="portal",
                clinic_id=clinic_id,
                roles=["service"],
                ttl_seconds=SERVICE_TOKEN_TTL,
            )
            self._cache[clinic_id] = (time.time() + SERVICE_TOKEN_TTL, token)
        return token


@dataclass(frozen=True)
class Caller:
    """Who the portal calls as: a bearer token and, for patients, the acting session."""

    token: str
    acting_for: str | None = None

    def headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "X-Correlation-Id": current_trace().correlation_id,
            "X-Access-Purpose": "patient portal" if self.acting_for else "staff view",
        }
        if self.acting_for:
            headers["X-Acting-For"] = self.acting_for
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return headers


class Backends:
    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        invoicing: str,
        payments: str,
        ledger: str,
        reminders: str,
    ) -> None:
        self.client = client
        self.urls = {
            "invoicing": invoicing.rstrip("/"),
            "payments": payments.rstrip("/"),
            "ledger": ledger.rstrip("/"),
            "reminders": reminders.rstrip("/"),
        }

    async def call(
        self,
        caller: Caller,
        method: str,
        service: str,
        path: str,
        *,
        json: Any = None,
        params: dict | None = None,
        idempotency_key: str | None = None,
        accept: str = "application/json",
    ) -> Answer:
        headers = caller.headers(idempotency_key) | {"Accept": accept}
        try:
            response = await self.client.request(
                method, self.urls[service] + path, json=json, params=params, headers=headers
            )
        except httpx.HTTPError as error:
            raise ServiceUnavailable(f"{service}: {type(error).__name__}") from None
        if response.status_code >= 500:
            raise ServiceUnavailable(f"{service}: {response.status_code}")
        if "json" in response.headers.get("content-type", ""):
            return Answer(response.status_code, response.json())
        return Answer(response.status_code, response.text)

    async def get(self, caller: Caller, service: str, path: str, **params: Any) -> Answer:
        query = {k: str(v) for k, v in params.items() if v is not None}
        return await self.call(caller, "GET", service, path, params=query)

    async def post(
        self,
        caller: Caller,
        service: str,
        path: str,
        body: Any = None,
        key: str | None = None,
    ) -> Answer:
        return await self.call(
            caller, "POST", service, path, json=body, idempotency_key=key or str(uuid.uuid4())
        )

    async def delete(self, caller: Caller, service: str, path: str) -> Answer:
        return await self.call(caller, "DELETE", service, path)
