"""`POST /v1/webhooks/stripe`: Stripe's events, accepted only with a valid, fresh signature.

The signature is checked over the raw bytes before anything parses them; a tampered or
stale (older than the tolerance) event is refused with 400 and changes nothing.
"""

from __future__ import annotations

import json

import stripe
import structlog
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from httpapi import Accesses
from httpapi.problems import problem_response

log = structlog.get_logger("payments.webhooks")
router = APIRouter(tags=["webhooks"])
TOLERANCE_SECONDS = 300
MAX_BYTES = 64 * 1024


@router.post("/v1/webhooks/stripe", include_in_schema=True, responses={400: {}, 404: {}})
async def stripe_webhook(request: Request, access: Accesses) -> JSONResponse:
    secret: str | None = request.app.state.stripe_webhook_secret
    if not secret:
        return problem_response(404, "not-found", "Not found", "no Stripe webhook is configured")
    payload = await request.body()
    signature = request.headers.get("stripe-signature")
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"), signature or "", secret, tolerance=TOLERANCE_SECONDS
        )
        event = json.loads(payload)
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError):
        log.warning("webhook.refused", reason="signature")
        return problem_response(400, "signature-invalid", "The Stripe-Signature does not verify")
    if not isinstance(event, dict):
        return problem_response(400, "bad-request", "A webhook event is a JSON object")
    request.state.actor = "gateway:stripe"
    payment = await run_in_threadpool(request.app.state.services.webhooks.handle, event)
    if payment is not None:
        request.state.clinic_id = payment.clinic_id
        access.change("payment", payment.id)
    return JSONResponse({"received": True})
