"""Consumes `clinicpay.payments.v1` into invoices, one message per transaction.

Each message's effect on its invoices and the consumer's new position in the partition
(eventsourcing tracking records: one per topic-partition, holding the next offset) commit
together, so a crash either keeps both or neither; on assignment the consumer seeks to the
positions it recorded. Replicas share the partitions through the consumer group; should
two ever process the same message, the second one's position conflicts and it is skipped.
A message that cannot be decoded, or names an invoice this clinic does not have, goes to
the dead-letter topic with the reason first, and then its position is recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import structlog
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord
from eventsourcing.persistence import RecordConflictError, Tracking

from contracts import InvalidEvent, UnknownEventType, decode_envelope
from eventbus import metrics
from eventbus.topics import PAYMENTS, dead_letter
from eventbus.tracing import continue_event_trace
from invoicing.application import Invoicing
from invoicing.payments import PaymentAllocations

log = structlog.get_logger("invoicing.payments")


def position_name(topic: str, partition: int) -> str:
    return f"{topic}#{partition}"


class _SeekToRecordedPositions(ConsumerRebalanceListener):
    def __init__(self, consumer: PaymentsConsumer) -> None:
        self.owner = consumer

    async def on_partitions_revoked(self, revoked) -> None:
        pass

    async def on_partitions_assigned(self, assigned) -> None:
        await self.owner.seek_to_recorded_positions(list(assigned))


class PaymentsConsumer:
    def __init__(
        self,
        *,
        app: Invoicing,
        consumer: AIOKafkaConsumer,
        dlq_producer: AIOKafkaProducer,
        topics: Sequence[str] = (PAYMENTS,),
    ) -> None:
        self.app = app
        self.allocations = PaymentAllocations(app)
        self.consumer = consumer
        self.dlq_producer = dlq_producer
        self.topics = tuple(topics)

    async def seek_to_recorded_positions(self, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            name = position_name(tp.topic, tp.partition)
            position = await asyncio.to_thread(self.app.recorder.max_tracking_id, name)
            if position is None:
                await self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, position)
        log.info("payments.assigned", partitions=len(partitions))

    async def run(self, stop: asyncio.Event) -> None:
        self.consumer.subscribe(self.topics, listener=_SeekToRecordedPositions(self))
        while not stop.is_set():
            batches = await self.consumer.getmany(timeout_ms=200, max_records=500)
            for tp, records in batches.items():
                for record in records:
                    await self.handle(record)
                await self._commit_for_lag(tp, records[-1].offset + 1)

    async def handle(self, record: ConsumerRecord) -> None:
        tracking = Tracking(position_name(record.topic, record.partition), record.offset + 1)
        try:
            envelope = decode_envelope(record.value)
        except (InvalidEvent, UnknownEventType) as error:
            await self.dead_letter(record, f"{type(error).__name__}: {error}")
            await asyncio.to_thread(self._record_position_only, tracking)
            return
        with continue_event_trace("invoicing apply payment", envelope):
            unapplicable = await asyncio.to_thread(self.allocations.unapplicable, envelope)
            if unapplicable:
                reasons = ", ".join(f"{u.reason} {u.invoice_id}" for u in unapplicable)
                await self.dead_letter(record, f"Unapplicable: {reasons}")
            applied = await asyncio.to_thread(self.allocations.apply, envelope, tracking)
            log.info(
                "payments.consumed",
                event_id=str(envelope.id),
                type=envelope.type,
                applied=applied,
                unapplicable=len(unapplicable),
            )
        metrics.EVENTS_CONSUMED.labels("invoicing", record.topic, envelope.type).inc()

    def _record_position_only(self, tracking: Tracking) -> None:
        with contextlib.suppress(RecordConflictError):  # recorded before: handled already
            self.app.save_processed(tracking)

    async def dead_letter(self, record: ConsumerRecord, reason: str) -> None:
        metrics.dead_lettered("invoicing", record.topic, reason)
        log.warning(
            "payments.dead_lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason.split(":", 1)[0],  # the class of problem; details go in the header
        )
        await self.dlq_producer.send_and_wait(
            dead_letter(record.topic),
            key=record.key,
            value=record.value,
            headers=[
                ("dlq_reason", reason[:1000].encode()),
                ("dlq_consumer", b"invoicing"),
                ("dlq_source", f"{record.topic}:{record.partition}:{record.offset}".encode()),
            ],
        )

    async def _commit_for_lag(self, tp: TopicPartition, next_offset: int) -> None:
        try:
            await self.consumer.commit({tp: next_offset})
        except Exception as error:  # the database holds the position; this is for lag only
            log.warning("payments.kafka_commit_failed", error=type(error).__name__)
        metrics.partition_lag("invoicing", self.consumer, tp, next_offset)
