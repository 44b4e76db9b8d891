"""FHIR R4 Invoice and Account, in and out, with the `fhir.resources` models. No I/O here.

`fhir.resources` 8 models FHIR R5 at its top level and ships R4B (4.3.0) and STU3 as
subpackages; there is no 4.0.1 package. R4B is the R4 technical correction: Invoice and
Account are the same in R4 and R4B (R5 reshaped Invoice line items), so an R4 client's
resources parse and ours validate as R4 documents.

In: `subject` names our patient by identifier (the external id we hold) or as
`Patient/<id>`; `account` (`Account/<id>`) or `recipient` (the guarantor, identified by
our account id) names the billing account, else the patient's own account is used;
each `lineItem` is billed at the sum of its `base` price components; an invoice without
line items is billed at `totalGross`. Out: our invoice and account, rendered as R4.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

from fhir.resources.R4B.account import Account as FhirAccount
from fhir.resources.R4B.invoice import Invoice as FhirInvoice
from pydantic import ValidationError

from invoicing.accounts import BillingAccount
from invoicing.domain import Invoice, Line, Status

FHIR_JSON = "application/fhir+json"
NUMBER_SYSTEM = "https://clinicpay.dev/fhir/invoice-number"
GUARANTOR_SYSTEM = "https://clinicpay.dev/fhir/billing-account"
PATIENT_SYSTEM = "https://clinicpay.dev/fhir/patient"
CPT_SYSTEM = "http://www.ama-assn.org/go/cpt"
MAX_BODY_LINES = 200
# ISO 4217 minor-unit exponents that are not 2.
EXPONENTS = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "UYI",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}
R4_STATUSES = frozenset({"draft", "issued", "balanced", "cancelled", "entered-in-error"})
STATUS_OUT = {
    Status.DRAFT: "draft",
    Status.ISSUED: "issued",
    Status.PARTIALLY_PAID: "issued",
    Status.PAID: "balanced",
    Status.VOID: "cancelled",
    Status.WRITTEN_OFF: "cancelled",
}


class FhirProblem(Exception):
    """Refused FHIR input: rendered as an OperationOutcome with `status` and issue `code`."""

    def __init__(self, status: int, code: str, diagnostics: str) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics


@dataclass(frozen=True)
class InvoiceImport:
    identifier: str
    issue: bool
    patient_external_id: str | None
    patient_id: UUID | None
    account_id: UUID | None
    currency: str
    lines: list[Line]


def parse_invoice(body: bytes, service_date: date) -> InvoiceImport:
    """An R4 Invoice as what we create from it. `service_date` is used when it has no date."""
    resource = _parse(body)
    identifier = _identifier(resource)
    if resource.status not in R4_STATUSES:  # a required binding the models leave unchecked
        raise FhirProblem(400, "invalid", "Invoice.status is not an R4 invoice status")
    if resource.status not in ("draft", "issued"):
        raise FhirProblem(422, "not-supported", "only draft or issued invoices can be created")
    patient_external_id, patient_id = _subject(resource)
    currency, lines = _lines(resource, _date_of(resource) or service_date)
    return InvoiceImport(
        identifier=identifier,
        issue=resource.status == "issued",
        patient_external_id=patient_external_id,
        patient_id=patient_id,
        account_id=_account(resource),
        currency=currency,
        lines=lines,
    )


def _parse(body: bytes) -> FhirInvoice:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise FhirProblem(400, "structure", "the body is not JSON") from None
    if not isinstance(document, dict) or document.get("resourceType") != "Invoice":
        raise FhirProblem(400, "structure", "the body is not a FHIR Invoice resource")
    try:
        return FhirInvoice.model_validate(document)
    except ValidationError as error:
        # Where and why, never the rejected value: it may identify a patient.
        details = "; ".join(
            f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()[:10]
        )
        raise FhirProblem(400, "invalid", f"not a valid R4 Invoice: {details}") from None


def _identifier(resource: FhirInvoice) -> str:
    for identifier in resource.identifier or ():
        if identifier.value:
            return f"{identifier.system or ''}|{identifier.value}"
    raise FhirProblem(422, "required", "Invoice.identifier is required (creation is keyed by it)")


def _subject(resource: FhirInvoice) -> tuple[str | None, UUID | None]:
    subject = resource.subject
    if subject is None:
        raise FhirProblem(422, "required", "Invoice.subject (the patient) is required")
    if subject.identifier is not None and subject.identifier.value:
        if subject.identifier.system == PATIENT_SYSTEM:
            return None, _uuid(subject.identifier.value, "Invoice.subject.identifier")
        return subject.identifier.value, None
    if subject.reference and subject.reference.startswith("Patient/"):
        return None, _uuid(subject.reference.removeprefix("Patient/"), "Invoice.subject")
    raise FhirProblem(
        422, "required", "Invoice.subject needs the patient's identifier or Patient/<id>"
    )


def _account(resource: FhirInvoice) -> UUID | None:
    account = resource.account
    if account is not None and account.reference:
        if not account.reference.startswith("Account/"):
            raise FhirProblem(422, "invalid", "Invoice.account must be Account/<id>")
        return _uuid(account.reference.removeprefix("Account/"), "Invoice.account")
    guarantor = resource.recipient.identifier if resource.recipient is not None else None
    if guarantor is not None and guarantor.system == GUARANTOR_SYSTEM and guarantor.value:
        return _uuid(guarantor.value, "Invoice.recipient.identifier")
    return None


def _date_of(resource: FhirInvoice) -> date | None:
    value = resource.date
    if isinstance(value, datetime):
        return value.date()
    return value


def _lines(resource: FhirInvoice, service_date: date) -> tuple[str, list[Line]]:
    items = resource.lineItem or []
    if len(items) > MAX_BODY_LINES:
        raise FhirProblem(422, "too-costly", f"an invoice has at most {MAX_BODY_LINES} lines")
    if not items:
        total = resource.totalGross or resource.totalNet
        if total is None or total.value is None or not total.currency:
            raise FhirProblem(422, "required", "lineItem or totalGross is required")
        return total.currency, [
            Line("Invoice total", service_date, 1, _minor_units(total.value, total.currency))
        ]
    currencies: set[str] = set()
    lines = []
    for position, item in enumerate(items, start=1):
        priced = [c for c in item.priceComponent or () if c.type != "informational"]
        if not priced:
            raise FhirProblem(422, "required", f"lineItem {position}: no base price component")
        amount = 0
        for component in priced:
            if component.type != "base":
                raise FhirProblem(
                    422, "not-supported", f"lineItem {position}: only base price components"
                )
            if component.amount is None or component.amount.value is None:
                raise FhirProblem(422, "required", f"lineItem {position}: base without amount")
            currency = component.amount.currency or ""
            currencies.add(currency)
            amount += _minor_units(component.amount.value, currency)
        description, code = _charge_item(item, position)
        lines.append(Line(description, service_date, 1, amount, code=code))
    if len(currencies) != 1 or "" in currencies:
        raise FhirProblem(422, "invalid", "every amount needs the same currency")
    return currencies.pop(), lines


def _charge_item(item: Any, position: int) -> tuple[str, str | None]:
    """A line's description and CPT/HCPCS code from what was charged."""
    concept = item.chargeItemCodeableConcept
    codings = list(concept.coding or ()) if concept is not None else []
    codes = [c.code for c in codings if _is_billing_code(c.code)]
    cpt = [c.code for c in codings if c.system == CPT_SYSTEM and _is_billing_code(c.code)]
    description = (concept.text if concept is not None else None) or next(
        (c.display for c in codings if c.display), None
    )
    if description is None and item.chargeItemReference is not None:
        description = item.chargeItemReference.display
    fallback = f"Charge item {item.sequence or position}"
    return (description or fallback)[:500], (cpt or codes or [None])[0]


