"""The event store's recorder, extended to write index rows in the events' own transaction.

`app.save(*aggregates, effects=[...])` hands the statements down here; they run before the
events are inserted, in one transaction with them. A statement that violates a constraint
(a second default card, an invoice already in an active plan, an allocation computed from a
stale state) rolls the events back too, and surfaces as the save's IntegrityError.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import sql


@dataclass(frozen=True)
class Statement:
    """SQL with `{schema}` for the service's schema and %s placeholders."""

    text: str
    params: tuple[Any, ...] = ()

    def composed(self, schema: str) -> sql.Composed:
        return sql.SQL(self.text).format(schema=sql.Identifier(schema))


class PaymentsRecorder(PostgresApplicationRecorder):
    def _insert_events(
        self,
        curs: Any,
        stored_events: Sequence[StoredEvent],
        *,
        effects: Sequence[Statement] = (),
        **kwargs: Any,
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        for statement in effects:
            curs.execute(statement.composed(self.datastore.schema), statement.params)
