"""Build, encode and decode the CloudEvents envelope that every Kafka message carries."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from pydantic import BaseModel

from contracts.generate import SCHEMAS_DIR
from contracts.registry import InvalidEvent, contract_for

EVENT_ID_NAMESPACE = uuid.UUID("7d0f4a3e-4c1b-5d5e-9a57-3f1c2b6a9e10")


def event_id_for(source: str, aggregate_id: uuid.UUID | str, version: int) -> uuid.UUID:
    """Deterministic: a republished event keeps its id, so consumers can deduplicate it."""
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{source}/{aggregate_id}/{version}")


@dataclass(frozen=True)
class Envelope:
    id: uuid.UUID
    type: str
    source: str
    subject: str
    time: datetime
    clinic_id: uuid.UUID
    account_id: uuid.UUID
    correlation_id: str
    causation_id: str | None
    sequence: int
    data: dict[str, Any]
    extensions: dict[str, Any] | None = None

    @property
    def key(self) -> bytes:
        return str(self.account_id).encode()

    def to_json(self) -> dict[str, Any]:
        document = {
            "specversion": "1.0",
            "id": str(self.id),
            "type": self.type,
            "source": self.source,
            "subject": self.subject,
            "time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "clinicid": str(self.clinic_id),
            "accountid": str(self.account_id),
            "correlationid": self.correlation_id,
            "causationid": self.causation_id,
            "sequence": self.sequence,
            "data": self.data,
        }
        document.update(self.extensions or {})
        return document

    def encode(self) -> bytes:
        return json.dumps(self.to_json(), separators=(",", ":"), sort_keys=True).encode()

    def model(self) -> BaseModel:
        return contract_for(self.type).validate(self.data)


_ATTRIBUTES = {
    "specversion",
    "id",
    "type",
    "source",
    "subject",
    "time",
    "datacontenttype",
    "clinicid",
    "accountid",
    "correlationid",
    "causationid",
    "sequence",
    "data",
}


def make_envelope(
    *,
    event_type: str,
    aggregate_id: uuid.UUID,
    sequence: int,
    clinic_id: uuid.UUID,
    account_id: uuid.UUID,
    data: BaseModel,
    time: datetime,
    correlation_id: str,
    causation_id: str | None = None,
) -> Envelope:
    contract = contract_for(event_type)
    body = data.model_dump(mode="json", exclude_none=True)
    contract.validate(body)
    return Envelope(
        id=event_id_for(contract.source, aggregate_id, sequence),
        type=event_type,
        source=contract.source,
        subject=str(aggregate_id),
        time=time,
        clinic_id=clinic_id,
        account_id=account_id,
        correlation_id=correlation_id,
        causation_id=causation_id,
        sequence=sequence,
        data=body,
    )


@cache
def _envelope_validator() -> Draft202012Validator:
    schema = json.loads((SCHEMAS_DIR / "envelope.v1.json").read_text())
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def decode_envelope(raw: bytes) -> Envelope:
    """Parse and validate a message value: the envelope, then its data against its type."""
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidEvent(f"not JSON: {error}") from None
    if not isinstance(document, dict):
        raise InvalidEvent("an envelope must be a JSON object")
    try:
        _envelope_validator().validate(document)
    except ValidationError as error:
        raise InvalidEvent(f"envelope: {error.message}") from None
    envelope = Envelope(
        id=uuid.UUID(document["id"]),
        type=document["type"],
        source=document["source"],
        subject=document["subject"],
        time=datetime.fromisoformat(document["time"].replace("Z", "+00:00")),
        clinic_id=uuid.UUID(document["clinicid"]),
        account_id=uuid.UUID(document["accountid"]),
        correlation_id=document["correlationid"],
        causation_id=document.get("causationid"),
        sequence=document["sequence"],
        data=document["data"],
        extensions={k: v for k, v in document.items() if k not in _ATTRIBUTES} or None,
    )
    envelope.model()  # validates data against the type's schema (UnknownEventType if unknown)
    return envelope
