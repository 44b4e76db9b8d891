import json
import uuid

import pytest

from contracts import InvalidEvent, UnknownEventType, decode_envelope
from ledger.decoding import decode
from ledger.tests.test_postings import captured, issued


@pytest.mark.parametrize("make", [lambda: issued(12_500), lambda: captured(900, [])])
def test_decodes_what_the_schema_validator_decodes(make):
    raw = make().encode()
    assert decode(raw) == decode_envelope(raw)


def mutated(change) -> bytes:
    document = json.loads(issued(100).encode())
    change(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        mutated(lambda d: d.pop("clinicid")),
        mutated(lambda d: d.update(id="not-a-uuid")),
        mutated(lambda d: d["data"].update(total_amount=-1)),
        mutated(lambda d: d["data"].update(currency="usd")),
        mutated(lambda d: d["data"].pop("due_date")),
        mutated(lambda d: d["data"].update(invoice_id=str(uuid.uuid4())[:-1])),
    ],
)
def test_refuses_what_the_contract_refuses(raw):
    with pytest.raises(InvalidEvent):
        decode_envelope(raw)
    with pytest.raises(InvalidEvent):
        decode(raw)


def test_an_unknown_type_is_named():
    raw = mutated(lambda d: d.update(type="clinicpay.invoicing.InvoiceTeleported.v1"))
    with pytest.raises(UnknownEventType):
        decode(raw)


def test_a_nul_character_is_refused_before_it_can_stall_the_partition():
    raw = mutated(lambda d: d.update(correlationid="req\u0000x"))
    with pytest.raises(InvalidEvent, match="u0000"):
        decode(raw)
