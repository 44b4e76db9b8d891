"""`/openapi.json` is complete: every field typed, every error a route answers declared on it."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.integration.harness import StaffClient
from tests.integration.invoicing_api import (
    configure_clinic,
    draft,
    issued_invoice,
    new_key,
    open_account,
    send,
)
from tests.integration.test_walking_skeleton import ACCOUNT_BODY, draft_body

PROBLEM_REF = "#/components/schemas/Problem"
OUTCOME_REF = "#/components/schemas/OperationOutcome"
METHODS = {"get", "post", "put", "patch", "delete"}
EXPECTED = {
    "unauthenticated",
    "forbidden",
    "invalid-request",
    "too-large",
    "idempotency-key-invalid",
    "idempotency-key-missing",
    "idempotency-key-reused",
    "invoice-not-found",
    "account-not-found",
    "invoice-not-draft",
    "invoice-not-open",
    "invalid-invoice",
    "adjustment-exceeds-amount-due",
    "currency-mismatch",
    "unknown-account",
    "unknown-patient",
    "invalid-account",
    "external-id-in-use",
    "invalid-clinic-settings",
    "unknown-cursor",
}


@pytest.fixture(scope="module")
def spec(suite) -> dict:
    return httpx.get(f"{suite.invoicing_api.url}/openapi.json").json()


def operations(spec: dict):
    for path, item in spec["paths"].items():
        if path.startswith(("/v1/", "/fhir/")):
            for method, operation in item.items():
                if method in METHODS:
                    yield path, method, operation


def test_every_operation_declares_authentication_authorisation_and_validation_errors(spec):
    for path, method, operation in operations(spec):
        declared = set(operation["responses"])
        invalid = "400" if path.startswith("/fhir/") else "422"
        assert {"401", "403", invalid} <= declared, f"{method} {path}: {sorted(declared)}"


def test_every_error_response_has_a_typed_problem_body(spec):
    for path, method, operation in operations(spec):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            where = (method, path, status)
            content = response["content"]
            if path.startswith("/fhir/") and status != "413":
                # OperationOutcome from the route; problem+json from the shared shell.
                assert content["application/fhir+json"] == {"schema": {"$ref": OUTCOME_REF}}, where
                assert set(content) <= {"application/fhir+json", "application/problem+json"}
            else:
                assert content == {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}}
            assert response["description"], where


def test_every_post_takes_an_idempotency_key_and_declares_what_it_may_answer(spec):
    for path, method, operation in operations(spec):
        if method != "post":
            continue
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert "Idempotency-Key" in headers, path
        if path.startswith("/v1/"):
            for status, slug in (
                ("400", "idempotency-key-invalid"),
                ("409", "idempotency-key-in-use"),
                ("422", "idempotency-key-reused"),
            ):
                assert slug in operation["responses"][status]["description"], (path, slug)


def test_every_referenced_schema_exists_and_every_field_is_typed(spec):
    schemas = spec["components"]["schemas"]
    text = str(spec)
    for ref in {part.split("'")[0] for part in text.split("'$ref': '")[1:]}:
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    typed = {"type", "$ref", "anyOf", "oneOf", "allOf", "enum", "const"}
    for name, schema in schemas.items():
        for field, definition in schema.get("properties", {}).items():
            assert typed & set(definition), f"{name}.{field} has no type"


class Observed:
    """Errors the running service actually answered, checked against what it declares."""

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.seen: list[tuple[str, str, int, str]] = []

    def __call__(self, method: str, template: str, response: httpx.Response) -> None:
        assert response.status_code >= 400, response.text
        body = response.json()
        slug = body["type"].rsplit("/", 1)[1] if "type" in body else body["issue"][0]["code"]
        self.seen.append((method, template, response.status_code, slug))

    def undeclared(self) -> list[tuple[str, str, int, str]]:
        missing = []
        for method, template, status, slug in self.seen:
            responses = self.spec["paths"][template][method]["responses"]
            declared = responses.get(str(status))
            if declared is None or (
                template.startswith("/v1/") and slug not in declared["description"]
            ):
                missing.append((method, template, status, slug))
        return missing


async def test_every_error_the_service_answers_is_declared_on_its_route(
    suite, spec, staff, codec, clinic_id
):
    url = suite.invoicing_api.url
    seen = Observed(spec)
    account = open_account(suite, staff)
    invoice = issued_invoice(suite, staff, account, (1, 1_000))
    a_draft = draft(suite, staff, account)
    late = draft(suite, staff, account, due_date="2020-01-01")
    finance = StaffClient(codec, clinic_id, ["finance"])
    nobody = str(uuid.uuid4())
    invoice_path, account_path = "/v1/invoices/{invoice_id}", "/v1/accounts/{account_id}"

    seen("get", invoice_path, staff.get(f"{url}/v1/invoices/{nobody}"))
    seen("get", invoice_path, httpx.get(f"{url}/v1/invoices/{nobody}"))
    seen("get", invoice_path, staff.get(f"{url}/v1/invoices/42"))
    seen("get", account_path, staff.get(f"{url}/v1/accounts/{nobody}"))
    seen("get", account_path, finance.get(f"{url}/v1/accounts/{account.id}"))
    seen("get", "/v1/invoices", staff.get(f"{url}/v1/invoices", params={"starting_after": nobody}))
    seen("get", "/v1/invoices", staff.get(f"{url}/v1/invoices", params={"limit": 0}))
    seen(
        "post",
        "/v1/invoices",
        finance.post(f"{url}/v1/invoices", json=draft_body(account, (1, 100))),
    )
    seen(
        "post",
        "/v1/invoices",
        staff.post(f"{url}/v1/invoices", json=draft_body(uuid.uuid4(), (1, 100))),
    )
    seen(
        "post",
        "/v1/invoices",
        staff.post(
            f"{url}/v1/invoices", json={**draft_body(account, (1, 100)), "patient_id": nobody}
        ),
    )
    seen(
        "post",
        "/v1/invoices",
        staff.post(f"{url}/v1/invoices", json={**draft_body(account, (1, 100)), "currency": "EUR"}),
    )
    seen(
        "post",
        "/v1/invoices",
        staff.post(
            f"{url}/v1/invoices",
            content=b"x" * 300_000,
            headers={"content-type": "application/json"},
        ),
    )
    seen(
        "post",
        "/v1/invoices",
        staff.post(
            f"{url}/v1/invoices",
            json=draft_body(account, (1, 100)),
            headers={"Idempotency-Key": "x" * 300},
        ),
    )
    key = new_key()
    staff.post(f"{url}/v1/invoices", json=draft_body(account, (1, 1)), headers=key)
    seen(
        "post",
        "/v1/invoices",
        staff.post(f"{url}/v1/invoices", json=draft_body(account, (1, 2)), headers=key),
    )

    issue_path = "/v1/invoices/{invoice_id}/issue"
    seen("post", issue_path, staff.post(f"{url}/v1/invoices/{invoice['id']}/issue"))
    seen("post", issue_path, staff.post(f"{url}/v1/invoices/{late['id']}/issue"))
    seen("post", issue_path, staff.post(f"{url}/v1/invoices/{nobody}/issue"))
    adjust_path = "/v1/invoices/{invoice_id}/adjust"
    credit = {"amount": 5_000, "reason": "x"}
    seen("post", adjust_path, staff.post(f"{url}/v1/invoices/{invoice['id']}/adjust", json=credit))
    seen(
        "post",
        adjust_path,
        staff.post(f"{url}/v1/invoices/{invoice['id']}/adjust", json=credit, headers=new_key()),
    )
    seen(
        "post",
        adjust_path,
        staff.post(f"{url}/v1/invoices/{a_draft['id']}/adjust", json=credit, headers=new_key()),
    )
    seen(
        "post",
        "/v1/invoices/{invoice_id}/write-off",
        staff.post(f"{url}/v1/invoices/{a_draft['id']}/write-off", json={"reason": "x"}),
    )
    seen(
        "patch",
        invoice_path,
        send("PATCH", staff, f"{url}/v1/invoices/{invoice['id']}", json={"due_date": None}),
    )

    mrn_body = {
        **ACCOUNT_BODY,
        "patients": [{**ACCOUNT_BODY["patients"][0], "external_id": f"M-{nobody}"}],
    }
    staff.post(f"{url}/v1/accounts", json=mrn_body)
    seen("post", "/v1/accounts", staff.post(f"{url}/v1/accounts", json=mrn_body))
    seen("post", "/v1/accounts", staff.post(f"{url}/v1/accounts", json={"guarantor": {}}))
    seen(
        "patch",
        account_path,
        send("PATCH", staff, f"{url}/v1/accounts/{account.id}", json={"email": None}),
    )
    seen(
        "post",
        "/v1/accounts/{account_id}/identity-checks",
        staff.post(
            f"{url}/v1/accounts/{account.id}/identity-checks", json={"date_of_birth": "1984-03-02"}
        ),
    )
    admin = StaffClient(codec, clinic_id, ["admin"])
    configure_clinic(suite, codec, clinic_id)
    bad_zone = {
        "name": "x",
        "timezone": "Nowhere/Else",
        "currency": "USD",
        "payment_terms_days": 1,
        "invoice_number_prefix": "A",
    }
    seen("put", "/v1/clinic", send("PUT", admin, f"{url}/v1/clinic", json=bad_zone))
    seen("put", "/v1/clinic", send("PUT", staff, f"{url}/v1/clinic", json=bad_zone))

    seen("get", "/fhir/R4/Invoice/{invoice_id}", staff.get(f"{url}/fhir/R4/Invoice/{nobody}"))
    seen("post", "/fhir/R4/Invoice", staff.post(f"{url}/fhir/R4/Invoice", content=b"{}"))
    seen("get", "/fhir/R4/Account/{account_id}", finance.get(f"{url}/fhir/R4/Account/{account.id}"))

    assert seen.undeclared() == []
    assert {slug for *_, slug in seen.seen} >= EXPECTED
