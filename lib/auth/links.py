"""The secure link in a patient's notice: a signed token bound to one billing account.

Reminders mint it into every notice; the portal verifies it, asks the patient to confirm one
fact the clinic knows, and only then opens a session. The token expires (14 days by default),
carries an id (`jti`) so the portal can make it single-use and revocable, and is signed with
its own key, never the staff-token key: a link can never act as a staff token, nor the reverse.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

from auth.tokens import InvalidToken

LINK_AUDIENCE = "clinicpay-portal-link"
DEFAULT_LINK_TTL = 14 * 24 * 3600


@dataclass(frozen=True)
class LinkClaims:
    link_id: uuid.UUID
    clinic_id: uuid.UUID
    account_id: uuid.UUID
    expires_at: int


@dataclass(frozen=True)
class LinkCodec:
    secret: str

    def mint(
        self,
        *,
        clinic_id: uuid.UUID,
        account_id: uuid.UUID,
        ttl_seconds: int = DEFAULT_LINK_TTL,
        now: float | None = None,
    ) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "jti": str(uuid.uuid4()),
            "clinic_id": str(clinic_id),
            "account_id": str(account_id),
            "aud": LINK_AUDIENCE,
            "iat": issued,
            "exp": issued + ttl_seconds,
        }
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def verify(self, token: str) -> LinkClaims:
        try:
            claims = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                audience=LINK_AUDIENCE,
                options={"require": ["jti", "exp", "aud", "clinic_id", "account_id"]},
            )
            return LinkClaims(
                link_id=uuid.UUID(claims["jti"]),
                clinic_id=uuid.UUID(claims["clinic_id"]),
                account_id=uuid.UUID(claims["account_id"]),
                expires_at=int(claims["exp"]),
            )
        except (jwt.PyJWTError, KeyError, ValueError, TypeError) as error:
            raise InvalidToken(str(error)) from None
