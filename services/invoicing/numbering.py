"""Issuing invoices one clinic at a time, many per transaction.

A clinic's invoice numbers come from one counter, so issues within a clinic are serial.
Saving each one on its own would make the clinic's issue rate the inverse of one commit's
latency (every commit also queues for the event store's table lock behind other writes).
Instead, issues that arrive while another is being saved wait together, and the next one
to hold the clinic's lock saves all of them in one transaction ("flat combining"): the
numbers stay consecutive and in order, and a busy clinic pays one commit per batch.

The clinic aggregate stays in memory from one batch to the next, because this process is
the only one numbering while it holds the lock; if another replica numbered since, the
save conflicts and every issue in the batch is retried on fresh state by its own caller.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import RecordConflictError

from invoicing.clinics import Clinic
from invoicing.domain import Invoice

MAX_BATCH = 200


@dataclass(eq=False)
class IssueJob:
    invoice: Invoice
    also: tuple[Any, ...]
    done: bool = False
    error: BaseException | None = None


@dataclass
class _ClinicQueue:
    lock: threading.Lock = field(default_factory=threading.Lock)  # held while a batch saves
    guard: threading.Lock = field(default_factory=threading.Lock)  # held to touch `pending`
    pending: list[IssueJob] = field(default_factory=list)
    clinic: Clinic | None = None  # as last saved by this process


class IssueBatches:
    def __init__(
        self,
        load_clinic: Callable[[UUID], Clinic],
        prepare: Callable[[Invoice, Clinic], None],
        save: Callable[..., Any],
    ) -> None:
        """`prepare(invoice, clinic)` checks and issues one invoice with the clinic's next
        number, raising before it takes a number if the invoice cannot be issued."""
        self.load_clinic = load_clinic
        self.prepare = prepare
        self.save = save
        self._guard = threading.Lock()
        self._queues: dict[UUID, _ClinicQueue] = {}

    def issue(self, clinic_id: UUID, invoice: Invoice, *also: Any) -> None:
        """Issues and saves `invoice` (with `also`), alone or in a batch; raises what
        refused it, or RecordConflictError for the caller to retry on fresh state."""
        queue = self._queue(clinic_id)
        job = IssueJob(invoice, also)
        with queue.guard:
            queue.pending.append(job)
        while not job.done:  # a job may be left for a later batch (see _one_per_invoice)
            with queue.lock:
                if job.done:
                    break
                with queue.guard:
                    batch, queue.pending = _one_per_invoice(queue.pending)
                self._save_batch(clinic_id, queue, batch)
        if job.error is not None:
            raise job.error

    def forget(self, clinic_id: UUID) -> None:
        """Drops the clinic kept in memory (its settings changed)."""
        self._queue(clinic_id).clinic = None

    def lock(self, clinic_id: UUID) -> threading.Lock:
        return self._queue(clinic_id).lock

    def _save_batch(self, clinic_id: UUID, queue: _ClinicQueue, batch: list[IssueJob]) -> None:
        clinic = queue.clinic or self.load_clinic(clinic_id)
        queue.clinic = None  # until this batch is saved, it is not what the store holds
        accepted = []
        for job in batch:
            try:
                self.prepare(job.invoice, clinic)
                accepted.append(job)
            except Exception as error:  # refused before a number was taken: only this one
                job.error = error
        try:
            if accepted:
                self.save(*(a for job in accepted for a in (job.invoice, *job.also)), clinic)
            queue.clinic = clinic
        except RecordConflictError as conflict:
            for job in accepted:
                job.error = conflict
        except Exception as error:
            for job in accepted:
                job.error = error
        finally:
            for job in batch:
                job.done = True

    def _queue(self, clinic_id: UUID) -> _ClinicQueue:
        with self._guard:
            return self._queues.setdefault(clinic_id, _ClinicQueue())


def _one_per_invoice(pending: list[IssueJob]) -> tuple[list[IssueJob], list[IssueJob]]:
    """(this batch, the rest). The same invoice issued twice at once goes into separate
    batches: in one, the two would conflict with each other and fail the whole batch."""
    batch: list[IssueJob] = []
    rest: list[IssueJob] = []
    seen: set[UUID] = set()
    for job in pending:
        if job.invoice.id in seen or len(batch) == MAX_BATCH:
            rest.append(job)
        else:
            seen.add(job.invoice.id)
            batch.append(job)
    return batch, rest
