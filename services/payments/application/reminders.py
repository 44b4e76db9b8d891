"""ReminderDue events that are charges: an installment, a scheduled payment, a week's autopay.

The worker's consumer only queues them (in the transaction that stores its offsets); the
charge itself runs from the work queue, outside any consumer transaction, so a slow gateway
never holds the consumer's locks. Each charge is idempotent by construction (see ids.py and
the aggregates' own guards): a redelivered or replayed reminder does nothing more.
"""

from __future__ import annotations

from datetime import date
from uuid import UUID

import structlog

from contracts import Envelope
from payments.application.paying import Paying
from payments.domain.errors import NotFound, PaymentsError

log = structlog.get_logger("payments.reminders")

REMINDER_DUE = "clinicpay.reminders.ReminderDue.v1"
CHARGE_KINDS = frozenset({"installment_due", "scheduled_payment_due", "autopay_charge_due"})


class ChargeReminders:
    def __init__(self, paying: Paying) -> None:
        self.paying = paying

    @staticmethod
    def wanted(envelope: Envelope) -> bool:
        return envelope.type == REMINDER_DUE and envelope.data.get("kind") in CHARGE_KINDS

    def handle(self, clinic_id: UUID, data: dict) -> None:
        kind = data.get("kind")
        if kind not in CHARGE_KINDS:
            return
        try:
            self._charge(kind, clinic_id, data)
        except NotFound:
            log.warning("reminder.unknown_subject", kind=kind, reminder_id=data.get("reminder_id"))
        except (KeyError, ValueError) as error:
            log.warning("reminder.incomplete", kind=kind, missing=str(error))
        except PaymentsError as error:
            log.warning("reminder.refused", kind=kind, reason=type(error).__name__)

    def _charge(self, kind: str, clinic_id: UUID, data: dict) -> None:
        if kind == "installment_due":
            self.paying.charge_installment(
                clinic_id, UUID(data["plan_id"]), int(data["installment_number"])
            )
        elif kind == "scheduled_payment_due":
            self.paying.charge_scheduled(clinic_id, UUID(data["payment_id"]))
        else:
            self.paying.charge_autopay(
                clinic_id, UUID(data["mandate_id"]), date.fromisoformat(data["period_start"])
            )
