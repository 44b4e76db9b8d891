"""FHIR R4 Invoice in, Invoice and Account out."""

import json
import uuid
from datetime import UTC, date, datetime

import pytest
from fhir.resources.R4B.account import Account as FhirAccount
from fhir.resources.R4B.invoice import Invoice as FhirInvoice

from invoicing.accounts import BillingAccount, ContactPreference, Guarantor, Patient
from invoicing.domain import Invoice, Line
from invoicing.fhir import (
    CPT_SYSTEM,
    GUARANTOR_SYSTEM,
    FhirProblem,
    parse_invoice,
    render_account,
    render_invoice,
)

TODAY = date(2026, 11, 27)

# The specification's example Invoice (http://hl7.org/fhir/R4/invoice-example.json), with the
# subject and account pointing at records of ours.
ACCOUNT_ID = uuid.UUID("6b1f5c3e-2a0d-4f6e-9b8c-7d5e4f3a2b10")
SPEC_EXAMPLE = {
    "resourceType": "Invoice",
    "id": "example",
    "text": {
        "status": "generated",
        "div": '<div xmlns="http://www.w3.org/1999/xhtml">Example of Invoice</div>',
    },
    "identifier": [{"system": "http://myHospital.org/Invoices", "value": "654321"}],
    "status": "issued",
    "subject": {"identifier": {"system": "http://myHospital.org/MRN", "value": "MRN-example"}},
    "date": "2017-01-25T08:00:00+01:00",
    "participant": [
        {
            "role": {
                "coding": [
                    {
                        "system": "http://snomed.info/sct",
                        "code": "17561000",
                        "display": "Cardiologist",
                    }
                ]
            },
            "actor": {"reference": "Practitioner/example"},
        }
    ],
    "issuer": {
        "identifier": {
            "system": "http://myhospital/NamingSystem/departments",
            "value": "CARD_INTERMEDIATE_CARE",
        }
    },
    "account": {"reference": f"Account/{ACCOUNT_ID}"},
    "totalNet": {"value": 40, "currency": "EUR"},
    "totalGross": {"value": 48, "currency": "EUR"},
}


def priced(currency: str, kind: str = "base") -> dict:
    return {
        "chargeItemCodeableConcept": {"text": "Session"},
        "priceComponent": [{"type": kind, "amount": {"value": 1, "currency": currency}}],
    }


def body(document: dict) -> bytes:
    return json.dumps(document).encode()


def with_(**changes) -> dict:
    return {**SPEC_EXAMPLE, **changes}


def test_the_specification_example_becomes_an_issued_invoice_billed_at_its_gross_total():
    incoming = parse_invoice(body(SPEC_EXAMPLE), TODAY)
    assert incoming.identifier == "http://myHospital.org/Invoices|654321"
    assert incoming.issue is True
    assert incoming.patient_external_id == "MRN-example"
    assert incoming.account_id == ACCOUNT_ID
    assert incoming.currency == "EUR"
    assert incoming.lines == [Line("Invoice total", date(2017, 1, 25), 1, 4_800)]


def test_line_items_are_billed_at_their_base_price_components_with_their_codes():
    document = with_(
        lineItem=[
            {
                "sequence": 1,
                "chargeItemCodeableConcept": {
                    "coding": [{"system": CPT_SYSTEM, "code": "92507", "display": "Speech tx"}],
                    "text": "Speech therapy, 45 min",
                },
                "priceComponent": [
                    {"type": "base", "amount": {"value": 75.5, "currency": "USD"}},
                    {"type": "informational", "amount": {"value": 1, "currency": "USD"}},
                ],
            },
            {
                "sequence": 2,
                "chargeItemReference": {"display": "Materials"},
                "priceComponent": [{"type": "base", "amount": {"value": 10, "currency": "USD"}}],
            },
        ]
    )
    incoming = parse_invoice(body(document), TODAY)
    assert incoming.currency == "USD"
    assert [(line.description, line.unit_amount, line.code) for line in incoming.lines] == [
        ("Speech therapy, 45 min", 7_550, "92507"),
        ("Materials", 1_000, None),
    ]


def test_a_subject_can_be_our_patient_id_with_the_account_named():
    patient_id = uuid.uuid4()
    incoming = parse_invoice(body(with_(subject={"reference": f"Patient/{patient_id}"})), TODAY)
    assert (incoming.patient_id, incoming.patient_external_id) == (patient_id, None)


def test_the_recipient_names_the_account_when_the_invoice_does_not():
    document = {k: v for k, v in SPEC_EXAMPLE.items() if k != "account"}
    document["recipient"] = {"identifier": {"system": GUARANTOR_SYSTEM, "value": str(ACCOUNT_ID)}}
    assert parse_invoice(body(document), TODAY).account_id == ACCOUNT_ID


