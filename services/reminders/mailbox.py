"""Reading the dev mailbox, newest first, for `clinicpay mailbox` and GET /v1/mailbox."""

from __future__ import annotations

from uuid import UUID

import asyncpg


async def list_messages(
    connection: asyncpg.Connection | asyncpg.Pool,
    clinic_id: UUID | None,
    account_id: UUID | None,
    limit: int = 50,
) -> list[dict]:
    rows = await connection.fetch(
        """SELECT id, account_id, kind, channel, recipient, subject, text_body, html_body, link,
                  created_at
           FROM reminders.mailbox
           WHERE ($1::uuid IS NULL OR clinic_id = $1) AND ($2::uuid IS NULL OR account_id = $2)
           ORDER BY created_at DESC, id LIMIT $3""",
        clinic_id,
        account_id,
        limit,
    )
    return [
        {
            "id": str(r["id"]),
            "account_id": str(r["account_id"]),
            "kind": r["kind"],
            "channel": r["channel"],
            "to": r["recipient"],
            "subject": r["subject"],
            "text": r["text_body"],
            "html": r["html_body"],
            "link": r["link"],
            "created_at": r["created_at"].isoformat(),
        }
        for r in rows
    ]
