"""The FastAPI application every service starts from."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from fastapi import FastAPI

from auth import TokenCodec
from httpapi.access import AccessLogMiddleware
from httpapi.health import ReadinessCheck, health_router
from httpapi.idempotency import IdempotencyMiddleware
from httpapi.limits import BodyLimitMiddleware
from httpapi.metrics import metrics_router
from httpapi.problems import ProblemSpec, install_problem_handlers
from httpapi.tracing import CorrelationMiddleware


def create_service_app(
    *,
    title: str,
    token_codec: TokenCodec,
    readiness: Mapping[str, ReadinessCheck],
    domain_errors: Mapping[type[Exception], ProblemSpec],
    lifespan=None,
    idempotency: str = "optional",
    idempotency_exempt: Collection[str] = (),
) -> FastAPI:
    """`idempotency`: "required", "optional" (POSTs with a key are deduplicated) or "off";
    `idempotency_exempt` lists paths whose callers cannot send a key (webhooks).

    With idempotency on, `app.state.idempotency_store` must be set before serving, and
    `app.state.access_log` always: routes record the patient records they touch.
    """
    app = FastAPI(title=title, version="1", lifespan=lifespan)
    app.state.token_codec = token_codec
    app.add_middleware(AccessLogMiddleware)
    if idempotency != "off":
        app.add_middleware(
            IdempotencyMiddleware,
            required=idempotency == "required",
            exempt_paths=tuple(idempotency_exempt),
        )
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(CorrelationMiddleware)
    install_problem_handlers(app, domain_errors)
    app.include_router(health_router(readiness))
    app.include_router(metrics_router())
    return app