@pytest.mark.parametrize(
    "raw,status,code",
    [
        (b"{not json", 400, "structure"),
        (body({"resourceType": "Patient"}), 400, "structure"),
        (body(with_(subject=5)), 400, "invalid"),
        (body(with_(unknownElement=1)), 400, "invalid"),
        (body(with_(identifier=[])), 422, "required"),
        (body(with_(status="balanced")), 422, "not-supported"),
        (body({k: v for k, v in SPEC_EXAMPLE.items() if k != "subject"}), 422, "required"),
        (body(with_(totalGross={"value": 48.001, "currency": "EUR"})), 422, "invalid"),
        (body(with_(totalGross={"value": -1, "currency": "EUR"})), 422, "invalid"),
        (
            body({k: v for k, v in SPEC_EXAMPLE.items() if not k.startswith("total")}),
            422,
            "required",
        ),
        (body(with_(lineItem=[priced("USD"), priced("EUR")])), 422, "invalid"),
        (body(with_(lineItem=[priced("USD", kind="discount")])), 422, "not-supported"),
    ],
    ids=[
        "not json",
        "not an invoice",
        "wrong type",
        "unknown element",
        "no identifier",
        "status not draft or issued",
        "no subject",
        "fraction of a cent",
        "negative",
        "no lines and no total",
        "mixed currencies",
        "discount component",
    ],
)
def test_invalid_input_is_refused_with_an_issue_code(raw, status, code):
    with pytest.raises(FhirProblem) as refused:
        parse_invoice(raw, TODAY)
    assert (refused.value.status, refused.value.code) == (status, code)


def test_a_refusal_does_not_echo_the_patients_identifier():
    document = with_(subject={"identifier": {"value": "MRN-SECRET"}, "reference": 12})
    with pytest.raises(FhirProblem) as refused:
        parse_invoice(body(document), TODAY)
    assert "MRN-SECRET" not in refused.value.diagnostics


def account_and_invoice(**invoice_changes) -> tuple[BillingAccount, Invoice]:
    patient = Patient(uuid.uuid4(), "Kid One", date(2018, 1, 2), "MRN-1")
    account = BillingAccount.open(
        clinic_id=uuid.uuid4(),
        guarantor=Guarantor(
            "Pat Parent", date(1980, 5, 6), ContactPreference.EMAIL, email="p@example.com"
        ),
        patients=[patient],
        today=TODAY,
    )
    invoice = Invoice.draft(
        clinic_id=account.clinic_id,
        account_id=account.id,
        patient_id=patient.id,
        currency="USD",
        due_date=None,
        lines=[Line("Speech therapy", date(2026, 11, 20), 2, 7_500, "92507")],
        fhir_identifier="http://ehr.example/invoices|A-1",
    )
    invoice.issue(issued_on=TODAY, number="INV-000042", default_due_date=date(2026, 12, 27))
    return account, invoice


def test_our_invoice_renders_as_a_valid_r4_invoice():
    account, invoice = account_and_invoice()
    rendered = render_invoice(invoice, account)
    FhirInvoice.model_validate(rendered)
    assert rendered["status"] == "issued"
    assert {"system": "http://ehr.example/invoices", "value": "A-1"} in rendered["identifier"]
    assert rendered["subject"]["identifier"]["value"] == "MRN-1"
    assert rendered["recipient"]["identifier"]["value"] == str(account.id)
    assert rendered["account"]["reference"] == f"Account/{account.id}"
    assert rendered["totalGross"] == {"value": 150.0, "currency": "USD"}
    assert rendered["lineItem"][0]["chargeItemCodeableConcept"]["coding"][0]["code"] == "92507"


@pytest.mark.parametrize(
    "settle,status",
    [
        (lambda i: None, "issued"),
        (lambda i: _pay(i, 5_000), "issued"),
        (lambda i: _pay(i, 15_000), "balanced"),
        (lambda i: i.void(voided_on=TODAY), "cancelled"),
        (lambda i: i.write_off(written_off_on=TODAY, reason="x"), "cancelled"),
    ],
    ids=["issued", "partially paid", "paid", "void", "written off"],
)
def test_statuses_map_to_r4_invoice_statuses(settle, status):
    account, invoice = account_and_invoice()
    settle(invoice)
    assert render_invoice(invoice, account)["status"] == status


def _pay(invoice: Invoice, amount: int) -> None:
    invoice.receive_payment(payment_event_id="e", payment_id=uuid.uuid4(), amount=amount)


def test_an_account_renders_with_its_guarantor_and_patients():
    account, _ = account_and_invoice()
    rendered = render_account(account)
    FhirAccount.model_validate(rendered)
    assert rendered["guarantor"][0]["party"]["display"] == "Pat Parent"
    assert [s["display"] for s in rendered["subject"]] == ["Kid One"]


def test_rendered_dates_are_dates():
    account, invoice = account_and_invoice()
    assert render_invoice(invoice, account)["date"] == TODAY.isoformat()
    assert datetime.now(UTC)  # rendering needs no clock
