"""The staff view: sign in with a staff token, see what is owed and paid, and act through the
owning services' APIs (issue, adjust, void, write off, refund) after a confirmation step.

Every call carries the staff member's own token, so their roles decide what they may do and
each service's access log names them.
"""

from __future__ import annotations

import asyncio
import secrets
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from auth import InvalidToken
from httpapi import Accesses, Staff, require_roles
from httpapi.problems import problem_responses
from portal import staff_reads
from portal.clients import Caller
from portal.money import InvalidAmount, format_money, parse_amount
from portal.reads import clinic_of
from portal.store import Session
from portal.web import (
    PRE_SESSION_CSRF_COOKIE,
    STAFF_COOKIE,
    Portal,
    PortalDep,
    SignInRequired,
    StaffSession,
    page,
    see_other,
    uuid_or_none,
)

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/v1", tags=["patient links"])
STAFF_ROLES = {"billing", "finance", "admin"}
REFUND_REASONS = {
    "requested_by_customer": "Requested by the family",
    "duplicate": "Duplicate payment",
    "billing_error": "Billing error",
    "service_not_provided": "Service not provided",
    "fraudulent": "Fraudulent",
    "other": "Other",
}


def caller_of(session: Session) -> Caller:
    return Caller(session.staff_token or "")


async def _get(portal: Portal, session: Session, service: str, path: str, **params):
    answer = await portal.backends.get(caller_of(session), service, path, **params)
    if answer.status == 401:
        raise SignInRequired("staff", "expired")
    return answer


# -- signing in


