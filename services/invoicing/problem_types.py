"""Every error invoicing answers with: its HTTP status and its stable problem `type`, mapped
once, and declared on each route that can answer it so that `/openapi.json` lists them all.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from httpapi import ProblemSpec
from httpapi.problems import PROBLEM_JSON, Problem
from invoicing.errors import (
    AccountNotFound,
    AdjustmentExceedsAmountDue,
    ConcurrentUpdate,
    CurrencyMismatch,
    ExternalIdInUse,
    InvalidAccount,
    InvalidClinicSettings,
    InvalidInvoice,
    InvoiceHasPayments,
    InvoiceListBehind,
    InvoiceNotDraft,
    InvoiceNotFound,
    InvoiceNotOpen,
    UnknownAccount,
    UnknownCursor,
    UnknownPatient,
)


class IdempotencyKeyRequired(Exception):
    """The route moves money: a retry without a key could move it twice."""


DOMAIN_PROBLEMS: dict[type[Exception], ProblemSpec] = {
    InvoiceNotFound: ProblemSpec(404, "invoice-not-found", "No such invoice"),
    AccountNotFound: ProblemSpec(404, "account-not-found", "No such billing account"),
    InvoiceNotDraft: ProblemSpec(409, "invoice-not-draft", "The invoice is no longer a draft"),
    InvoiceNotOpen: ProblemSpec(409, "invoice-not-open", "The invoice is not open to this change"),
    InvoiceHasPayments: ProblemSpec(
        409, "invoice-has-payments", "Payments are recorded on the invoice; refund them first"
    ),
    ExternalIdInUse: ProblemSpec(
        409, "external-id-in-use", "Another patient of the clinic has this external id"
    ),
    ConcurrentUpdate: ProblemSpec(409, "concurrent-update", "The record kept changing; retry"),
    InvalidInvoice: ProblemSpec(422, "invalid-invoice", "The invoice breaks a billing rule"),
    AdjustmentExceedsAmountDue: ProblemSpec(
        422, "adjustment-exceeds-amount-due", "A credit cannot exceed what is still due"
    ),
    CurrencyMismatch: ProblemSpec(
        422, "currency-mismatch", "The invoice's currency is not the clinic's"
    ),
    UnknownAccount: ProblemSpec(422, "unknown-account", "The clinic has no such billing account"),
    UnknownPatient: ProblemSpec(422, "unknown-patient", "The account has no such patient"),
    InvalidAccount: ProblemSpec(422, "invalid-account", "The account breaks a rule"),
    InvalidClinicSettings: ProblemSpec(
        422, "invalid-clinic-settings", "The clinic settings are not valid"
    ),
    UnknownCursor: ProblemSpec(422, "unknown-cursor", "starting_after names no invoice"),
    InvoiceListBehind: ProblemSpec(
        503, "invoice-list-behind", "The invoice list is catching up; retry shortly"
    ),
    IdempotencyKeyRequired: ProblemSpec(
        400, "idempotency-key-missing", "An Idempotency-Key header is required"
    ),
}

# What the shared HTTP shell answers before or around a route.
UNAUTHENTICATED = ProblemSpec(401, "unauthenticated", "Authentication required")
FORBIDDEN = ProblemSpec(403, "forbidden", "Not allowed")
INVALID_REQUEST = ProblemSpec(422, "invalid-request", "The request is malformed or out of range")
TOO_LARGE = ProblemSpec(413, "too-large", "Request too large")
IDEMPOTENCY = (
    ProblemSpec(400, "idempotency-key-invalid", "An Idempotency-Key is 1-255 visible characters"),
    ProblemSpec(409, "idempotency-key-in-use", "A request with this key is still in progress"),
    ProblemSpec(422, "idempotency-key-reused", "This key was used with a different request"),
)


def declared(
    *errors: type[Exception], roles: bool = True, post: bool = False, body: bool = False
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route: each status with every problem type it can carry."""
    specs = [UNAUTHENTICATED, INVALID_REQUEST, *(DOMAIN_PROBLEMS[e] for e in errors)]
    if roles:
        specs.append(FORBIDDEN)
    if post:
        specs.extend(IDEMPOTENCY)
    if post or body:
        specs.append(TOO_LARGE)
    by_status: dict[int, list[ProblemSpec]] = defaultdict(list)
    for spec in specs:
        if spec not in by_status[spec.status]:
            by_status[spec.status].append(spec)
    return {
        status: {
            "description": "; ".join(f"`{s.slug}`: {s.title}" for s in group),
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status, group in sorted(by_status.items())
    }


def problem_schema() -> dict[str, Any]:
    return Problem.model_json_schema(ref_template="#/components/schemas/{model}")
