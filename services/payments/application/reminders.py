"""ReminderDue events that are charges: an installment, a scheduled payment, a week's autopay.

Each is idempotent by construction (see ids.py and the aggregates' own guards): a redelivered
or replayed reminder finds its charge already made and does nothing.
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

    def handle(self, envelope: Envelope) -> None:
        data = envelope.data
        kind = data.get("kind")
        if envelope.type != REMINDER_DUE or kind not in CHARGE_KINDS:
            return
        try:
            self._charge(kind, envelope.clinic_id, data)
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
