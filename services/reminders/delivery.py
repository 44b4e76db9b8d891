"""Delivering queued notices: claim a few (`FOR UPDATE SKIP LOCKED`, then a lease so the
sending happens outside any transaction), fetch the contact, render, send, record.

A failure is tried again with exponential backoff; after `max_attempts`, or at once when the
adapter says trying again cannot help, the notice is `failed` - listed for staff at
`GET /v1/notifications?status=failed` - and `NotificationFailed` is published. A worker that
dies mid-send leaves the lease to expire and the notice is tried again (at-least-once).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import asyncpg
import structlog

from auth import LinkCodec
from contracts import contract_named, make_envelope
from eventbus.topics import REMINDERS
from reminders.directory import AccountGone, Contact, DirectoryUnavailable, InvoicingDirectory
from reminders.notices import Facts, render_email, render_sms
from reminders.notifiers import DeliveryFailed, Message, Notifier
from reminders.store import clinic_profile, enqueue
from telemetry.metrics import record_reminder_sent

log = structlog.get_logger("reminders.delivery")

SENT = contract_named("reminders", "NotificationSent")
FAILED = contract_named("reminders", "NotificationFailed")
LEASE = timedelta(seconds=60)

CLAIM = """
UPDATE reminders.notifications SET lease_until = now() + $2::interval, attempts = attempts + 1
WHERE notification_id IN (
    SELECT notification_id FROM reminders.notifications
    WHERE status = 'pending' AND next_attempt_at <= now()
      AND (lease_until IS NULL OR lease_until < now())
    ORDER BY next_attempt_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED)
