"""What reminders asks invoicing over HTTP: a clinic's name and timezone, and how to reach an
account's guarantor. Contact details are used for one delivery and never stored or logged."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

import httpx

PURPOSE = {"X-Access-Purpose": "payment reminder"}


class DirectoryUnavailable(Exception):
    """Invoicing did not answer; the caller tries again later."""


class AccountGone(Exception):
    """Invoicing has no such account for the clinic."""


@dataclass(frozen=True)
class ClinicProfile:
    name: str
    timezone: str


@dataclass(frozen=True)
class Contact:
    email: str | None
    phone: str | None
    preference: str  # email, sms or both

    def reachable(self, channel: str) -> bool:
        address = self.email if channel == "email" else self.phone
        return bool(address) and self.preference in (channel, "both")

    def address(self, channel: str) -> str:
        address = self.email if channel == "email" else self.phone
        assert address
        return address


class InvoicingDirectory:
    def __init__(self, base_url: str, token_for: Callable[[UUID], str], timeout: float = 5.0):
        self.client = httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self.token_for = token_for

    async def close(self) -> None:
        await self.client.aclose()

    async def _get(self, clinic_id: UUID, path: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token_for(clinic_id)}", **PURPOSE}
        for attempt in range(3):
            try:
                response = await self.client.get(path, headers=headers)
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code < 500:
                return response
            await asyncio.sleep(0.2 * (attempt + 1))
        raise DirectoryUnavailable(path.split("/")[2])

    async def clinic(self, clinic_id: UUID) -> ClinicProfile:
        response = await self._get(clinic_id, "/v1/clinic")
        if response.status_code != 200:
            raise DirectoryUnavailable(f"clinic: {response.status_code}")
        body = response.json()
        return ClinicProfile(name=body.get("name") or "Your clinic", timezone=body["timezone"])

    async def contact(self, clinic_id: UUID, account_id: UUID) -> Contact:
        response = await self._get(clinic_id, f"/v1/accounts/{account_id}")
        if response.status_code == 404:
            raise AccountGone(str(account_id))
        if response.status_code != 200:
            raise DirectoryUnavailable(f"account: {response.status_code}")
        guarantor = response.json()["guarantor"]
        return Contact(
            email=guarantor.get("email"),
            phone=guarantor.get("phone"),
            preference=guarantor.get("contact_preference") or "email",
        )
