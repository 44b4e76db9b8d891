"""Decoding a message value into a contract envelope with the contracts' generated models.

`contracts.decode_envelope` checks each message against the JSON Schemas with `jsonschema`,
which costs the ledger more per event than everything else it does together. The generated
pydantic models state the same constraints (the contract test keeps models and schemas in
step) and check them in compiled code, so the ledger validates with those instead.
"""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel, ValidationError

from contracts import Envelope, InvalidEvent, contract_for
from contracts.models.envelope_v1 import Envelope as EnvelopeModel

_ATTRIBUTES = frozenset(EnvelopeModel.model_fields)


@cache
def _data_model(event_type: str) -> type[BaseModel]:
    return contract_for(event_type).model  # UnknownEventType for a type we do not know


def decode(raw: bytes) -> Envelope:
    if b"\\u0000" in raw:  # valid JSON, but jsonb cannot store it: the batch would never commit
        raise InvalidEvent("the message contains \\u0000, which the audit log cannot store")
    try:
        model = EnvelopeModel.model_validate_json(raw)
    except ValidationError as error:
        raise InvalidEvent(f"envelope: {_first(error)}") from None
    try:
        _data_model(model.type).model_validate(model.data)
    except ValidationError as error:
        raise InvalidEvent(f"{model.type}: {_first(error)}") from None
    extra = model.model_extra or {}
    return Envelope(
        id=model.id,
        type=model.type,
        source=model.source,
        subject=model.subject,
        time=model.time,
        clinic_id=model.clinicid,
        account_id=model.accountid,
        correlation_id=model.correlationid,
        causation_id=model.causationid,
        sequence=model.sequence,
        data=model.data,
        extensions={k: v for k, v in extra.items() if k not in _ATTRIBUTES} or None,
    )


def _first(error: ValidationError) -> str:
    # Where and why, never the rejected value.
    first = error.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
