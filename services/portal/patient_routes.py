"""The signed-in patient's pages: what is owed, what was paid, and paying it."""

from __future__ import annotations

import uuid
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from portal.cards import SANDBOX_CARDS, chosen_card, declined
from portal.money import InvalidAmount, parse_amount
from portal.reads import AccountView, account_view
from portal.receipts import receipt_text, receipt_view
from portal.web import PatientSession, PortalDep, page, see_other

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def root() -> Response:
    return see_other("/home")


@router.get("/home", response_class=HTMLResponse)
async def home(request: Request, portal: PortalDep, session: PatientSession) -> Response:
    caller = portal.patient_caller(session)
    view = await account_view(portal.backends, caller, session.account_id)
    return page(request, "home.html", view=view, csrf_token=session.csrf_token)


@router.get("/pay", response_class=HTMLResponse)
async def pay_form(request: Request, portal: PortalDep, session: PatientSession) -> Response:
    view = await account_view(portal.backends, portal.patient_caller(session), session.account_id)
    invoice = view.invoice(request.query_params.get("invoice", ""))
    return _pay_page(request, portal, session, view, invoice, {}, None)


def _pay_page(request, portal, session, view, invoice, values, error, status_code=200):
    return page(
        request,
        "pay.html",
        status_code=status_code,
        view=view,
        invoice=invoice,
        owed=_owed(view, invoice),
        values=values,
        error=error,
        form_id=values.get("form_id") or uuid.uuid4().hex,
        csrf_token=session.csrf_token,
        sandbox_cards=SANDBOX_CARDS if portal.settings.gateway == "sandbox" else (),
        stripe_key=portal.settings.stripe_publishable_key,
        today=view.clinic.today().isoformat(),
    )


def _owed(view: AccountView, invoice: dict | None) -> int:
    if invoice is not None:
        return invoice["balance"]
    if view.balance is not None:
        return max(view.balance, 0)
    return sum(i["balance"] for i in view.open_invoices)


@router.post("/pay", response_class=HTMLResponse)
async def pay(request: Request, portal: PortalDep, session: PatientSession) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    caller = portal.patient_caller(session)
    view = await account_view(portal.backends, caller, session.account_id)
    invoice = view.invoice(form.get("invoice_id", "")) if form.get("invoice_id") else None
    owed = _owed(view, invoice)

    def refuse(message: str, status: int = 422) -> Response:
        return _pay_page(request, portal, session, view, invoice, form, message, status)

    form_id = form.get("form_id", "")
    if not form_id.isalnum() or len(form_id) != 32:
        return refuse("This form has expired. Please start again.", 400)
    if form.get("invoice_id") and invoice is None:
        return refuse("That invoice is not on your account.", 404)
    try:
        amount = (
            owed
            if form.get("amount_choice") != "other"
            else parse_amount(form.get("other_amount", ""), view.currency)
        )
    except InvalidAmount as error:
        return refuse(str(error))
    if amount <= 0:
        return refuse("There is nothing to pay right now.")
    if amount > owed:
        return refuse("That is more than you owe. Enter an amount up to the balance shown.")
    scheduled_for = None
    if form.get("when") == "later":
        try:
            scheduled_for = date.fromisoformat(form.get("pay_on", ""))
        except ValueError:
            return refuse("Choose the date to pay on.")
        if scheduled_for <= view.clinic.today():
            return refuse("Choose a date after today, or pay now.")
    method_id, refusal, status = await chosen_card(
        portal.backends, caller, session.account_id, view.cards, form, form_id
    )
    if refusal:
        return refuse(refusal, status)
    body = {
        "account_id": str(session.account_id),
        "amount": amount,
        "currency": view.currency,
        "payment_method_id": method_id,
    }
    if invoice is not None:
        body["invoice_id"] = invoice["id"]
    if scheduled_for is not None:
        body["scheduled_for"] = scheduled_for.isoformat()
    answer = await portal.backends.post(
        caller, "payments", "/v1/payments", body, key=f"portal-{form_id}-pay"
    )
    if answer.status == 402:
        return refuse(declined(answer.body.get("decline_code")), 402)
    if not answer.ok:
        return refuse(_problem(answer.body), answer.status)
    return see_other(f"/receipts/{answer.body['id']}")


def _problem(body) -> str:
    if isinstance(body, dict) and body.get("type", "").endswith("invoice-not-open"):
        return "That invoice has nothing left to pay."
    return "The payment could not be made. Nothing was charged. Please try again."


@router.get("/receipts/{payment_id}", response_class=HTMLResponse)
async def receipt(
    payment_id: str, request: Request, portal: PortalDep, session: PatientSession
) -> Response:
    found = await receipt_view(portal, session, payment_id)
    if found is None:
        return page(request, "error.html", status_code=404, message="No such receipt.")
    return page(request, "receipt.html", receipt=found, csrf_token=session.csrf_token)


@router.get("/receipts/{payment_id}/download")
async def download_receipt(
    payment_id: str, request: Request, portal: PortalDep, session: PatientSession
) -> Response:
    found = await receipt_view(portal, session, payment_id)
    if found is None:
        return page(request, "error.html", status_code=404, message="No such receipt.")
    return PlainTextResponse(
        receipt_text(found),
        headers={"Content-Disposition": f'attachment; filename="{found.filename}"'},
    )
