"""What every payments route depends on: the services, the caller, and on whose behalf."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request

from httpapi import Staff, require_roles
from payments.application.services import Services

ACTING_FOR = re.compile(r"^[A-Za-z0-9:._-]{1,80}$")

# Patient actions (saving a card, paying, a plan, autopay) may come from the patient portal,
# which calls with a `service` token on behalf of the patient's session.
PATIENT_ACTION = require_roles("billing", "admin", "service")
READERS = require_roles("billing", "finance", "admin", "service")
REFUNDERS = require_roles("billing", "admin")


def services(request: Request) -> Services:
    return request.app.state.services


PaymentsServices = Annotated[Services, Depends(services)]
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", include_in_schema=False)]


def record_acting_party(
    request: Request,
    staff: Staff,
    acting_for: Annotated[str | None, Header(alias="X-Acting-For")] = None,
) -> None:
    """A service caller may name the party it acts for (e.g. `guarantor-session:3f2a`); the
    access log then records both, so a portal request traces back to the patient session."""
    if acting_for and "service" in staff.roles and ACTING_FOR.match(acting_for):
        request.state.actor = f"{staff.subject} for {acting_for}"


ActingParty = Depends(record_acting_party)
