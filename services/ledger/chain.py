"""The audit log's hash chains, without I/O.

One chain per consumed partition (`<topic>:<partition>`). Each row's hash is
SHA-256(previous hash || canonical encoding of the row), the first row's previous hash is
GENESIS, and rows are numbered 1, 2, 3 ... in offset order. Changing, deleting or inserting
any historical row breaks every hash from there on; cutting rows off the end is caught by
comparing the last row with the chain head stored beside the log (and anchored outside it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

GENESIS = bytes(32)


def chain_name(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


@dataclass(slots=True)
class AuditRow:
    """One row of the audit log. Sealing sets its position and hash, once, on a fresh row."""

    chain: str
    seq: int
    event_id: UUID
    event_type: str
    clinic_id: UUID
    account_id: UUID
    subject: str
    correlation_id: str
    causation_id: str | None
    occurred_at: datetime
    topic: str
    partition: int
    offset: int
    recorded_at: datetime
    envelope: dict[str, Any]
    prev_hash: bytes = GENESIS
    hash: bytes = b""

    def canonical(self) -> bytes:
        document = {
            "chain": self.chain,
            "seq": self.seq,
            "event_id": str(self.event_id),
            "event_type": self.event_type,
            "clinic_id": str(self.clinic_id),
            "account_id": str(self.account_id),
            "subject": self.subject,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "occurred_at": _instant(self.occurred_at),
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "recorded_at": _instant(self.recorded_at),
            "envelope": self.envelope,
            "prev_hash": self.prev_hash.hex(),
        }
        return json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()

    def computed_hash(self) -> bytes:
        return hashlib.sha256(self.prev_hash + self.canonical()).digest()

    def sealed(self, seq: int, prev_hash: bytes) -> AuditRow:
        self.seq, self.prev_hash = seq, prev_hash
        self.hash = self.computed_hash()
        return self

    def disagreement_with_envelope(self) -> str | None:
        """The indexed columns are copies of the envelope's attributes; say which differs."""
        e = self.envelope
        copies = {
            "event_id": (str(self.event_id), e.get("id")),
            "event_type": (self.event_type, e.get("type")),
            "clinic_id": (str(self.clinic_id), e.get("clinicid")),
            "account_id": (str(self.account_id), e.get("accountid")),
            "subject": (self.subject, e.get("subject")),
            "correlation_id": (self.correlation_id, e.get("correlationid")),
            "causation_id": (self.causation_id, e.get("causationid")),
        }
        for column, (stored, in_envelope) in copies.items():
            if stored != in_envelope:
                return column
        return None


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class ChainHead:
    chain: str
    seq: int
    hash: bytes


def seal(rows: Iterable[AuditRow], head: ChainHead | None) -> list[AuditRow]:
    """Number and hash `rows` as the continuation of the chain whose head is `head`."""
    seq, previous = (head.seq, head.hash) if head else (0, GENESIS)
    sealed = []
    for row in rows:
        seq += 1
        row = row.sealed(seq, previous)
        previous = row.hash
        sealed.append(row)
    return sealed


@dataclass(frozen=True)
class BrokenLink:
    chain: str
    seq: int
    event_id: UUID | None
    reason: str


class ChainVerifier:
    """Feed one chain's rows in seq order; `broken` is the first row that does not match."""

    def __init__(self, chain: str) -> None:
        self.chain = chain
        self.seq = 0
        self.previous = GENESIS
        self.broken: BrokenLink | None = None

    def feed(self, row: AuditRow) -> None:
        if self.broken is not None:
            return
        reason = self._check(row)
        if reason:
            self.broken = BrokenLink(self.chain, row.seq, row.event_id, reason)
        self.seq, self.previous = row.seq, row.hash

    def _check(self, row: AuditRow) -> str | None:
        if row.seq != self.seq + 1:
            return f"expected row {self.seq + 1} next: rows were removed or inserted"
        if row.prev_hash != self.previous:
            return "its previous hash is not the hash of the row before it"
        if row.hash != row.computed_hash():
            return "its contents do not match its hash: the row was changed"
        column = row.disagreement_with_envelope()
        if column:
            return f"its {column} column disagrees with its stored envelope"
        return None

    def finish(self, head: ChainHead | None) -> BrokenLink | None:
        if (
            self.broken is None
            and head is not None
            and (head.seq, head.hash)
            != (
                self.seq,
                self.previous,
            )
        ):
            self.broken = BrokenLink(
                self.chain,
                min(head.seq, self.seq + 1),
                None,
                f"the chain head is row {head.seq} but the log ends at row {self.seq}"
                if head.seq != self.seq
                else "the last row's hash is not the chain head",
            )
        return self.broken
