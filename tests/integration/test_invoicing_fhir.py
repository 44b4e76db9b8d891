"""FHIR R4 over HTTP: an EHR posts the specification's example Invoice and reads it back."""

from __future__ import annotations

import copy
import uuid

import pytest
from fhir.resources.R4B.account import Account as FhirAccount
from fhir.resources.R4B.invoice import Invoice as FhirInvoice

from tests.integration.harness import StaffClient
from tests.integration.invoicing_api import configure_clinic, get_invoice, recorded_events

FHIR_JSON = "application/fhir+json"

# http://hl7.org/fhir/R4/invoice-example.json as published; the tests change only the ids
# (identifier, subject, account) to point at records of the test's clinic.
SPEC_EXAMPLE = {
    "resourceType": "Invoice",
    "id": "example",
    "text": {
        "status": "generated",
        "div": '<div xmlns="http://www.w3.org/1999/xhtml">Example of Invoice</div>',
    },
    "identifier": [{"system": "http://myHospital.org/Invoices", "value": "654321"}],
    "status": "issued",
    "subject": {"reference": "Patient/example"},
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
    "account": {"reference": "Account/example"},
    "totalNet": {"value": 40, "currency": "EUR"},
    "totalGross": {"value": 48, "currency": "EUR"},
}


@pytest.fixture
def ehr(codec) -> StaffClient:
    """The EHR integration: a service token for a clinic billing in euros."""
    return StaffClient(codec, uuid.uuid4(), ["service"])


@pytest.fixture
def patient(suite, codec, ehr) -> dict:
    configure_clinic(suite, codec, ehr.clinic_id, currency="EUR", timezone="Europe/Amsterdam")
    mrn = f"MRN-{uuid.uuid4().hex[:8]}"
    billing = StaffClient(codec, ehr.clinic_id, ["billing"])
    response = billing.post(
        f"{suite.invoicing_api.url}/v1/accounts",
        json={
            "guarantor": {
                "name": "Jordan Example",
                "email": "jordan@example.com",
                "date_of_birth": "1984-03-02",
                "contact_preference": "email",
            },
            "patients": [
                {"name": "Riley Example", "date_of_birth": "2019-07-14", "external_id": mrn}
            ],
        },
    )
    assert response.status_code == 201, response.text
    account = response.json()
    return {"account_id": account["id"], "patient_id": account["patients"][0]["id"], "mrn": mrn}


def adapted(patient: dict) -> dict:
    example = copy.deepcopy(SPEC_EXAMPLE)
    example["identifier"][0]["value"] = f"654321-{uuid.uuid4().hex[:6]}"
    example["subject"] = {
        "identifier": {"system": "http://myHospital.org/MRN", "value": patient["mrn"]}
    }
    example["account"] = {"reference": f"Account/{patient['account_id']}"}
    return example


def post_fhir(suite, client: StaffClient, document) -> object:
    return client.post(
        f"{suite.invoicing_api.url}/fhir/R4/Invoice",
        json=document,
        headers={"Content-Type": FHIR_JSON},
    )


def test_the_specifications_example_invoice_is_created_and_read_back(suite, ehr, patient):
    example = adapted(patient)
    created = post_fhir(suite, ehr, example)
    assert created.status_code == 201, created.text
    assert created.headers["content-type"] == FHIR_JSON
    invoice_id = created.json()["id"]
    assert created.headers["location"] == f"/fhir/R4/Invoice/{invoice_id}"

    read = ehr.get(f"{suite.invoicing_api.url}/fhir/R4/Invoice/{invoice_id}")
    assert read.status_code == 200
    resource = read.json()
    FhirInvoice.model_validate(resource)
    assert resource["status"] == "issued"
    assert example["identifier"][0] in resource["identifier"]
    assert resource["subject"]["identifier"]["value"] == patient["mrn"]
    assert resource["account"]["reference"] == f"Account/{patient['account_id']}"
    assert resource["totalGross"] == {"value": 48.0, "currency": "EUR"}

    ours = get_invoice(suite, ehr, invoice_id)
    assert (ours["status"], ours["currency"], ours["total_amount"]) == ("issued", "EUR", 4_800)
    assert ours["number"].startswith("INV-")
    assert ours["lines"][0]["service_date"] == "2017-01-25"


