"""`/v1/payments`: pay now or on a date, look a payment up, refund it."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from httpapi import Accesses, Staff
from httpapi.problems import PROBLEM_JSON, TYPE_BASE, problem_responses
from payments.api.deps import (
    PATIENT_ACTION,
    READERS,
    REFUNDERS,
    ActingParty,
    IdempotencyKey,
    PaymentsServices,
)
from payments.api.models import PaymentIn, PaymentList, PaymentOut, RefundIn, RefundOut, refund_out
from payments.application import ids
from payments.application.paying import PayRequest
from payments.domain.payment import Payment, Status

router = APIRouter(prefix="/v1/payments", tags=["payments"], dependencies=[ActingParty])

STATUS_CODES = {Status.CAPTURED: 201, Status.PROCESSING: 202, Status.SCHEDULED: 202}


def declined(payment: Payment) -> JSONResponse:
    """A declined charge is a recorded payment (its id is in the answer) that moved no money."""
    return JSONResponse(
        {
            "type": TYPE_BASE + "card-declined",
            "title": "The card was declined",
            "status": 402,
            "detail": payment.decline_code,
            "decline_code": payment.decline_code,
            "payment": PaymentOut.of(payment).model_dump(mode="json"),
        },
        status_code=402,
        media_type=PROBLEM_JSON,
        headers={"Location": f"/v1/payments/{payment.id}"},
    )


@router.post(
    "",
    status_code=201,
    response_model=PaymentOut,
    dependencies=[PATIENT_ACTION],
    responses={
        202: {"model": PaymentOut, "description": "Processing or scheduled"},
        **problem_responses(400, 401, 402, 403, 404, 409, 413, 422),
    },
)
def pay(
    body: PaymentIn, staff: Staff, services: PaymentsServices, access: Accesses, key: IdempotencyKey
) -> Response:
    access.change("billing_account", body.account_id)
    payment_id = ids.for_request(staff.clinic_id, "payment", key, body.model_dump(mode="json"))
    access.change("payment", payment_id)
    payment = services.paying.pay(
        PayRequest(
            clinic_id=staff.clinic_id,
            payment_id=payment_id,
            account_id=body.account_id,
            amount=body.amount,
            currency=body.currency,
            method_id=body.payment_method_id,
            invoice_id=body.invoice_id,
            scheduled_for=body.scheduled_for,
        )
    )
    if payment.status is Status.FAILED:
        return declined(payment)
    return JSONResponse(
        PaymentOut.of(payment).model_dump(mode="json"),
        status_code=STATUS_CODES.get(payment.status, 202),
        headers={"Location": f"/v1/payments/{payment.id}"},
    )


@router.get(
    "/{payment_id}",
    response_model=PaymentOut,
    dependencies=[READERS],
    responses=problem_responses(401, 403, 404, 422),
)
def get_payment(
    payment_id: UUID, staff: Staff, services: PaymentsServices, access: Accesses
) -> PaymentOut:
    access.read("payment", payment_id)
    return PaymentOut.of(services.ctx.app.payment(staff.clinic_id, payment_id))


@router.get(
    "",
    response_model=PaymentList,
    dependencies=[READERS],
    responses=problem_responses(401, 403, 422),
)
def list_payments(
    account_id: Annotated[UUID, Query()],
    staff: Staff,
    services: PaymentsServices,
    access: Accesses,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> PaymentList:
    access.read("billing_account", account_id)
    app = services.ctx.app
    found = services.ctx.reads.payments_of(staff.clinic_id, account_id, limit)
    return PaymentList(items=[PaymentOut.of(app.payment(staff.clinic_id, p)) for p in found])


@router.post(
    "/{payment_id}/refunds",
    status_code=201,
    response_model=RefundOut,
    dependencies=[REFUNDERS],
    responses={
        202: {"model": RefundOut, "description": "Sent to the gateway, outcome not yet known"},
        **problem_responses(400, 401, 403, 404, 409, 413, 422),
    },
)
def refund(
    payment_id: UUID,
    body: RefundIn,
    staff: Staff,
    services: PaymentsServices,
    access: Accesses,
    key: IdempotencyKey,
) -> Response:
    access.change("payment", payment_id)
    refund_id = ids.for_request(
        staff.clinic_id, "refund", key, {"payment_id": str(payment_id), **body.model_dump()}
    )
    payment, refund_id = services.refunds.refund(
        staff.clinic_id, payment_id, refund_id, body.amount, body.reason
    )
    out = refund_out(payment, refund_id)
    status = {"succeeded": 201, "pending": 202}.get(out.status, 409)
    if status == 409:
        return JSONResponse(
            {
                "type": TYPE_BASE + "refund-refused",
                "title": "The gateway refused the refund",
                "status": 409,
                "refund": out.model_dump(mode="json"),
            },
            status_code=409,
            media_type=PROBLEM_JSON,
        )
    return JSONResponse(out.model_dump(mode="json"), status_code=status)
