"""Queueing a notice: one row per channel, delivered later by the delivery loop.

The rows hold ids, amounts and dates only; the words and the address are put together at
delivery, from the templates and from invoicing, and kept nowhere but the dev mailbox.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence

from contracts import Envelope

NOTICE_NAMESPACE = uuid.UUID("5c1e0b7a-93d4-5f2a-a1e8-0d4b6c7f9e21")


def notification_id(source_id: uuid.UUID, channel: str) -> uuid.UUID:
    return uuid.uuid5(NOTICE_NAMESPACE, f"{source_id}/{channel}")


async def queue_notices(
    connection,
    envelope: Envelope,
    *,
    kind: str,
    subject_type: str,
    subject_id: str,
    facts: dict,
    channels: Sequence[str],
    source_id: uuid.UUID,
    reminder_id: uuid.UUID | None = None,
) -> None:
    """A row for e-mail and one for SMS; `channels` are the ones the clinic asked for, and
    delivery uses another only if the guarantor cannot be reached on any of those."""
    document = json.dumps({**facts, "wanted": list(channels)})
    await connection.executemany(
        """INSERT INTO reminders.notifications
               (notification_id, reminder_id, clinic_id, account_id, kind, channel,
                subject_type, subject_id, facts)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
           ON CONFLICT (notification_id) DO NOTHING""",
        [
            (
                notification_id(source_id, channel),
                reminder_id,
                envelope.clinic_id,
                envelope.account_id,
                kind,
                channel,
                subject_type,
                subject_id,
                document,
            )
            for channel in ("email", "sms")
        ],
    )
