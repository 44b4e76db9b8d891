"""`/v1/payment-plans` and `/v1/autopay`: installments and weekly charges of the balance."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Response

from httpapi import Accesses, Staff
from httpapi.problems import problem_responses
from payments.api.deps import PATIENT_ACTION, READERS, ActingParty, IdempotencyKey, PaymentsServices
from payments.api.models import AutopayIn, AutopayOut, PlanIn, PlanOut
from payments.application import ids
from payments.application.plans import PlanRequest
from payments.domain.schedule import Interval

router = APIRouter(tags=["payment plans", "autopay"], dependencies=[ActingParty])


@router.post(
    "/v1/payment-plans",
    status_code=201,
    response_model=PlanOut,
    dependencies=[PATIENT_ACTION],
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
def create_plan(
    body: PlanIn,
    staff: Staff,
    services: PaymentsServices,
    access: Accesses,
    key: IdempotencyKey,
    response: Response,
) -> PlanOut:
    access.change("billing_account", body.account_id)
    plan_id = ids.for_request(staff.clinic_id, "plan", key, body.model_dump(mode="json"))
    access.change("payment_plan", plan_id)
    plan = services.plans.create(
        PlanRequest(
            clinic_id=staff.clinic_id,
            plan_id=plan_id,
            account_id=body.account_id,
            invoice_ids=list(dict.fromkeys(body.invoice_ids)),
            installments=body.installments,
            interval=Interval(body.interval),
            start_date=body.start_date,
            method_id=body.payment_method_id,
        )
    )
    response.headers["Location"] = f"/v1/payment-plans/{plan.id}"
    return PlanOut.of(plan)


@router.get(
    "/v1/payment-plans/{plan_id}",
    response_model=PlanOut,
    dependencies=[READERS],
    responses=problem_responses(401, 403, 404, 422),
)
def get_plan(plan_id: UUID, staff: Staff, services: PaymentsServices, access: Accesses) -> PlanOut:
    access.read("payment_plan", plan_id)
    return PlanOut.of(services.ctx.app.plan(staff.clinic_id, plan_id))


@router.post(
    "/v1/payment-plans/{plan_id}/cancel",
    response_model=PlanOut,
    dependencies=[PATIENT_ACTION],
    responses=problem_responses(400, 401, 403, 404, 409, 422),
)
def cancel_plan(
    plan_id: UUID, staff: Staff, services: PaymentsServices, access: Accesses
) -> PlanOut:
    access.change("payment_plan", plan_id)
    return PlanOut.of(services.plans.cancel(staff.clinic_id, plan_id))


@router.post(
    "/v1/autopay",
    status_code=201,
    response_model=AutopayOut,
    dependencies=[PATIENT_ACTION],
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
def enable_autopay(
    body: AutopayIn,
    staff: Staff,
    services: PaymentsServices,
    access: Accesses,
    key: IdempotencyKey,
    response: Response,
) -> AutopayOut:
    access.change("billing_account", body.account_id)
    mandate_id = ids.for_request(staff.clinic_id, "autopay", key, body.model_dump(mode="json"))
    access.change("autopay_mandate", mandate_id)
    mandate = services.autopay.enable(
        staff.clinic_id, mandate_id, body.account_id, body.payment_method_id, body.weekday
    )
    response.headers["Location"] = f"/v1/autopay/{mandate.id}"
    return AutopayOut.of(mandate)


@router.get(
    "/v1/autopay/{mandate_id}",
    response_model=AutopayOut,
    dependencies=[READERS],
    responses=problem_responses(401, 403, 404, 422),
)
def get_autopay(
    mandate_id: UUID, staff: Staff, services: PaymentsServices, access: Accesses
) -> AutopayOut:
    access.read("autopay_mandate", mandate_id)
    return AutopayOut.of(services.ctx.app.mandate(staff.clinic_id, mandate_id))


@router.delete(
    "/v1/autopay/{mandate_id}",
    status_code=204,
    dependencies=[PATIENT_ACTION],
    responses=problem_responses(401, 403, 404, 422),
)
def disable_autopay(
    mandate_id: UUID, staff: Staff, services: PaymentsServices, access: Accesses
) -> Response:
    access.change("autopay_mandate", mandate_id)
    services.autopay.disable(staff.clinic_id, mandate_id)
    return Response(status_code=204)
