"""Every rule the invoicing domain refuses, as one exception hierarchy.

Messages name ids, amounts and states only: they end up in problem responses and logs,
so they never quote a name, an e-mail address, a phone number, a date of birth or an
external identifier.
"""

from __future__ import annotations


class InvoicingError(Exception):
    """Base of every refusal in invoicing."""


class NotFound(InvoicingError):
    pass


class InvoiceNotFound(NotFound):
    pass


class AccountNotFound(NotFound):
    pass


class InvalidInvoice(InvoicingError):
    """The invoice breaks a billing rule (a line, a date, a total)."""


class InvoiceNotDraft(InvoicingError):
    pass


class InvoiceNotOpen(InvoicingError):
    """The command needs an issued invoice that is not settled, void or written off."""


class InvoiceHasPayments(InvoicingError):
    """Only an invoice on which nothing was paid can be voided; refund first."""


class AdjustmentExceedsAmountDue(InvoicingError):
    pass


class CurrencyMismatch(InvoicingError):
    pass


class UnknownAccount(InvoicingError):
    """An invoice names a billing account the clinic does not have."""


class UnknownPatient(InvoicingError):
    """An invoice or identity check names a patient the account does not have."""


class InvalidAccount(InvoicingError):
    """Contact details or patients that break an account rule."""


class ExternalIdInUse(InvoicingError):
    """Another patient of the clinic already has this external id."""


class InvalidClinicSettings(InvoicingError):
    pass


class UnknownCursor(InvoicingError):
    """`starting_after` names no invoice of the clinic."""


class ConcurrentUpdate(InvoicingError):
    """The record kept changing under the command; the caller may retry."""


class InvoiceListBehind(InvoicingError):
    """The invoice list could not catch up with the recorded events in time."""
