"""Staff and service tokens: a JWT with `sub`, `clinic_id` and `roles`.

HS256 with a shared secret on the embedded default; RS256 with a public key (from the
identity provider's JWKS) in production. Every request is scoped to the token's clinic.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import jwt

ROLES = frozenset({"billing", "finance", "admin", "service"})
AUDIENCE = "clinicpay"


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired or not ours."""


@dataclass(frozen=True)
class StaffClaims:
    subject: str
    clinic_id: uuid.UUID
    roles: frozenset[str]

    def has_any(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


@dataclass(frozen=True)
class TokenCodec:
    """Encodes (dev and tests only, HS256) and verifies staff tokens."""

    verify_key: str
    algorithm: str = "HS256"
    signing_key: str | None = None

    def mint(
        self, *, subject: str, clinic_id: uuid.UUID, roles: list[str], ttl_seconds: int = 3600
    ) -> str:
        unknown = set(roles) - ROLES
        if unknown:
            raise ValueError(f"unknown roles: {sorted(unknown)}")
        now = int(time.time())
        claims = {
            "sub": subject,
            "clinic_id": str(clinic_id),
            "roles": sorted(roles),
            "aud": AUDIENCE,
            "iat": now,
            "exp": now + ttl_seconds,
        }
        return jwt.encode(claims, self.signing_key or self.verify_key, algorithm=self.algorithm)

    def verify(self, token: str) -> StaffClaims:
        try:
            claims = jwt.decode(
                token,
                self.verify_key,
                algorithms=[self.algorithm],
                audience=AUDIENCE,
                options={"require": ["sub", "exp", "aud"]},
            )
            roles = claims.get("roles")
            if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
                raise InvalidToken("roles must be a list of strings")
            return StaffClaims(
                subject=str(claims["sub"]),
                clinic_id=uuid.UUID(str(claims["clinic_id"])),
                roles=frozenset(roles) & ROLES,
            )
        except (jwt.PyJWTError, KeyError, ValueError) as error:
            raise InvalidToken(str(error)) from None
