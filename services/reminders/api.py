"""HTTP: the clinic's reminder policy, the dev mailbox, notices that failed, and the short
links SMS carry. Every query is scoped to the caller's clinic."""

from __future__ import annotations

from contextlib import asynccontextmanager
from datetime import time
from typing import Annotated, Literal
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from httpapi import Accesses, Staff, create_service_app, require_roles
from httpapi.access import AccessLog
from httpapi.problems import ProblemSpec, problem_responses
from reminders.delivery import phone_digest
from reminders.directory import DirectoryUnavailable, InvoicingDirectory
from reminders.mailbox import list_messages
from reminders.planning import replan_clinic_invoices
from reminders.policy import InvalidPolicy, QuietHours, ReminderPolicy, Step
from reminders.settings import RemindersSettings
from reminders.sms import keyword, signature_is_valid
from reminders.store import clinic_profile, policy_for, save_policy, zone_of

ADMIN = require_roles("admin")
STAFF = require_roles("billing", "finance", "admin")
BILLING = require_roles("billing", "admin")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepIn(Strict):
    step: Annotated[str, Field(max_length=8, examples=["due+7"])]
    channels: Annotated[list[Literal["email", "sms"]], Field(min_length=1, max_length=2)]


class QuietHoursIn(Strict):
    send_after: time = time(8)
    send_before: time = time(20)


class PolicyIn(Strict):
    steps: Annotated[list[StepIn], Field(max_length=12)]
    quiet_hours: QuietHoursIn = QuietHoursIn()
    floor_amount: Annotated[int | None, Field(ge=0, le=10_000_000)] = None

    def to_policy(self) -> ReminderPolicy:
        return ReminderPolicy(
            steps=tuple(Step(s.step, tuple(s.channels)) for s in self.steps),
            quiet_hours=QuietHours(self.quiet_hours.send_after, self.quiet_hours.send_before),
            floor_amount=self.floor_amount,
        ).check()


class StepOut(BaseModel):
    step: str
    kind: str
    channels: list[str]


class PolicyOut(BaseModel):
    steps: list[StepOut]
    quiet_hours: dict[str, str]
    floor_amount: int | None
    timezone: str | None = None

    @classmethod
    def of(cls, policy: ReminderPolicy, timezone: str | None) -> PolicyOut:
        document = policy.to_json()
        return cls(
            steps=[
                StepOut(step=s.name, kind=s.kind, channels=list(s.channels)) for s in policy.steps
            ],
            quiet_hours=document["quiet_hours"],
            floor_amount=policy.floor_amount,
            timezone=timezone,
        )


class MessageOut(BaseModel):
    id: UUID
    account_id: UUID
    kind: str
    channel: str
    to: str
    subject: str | None
    text: str
    html: str | None
    link: str | None
    created_at: str


class MailboxOut(BaseModel):
    messages: list[MessageOut]


class NotificationOut(BaseModel):
    notification_id: UUID
    account_id: UUID
    kind: str
    channel: str
    subject_type: str
    subject_id: str
    status: str
    attempts: int
    failure_code: str | None
    created_at: str


