"""`/v1/payment-methods`: save a tokenised card, list an account's cards, remove one."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from httpapi import Accesses, Staff
from httpapi.problems import problem_responses
from payments.api.deps import PATIENT_ACTION, READERS, ActingParty, IdempotencyKey, PaymentsServices
from payments.api.models import PaymentMethodIn, PaymentMethodList, PaymentMethodOut
from payments.application import ids

router = APIRouter(
    prefix="/v1/payment-methods", tags=["payment methods"], dependencies=[ActingParty]
)


@router.post(
    "",
    status_code=201,
    response_model=PaymentMethodOut,
    dependencies=[PATIENT_ACTION],
    responses=problem_responses(400, 401, 402, 403, 409, 413, 422, 503),
)
def save_payment_method(
    body: PaymentMethodIn,
    staff: Staff,
    services: PaymentsServices,
    access: Accesses,
    key: IdempotencyKey,
    response: Response,
) -> PaymentMethodOut:
    access.change("billing_account", body.account_id)
    method_id = ids.for_request(
        staff.clinic_id, "payment-method", key, body.model_dump(mode="json")
    )
    method = services.methods.save(
        staff.clinic_id, method_id, body.account_id, body.token, body.make_default
    )
    access.change("payment_method", method.id)
    response.headers["Location"] = f"/v1/payment-methods/{method.id}"
    return PaymentMethodOut(
        id=method.id,
        account_id=method.account_id,
        gateway=method.gateway,
        brand=method.brand,
        last4=method.last4,
        exp_month=method.exp_month,
        exp_year=method.exp_year,
        is_default=method.is_default,
    )


@router.get(
    "",
    response_model=PaymentMethodList,
    dependencies=[READERS],
    responses=problem_responses(401, 403, 422),
)
def list_payment_methods(
    account_id: Annotated[UUID, Query()], staff: Staff, services: PaymentsServices, access: Accesses
) -> PaymentMethodList:
    access.read("billing_account", account_id)
    rows = services.methods.listed(staff.clinic_id, account_id)
    return PaymentMethodList(
        items=[
            PaymentMethodOut(
                id=row["method_id"],
                account_id=account_id,
                gateway=row["gateway"],
                brand=row["brand"],
                last4=row["last4"],
                exp_month=row["exp_month"],
                exp_year=row["exp_year"],
                is_default=row["is_default"],
            )
            for row in rows
        ]
    )


@router.delete(
    "/{method_id}",
    status_code=204,
    dependencies=[PATIENT_ACTION],
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
def remove_payment_method(
    method_id: UUID, staff: Staff, services: PaymentsServices, access: Accesses
) -> Response:
    access.change("payment_method", method_id)
    services.methods.remove(staff.clinic_id, method_id)
    return Response(status_code=204)
