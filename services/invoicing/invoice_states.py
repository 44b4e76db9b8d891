"""Invoices as each recorded event leaves them, for readers that walk the notification log
in order (the relay and the invoice-list projector).

Each event moves its invoice one version on, so an invoice is loaded from the store only
when a reader meets it part-way through its history (after a restart, or past a batch it
skipped); otherwise the event is applied to the state the reader already holds.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any
from uuid import UUID

from eventsourcing.application import Repository

from invoicing.domain import Invoice


class InvoiceStates:
    def __init__(self, repository: Repository, size: int = 10_000) -> None:
        self.repository = repository
        self.size = size
        self._states: OrderedDict[UUID, Invoice] = OrderedDict()

    def after(self, event: Any) -> Invoice:
        """The invoice as `event` left it. The object is the reader's working copy: read
        it before asking for the next event's state."""
        held = self._states.pop(event.originator_id, None)
        if held is not None and held.version == event.originator_version - 1:
            invoice = event.mutate(held)
        elif event.originator_version == 1:
            invoice = event.mutate(None)
        else:
            invoice = self.repository.get(event.originator_id, version=event.originator_version)
        self._states[event.originator_id] = invoice
        while len(self._states) > self.size:
            self._states.popitem(last=False)
        return invoice
