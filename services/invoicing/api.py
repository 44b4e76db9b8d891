"""What every invoicing route shares: the application, the roles, the Idempotency-Key header.

Routes parse, call the application and map its answer; nothing else happens in them.
Idempotency itself is the shared middleware's (httpapi.idempotency): a POST with a key is
run once and its first answer replayed. Routes declare the header so that it is in the
OpenAPI document; the ones that move money refuse to run without it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from httpapi import require_roles
from invoicing.application import Invoicing
from invoicing.problem_types import IdempotencyKeyRequired

KEY_DESCRIPTION = (
    "Makes the POST safe to retry: the first answer is stored for 24 h and replayed for "
    "the same key; the same key with a different request is refused (422)."
)


def application(request: Request) -> Invoicing:
    return request.app.state.invoicing


def idempotency_key(
    key: Annotated[
        str | None, Header(alias="Idempotency-Key", max_length=255, description=KEY_DESCRIPTION)
    ] = None,
) -> str | None:
    return key


def required_idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=255,
            description="Required here: this request moves money. " + KEY_DESCRIPTION,
        ),
    ] = None,
) -> str:
    if key is None:
        raise IdempotencyKeyRequired("this request moves money: send an Idempotency-Key")
    return key


InvoicingApp = Annotated[Invoicing, Depends(application)]
IdempotencyKey = Depends(idempotency_key)
RequiredIdempotencyKey = Depends(required_idempotency_key)

BILLING = require_roles("billing", "admin")
ANY_STAFF = require_roles("billing", "finance", "admin", "service")
CONTACT_READERS = require_roles("billing", "admin", "service")
ADMIN = require_roles("admin")
SERVICE = require_roles("service")
FHIR_CLIENTS = require_roles("billing", "admin", "service")
