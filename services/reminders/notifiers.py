"""The Notifier port and its adapters: the dev mailbox (a table a person can read), SMTP,
and an SMS provider over HTTP. An adapter raises `DeliveryFailed`, saying whether trying
again could help; it never logs the address or the words."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Protocol

import asyncpg


@dataclass(frozen=True)
class Message:
    notification_id: uuid.UUID
    clinic_id: uuid.UUID
    account_id: uuid.UUID
    kind: str
    channel: str  # email or sms
    to: str
    subject: str | None
    text: str
    html: str | None
    link: str


class DeliveryFailed(Exception):
    def __init__(self, code: str, permanent: bool) -> None:
        super().__init__(code)
        self.code = code[:64]
        self.permanent = permanent


class Notifier(Protocol):
    async def send(self, message: Message) -> None: ...


class MailboxNotifier:
    """Keeps every message in `reminders.mailbox`: `clinicpay mailbox`, GET /v1/mailbox."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def send(self, message: Message) -> None:
        await self.pool.execute(
            """INSERT INTO reminders.mailbox (id, notification_id, clinic_id, account_id, kind,
                   channel, recipient, subject, text_body, html_body, link)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
               ON CONFLICT (notification_id) DO NOTHING""",
            uuid.uuid4(),
            message.notification_id,
            message.clinic_id,
            message.account_id,
            message.kind,
            message.channel,
            message.to,
            message.subject,
            message.text,
            message.html,
            message.link,
        )