RETURNING *
"""


def phone_digest(key: bytes, phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    return hmac.new(key, digits.encode(), hashlib.sha256).hexdigest()


@dataclass
class Delivery:
    pool: asyncpg.Pool
    directory: InvoicingDirectory
    notifiers: dict[str, Notifier]
    links: LinkCodec
    portal_url: str
    short_link_base: str
    digest_key: bytes
    max_attempts: int = 5
    retry_base_seconds: float = 30.0
    concurrency: int = 8

    async def deliver_due(self, batch: int = 50) -> int:
        """A batch is sent `concurrency` at a time; each account's contact is asked for once
        per batch (its e-mail and SMS rows share the answer), and kept for no longer."""
        rows = await self.pool.fetch(CLAIM, batch, LEASE)
        contacts: dict[tuple, asyncio.Future] = {}
        slots = asyncio.Semaphore(self.concurrency)

        def contact_of(row) -> asyncio.Future:
            key = (row["clinic_id"], row["account_id"])
            if key not in contacts:
                contacts[key] = asyncio.ensure_future(self.directory.contact(*key))
            return contacts[key]

        async def one(row) -> None:
            async with slots:
                await self.deliver(row, contact_of(row))

        await asyncio.gather(*(one(row) for row in rows))
        return len(rows)

    async def deliver(self, row, contact_lookup: Awaitable[Contact]) -> None:
        facts = json.loads(row["facts"])
        try:
            contact = await contact_lookup
        except DirectoryUnavailable:
            return await self.failed(row, DeliveryFailed("contacts_unavailable", False))
        except AccountGone:
            return await self.failed(row, DeliveryFailed("account_not_found", True))
        except Exception as error:  # an answer we did not expect: try again later
            return await self.failed(row, DeliveryFailed(type(error).__name__, False))
        reason = await self.not_for_this_channel(row, contact, facts.get("wanted", ["email"]))
        if reason:
            return await self.settle(row, "skipped", reason)
        try:
            message = await self.compose(row, facts, contact)
            await self.notifiers[row["channel"]].send(message)
        except DeliveryFailed as failure:
            return await self.failed(row, failure)
        except Exception as error:  # an adapter's bug or an unexpected answer: try again
            log.warning("notification.error", error=type(error).__name__)
            return await self.failed(row, DeliveryFailed(type(error).__name__, False))
        await self.sent(row, message)

    async def not_for_this_channel(self, row, contact: Contact, wanted: list[str]) -> str | None:
        channel = row["channel"]
        if not contact.reachable(channel):
            return "not_reachable"
        if channel not in wanted and any(contact.reachable(c) for c in wanted):
            return "not_wanted"
        if channel == "sms" and await self.pool.fetchval(
            "SELECT true FROM reminders.sms_opt_outs WHERE phone_digest = $1",
            phone_digest(self.digest_key, contact.address("sms")),
        ):
            return "opted_out"
        return None

    async def compose(self, row, facts: dict, contact: Contact) -> Message:
        async with self.pool.acquire() as connection:
            profile = await clinic_profile(connection, self.directory, row["clinic_id"])
        token = self.links.mint(clinic_id=row["clinic_id"], account_id=row["account_id"])
        link = f"{self.portal_url.rstrip('/')}/l/{token}"
        due = facts.get("due_date") or facts.get("period_start")
        content = Facts(
            clinic_name=profile.name,
            amount=facts.get("amount_due", facts.get("amount")),
            currency=facts.get("currency"),
            due_date=date.fromisoformat(due) if due else None,
            link=link,
        )
        await self.pool.execute(
            "UPDATE reminders.notifications SET link_id = $2 WHERE notification_id = $1",
            row["notification_id"],
            self.links.verify(token).link_id,
        )
        if row["channel"] == "sms":
            short = await self.shorten(row, link)
            text = render_sms(row["kind"], Facts(**{**vars(content), "link": short}))
            return self._message(row, contact, None, text, None, link)
        email = render_email(row["kind"], content)
        return self._message(row, contact, email.subject, email.text, email.html, link)

    async def shorten(self, row, link: str) -> str:
        """An SMS has no room for a signed token: it carries a short code that redirects."""
        code = row["notification_id"].hex[:12]
        await self.pool.execute(
            """INSERT INTO reminders.short_links (code, target, expires_at)
               VALUES ($1, $2, now() + interval '14 days')
               ON CONFLICT (code) DO UPDATE SET target = EXCLUDED.target,
                   expires_at = EXCLUDED.expires_at""",
            code,
            link,
        )
        return f"{self.short_link_base.rstrip('/')}/s/{code}"

    def _message(self, row, contact, subject, text, html, link) -> Message:
        return Message(
            notification_id=row["notification_id"],
            clinic_id=row["clinic_id"],
            account_id=row["account_id"],
            kind=row["kind"],
            channel=row["channel"],
            to=contact.address(row["channel"]),
            subject=subject,
            text=text,
            html=html,
            link=link,
        )

    async def sent(self, row, message: Message) -> None:
        now = datetime.now(UTC)
        async with self.pool.acquire() as connection, connection.transaction():
            await self._set_status(connection, row, "sent", None)
            await enqueue(connection, REMINDERS, self._event(SENT, row, 1, {"sent_at": now}))
        log.info("notification.sent", **_ids(row))
        record_reminder_sent(row["kind"], row["channel"])

    async def failed(self, row, failure: DeliveryFailed) -> None:
        permanent = failure.permanent or row["attempts"] >= self.max_attempts
        async with self.pool.acquire() as connection, connection.transaction():
            if not permanent:
                delay = self.retry_base_seconds * 2 ** (row["attempts"] - 1)
                await connection.execute(
                    """UPDATE reminders.notifications SET failure_code = $2, lease_until = NULL,
                           next_attempt_at = now() + $3::interval
                       WHERE notification_id = $1""",
                    row["notification_id"],
                    failure.code,
                    timedelta(seconds=delay),
                )
            else:
                await self._set_status(connection, row, "failed", failure.code)
                body = {
                    "failed_at": datetime.now(UTC),
                    "failure_code": failure.code,
                    "permanent": True,
                    "attempts": row["attempts"],
                }
                await enqueue(connection, REMINDERS, self._event(FAILED, row, 2, body))
        log.warning(
            "notification.failed",
            code=failure.code,
            permanent=permanent,
            attempts=row["attempts"],
            **_ids(row),
        )

    async def settle(self, row, status: str, reason: str) -> None:
        async with self.pool.acquire() as connection:
            await self._set_status(connection, row, status, reason)
        log.info("notification.skipped", reason=reason, **_ids(row))

    @staticmethod
    async def _set_status(connection, row, status: str, code: str | None) -> None:
        await connection.execute(
            """UPDATE reminders.notifications
               SET status = $2, failure_code = $3, settled_at = now(), lease_until = NULL
               WHERE notification_id = $1""",
            row["notification_id"],
            status,
            code,
        )

    @staticmethod
    def _event(contract, row, sequence: int, extra: dict):
        data = {
            "notification_id": str(row["notification_id"]),
            "account_id": str(row["account_id"]),
            "kind": row["kind"],
            "channel": row["channel"],
            "subject_type": row["subject_type"],
            "subject_id": row["subject_id"],
            **({"reminder_id": str(row["reminder_id"])} if row["reminder_id"] else {}),
            **{k: v.isoformat() if isinstance(v, datetime) else v for k, v in extra.items()},
        }
        return make_envelope(
            event_type=contract.type,
            aggregate_id=row["notification_id"],
            sequence=sequence,
            clinic_id=row["clinic_id"],
            account_id=row["account_id"],
            data=contract.model.model_validate(data),
            time=datetime.now(UTC),
            correlation_id=f"notification-{row['notification_id']}",
        )


def _ids(row) -> dict:
    return {
        "notification_id": str(row["notification_id"]),
        "kind": row["kind"],
        "channel": row["channel"],
        "subject_type": row["subject_type"],
    }