def _pool(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


def _directory(request: Request) -> InvoicingDirectory:
    return request.app.state.directory


Pool = Annotated[asyncpg.Pool, Depends(_pool)]
Directory = Annotated[InvoicingDirectory, Depends(_directory)]
router = APIRouter(tags=["reminders"])


@router.get(
    "/v1/reminder-policy",
    response_model=PolicyOut,
    dependencies=[STAFF],
    responses=problem_responses(401, 403),
)
async def get_policy(staff: Staff, db: Pool) -> PolicyOut:
    """The clinic's policy; the default (six steps, 08:00-20:00, no floor) until saved."""
    timezone = await db.fetchval(
        "SELECT timezone FROM reminders.clinics WHERE clinic_id = $1", staff.clinic_id
    )
    async with db.acquire() as connection:
        return PolicyOut.of(await policy_for(connection, staff.clinic_id), timezone)


@router.put(
    "/v1/reminder-policy",
    response_model=PolicyOut,
    dependencies=[ADMIN],
    responses=problem_responses(401, 403, 422, 503),
)
async def put_policy(body: PolicyIn, staff: Staff, db: Pool, directory: Directory) -> PolicyOut:
    """Replaces the policy; the steps not yet sent of every open invoice follow it."""
    policy = body.to_policy()
    async with db.acquire() as connection, connection.transaction():
        try:
            profile = await clinic_profile(connection, directory, staff.clinic_id)
        except DirectoryUnavailable:
            raise HTTPException(503, "the clinic's timezone is not known yet; try again") from None
        await save_policy(connection, staff.clinic_id, policy, staff.subject)
        await replan_clinic_invoices(connection, staff.clinic_id, policy, zone_of(profile))
    return PolicyOut.of(policy, profile.timezone)


@router.get(
    "/v1/mailbox",
    response_model=MailboxOut,
    dependencies=[STAFF],
    responses=problem_responses(401, 403, 422),
)
async def mailbox(
    staff: Staff,
    db: Pool,
    access: Accesses,
    account_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MailboxOut:
    """The dev mailbox: every message the mailbox notifier delivered, newest first."""
    access.read("mailbox", account_id or "clinic")
    messages = await list_messages(db, staff.clinic_id, account_id, limit)
    return MailboxOut(messages=[MessageOut(**m) for m in messages])


@router.get(
    "/v1/notifications",
    response_model=list[NotificationOut],
    dependencies=[BILLING],
    responses=problem_responses(401, 403, 422),
)
async def notifications(
    staff: Staff,
    db: Pool,
    access: Accesses,
    status: Literal["pending", "sent", "failed", "skipped"] | None = None,
    account_id: UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[NotificationOut]:
    """Notices and how they went: `status=failed` lists the ones nobody received."""
    access.read("notifications", account_id or "clinic")
    rows = await db.fetch(
        """SELECT notification_id, account_id, kind, channel, subject_type, subject_id, status,
                  attempts, failure_code, created_at
           FROM reminders.notifications
           WHERE clinic_id = $1 AND ($2::text IS NULL OR status = $2)
             AND ($3::uuid IS NULL OR account_id = $3)
           ORDER BY created_at DESC LIMIT $4""",
        staff.clinic_id,
        status,
        account_id,
        limit,
    )
    return [NotificationOut(**{**dict(r), "created_at": r["created_at"].isoformat()}) for r in rows]


@router.get("/s/{code}", include_in_schema=False)
async def short_link(code: Annotated[str, Field(max_length=32)], db: Pool) -> RedirectResponse:
    target = await db.fetchval(
        "SELECT target FROM reminders.short_links WHERE code = $1 AND expires_at > now()", code
    )
    if target is None:
        raise HTTPException(404, "this link is unknown or has expired")
    return RedirectResponse(target, status_code=303)


@router.post("/v1/sms/inbound", include_in_schema=False)
async def sms_inbound(request: Request, db: Pool) -> Response:
    """The SMS provider's webhook for replies: STOP opts the number out, START back in.
    Signed like Twilio's (`X-Twilio-Signature`); unsigned only on the embedded default."""
    settings: RemindersSettings = request.app.state.settings
    form = {key: str(value) for key, value in (await request.form()).items()}
    if settings.sms_auth_token:
        url = f"{settings.reminders_url.rstrip('/')}{request.url.path}"
        given = request.headers.get("X-Twilio-Signature", "")
        if not signature_is_valid(settings.sms_auth_token.get_secret_value(), url, form, given):
            raise HTTPException(403, "the signature does not match")
    elif not settings.embedded:
        raise HTTPException(404, "SMS replies are not configured")
    sender, word = form.get("From"), keyword(form.get("Body", ""))
    if sender and word:
        digest = phone_digest(settings.digest_key(), sender)
        if word == "stop":
            await db.execute(
                """INSERT INTO reminders.sms_opt_outs (phone_digest) VALUES ($1)
                   ON CONFLICT DO NOTHING""",
                digest,
            )
        else:
            await db.execute("DELETE FROM reminders.sms_opt_outs WHERE phone_digest = $1", digest)
    return Response("<Response/>", media_type="application/xml")


def create_http_app(settings: RemindersSettings) -> FastAPI:
    dsn = settings.database.asyncpg_dsn()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.pool = await asyncpg.create_pool(dsn, min_size=1, max_size=4)
        app.state.access_log = AccessLog(app.state.pool, "reminders")
        app.state.directory = InvoicingDirectory(settings.invoicing_url, settings.service_token)
        app.state.settings = settings
        try:
            yield
        finally:
            await app.state.directory.close()
            await app.state.pool.close()

    async def database_ready() -> None:
        await app.state.pool.fetchval("SELECT 1")

    app = create_service_app(
        title="clinicpay reminders",
        token_codec=settings.token_codec(),
        readiness={"postgres": database_ready},
        domain_errors={InvalidPolicy: ProblemSpec(422, "invalid-policy", "The policy is invalid")},
        lifespan=lifespan,
        idempotency="off",
    )
    app.include_router(router)
    return app
