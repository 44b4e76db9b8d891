"""Composition root of payments: the application, the gateway, the HTTP app, relay and worker."""

from __future__ import annotations

import asyncio
import contextlib
from contextlib import asynccontextmanager
from datetime import timedelta
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg_pool import ConnectionPool

from eventbus import kafka
from eventbus.consumer import OFFSETS_DDL
from eventbus.relay import POSITION_DDL, Leadership, OutboxRelay, RelayPositions
from eventbus.topics import PAYMENTS, ensure_topics
from httpapi import AccessLog, ProblemSpec, create_service_app
from httpapi.access import DDL as ACCESS_LOG_DDL
from httpapi.idempotency import DDL as IDEMPOTENCY_DDL
from httpapi.idempotency import IdempotencyStore
from httpapi.problems import PROBLEM_JSON, TYPE_BASE
from payments.api import methods, payments, plans, webhooks
from payments.application.app import ClinicCalendar, Context, PaymentsApp
from payments.application.services import Services
from payments.domain import errors
from payments.domain.plan import RetryPolicy
from payments.gateway import PaymentGateway
from payments.gateway.metered import MeteredGateway
from payments.gateway.sandbox import DDL as SANDBOX_DDL
from payments.gateway.sandbox import SandboxGateway
from payments.gateway.stripe import StripeGateway, stripe_client
from payments.relay import PaymentContracts
from payments.settings import PaymentsSettings
from payments.store.queries import ReadModel
from payments.store.schema import DDL
from storage import migration_session

DOMAIN_ERRORS = {
    errors.PaymentNotFound: ProblemSpec(404, "payment-not-found", "No such payment"),
    errors.PaymentMethodNotFound: ProblemSpec(
        404, "payment-method-not-found", "No such payment method"
    ),
    errors.PlanNotFound: ProblemSpec(404, "plan-not-found", "No such payment plan"),
    errors.MandateNotFound: ProblemSpec(404, "autopay-not-found", "No such autopay"),
    errors.InvoiceNotOpen: ProblemSpec(404, "invoice-not-open", "No open invoice to pay"),
    errors.InvalidPaymentRequest: ProblemSpec(
        422, "invalid-payment-request", "The request breaks a payments rule"
    ),
    errors.Conflict: ProblemSpec(409, "conflict", "The current state does not allow this"),
    errors.RefundExceedsCaptured: ProblemSpec(
        409, "refund-exceeds-captured", "The refund exceeds what can still be refunded"
    ),
    errors.NotRefundable: ProblemSpec(409, "not-refundable", "This payment cannot be refunded"),
    errors.PaymentNotChargeable: ProblemSpec(
        409, "not-chargeable", "This payment cannot be charged"
    ),
    errors.PlanNotActive: ProblemSpec(409, "plan-not-active", "The payment plan is not active"),
    errors.InvoiceAlreadyInPlan: ProblemSpec(
        409, "invoice-in-plan", "An invoice is already in an active plan"
    ),
    errors.AutopayAlreadyEnabled: ProblemSpec(
        409, "autopay-enabled", "Autopay is already on for this account"
    ),
    errors.PaymentMethodInUse: ProblemSpec(
        409, "payment-method-in-use", "A plan or autopay uses this payment method"
    ),
    errors.PaymentMethodRemoved: ProblemSpec(
        409, "payment-method-removed", "The payment method was removed"
    ),
    errors.GatewayUnavailable: ProblemSpec(
        503, "gateway-unavailable", "The payment gateway did not answer; retry"
    ),
}
WEBHOOK_PATH = "/v1/webhooks/stripe"


def build_context(settings: PaymentsSettings) -> Context:
    app = PaymentsApp(env=settings.eventsourcing_env())
    # One pool per process for the event store, the read model and the sandbox: connections to
    # the shared PostgreSQL are the scarce resource, and no code holds two at once.
    pool = app.recorder.datastore.pool
    return Context(
        app=app,
        gateway=build_gateway(settings, pool),
        reads=ReadModel(pool, settings.payments_db_schema),
        calendar=ClinicCalendar(ZoneInfo(settings.payments_clinic_timezone)),
        retry_policy=RetryPolicy(settings.retry_after),
        resolve_after=timedelta(seconds=settings.payments_resolve_after_seconds),
    )


def build_gateway(settings: PaymentsSettings, pool: ConnectionPool) -> PaymentGateway:
    return MeteredGateway(_gateway_adapter(settings, pool))


