"""The words of each notice, per kind: an e-mail (subject, text, HTML) and an SMS.

In the clinic's name, with the amount, the date in the clinic's timezone and the secure
link. Never the patient's name or anything clinical - an SMS is read on a lock screen.
No I/O.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import date

SMS_LIMIT = 160
ZERO_DECIMAL = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"})
SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£", "NZD": "NZ$"}


@dataclass(frozen=True)
class Facts:
    clinic_name: str
    amount: int | None
    currency: str | None
    due_date: date | None
    link: str


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


def money(amount: int, currency: str) -> str:
    cents = currency not in ZERO_DECIMAL
    figure = f"{amount // 100:,}.{amount % 100:02d}" if cents else f"{amount:,}"
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{figure}" if symbol else f"{figure} {currency}"


def day(value: date) -> str:
    return value.strftime("%B %-d, %Y")


def _amount(facts: Facts) -> str:
    if facts.amount is None or not facts.currency:
        return "your balance"
    return money(facts.amount, facts.currency)


def _on(facts: Facts) -> str:
    return day(facts.due_date) if facts.due_date else "soon"


# kind -> (e-mail subject, sentence, short SMS sentence)
WORDING = {
    "invoice_issued": (
        "Your statement from {clinic}",
        "You have a new statement from {clinic}: {amount}, due {on}.",
        "{clinic}: new statement, {amount} due {on}.",
    ),
    "invoice_upcoming": (
        "Payment due {on} - {clinic}",
        "A reminder from {clinic}: {amount} is due on {on}.",
        "{clinic}: {amount} due {on}.",
    ),
    "invoice_due": (
        "Payment due today - {clinic}",
        "{amount} is due today ({on}) at {clinic}.",
        "{clinic}: {amount} due today.",
    ),
    "invoice_overdue": (
        "Past due balance - {clinic}",
        "Your balance of {amount} with {clinic} was due on {on}. Please pay or set up a plan.",
        "{clinic}: {amount} past due since {on}.",
    ),
    "autopay_upcoming": (
        "Autopay tomorrow - {clinic}",
        "Tomorrow ({on}) {clinic} will charge your saved card for the balance then owed.",
        "{clinic}: autopay charges your card tomorrow.",
    ),
    "payment_receipt": (
        "Payment received - {clinic}",
        "Thank you: {clinic} received your payment of {amount}.",
        "{clinic}: payment of {amount} received. Thank you.",
    ),
    "payment_failed": (
        "Payment did not go through - {clinic}",
        "Your automatic payment of {amount} to {clinic} did not go through."
        " Please check your card.",
        "{clinic}: your payment of {amount} did not go through.",
    ),
}
GENERIC = (
    "A message from {clinic}",
    "{clinic} has an update about your account.",
    "{clinic}: an update about your account.",
)


def _fields(facts: Facts) -> dict[str, str]:
    return {"clinic": facts.clinic_name, "amount": _amount(facts), "on": _on(facts)}


def render_email(kind: str, facts: Facts) -> Email:
    subject, sentence, _ = WORDING.get(kind, GENERIC)
    fields = _fields(facts)
    subject_line, body = subject.format(**fields), sentence.format(**fields)
    text = (
        f"{body}\n\nView and pay securely: {facts.link}\n\n"
        "The link is yours alone and expires in 14 days.\n"
        f"{facts.clinic_name}\n"
    )
    link = html.escape(facts.link, quote=True)
    markup = (
        '<!doctype html><html><body style="font-family: sans-serif">'
        f"<p>{html.escape(body)}</p>"
        f'<p><a href="{link}">View and pay securely</a></p>'
        '<p style="color:#555">The link is yours alone and expires in 14 days.</p>'
        f"<p>{html.escape(facts.clinic_name)}</p></body></html>"
    )
    return Email(subject=subject_line, text=text, html=markup)


def render_sms(kind: str, facts: Facts) -> str:
    """Under 160 characters: a long clinic name is shortened, never the link."""
    _, _, sentence = WORDING.get(kind, GENERIC)
    fields = _fields(facts)
    suffix = f" Pay: {facts.link} Reply STOP to opt out."
    text = sentence.format(**fields) + suffix
    overflow = len(text) - (SMS_LIMIT - 1)
    if overflow > 0:
        shorter = fields["clinic"][: max(8, len(fields["clinic"]) - overflow - 1)] + "…"
        text = sentence.format(**{**fields, "clinic": shorter}) + suffix
    if len(text) >= SMS_LIMIT:
        text = f"{fields['clinic'][:20]}: {fields['amount']} due. Pay: {facts.link} STOP=opt out"
    return text