@router.get("/staff/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request, portal: PortalDep) -> Response:
    return _sign_in_page(request, portal, None)


def _sign_in_page(request, portal: Portal, error: str | None, status_code: int = 200):
    csrf = request.cookies.get(PRE_SESSION_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = page(
        request,
        "staff_sign_in.html",
        status_code=status_code,
        csrf_token=csrf,
        error=error,
        embedded=portal.settings.clinicpay_env == "embedded",
    )
    portal.set_cookie(response, PRE_SESSION_CSRF_COOKIE, csrf, max_age=1800)
    return response


@router.post("/staff/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, portal: PortalDep) -> Response:
    form = await request.form()
    csrf = request.cookies.get(PRE_SESSION_CSRF_COOKIE, "")
    if not csrf or not secrets.compare_digest(str(form.get("csrf_token", "")), csrf):
        return _sign_in_page(request, portal, "This form has expired. Please try again.", 403)
    token = str(form.get("token", "")).strip()
    try:
        claims = request.app.state.token_codec.verify(token) if len(token) < 4096 else None
    except InvalidToken:
        claims = None
    if claims is None or not claims.roles & STAFF_ROLES:
        message = "That token is not a valid staff token for billing, finance or admin."
        return _sign_in_page(request, portal, message, 401)
    secret, _ = await portal.store.open_staff_session(claims.clinic_id, token)
    response = see_other("/staff")
    portal.set_cookie(response, STAFF_COOKIE, secret)
    return response


@router.post("/staff/logout", response_class=HTMLResponse)
async def sign_out(request: Request, portal: PortalDep, session: StaffSession) -> Response:
    await portal.store.end_session(request.cookies[STAFF_COOKIE])
    response = see_other("/signed-out?reason=logout&staff=1")
    response.delete_cookie(STAFF_COOKIE, path="/")
    return response


# -- reading


@router.get("/staff", response_class=HTMLResponse)
async def dashboard(request: Request, portal: PortalDep, session: StaffSession) -> Response:
    caller = caller_of(session)
    clinic, open_invoices, latest = await asyncio.gather(
        clinic_of(portal.backends, caller),
        staff_reads.open_invoices(portal.backends, caller),
        staff_reads.invoice_pages(portal.backends, caller, limit=100),
    )
    outstanding, aging = staff_reads.summarise(open_invoices, clinic.today())
    outstanding = outstanding[:25]
    recent_accounts = list(dict.fromkeys(i["account_id"] for i in latest))[:25]
    names, payments, notices = await asyncio.gather(
        staff_reads.account_names(portal.backends, caller, [o.account_id for o in outstanding]),
        staff_reads.recent_payments(portal.backends, caller, recent_accounts),
        staff_reads.reminders_sent(portal.backends, caller),
    )
    for row in outstanding:
        row.name = names.get(row.account_id, "")
    return page(
        request,
        "staff_home.html",
        clinic=clinic,
        outstanding=outstanding,
        aging=aging,
        payments=payments,
        notices=notices,
        csrf_token=session.csrf_token,
    )


@router.get("/staff/invoices", response_class=HTMLResponse)
async def invoices(request: Request, portal: PortalDep, session: StaffSession) -> Response:
    query = request.query_params
    status = query.get("status") or None
    if status not in (None, "draft", "issued", "partially_paid", "paid", "void", "written_off"):
        status = None
    account_id = uuid_or_none(query.get("account_id"))
    cursor = uuid_or_none(query.get("starting_after"))
    overdue_only = query.get("overdue") == "1"
    answer = await _get(
        portal,
        session,
        "invoicing",
        "/v1/invoices",
        status=status,
        account_id=account_id,
        limit=50,
        starting_after=cursor,
    )
    listed = answer.body["data"] if answer.ok else []
    shown = [i for i in listed if i["overdue"]] if overdue_only else listed
    clinic = await clinic_of(portal.backends, caller_of(session))
    return page(
        request,
        "staff_invoices.html",
        clinic=clinic,
        invoices=shown,
        has_more=answer.ok and answer.body["has_more"],
        next_cursor=listed[-1]["id"] if listed else None,
        filters={
            "status": status or "",
            "account_id": str(account_id or ""),
            "overdue": overdue_only,
        },
        csrf_token=session.csrf_token,
    )


@router.get("/staff/invoices/{invoice_id}", response_class=HTMLResponse)
async def invoice(
    invoice_id: str, request: Request, portal: PortalDep, session: StaffSession
) -> Response:
    return await _invoice_page(request, portal, session, invoice_id)


async def _invoice_page(request, portal, session, invoice_id, status_code=200, **extra):
    if uuid_or_none(invoice_id) is None:
        return page(request, "error.html", status_code=404, message="No such invoice.")
    answer = await _get(portal, session, "invoicing", f"/v1/invoices/{invoice_id}")
    if not answer.ok:
        return page(request, "error.html", status_code=404, message="No such invoice.")
    found = answer.body
    payments = await _get(
        portal, session, "payments", "/v1/payments", account_id=found["account_id"], limit=200
    )
    paying = [
        p
        for p in (payments.body["items"] if payments.ok else [])
        if any(a["invoice_id"] == invoice_id for a in p.get("allocations") or [])
    ]
    clinic = await clinic_of(portal.backends, caller_of(session))
    return page(
        request,
        "staff_invoice.html",
        status_code=status_code,
        clinic=clinic,
        invoice=found,
        payments=paying,
        csrf_token=session.csrf_token,
        form_id=uuid.uuid4().hex,
        reasons=REFUND_REASONS,
        **extra,
    )


@router.get("/staff/accounts/{account_id}", response_class=HTMLResponse)
async def account(
    account_id: str, request: Request, portal: PortalDep, session: StaffSession
) -> Response:
    if uuid_or_none(account_id) is None:
        return page(request, "error.html", status_code=404, message="No such account.")
    caller = caller_of(session)
    found, listed, payments, balance, notices, clinic = await asyncio.gather(
        _get(portal, session, "invoicing", f"/v1/accounts/{account_id}"),
        staff_reads.invoice_pages(portal.backends, caller, account_id=account_id, limit=200),
        _get(portal, session, "payments", "/v1/payments", account_id=account_id, limit=200),
        _get(portal, session, "ledger", f"/v1/accounts/{account_id}/balance"),
        staff_reads.reminders_sent(portal.backends, caller, account_id, limit=50),
        clinic_of(portal.backends, caller),
    )
    if not found.ok:
        return page(request, "error.html", status_code=404, message="No such account.")
    return page(
        request,
        "staff_account.html",
        clinic=clinic,
        account=found.body,
        invoices=listed,
        payments=payments.body["items"] if payments.ok else [],
        balance=balance.body if balance.ok else None,
        notices=notices,
        csrf_token=session.csrf_token,
        form_id=uuid.uuid4().hex,
        reasons=REFUND_REASONS,
        flash=request.query_params.get("done"),
    )


# -- acting, after a confirmation step

INVOICE_ACTIONS = {
    "issue": ("Issue invoice", "/issue"),
    "adjust": ("Credit an adjustment", "/adjust"),
    "void": ("Void invoice", "/void"),
    "write-off": ("Write off what is due", "/write-off"),
}


@router.post("/staff/invoices/{invoice_id}/{action}", response_class=HTMLResponse)
async def act_on_invoice(
    invoice_id: str, action: str, request: Request, portal: PortalDep, session: StaffSession
) -> Response:
    if action not in INVOICE_ACTIONS or uuid_or_none(invoice_id) is None:
        return page(request, "error.html", status_code=404, message="No such action.")
    form = {k: str(v) for k, v in (await request.form()).items()}
    title, path = INVOICE_ACTIONS[action]
    body, problem = _invoice_action_body(action, form)
    if problem:
        return await _invoice_page(request, portal, session, invoice_id, 422, error=problem)
    found = await _get(portal, session, "invoicing", f"/v1/invoices/{invoice_id}")
    if not found.ok:
        return page(request, "error.html", status_code=404, message="No such invoice.")
    if form.get("step") != "confirm":
        return page(
            request,
            "staff_confirm.html",
            title=title,
            action=f"/staff/invoices/{invoice_id}/{action}",
            back=f"/staff/invoices/{invoice_id}",
            invoice=found.body,
            fields=form,
            summary=_summary(action, found.body, body),
            csrf_token=session.csrf_token,
        )
    answer = await portal.backends.post(
        caller_of(session),
        "invoicing",
        f"/v1/invoices/{invoice_id}{path}",
        body,
        key=f"portal-staff-{form.get('form_id', uuid.uuid4().hex)}",
    )
    if not answer.ok:
        return await _invoice_page(
            request, portal, session, invoice_id, answer.status, error=_problem(answer)
        )
    return see_other(f"/staff/invoices/{invoice_id}?done={action}")


def _invoice_action_body(action: str, form: dict) -> tuple[dict | None, str | None]:
    if action in ("issue", "void"):
        return None, None
    reason = form.get("reason", "").strip()
    if not reason or len(reason) > 500:
        return None, "Give a reason (up to 500 characters)."
    if action == "write-off":
        return {"reason": reason}, None
    try:
        amount = parse_amount(form.get("amount", ""), form.get("currency", "USD"))
    except InvalidAmount as error:
        return None, str(error)
    return {"amount": amount, "reason": reason}, None


def _summary(action: str, invoice: dict, body: dict | None) -> str:
    number = invoice.get("number") or "draft"
    due = format_money(invoice["amount_due"], invoice["currency"])
    total = format_money(invoice["total_amount"], invoice["currency"])
    return {
        "issue": f"Issue invoice {number} for {total}. The family will be notified.",
        "void": f"Void invoice {number}. Its balance of {due} will no longer be owed.",
        "write-off": f"Write off {due} on invoice {number} as uncollectable.",
        "adjust": f"Credit {format_money((body or {}).get('amount', 0), invoice['currency'])} "
        f"on invoice {number} (now {due} due).",
    }[action]


def _problem(answer) -> str:
    if answer.status == 403:
        return "Your role does not allow this action."
    body = answer.body if isinstance(answer.body, dict) else {}
    return body.get("detail") or body.get("title") or "The action was refused."


@router.post("/staff/payments/{payment_id}/refund", response_class=HTMLResponse)
async def refund(
    payment_id: str, request: Request, portal: PortalDep, session: StaffSession
) -> Response:
    if uuid_or_none(payment_id) is None:
        return page(request, "error.html", status_code=404, message="No such payment.")
    form = {k: str(v) for k, v in (await request.form()).items()}
    found = await _get(portal, session, "payments", f"/v1/payments/{payment_id}")
    if not found.ok:
        return page(request, "error.html", status_code=404, message="No such payment.")
    payment = found.body
    back = f"/staff/accounts/{payment['account_id']}"
    try:
        amount = parse_amount(form.get("amount", ""), payment["currency"])
    except InvalidAmount as error:
        return page(request, "error.html", status_code=422, message=str(error), back=back)
    if amount > payment["refundable_amount"] or form.get("reason") not in REFUND_REASONS:
        message = "Refund at most what is left to refund, with one of the listed reasons."
        return page(request, "error.html", status_code=422, message=message, back=back)
    if form.get("step") != "confirm":
        return page(
            request,
            "staff_confirm.html",
            title="Refund payment",
            action=f"/staff/payments/{payment_id}/refund",
            back=back,
            fields=form,
            summary=f"Refund {format_money(amount, payment['currency'])} of a "
            f"{format_money(payment['amount'], payment['currency'])} payment to the card "
            f"it came from ({REFUND_REASONS[form['reason']]}).",
            csrf_token=session.csrf_token,
        )
    answer = await portal.backends.post(
        caller_of(session),
        "payments",
        f"/v1/payments/{payment_id}/refunds",
        {"amount": amount, "reason": form["reason"]},
        key=f"portal-staff-{form.get('form_id', uuid.uuid4().hex)}",
    )
    if not answer.ok:
        return page(
            request, "error.html", status_code=answer.status, message=_problem(answer), back=back
        )
    return see_other(f"{back}?done=refund")


@router.post("/staff/accounts/{account_id}/revoke-links", response_class=HTMLResponse)
async def revoke_links(
    account_id: str, request: Request, portal: PortalDep, session: StaffSession
) -> Response:
    parsed = uuid_or_none(account_id)
    if parsed is None:
        return page(request, "error.html", status_code=404, message="No such account.")
    form = {k: str(v) for k, v in (await request.form()).items()}
    if form.get("step") != "confirm":
        return page(
            request,
            "staff_confirm.html",
            title="Revoke the family's links",
            action=f"/staff/accounts/{account_id}/revoke-links",
            back=f"/staff/accounts/{account_id}",
            fields=form,
            summary="Every link sent to this family so far stops working, and anyone signed "
            "in with one is signed out. The next notice carries a new link.",
            csrf_token=session.csrf_token,
        )
    await portal.store.revoke_links(session.clinic_id, parsed, session.reference)
    return see_other(f"/staff/accounts/{account_id}?done=revoke-links")


# -- the staff API


@api.post(
    "/accounts/{account_id}/links/revoke",
    dependencies=[require_roles("billing", "admin")],
    responses=problem_responses(401, 403, 422),
)
async def revoke_links_api(
    account_id: uuid.UUID, staff: Staff, access: Accesses, portal: PortalDep
) -> JSONResponse:
    """Every link minted for the account so far stops opening the portal, and its open
    sessions end; links minted afterwards work."""
    access.change("billing_account", account_id)
    await portal.store.revoke_links(staff.clinic_id, account_id, staff.subject)
    return JSONResponse({"account_id": str(account_id), "revoked": True})
