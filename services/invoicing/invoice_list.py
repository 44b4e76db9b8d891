"""The invoice list: a read model of every invoice's summary, for `GET /v1/invoices`.

It is a projection of the event store. A projector reads the notification log after the
position it recorded, loads each invoice that changed as it stood at its latest version in
that batch, and upserts the rows together with the new position in one transaction. So the
table is always exactly the events up to its position: it can be dropped and rebuilt from
the log (`clinicpay invoicing rebuild-invoice-list`), and a reader that needs everything
recorded so far catches the projection up first. Rows hold ids, amounts, dates and status,
no line descriptions and nothing about the people.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier

from invoicing.application import Invoicing
from invoicing.domain import Invoice
from invoicing.invoice_states import InvoiceStates

INVOICE_TOPICS = get_topic(Invoice) + "."
TRACKING_TABLE = "invoice_list_tracking"

DDL = [
    """CREATE TABLE IF NOT EXISTS {schema}.invoice_list (
        invoice_id    uuid PRIMARY KEY,
        clinic_id     uuid    NOT NULL,
        account_id    uuid    NOT NULL,
        patient_id    uuid    NOT NULL,
        number        text,
        status        text    NOT NULL,
        currency      text    NOT NULL,
        total_amount  bigint  NOT NULL,
        amount_paid   bigint  NOT NULL,
        amount_due    bigint  NOT NULL,
        issued_on     date,
        due_date      date,
        created_at    timestamptz NOT NULL,
        created_seq   bigint  NOT NULL,
        version       integer NOT NULL
    )""",
    # Newest first is created_seq descending: the notification id of the invoice's draft.
    """CREATE INDEX IF NOT EXISTS invoice_list_by_clinic
        ON {schema}.invoice_list (clinic_id, created_seq DESC)""",
    """CREATE INDEX IF NOT EXISTS invoice_list_by_account
        ON {schema}.invoice_list (clinic_id, account_id, created_seq DESC)""",
    """CREATE INDEX IF NOT EXISTS invoice_list_by_patient
        ON {schema}.invoice_list (clinic_id, patient_id, created_seq DESC)""",
    """CREATE INDEX IF NOT EXISTS invoice_list_by_status
        ON {schema}.invoice_list (clinic_id, status, created_seq DESC)""",
]

COLUMNS = (
    "invoice_id, clinic_id, account_id, patient_id, number, status, currency, total_amount, "
    "amount_paid, amount_due, issued_on, due_date, created_at, created_seq, version"
)


@dataclass(frozen=True)
class InvoiceRow:
    invoice_id: UUID
    clinic_id: UUID
    account_id: UUID
    patient_id: UUID
    number: str | None
    status: str
    currency: str
    total_amount: int
    amount_paid: int
    amount_due: int
    issued_on: date | None
    due_date: date | None
    created_at: datetime
    created_seq: int
    version: int

    @classmethod
    def of(cls, invoice: Invoice, created_seq: int) -> InvoiceRow:
        return cls(
            invoice_id=invoice.id,
            clinic_id=invoice.clinic_id,
            account_id=invoice.account_id,
            patient_id=invoice.patient_id,
            number=invoice.number,
            status=invoice.status.value,
            currency=invoice.currency,
            total_amount=invoice.total_amount,
            amount_paid=invoice.amount_paid,
            amount_due=invoice.amount_due,
            issued_on=invoice.issued_on,
            due_date=invoice.due_date,
            created_at=invoice.created_on,
            created_seq=created_seq,
            version=invoice.version,
        )


class InvoiceListView(PostgresTrackingRecorder):
    """The invoice_list table and its position, written in one transaction."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, tracking_table_name=TRACKING_TABLE, **kwargs)
        schema = Identifier(datastore.schema)
        self.sql_create_statements.extend(SQL(ddl).format(schema=schema) for ddl in DDL)
        self.upsert = SQL(
            "INSERT INTO {schema}.invoice_list ("
            + COLUMNS
            + ") VALUES ("
            + ", ".join(["%s"] * 15)
            + """) ON CONFLICT (invoice_id) DO UPDATE SET
                number = EXCLUDED.number, status = EXCLUDED.status,
                total_amount = EXCLUDED.total_amount, amount_paid = EXCLUDED.amount_paid,
                amount_due = EXCLUDED.amount_due, issued_on = EXCLUDED.issued_on,
                due_date = EXCLUDED.due_date, version = EXCLUDED.version
              WHERE invoice_list.version < EXCLUDED.version"""
        ).format(schema=schema)
        self.truncate = SQL("TRUNCATE {schema}.invoice_list").format(schema=schema)
        tracking_table = Identifier(TRACKING_TABLE)
        self.forget_position = SQL(
            "DELETE FROM {schema}.{table} WHERE application_name = %s"
        ).format(schema=schema, table=tracking_table)
        self.lock_position = SQL(
            "SELECT notification_id FROM {schema}.{table} WHERE application_name = %s FOR UPDATE"
        ).format(schema=schema, table=tracking_table)

    def record(self, rows: Sequence[InvoiceRow], tracking: Tracking, previous: int) -> None:
        """Upserts `rows` and moves the position from `previous` to `tracking`, or raises
        IntegrityError if the position is no longer `previous`: another projector recorded
        this batch, or the list was reset while the batch was being read. The position is
        locked first, so concurrent projectors and a reset take turns."""
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(self.lock_position, (tracking.application_name,))
            found = cursor.fetchone()
            if (found["notification_id"] if found else 0) != previous:
                raise IntegrityError(f"the invoice list is no longer at {previous}")
            self._insert_tracking(cursor, tracking)
            if rows:
                cursor.executemany(self.upsert, [astuple(row) for row in rows])

    def reset(self, application_name: str) -> None:
        """Empties the list and forgets its position, so that it is rebuilt from the log.
        The position goes first, in the order `record` takes its locks."""
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(self.forget_position, (application_name,))
            cursor.execute(self.truncate)


def view_for(app: Invoicing, create_table: bool = False) -> InvoiceListView:
    """The view on the application's own database connections."""
    view = InvoiceListView(app.factory.datastore)
    if create_table:
        view.create_table()
    return view


class InvoiceListProjector:
    def __init__(self, app: Invoicing, view: InvoiceListView, batch_size: int = 500) -> None:
        self.app = app
        self.view = view
        self.batch_size = batch_size
        self.states = InvoiceStates(app.repository)
        # List requests of one API process may catch up at once; the states are not shared.
        self._one_at_a_time = threading.Lock()

    @property
    def position(self) -> int:
        return self.view.max_tracking_id(self.app.name) or 0

    def project_next_batch(self) -> int:
        """Projects the notifications after the recorded position; returns how many it passed.
        Raises the recorder's IntegrityError when another projector recorded them first."""
        with self._one_at_a_time:
            return self._project_next_batch()

    def _project_next_batch(self) -> int:
        previous = self.position
        notifications = self.app.recorder.select_notifications(previous + 1, self.batch_size)
        if not notifications:
            return 0
        rows: dict[UUID, InvoiceRow] = {}
        for notification in notifications:
            if notification.topic.startswith(INVOICE_TOPICS):
                invoice = self.states.after(self.app.mapper.to_domain_event(notification))
                first_seen = rows[invoice.id].created_seq if invoice.id in rows else notification.id
                rows[invoice.id] = InvoiceRow.of(invoice, first_seen)
        ordered = [rows[invoice_id] for invoice_id in sorted(rows)]  # one lock order for all
        self.view.record(ordered, Tracking(self.app.name, notifications[-1].id), previous)
        return len(notifications)
