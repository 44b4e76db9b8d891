"""The event store's recorder, extended to write index rows in the events' own transaction.

`app.save(*aggregates, effects=[...])` hands the statements down here; they run before the
events are inserted, in one transaction with them. A statement that violates a constraint
(a second default card, an invoice already in an active plan, an allocation computed from a
stale state) rolls the events back too, and surfaces as the save's IntegrityError.

The whole transaction goes to the server in one round trip, COMMIT included. Every insert
takes the events table's lock (that is how notification ids commit in order); sending COMMIT
with the rest means the lock is held while the server works, not while this thread waits to
be scheduled again to send the COMMIT.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import retry
from psycopg import sql


@dataclass(frozen=True)
class Statement:
    """SQL with `{schema}` for the service's schema and %s placeholders."""

    text: str
    params: tuple[Any, ...] = ()

    def composed(self, schema: str) -> sql.Composed:
        return sql.SQL(self.text).format(schema=sql.Identifier(schema))


class PaymentsRecorder(PostgresApplicationRecorder):
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self,
        stored_events: Sequence[StoredEvent],
        *,
        effects: Sequence[Statement] = (),
        **kwargs: Any,
    ) -> Sequence[int] | None:
        with (
            self.datastore.get_connection() as conn,
            conn.cursor() as index_cursor,
            conn.cursor() as events_cursor,
        ):
            with conn.pipeline(), conn.transaction():
                for statement in effects:
                    index_cursor.execute(
                        statement.composed(self.datastore.schema), statement.params
                    )
                if stored_events:
                    self._insert_stored_events(events_cursor, stored_events, **kwargs)
            if not stored_events:
                return None
            return self._fetch_ids_after_insert_events(events_cursor, stored_events)
