import json
import subprocess
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from contracts import InvalidEvent, contract_for, contracts, decode_envelope, make_envelope
from contracts.compat import breaking_changes
from contracts.generate import MODELS_DIR, SCHEMAS_DIR, schema_files, write_models

EXPECTED_TYPES = {
    "clinicpay.invoicing.InvoiceIssued.v1",
    "clinicpay.payments.PaymentCaptured.v1",
    "clinicpay.reminders.ReminderDue.v1",
}


def test_the_walking_skeleton_events_have_contracts():
    assert set(contracts()) >= EXPECTED_TYPES


def test_committed_models_are_exactly_what_the_schemas_generate(tmp_path: Path):
    generated = {p.name: p.read_text() for p in write_models(tmp_path)}
    committed = {p.name: p.read_text() for p in MODELS_DIR.glob("*_v*.py")}
    assert committed == generated, "run `python -m contracts.generate` after changing a schema"


@pytest.mark.parametrize("schema", schema_files(), ids=lambda p: p.name)
def test_schemas_are_open_objects_so_optional_fields_can_be_added(schema: Path):
    document = json.loads(schema.read_text())
    assert document["type"] == "object"
    assert document.get("additionalProperties") is True


def _published_revisions(path: Path) -> list[str]:
    relative = path.relative_to(SCHEMAS_DIR.parent).as_posix()
    log = subprocess.run(
        ["git", "log", "--format=%H", "--", relative],
        cwd=SCHEMAS_DIR.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    return [
        subprocess.run(
            ["git", "show", f"{commit}:{relative}"],
            cwd=SCHEMAS_DIR.parent,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for commit in log.stdout.split()
    ]


@pytest.mark.parametrize("schema", schema_files(), ids=lambda p: p.name)
def test_schema_stays_compatible_with_every_published_revision(schema: Path):
    current = json.loads(schema.read_text())
    for revision in _published_revisions(schema):
        assert breaking_changes(json.loads(revision), current) == []


BASE = {
    "type": "object",
    "additionalProperties": True,
    "required": ["a"],
    "properties": {"a": {"type": "integer", "minimum": 0}, "b": {"type": "string"}},
}


def _changed(**changes):
    schema = json.loads(json.dumps(BASE))
    for key, value in changes.items():
        schema[key] = value
    return schema


def test_adding_an_optional_property_or_a_description_is_compatible():
    new = _changed(
        properties={**BASE["properties"], "c": {"type": "string"}}, description="now documented"
    )
    assert breaking_changes(BASE, new) == []


@pytest.mark.parametrize(
    "new",
    [
        _changed(required=["a", "b"]),
        _changed(required=[]),
        _changed(properties={"a": BASE["properties"]["a"]}),
        _changed(properties={**BASE["properties"], "a": {"type": "string"}}),
        _changed(properties={**BASE["properties"], "a": {"type": "integer", "minimum": 1}}),
        _changed(properties={**BASE["properties"], "b": {"type": "string", "maxLength": 3}}),
        _changed(additionalProperties=False),
    ],
)
def test_breaking_changes_are_named(new):
    assert breaking_changes(BASE, new) != []


def _issued(**overrides):
    contract = contract_for("clinicpay.invoicing.InvoiceIssued.v1")
    data = {
        "invoice_id": str(uuid.uuid4()),
        "account_id": str(uuid.uuid4()),
        "patient_id": str(uuid.uuid4()),
        "currency": "USD",
        "total_amount": 12500,
        "issued_on": "2026-11-27",
        "due_date": "2026-12-27",
        "lines": [
            {"service_date": "2026-11-20", "quantity": 1, "unit_amount": 12500, "amount": 12500}
        ],
    }
    data.update(overrides)
    return contract.model.model_validate(data)


def test_an_envelope_round_trips_through_its_wire_form():
    model = _issued()
    envelope = make_envelope(
        event_type="clinicpay.invoicing.InvoiceIssued.v1",
        aggregate_id=model.invoice_id,
        sequence=2,
        clinic_id=uuid.uuid4(),
        account_id=model.account_id,
        data=model,
        time=datetime(2026, 11, 27, 15, 0, tzinfo=UTC),
        correlation_id="req-1",
    )
    decoded = decode_envelope(envelope.encode())
    assert decoded == envelope
    assert decoded.model().total_amount == 12500
    assert decoded.model().issued_on == date(2026, 11, 27)
    assert envelope.key == str(model.account_id).encode()


def test_the_event_id_is_the_same_when_the_same_aggregate_version_is_published_again():
    model = _issued()
    kwargs = dict(
        event_type="clinicpay.invoicing.InvoiceIssued.v1",
        aggregate_id=model.invoice_id,
        sequence=2,
        clinic_id=uuid.uuid4(),
        account_id=model.account_id,
        data=model,
        correlation_id="c",
    )
    first = make_envelope(time=datetime.now(UTC), **kwargs)
    again = make_envelope(time=datetime.now(UTC), **kwargs)
    assert first.id == again.id


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"specversion": "1.0"}',
    ],
)
def test_malformed_messages_are_refused(raw):
    with pytest.raises(InvalidEvent):
        decode_envelope(raw)


def test_data_that_breaks_its_schema_is_refused():
    model = _issued()
    envelope = make_envelope(
        event_type="clinicpay.invoicing.InvoiceIssued.v1",
        aggregate_id=model.invoice_id,
        sequence=2,
        clinic_id=uuid.uuid4(),
        account_id=model.account_id,
        data=model,
        time=datetime.now(UTC),
        correlation_id="c",
    )
    document = envelope.to_json()
    document["data"]["total_amount"] = -5
    with pytest.raises(InvalidEvent, match="total_amount|-5"):
        decode_envelope(json.dumps(document).encode())
