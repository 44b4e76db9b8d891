"""`/fhir/R4`: an EHR creates invoices as FHIR R4 resources and reads ours back.

Every error on these routes, the authentication ones included, is an OperationOutcome
(`application/fhir+json`): 400 for what is not a valid R4 Invoice, 422 for what breaks a
billing rule, 404 for what the caller's clinic does not have.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from httpapi import Accesses, Staff
from httpapi.problems import PROBLEM_JSON
from invoicing.api import FHIR_CLIENTS, IdempotencyKey, InvoicingApp
from invoicing.application import Invoicing
from invoicing.errors import InvoicingError, NotFound, UnknownAccount, UnknownPatient
from invoicing.fhir import (
    FHIR_JSON,
    FhirProblem,
    InvoiceImport,
    operation_outcome,
    parse_invoice,
    render_account,
    render_invoice,
)
from invoicing.problem_types import DOMAIN_PROBLEMS

ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 409: "conflict"}


class FhirResponse(JSONResponse):
    media_type = FHIR_JSON


def outcome_response(status: int, code: str, diagnostics: str) -> FhirResponse:
    return FhirResponse(operation_outcome(code, diagnostics), status_code=status)


class FhirRoute(APIRoute):
    """Turns every refusal on a FHIR route into an OperationOutcome."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_as_fhir(request: Request) -> Response:
            try:
                return await handle(request)
            except FhirProblem as problem:
                return outcome_response(problem.status, problem.code, problem.diagnostics)
            except RequestValidationError:
                return outcome_response(400, "invalid", "the request's path or query is invalid")
            except HTTPException as error:
                response = outcome_response(
                    error.status_code,
                    ISSUE_CODES.get(error.status_code, "processing"),
                    str(error.detail),
                )
                response.headers.update(error.headers or {})
                return response
            except InvoicingError as error:
                spec = next(s for t, s in DOMAIN_PROBLEMS.items() if isinstance(error, t))
                code = "not-found" if isinstance(error, NotFound) else "business-rule"
                return outcome_response(spec.status, code, f"{spec.slug}: {error}")

        return handle_as_fhir


OUTCOME_SCHEMA = {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}
PROBLEM_SCHEMA = {"schema": {"$ref": "#/components/schemas/Problem"}}
OUTCOME = {"content": {FHIR_JSON: OUTCOME_SCHEMA}}
# The shared HTTP shell answers these before the route runs, as problem+json.
OUTCOME_OR_PROBLEM = {"content": {FHIR_JSON: OUTCOME_SCHEMA, PROBLEM_JSON: PROBLEM_SCHEMA}}
OUTCOMES = {
    400: {"description": "Not a valid R4 resource, a malformed id or key", **OUTCOME_OR_PROBLEM},
    401: {"description": "Authentication required", **OUTCOME},
    403: {"description": "Not allowed", **OUTCOME},
    404: {"description": "Not found in the caller's clinic", **OUTCOME},
    409: {"description": "The record kept changing, or the key is in use", **OUTCOME_OR_PROBLEM},
    413: {"description": "Request too large", "content": {PROBLEM_JSON: PROBLEM_SCHEMA}},
    422: {"description": "Breaks a billing rule, or the key was reused", **OUTCOME_OR_PROBLEM},
}
INVOICE_BODY = {
    "requestBody": {
        "required": True,
        "description": "An R4 Invoice (http://hl7.org/fhir/R4/invoice.html)",
        "content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/FhirResource"}}},
    }
}


def _resource(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/FhirResource"}}},
    }


router = APIRouter(prefix="/fhir/R4", tags=["FHIR R4"], route_class=FhirRoute)


@router.post(
    "/Invoice",
    status_code=201,
    dependencies=[FHIR_CLIENTS, IdempotencyKey],
    response_class=FhirResponse,
    openapi_extra=INVOICE_BODY,
    responses={
        200: _resource("This identifier was created before: the invoice made from it"),
        201: _resource("The invoice created"),
        **OUTCOMES,
    },
)
async def create_invoice(
    request: Request, staff: Staff, app: InvoicingApp, access: Accesses
) -> Response:
    """Creates (and, for status `issued`, issues) an invoice once per `Invoice.identifier`."""
    body = await request.body()
    today = await run_in_threadpool(app.today, staff.clinic_id)
    incoming = parse_invoice(body, today)
    invoice, created = await run_in_threadpool(_create, app, staff.clinic_id, incoming)
    access.change("invoice", invoice.id)
    account = await run_in_threadpool(app.get_account, staff.clinic_id, invoice.account_id)
    return FhirResponse(
        render_invoice(invoice, account),
        status_code=201 if created else 200,
        headers={"Location": f"/fhir/R4/Invoice/{invoice.id}"},
    )


def _create(app: Invoicing, clinic_id: UUID, incoming: InvoiceImport):
    account_id, patient_id = _payer_and_patient(app, clinic_id, incoming)
    return app.import_invoice(
        clinic_id=clinic_id,
        identifier=incoming.identifier,
        account_id=account_id,
        patient_id=patient_id,
        currency=incoming.currency,
        lines=incoming.lines,
        issue=incoming.issue,
    )


def _payer_and_patient(app: Invoicing, clinic_id: UUID, incoming: InvoiceImport):
    if incoming.patient_external_id is not None:
        found = app.find_patient(clinic_id, incoming.patient_external_id)
        if found is None:
            raise UnknownPatient("no patient of the clinic has the subject's identifier")
        patients_account, patient_id = found
    else:
        patients_account, patient_id = incoming.account_id, incoming.patient_id
    account_id = incoming.account_id or patients_account
    if account_id is None:
        raise UnknownAccount("name the account (Invoice.account) for a Patient/<id> subject")
    return account_id, patient_id


@router.get(
    "/Invoice/{invoice_id}",
    dependencies=[FHIR_CLIENTS],
    response_class=FhirResponse,
    responses={200: _resource("The invoice as an R4 Invoice"), **OUTCOMES},
)
def read_invoice(invoice_id: UUID, staff: Staff, app: InvoicingApp, access: Accesses) -> Response:
    access.read("invoice", invoice_id)
    invoice = app.get_invoice(staff.clinic_id, invoice_id)
    account = app.get_account(staff.clinic_id, invoice.account_id)
    return FhirResponse(render_invoice(invoice, account))


@router.get(
    "/Account/{account_id}",
    dependencies=[FHIR_CLIENTS],
    response_class=FhirResponse,
    responses={200: _resource("The billing account as an R4 Account"), **OUTCOMES},
)
def read_account(account_id: UUID, staff: Staff, app: InvoicingApp, access: Accesses) -> Response:
    access.read("billing_account", account_id)
    return FhirResponse(render_account(app.get_account(staff.clinic_id, account_id)))


FHIR_SCHEMAS = {
    "FhirResource": {
        "type": "object",
        "description": "A FHIR R4 resource in JSON (http://hl7.org/fhir/R4/json.html)",
        "required": ["resourceType"],
        "properties": {"resourceType": {"type": "string"}, "id": {"type": "string"}},
        "additionalProperties": True,
    },
    "OperationOutcome": {
        "type": "object",
        "description": "http://hl7.org/fhir/R4/operationoutcome.html",
        "required": ["resourceType", "issue"],
        "properties": {
            "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
            "issue": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["severity", "code"],
                    "properties": {
                        "severity": {"type": "string", "enum": ["fatal", "error", "warning"]},
                        "code": {"type": "string"},
                        "diagnostics": {"type": "string"},
                    },
                },
            },
        },
    },
}
