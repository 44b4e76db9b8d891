"""Rows reminders keeps beside its schedule: clinic profiles, policies, the outbox."""

from __future__ import annotations

import json
from datetime import timedelta
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg

from contracts import Envelope
from reminders.directory import ClinicProfile, DirectoryUnavailable, InvoicingDirectory
from reminders.policy import ReminderPolicy

PROFILE_FRESH_FOR = timedelta(hours=1)


def zone_of(profile: ClinicProfile) -> ZoneInfo:
    try:
        return ZoneInfo(profile.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


async def clinic_profile(
    connection: asyncpg.Connection, directory: InvoicingDirectory, clinic_id: UUID
) -> ClinicProfile:
    """The cached profile while fresh; else invoicing's, falling back to a stale copy."""
    row = await connection.fetchrow(
        """SELECT name, timezone, now() - fetched_at < $2 AS fresh
           FROM reminders.clinics WHERE clinic_id = $1""",
        clinic_id,
        PROFILE_FRESH_FOR,
    )
    if row is not None and row["fresh"]:
        return ClinicProfile(row["name"], row["timezone"])
    try:
        profile = await directory.clinic(clinic_id)
    except DirectoryUnavailable:
        if row is None:
            raise
        return ClinicProfile(row["name"], row["timezone"])
    await connection.execute(
        """INSERT INTO reminders.clinics (clinic_id, name, timezone) VALUES ($1, $2, $3)
           ON CONFLICT (clinic_id) DO UPDATE
           SET name = EXCLUDED.name, timezone = EXCLUDED.timezone, fetched_at = now()""",
        clinic_id,
        profile.name,
        profile.timezone,
    )
    return profile


async def policy_for(connection: asyncpg.Connection, clinic_id: UUID) -> ReminderPolicy:
    document = await connection.fetchval(
        "SELECT policy FROM reminders.policies WHERE clinic_id = $1", clinic_id
    )
    return ReminderPolicy.from_json(json.loads(document)) if document else ReminderPolicy()


async def save_policy(
    connection: asyncpg.Connection, clinic_id: UUID, policy: ReminderPolicy, by: str
) -> None:
    await connection.execute(
        """INSERT INTO reminders.policies (clinic_id, policy, updated_by) VALUES ($1, $2, $3)
           ON CONFLICT (clinic_id) DO UPDATE
           SET policy = EXCLUDED.policy, updated_by = EXCLUDED.updated_by, updated_at = now()""",
        clinic_id,
        json.dumps(policy.to_json()),
        by,
    )


async def enqueue(connection: asyncpg.Connection, topic: str, envelope: Envelope) -> None:
    """Into the outbox, in the caller's transaction; a repeat of the same event is dropped."""
    await connection.execute(
        """INSERT INTO reminders.outbox (event_id, topic, key, value) VALUES ($1, $2, $3, $4)
           ON CONFLICT (event_id) DO NOTHING""",
        envelope.id,
        topic,
        envelope.key,
        envelope.encode(),
    )


async def first_delivery(connection: asyncpg.Connection, event_id: UUID) -> bool:
    inserted = await connection.fetchval(
        """INSERT INTO reminders.inbox (event_id) VALUES ($1)
           ON CONFLICT DO NOTHING RETURNING true""",
        event_id,
    )
    return bool(inserted)
