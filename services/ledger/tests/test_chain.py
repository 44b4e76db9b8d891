import uuid
from dataclasses import replace
from datetime import UTC, datetime

from ledger.chain import GENESIS, AuditRow, ChainHead, ChainVerifier, seal

CHAIN = "clinicpay.invoicing.v1:0"


def row(offset: int) -> AuditRow:
    event_id, clinic, account = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    return AuditRow(
        chain=CHAIN,
        seq=0,
        event_id=event_id,
        event_type="clinicpay.invoicing.InvoiceIssued.v1",
        clinic_id=clinic,
        account_id=account,
        subject="s",
        correlation_id="c",
        causation_id=None,
        occurred_at=datetime(2026, 11, 27, tzinfo=UTC),
        topic="clinicpay.invoicing.v1",
        partition=0,
        offset=offset,
        recorded_at=datetime.now(UTC),
        envelope={
            "id": str(event_id),
            "type": "clinicpay.invoicing.InvoiceIssued.v1",
            "clinicid": str(clinic),
            "accountid": str(account),
            "subject": "s",
            "correlationid": "c",
            "causationid": None,
            "data": {"total_amount": 100},
        },
    )


def verify(rows, head):
    verifier = ChainVerifier(CHAIN)
    for r in rows:
        verifier.feed(r)
    return verifier.finish(head)


def head_of(rows):
    return ChainHead(CHAIN, rows[-1].seq, rows[-1].hash)


def test_a_sealed_chain_links_every_row_to_the_one_before():
    rows = seal([row(i) for i in range(3)], None)
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS
    assert rows[2].prev_hash == rows[1].hash
    assert verify(rows, head_of(rows)) is None


def test_a_continued_chain_starts_after_its_head():
    first = seal([row(0)], None)
    rest = seal([row(1)], head_of(first))
    assert rest[0].seq == 2 and rest[0].prev_hash == first[0].hash
    assert verify(first + rest, head_of(rest)) is None


def test_a_changed_row_is_the_first_bad_row():
    rows = seal([row(i) for i in range(4)], None)
    changed = replace(rows[1], envelope={**rows[1].envelope, "data": {"total_amount": 1}})
    broken = verify([rows[0], changed, *rows[2:]], head_of(rows))
    assert (broken.seq, broken.event_id) == (2, rows[1].event_id)
    assert "changed" in broken.reason


def test_a_removed_row_is_found_where_the_gap_is():
    rows = seal([row(i) for i in range(4)], None)
    broken = verify([rows[0], rows[1], rows[3]], head_of(rows))
    assert broken.seq == 4


def test_rows_cut_off_the_end_disagree_with_the_head():
    rows = seal([row(i) for i in range(4)], None)
    broken = verify(rows[:2], head_of(rows))
    assert broken.seq == 3 and broken.event_id is None


def test_a_copied_column_that_disagrees_with_the_envelope_is_named():
    rows = seal([row(0)], None)
    moved = replace(rows[0], clinic_id=uuid.uuid4()).sealed(1, GENESIS)  # re-hashed, still caught
    broken = verify([moved], ChainHead(CHAIN, 1, moved.hash))
    assert "clinic_id" in broken.reason