async def test_posting_the_same_identifier_again_returns_the_same_invoice(suite, ehr, patient, db):
    example = adapted(patient)
    first = post_fhir(suite, ehr, example)
    events = await recorded_events(db)
    again = post_fhir(suite, ehr, example)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert await recorded_events(db) == events


def test_line_items_become_lines_and_a_draft_stays_a_draft(suite, ehr, patient):
    example = adapted(patient)
    example["status"] = "draft"
    example["lineItem"] = [
        {
            "sequence": 1,
            "chargeItemCodeableConcept": {
                "coding": [{"system": "http://www.ama-assn.org/go/cpt", "code": "92507"}],
                "text": "Speech therapy",
            },
            "priceComponent": [{"type": "base", "amount": {"value": 95.5, "currency": "EUR"}}],
        }
    ]
    created = post_fhir(suite, ehr, example)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    ours = get_invoice(suite, ehr, created.json()["id"])
    assert [(line["code"], line["amount"]) for line in ours["lines"]] == [("92507", 9_550)]


def test_the_account_renders_with_its_guarantor(suite, ehr, patient):
    response = ehr.get(f"{suite.invoicing_api.url}/fhir/R4/Account/{patient['account_id']}")
    assert response.status_code == 200
    FhirAccount.model_validate(response.json())
    assert response.json()["guarantor"][0]["party"]["display"] == "Jordan Example"


@pytest.mark.parametrize(
    "change,status,code",
    [
        (lambda d: d.update(resourceType="Patient"), 400, "structure"),
        (lambda d: d.update(status="weird"), 400, "invalid"),
        (lambda d: d.update(subject={"identifier": {"value": "MRN-nobody"}}), 422, "business-rule"),
        (lambda d: d.update(identifier=[]), 422, "required"),
        (lambda d: d["totalGross"].update(currency="USD", value=48), 422, "business-rule"),
        (lambda d: d["totalGross"].update(value=48.005), 422, "invalid"),
    ],
    ids=[
        "not an invoice",
        "unknown status code",
        "unknown patient",
        "no identifier",
        "usd",
        "tenth of a cent",
    ],
)
async def test_invalid_fhir_gets_an_operation_outcome_and_creates_nothing(
    suite, ehr, patient, db, change, status, code
):
    document = adapted(patient)
    change(document)
    before = await recorded_events(db)
    response = post_fhir(suite, ehr, document)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == FHIR_JSON
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == code
    assert await recorded_events(db) == before


def test_a_body_that_is_not_json_is_an_operation_outcome(suite, ehr):
    response = ehr.post(
        f"{suite.invoicing_api.url}/fhir/R4/Invoice",
        content=b"<Invoice/>",
        headers={"Content-Type": "application/fhir+xml"},
    )
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_reads_are_404_across_clinics_401_without_a_token_and_all_are_logged(
    suite, ehr, patient, other_clinic_staff, db
):
    import httpx

    created = post_fhir(suite, ehr, adapted(patient)).json()
    url = f"{suite.invoicing_api.url}/fhir/R4/Invoice/{created['id']}"
    theirs = other_clinic_staff.get(url)
    assert theirs.status_code == 404
    assert theirs.json()["issue"][0]["code"] == "not-found"
    anonymous = httpx.get(url)
    assert anonymous.status_code == 401
    assert anonymous.json()["resourceType"] == "OperationOutcome"
    assert ehr.get(f"{suite.invoicing_api.url}/fhir/R4/Invoice/not-a-uuid").status_code == 400
    outcomes = await db.fetch(
        """SELECT outcome FROM invoicing.access_log
           WHERE record_type = 'invoice' AND record_id = $1 AND action = 'read'""",
        created["id"],
    )
    assert [r["outcome"] for r in outcomes] == ["not_found"]
