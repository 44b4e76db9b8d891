"""The portal's own tables (schema.sql): link state, sign-in throttling, sessions, and the
plans and autopay it set up. Nothing here is another service's data."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import asyncpg


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


@dataclass(frozen=True)
class Session:
    secret_hash: bytes
    kind: str
    reference: str
    clinic_id: UUID
    account_id: UUID | None
    staff_token: str | None
    csrf_token: str
    last_seen_at: datetime

    @classmethod
    def of(cls, row: asyncpg.Record) -> Session:
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Throttle:
    failures: int
    locked_until: datetime | None


class PortalStore:
    def __init__(self, pool: asyncpg.Pool, schema: str = "portal") -> None:
        self.pool = pool
        self.schema = schema

    # -- links

    async def link_refusal(
        self, link_id: UUID, clinic_id: UUID, account_id: UUID, issued_at: datetime
    ) -> str | None:
        """Why this (validly signed, unexpired) link may not open the portal, or None."""
        row = await self.pool.fetchrow(
            f"""SELECT
                  EXISTS (SELECT 1 FROM {self.schema}.used_links WHERE link_id = $1) AS used,
                  EXISTS (SELECT 1 FROM {self.schema}.link_revocations
                          WHERE clinic_id = $2 AND account_id = $3
                            AND revoked_before > $4) AS revoked""",
            link_id,
            clinic_id,
            account_id,
            issued_at,
        )
        if row["revoked"]:
            return "revoked"
        if row["used"]:
            return "used"
        return None

    async def revoke_links(self, clinic_id: UUID, account_id: UUID, by: str) -> None:
        async with self.pool.acquire() as connection, connection.transaction():
            await connection.execute(
                f"""INSERT INTO {self.schema}.link_revocations
                      (clinic_id, account_id, revoked_before, revoked_by)
                    VALUES ($1, $2, now(), $3)
                    ON CONFLICT (clinic_id, account_id)
                    DO UPDATE SET revoked_before = now(), revoked_by = $3""",
                clinic_id,
                account_id,
                by,
            )
            await connection.execute(
                f"""UPDATE {self.schema}.sessions SET ended_at = now()
                    WHERE clinic_id = $1 AND account_id = $2 AND ended_at IS NULL""",
                clinic_id,
                account_id,
            )

    # -- date-of-birth attempts

    async def throttle(self, clinic_id: UUID, account_id: UUID) -> Throttle:
        row = await self.pool.fetchrow(
            f"""SELECT failures, locked_until FROM {self.schema}.verification_failures
                WHERE clinic_id = $1 AND account_id = $2""",
            clinic_id,
            account_id,
        )
        return Throttle(row["failures"], row["locked_until"]) if row else Throttle(0, None)

    async def record_failure(
        self, clinic_id: UUID, account_id: UUID, max_failures: int, cooldown: timedelta
    ) -> Throttle:
        """Counts a wrong answer; the `max_failures`-th starts a cool-down and a fresh count."""
        row = await self.pool.fetchrow(
            f"""INSERT INTO {self.schema}.verification_failures AS f
                  (clinic_id, account_id, failures)
                VALUES ($1, $2, 1)
                ON CONFLICT (clinic_id, account_id) DO UPDATE SET failures = f.failures + 1
                RETURNING failures""",
            clinic_id,
            account_id,
        )
        if row["failures"] < max_failures:
            return Throttle(row["failures"], None)
        locked = await self.pool.fetchval(
            f"""UPDATE {self.schema}.verification_failures
                SET failures = 0, locked_until = now() + $3::interval
                WHERE clinic_id = $1 AND account_id = $2 RETURNING locked_until""",
            clinic_id,
            account_id,
            cooldown,
        )
        return Throttle(max_failures, locked)

    async def clear_failures(self, clinic_id: UUID, account_id: UUID) -> None:
        await self.pool.execute(
            f"""DELETE FROM {self.schema}.verification_failures
                WHERE clinic_id = $1 AND account_id = $2""",
            clinic_id,
            account_id,
        )

    # -- sessions

    async def open_patient_session(
        self, link_id: UUID, clinic_id: UUID, account_id: UUID
    ) -> tuple[str, Session] | None:
        """Marks the link used and opens a session, or None if the link was used meanwhile."""
        secret = secrets.token_urlsafe(32)
        async with self.pool.acquire() as connection, connection.transaction():
            claimed = await connection.fetchval(
                f"""INSERT INTO {self.schema}.used_links (link_id, clinic_id, account_id)
                    VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING true""",
                link_id,
                clinic_id,
                account_id,
            )
            if not claimed:
                return None
            row = await connection.fetchrow(
                f"""INSERT INTO {self.schema}.sessions (secret_hash, kind, reference, clinic_id,
                        account_id, link_id, csrf_token)
                    VALUES ($1, 'patient', $2, $3, $4, $5, $6) RETURNING *""",
                digest(secret),
                secrets.token_hex(6),
                clinic_id,
                account_id,
                link_id,
                secrets.token_urlsafe(32),
            )
        return secret, Session.of(row)

    async def open_staff_session(self, clinic_id: UUID, staff_token: str) -> tuple[str, Session]:
        secret = secrets.token_urlsafe(32)
        row = await self.pool.fetchrow(
            f"""INSERT INTO {self.schema}.sessions (secret_hash, kind, reference, clinic_id,
                    staff_token, csrf_token)
                VALUES ($1, 'staff', $2, $3, $4, $5) RETURNING *""",
            digest(secret),
            secrets.token_hex(6),
            clinic_id,
            staff_token,
            secrets.token_urlsafe(32),
        )
        return secret, Session.of(row)

    async def touch_session(self, secret: str, kind: str, idle: timedelta) -> Session | None:
        """The live session for this cookie, its idle clock restarted; None if it has ended
        or been idle longer than `idle` (it is then ended for good)."""
        row = await self.pool.fetchrow(
            f"""UPDATE {self.schema}.sessions
                SET last_seen_at = CASE WHEN last_seen_at > now() - $3::interval
                                        THEN now() ELSE last_seen_at END,
                    ended_at = CASE WHEN last_seen_at > now() - $3::interval
                                    THEN NULL ELSE now() END
                WHERE secret_hash = $1 AND kind = $2 AND ended_at IS NULL
                RETURNING *""",
            digest(secret),
            kind,
            idle,
        )
        if row is None or row["ended_at"] is not None:
            return None
        return Session.of(row)

    async def end_session(self, secret: str) -> None:
        await self.pool.execute(
            f"UPDATE {self.schema}.sessions SET ended_at = now() WHERE secret_hash = $1",
            digest(secret),
        )

    # -- plans and autopay the portal set up

    async def remember_arrangement(
        self, clinic_id: UUID, account_id: UUID, kind: str, arrangement_id: UUID
    ) -> None:
        await self.pool.execute(
            f"""INSERT INTO {self.schema}.arrangements (clinic_id, account_id, kind, arrangement_id)
                VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
            clinic_id,
            account_id,
            kind,
            arrangement_id,
        )

    async def arrangements(self, clinic_id: UUID, account_id: UUID, kind: str) -> list[UUID]:
        rows = await self.pool.fetch(
            f"""SELECT arrangement_id FROM {self.schema}.arrangements
                WHERE clinic_id = $1 AND account_id = $2 AND kind = $3
                ORDER BY created_at DESC""",
            clinic_id,
            account_id,
            kind,
        )
        return [row["arrangement_id"] for row in rows]
