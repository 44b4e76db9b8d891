"""The invoicing application: commands on invoices, recorded as events in PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import JSONTranscoder, Mapper, Transcoding

from eventbus.tracing_mapper import TracingMapper
from invoicing.domain import Invoice, InvoiceNotFound, Line


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class Invoicing(Application):
    name = "invoicing"

    def __init__(
        self,
        env: dict[str, Any] | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(env)
        self.clock = clock

    def construct_mapper(self) -> Mapper:
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=TracingMapper
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def clinic_timezone(self, clinic_id: UUID) -> ZoneInfo:
        return ZoneInfo("UTC")

    def today(self, clinic_id: UUID) -> date:
        return self.clock().astimezone(self.clinic_timezone(clinic_id)).date()

    def draft_invoice(
        self,
        *,
        clinic_id: UUID,
        account_id: UUID,
        patient_id: UUID,
        currency: str,
        due_date: date,
        lines: list[Line],
    ) -> Invoice:
        invoice = Invoice.draft(
            clinic_id=clinic_id,
            account_id=account_id,
            patient_id=patient_id,
            currency=currency,
            due_date=due_date,
            lines=lines,
        )
        self.save(invoice)
        return invoice

    def issue_invoice(self, clinic_id: UUID, invoice_id: UUID) -> Invoice:
        invoice = self.get_invoice(clinic_id, invoice_id)
        invoice.issue(issued_on=self.today(clinic_id))
        self.save(invoice)
        return invoice

    def get_invoice(self, clinic_id: UUID, invoice_id: UUID) -> Invoice:
        """The clinic's invoice; another clinic's invoice is as absent as a missing one."""
        try:
            invoice = self.repository.get(invoice_id)
        except AggregateNotFoundError:
            raise InvoiceNotFound(str(invoice_id)) from None
        if not isinstance(invoice, Invoice) or invoice.clinic_id != clinic_id:
            raise InvoiceNotFound(str(invoice_id))
        return invoice