def _gateway_adapter(settings: PaymentsSettings, pool: ConnectionPool) -> PaymentGateway:
    if settings.gateway == "sandbox":
        return SandboxGateway(pool, settings.payments_sandbox_schema)
    assert settings.stripe_secret_key is not None
    client = stripe_client(
        settings.stripe_secret_key.get_secret_value(),
        settings.stripe_api_base,
        settings.stripe_timeout_seconds,
    )
    return StripeGateway(client)


def close_context(ctx: Context) -> None:
    ctx.app.close()


async def migrate(settings: PaymentsSettings) -> None:
    """Create the schema and tables; safe to run from every replica at once."""
    schema = settings.payments_db_schema
    async with migration_session(settings.database, f"payments:{schema}") as connection:
        await connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await asyncio.to_thread(_create_event_tables, settings)
        for ddl in (DDL, POSITION_DDL, IDEMPOTENCY_DDL, ACCESS_LOG_DDL, OFFSETS_DDL):
            await connection.execute(ddl.format(schema=schema))
        if settings.gateway == "sandbox":
            await connection.execute(SANDBOX_DDL.format(schema=settings.payments_sandbox_schema))


def _create_event_tables(settings: PaymentsSettings) -> None:
    PaymentsApp(env=settings.eventsourcing_env() | {"CREATE_TABLE": "yes"}).close()


async def _declined(_: Request, error: errors.CardDeclined) -> JSONResponse:
    return JSONResponse(
        {
            "type": TYPE_BASE + "card-declined",
            "title": "The card was declined",
            "status": 402,
            "detail": error.decline_code,
            "decline_code": error.decline_code,
        },
        status_code=402,
        media_type=PROBLEM_JSON,
    )


def create_http_app(settings: PaymentsSettings) -> FastAPI:
    ctx = build_context(settings)
    schema = settings.payments_db_schema

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.pool = await asyncpg.create_pool(
            settings.database.asyncpg_dsn(), min_size=1, max_size=4
        )
        app.state.idempotency_store = IdempotencyStore(
            app.state.pool,
            schema,
            lease=timedelta(seconds=settings.payments_idempotency_lease_seconds),
        )
        app.state.access_log = AccessLog(app.state.pool, schema)
        try:
            yield
        finally:
            await app.state.pool.close()
            close_context(ctx)

    async def database_ready() -> None:
        await app.state.pool.fetchval("SELECT 1")

    app = create_service_app(
        title="clinicpay payments",
        token_codec=settings.token_codec(),
        readiness={"postgres": database_ready},
        domain_errors=DOMAIN_ERRORS,
        lifespan=lifespan,
        idempotency="required",
        idempotency_exempt=(WEBHOOK_PATH,),
    )
    app.add_exception_handler(errors.CardDeclined, _declined)
    app.state.services = Services.over(ctx)
    secret = settings.stripe_webhook_secret
    app.state.stripe_webhook_secret = secret.get_secret_value() if secret else None
    for module in (methods, payments, plans, webhooks):
        app.include_router(module.router)
    return app


async def run_relay(settings: PaymentsSettings, stop: asyncio.Event) -> None:
    app = PaymentsApp(env=settings.eventsourcing_env())
    await ensure_topics(settings.kafka_bootstrap_servers, partitions=settings.topic_partitions)
    pool = await asyncpg.create_pool(settings.database.asyncpg_dsn(), min_size=1, max_size=2)
    producer = kafka.producer(settings.kafka_bootstrap_servers)
    await producer.start()
    leadership = Leadership(
        settings.database.asyncpg_dsn(), f"payments:{settings.payments_db_schema}"
    )
    relay = OutboxRelay(
        name="payments",
        recorder=app.recorder,
        mapper=app.mapper,
        to_envelope=PaymentContracts(app),
        topic=PAYMENTS,
        producer=producer,
        positions=RelayPositions(pool, settings.payments_db_schema),
    )
    try:
        await relay.run(stop, leadership)
    finally:
        await leadership.release()
        await producer.stop()
        await pool.close()
        app.close()


async def run_worker(settings: PaymentsSettings, stop: asyncio.Event) -> None:
    from payments.worker import consume, resolve_due_work

    ctx = build_context(settings)
    services = Services.over(ctx)
    await ensure_topics(settings.kafka_bootstrap_servers, partitions=settings.topic_partitions)
    resolving = asyncio.create_task(
        resolve_due_work(services, stop, settings.payments_work_interval_seconds)
    )
    consuming = asyncio.create_task(consume(settings, stop))
    try:
        await asyncio.wait(
            {consuming, asyncio.create_task(stop.wait())}, return_when="FIRST_COMPLETED"
        )
        # A consumer still connecting to an absent broker never looks at `stop`: cut it short.
        await asyncio.wait({consuming}, timeout=10)
        consuming.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consuming
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await resolving
        close_context(ctx)
