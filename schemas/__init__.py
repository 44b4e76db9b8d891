"""clinicpay's event contracts: one JSON Schema per event type and version, with its model.

The schemas in this folder are the single source of truth. The pydantic models in
`models/` are generated from them (`python -m contracts.generate`).
"""

from contracts.envelope import Envelope, decode_envelope, event_id_for, make_envelope
from contracts.registry import (
    EventContract,
    InvalidEvent,
    UnknownEventType,
    contract_for,
    contract_named,
    contracts,
)

__all__ = [
    "Envelope",
    "EventContract",
    "InvalidEvent",
    "UnknownEventType",
    "contract_for",
    "contract_named",
    "contracts",
    "decode_envelope",
    "event_id_for",
    "make_envelope",
]
