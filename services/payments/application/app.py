"""The event-sourced application: where aggregates are stored and found, scoped to a clinic."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import JSONTranscoder, Mapper, Transcoding

from eventbus.tracing_mapper import TracingMapper
from payments.domain.errors import (
    MandateNotFound,
    NotFound,
    PaymentMethodNotFound,
    PaymentNotFound,
    PlanNotFound,
)
from payments.domain.mandate import AutopayMandate
from payments.domain.method import PaymentMethod
from payments.domain.payment import Payment
from payments.domain.plan import PaymentPlan, RetryPolicy
from payments.gateway import PaymentGateway
from payments.store.queries import ReadModel
from payments.store.recorder import Statement

A = TypeVar("A", bound=Aggregate)


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class PaymentsApp(Application):
    name = "payments"

    def construct_mapper(self) -> Mapper:
        return self.factory.mapper(
            transcoder=self.construct_transcoder(), mapper_class=TracingMapper
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def record(self, *aggregates: Aggregate, effects: Sequence[Statement] = ()) -> None:
        """Save the aggregates' new events and the index rows they imply, in one transaction."""
        self.save(*aggregates, effects=list(effects))

    def find(self, kind: type[A], aggregate_id: UUID) -> A | None:
        try:
            aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, kind) else None

    def _scoped(
        self, kind: type[A], missing: type[NotFound], clinic_id: UUID | None, id: UUID
    ) -> A:
        """The aggregate if it is the clinic's; another clinic's is as absent as a missing one."""
        aggregate = self.find(kind, id)
        if aggregate is None or (clinic_id is not None and aggregate.clinic_id != clinic_id):
            raise missing(str(id))
        return aggregate

    def payment(self, clinic_id: UUID | None, payment_id: UUID) -> Payment:
        return self._scoped(Payment, PaymentNotFound, clinic_id, payment_id)

    def method(self, clinic_id: UUID | None, method_id: UUID) -> PaymentMethod:
        return self._scoped(PaymentMethod, PaymentMethodNotFound, clinic_id, method_id)

    def plan(self, clinic_id: UUID | None, plan_id: UUID) -> PaymentPlan:
        return self._scoped(PaymentPlan, PlanNotFound, clinic_id, plan_id)

    def mandate(self, clinic_id: UUID | None, mandate_id: UUID) -> AutopayMandate:
        return self._scoped(AutopayMandate, MandateNotFound, clinic_id, mandate_id)


@dataclass(frozen=True)
class ClinicCalendar:
    """Dates in the clinic's timezone. One zone for every clinic until clinics carry their own."""

    zone: ZoneInfo = ZoneInfo("UTC")

    def today(self, clinic_id: UUID, now: datetime) -> date:
        return now.astimezone(self.zone).date()


@dataclass
class Context:
    """What every payments service needs: storage, the gateway, reads, time and policy."""

    app: PaymentsApp
    gateway: PaymentGateway
    reads: ReadModel
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    calendar: ClinicCalendar = ClinicCalendar()
    retry_policy: RetryPolicy = RetryPolicy()
    resolve_after: timedelta = timedelta(seconds=30)

    def now(self) -> datetime:
        return self.clock()

    def today(self, clinic_id: UUID) -> date:
        return self.calendar.today(clinic_id, self.clock())