def _is_billing_code(code: str | None) -> bool:
    return bool(code) and len(code) == 5 and code.isalnum() and code.upper() == code


def _minor_units(value: Decimal, currency: str) -> int:
    try:
        scaled = Decimal(str(value)).scaleb(EXPONENTS.get(currency, 2))
    except InvalidOperation:
        raise FhirProblem(400, "invalid", "an amount is not a number") from None
    if scaled != scaled.to_integral_value() or scaled < 0:
        raise FhirProblem(
            422, "invalid", f"an amount in {currency} must be a non-negative whole minor unit"
        )
    if scaled > 100_000_000:
        raise FhirProblem(422, "invalid", "an amount is over the limit of a line")
    return int(scaled)


def _uuid(value: str, where: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise FhirProblem(422, "not-found", f"{where} names nothing known here") from None


# -- out


def _money(amount: int, currency: str) -> dict[str, Any]:
    return {"value": Decimal(amount).scaleb(-EXPONENTS.get(currency, 2)), "currency": currency}


def _patient_reference(account: BillingAccount, patient_id: UUID) -> dict[str, Any]:
    patient = next((p for p in account.patients if p.id == patient_id), None)
    if patient is not None and patient.external_id:
        identifier = {"value": patient.external_id}
    else:
        identifier = {"system": PATIENT_SYSTEM, "value": str(patient_id)}
    reference: dict[str, Any] = {"type": "Patient", "identifier": identifier}
    if patient is not None:
        reference["display"] = patient.name
    return reference


def _guarantor_reference(account: BillingAccount) -> dict[str, Any]:
    return {
        "type": "RelatedPerson",
        "identifier": {"system": GUARANTOR_SYSTEM, "value": str(account.id)},
        "display": account.guarantor.name,
    }


def render_invoice(invoice: Invoice, account: BillingAccount) -> dict[str, Any]:
    identifiers = []
    if invoice.number:
        identifiers.append({"system": NUMBER_SYSTEM, "value": invoice.number})
    if invoice.fhir_identifier:
        system, _, value = invoice.fhir_identifier.partition("|")
        identifiers.append({"system": system, "value": value} if system else {"value": value})
    document: dict[str, Any] = {
        "resourceType": "Invoice",
        "id": str(invoice.id),
        "identifier": identifiers or None,
        "status": STATUS_OUT[invoice.status],
        "cancelledReason": {Status.VOID: "void", Status.WRITTEN_OFF: "written off"}.get(
            invoice.status
        ),
        "subject": _patient_reference(account, invoice.patient_id),
        "recipient": _guarantor_reference(account),
        "date": (invoice.issued_on or invoice.created_on.date()).isoformat(),
        "account": {"reference": f"Account/{invoice.account_id}"},
        "lineItem": [
            {
                "sequence": position,
                "chargeItemCodeableConcept": {
                    "text": line.description,
                    "coding": [{"system": CPT_SYSTEM, "code": line.code}] if line.code else None,
                },
                "priceComponent": [
                    {
                        "type": "base",
                        "amount": _money(line.amount, invoice.currency),
                        "factor": line.quantity if line.quantity != 1 else None,
                    }
                ],
            }
            for position, line in enumerate(invoice.lines, start=1)
        ],
        "totalNet": _money(invoice.amount_owed, invoice.currency),
        "totalGross": _money(invoice.total_amount, invoice.currency),
        "paymentTerms": f"Due {invoice.due_date.isoformat()}" if invoice.due_date else None,
    }
    return _validated(FhirInvoice, document)


def render_account(account: BillingAccount) -> dict[str, Any]:
    document = {
        "resourceType": "Account",
        "id": str(account.id),
        "status": "active",
        "identifier": [{"system": GUARANTOR_SYSTEM, "value": str(account.id)}],
        "subject": [_patient_reference(account, patient.id) for patient in account.patients],
        "guarantor": [{"party": _guarantor_reference(account)}],
    }
    return _validated(FhirAccount, document)


def _validated(model: Any, document: dict[str, Any]) -> dict[str, Any]:
    """The document as the model serialises it: checked against R4, empty parts dropped."""
    return json.loads(model.model_validate(_pruned(document)).model_dump_json())


def _pruned(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


def operation_outcome(code: str, diagnostics: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
    }
