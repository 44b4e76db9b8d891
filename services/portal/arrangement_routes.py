"""Payment plans and autopay: the family sees the exact schedule, or the next charge date,
before agreeing; payments creates and charges them."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.arrangements import (
    INSTALLMENT_CHOICES,
    INTERVALS,
    WEEKDAYS,
    InvalidPlan,
    PlanChoice,
    next_charge_on,
)
from portal.cards import SANDBOX_CARDS, chosen_card
from portal.reads import AccountView, account_view
from portal.store import Session
from portal.web import PatientSession, Portal, PortalDep, page, see_other

router = APIRouter(include_in_schema=False)


async def _form(request: Request) -> dict:
    form = await request.form()
    values = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    values["invoice_ids"] = [str(v) for v in form.getlist("invoice_ids")]
    return values


async def _arrangements(portal: Portal, session: Session, kind: str) -> list[dict]:
    caller = portal.patient_caller(session)
    ids = await portal.store.arrangements(session.clinic_id, session.account_id, kind)
    path = "/v1/payment-plans/" if kind == "plan" else "/v1/autopay/"
    answers = await asyncio.gather(
        *(portal.backends.get(caller, "payments", f"{path}{i}") for i in ids)
    )
    return [a.body for a in answers if a.ok and a.body["account_id"] == str(session.account_id)]


def _context(portal: Portal, session: Session, view: AccountView, **extra) -> dict:
    return {
        "view": view,
        "csrf_token": session.csrf_token,
        "sandbox_cards": SANDBOX_CARDS if portal.settings.gateway == "sandbox" else (),
        "stripe_key": portal.settings.stripe_publishable_key,
        "today": view.clinic.today().isoformat(),
        "values": {},
        "error": None,
        **extra,
    }


# -- payment plans


async def _plan_page(request, portal, session, view, status_code=200, **extra) -> Response:
    plans = await _arrangements(portal, session, "plan")
    in_plans = {i for p in plans if p["status"] == "active" for i in p["invoice_ids"]}
    return page(
        request,
        "plan.html",
        status_code=status_code,
        **_context(
            portal,
            session,
            view,
            plans=plans,
            available=[i for i in view.open_invoices if i["id"] not in in_plans],
            intervals=INTERVALS,
            installment_choices=INSTALLMENT_CHOICES,
            form_id=uuid.uuid4().hex,
            **extra,
        ),
    )


@router.get("/plan", response_class=HTMLResponse)
async def plan_form(request: Request, portal: PortalDep, session: PatientSession) -> Response:
    view = await account_view(portal.backends, portal.patient_caller(session), session.account_id)
    return await _plan_page(request, portal, session, view)


async def _preview(request, portal, session, form):
    view = await account_view(portal.backends, portal.patient_caller(session), session.account_id)
    balances = {i["id"]: i["balance"] for i in view.open_invoices}
    choice = PlanChoice.parse(form, set(balances), view.clinic.today())
    total = sum(balances[i] for i in choice.invoice_ids)
    return view, choice, total, choice.schedule(total)


@router.post("/plan/preview", response_class=HTMLResponse)
async def preview_plan(request: Request, portal: PortalDep, session: PatientSession) -> Response:
    form = await _form(request)
    try:
        view, choice, total, schedule = await _preview(request, portal, session, form)
    except InvalidPlan as error:
        view = await account_view(
            portal.backends, portal.patient_caller(session), session.account_id
        )
        return await _plan_page(request, portal, session, view, 422, values=form, error=str(error))
    return page(
        request,
        "plan_preview.html",
        **_context(
            portal,
            session,
            view,
            values=form,
            choice=choice,
            total=total,
            schedule=schedule,
            interval_label=INTERVALS[choice.interval],
            form_id=form.get("form_id", ""),
        ),
    )


@router.post("/plan", response_class=HTMLResponse)
async def create_plan(request: Request, portal: PortalDep, session: PatientSession) -> Response:
    form = await _form(request)
    caller = portal.patient_caller(session)
    try:
        view, choice, total, schedule = await _preview(request, portal, session, form)
    except InvalidPlan as error:
        view = await account_view(portal.backends, caller, session.account_id)
        return await _plan_page(request, portal, session, view, 422, values=form, error=str(error))
    form_id = form.get("form_id", "")
    context = _context(
        portal,
        session,
        view,
        values=form,
        choice=choice,
        total=total,
        schedule=schedule,
        interval_label=INTERVALS[choice.interval],
        form_id=form_id,
    )
    if str(total) != form.get("previewed_total"):
        context["error"] = "Your balance changed since the preview. Here is the new schedule."
        return page(request, "plan_preview.html", status_code=409, **context)
    if not form_id.isalnum() or len(form_id) != 32:
        return await _plan_page(request, portal, session, view, 400, error=_EXPIRED)
    method_id, refusal, status = await chosen_card(
        portal.backends, caller, session.account_id, view.cards, form, form_id
    )
    if refusal:
        context["error"] = refusal
        return page(request, "plan_preview.html", status_code=status, **context)
    answer = await portal.backends.post(
        caller,
        "payments",
        "/v1/payment-plans",
        {
            "account_id": str(session.account_id),
            "invoice_ids": list(choice.invoice_ids),
            "installments": choice.installments,
            "interval": choice.interval,
            "start_date": choice.start_date.isoformat(),
            "payment_method_id": method_id,
        },
        key=f"portal-{form_id}-plan",
    )
    if not answer.ok:
        context["error"] = _plan_refusal(answer.body)
        return page(request, "plan_preview.html", status_code=answer.status, **context)
    await portal.store.remember_arrangement(
        session.clinic_id, session.account_id, "plan", uuid.UUID(answer.body["id"])
    )
    return see_other(f"/plan/{answer.body['id']}")


_EXPIRED = "This form has expired. Please start again."


def _plan_refusal(body) -> str:
    kind = body.get("type", "") if isinstance(body, dict) else ""
    if kind.endswith("invoice-in-plan"):
        return "One of these invoices is already in a payment plan."
    if kind.endswith("invoice-not-open"):
        return "One of these invoices has nothing left to pay."
    return "The plan could not be set up. Nothing was charged. Please try again."


@router.get("/plan/{plan_id}", response_class=HTMLResponse)
async def show_plan(
    plan_id: str, request: Request, portal: PortalDep, session: PatientSession
) -> Response:
    plans = {p["id"]: p for p in await _arrangements(portal, session, "plan")}
    if plan_id not in plans:
        return page(request, "error.html", status_code=404, message="No such payment plan.")
    view = await account_view(portal.backends, portal.patient_caller(session), session.account_id)
    return page(request, "plan_detail.html", **_context(portal, session, view, plan=plans[plan_id]))


# -- autopay


async def _autopay_page(request, portal, session, status_code=200, **extra) -> Response:
    view = await account_view(portal.backends, portal.patient_caller(session), session.account_id)
    enabled = [
        m for m in await _arrangements(portal, session, "autopay") if m["status"] == "enabled"
    ]
    mandate = enabled[0] if enabled else None
    next_charge = None
    if mandate:
        next_charge = next_charge_on(
            mandate["weekday"],
            date.fromisoformat(mandate["first_charge_on"]),
            [date.fromisoformat(d) for d in mandate["charged_periods"]],
            view.clinic.today(),
        )
    card = next(
        (c for c in view.cards if mandate and c["id"] == mandate["payment_method_id"]), None
    )
    return page(
        request,
        "autopay.html",
        status_code=status_code,
        **_context(
            portal,
            session,
            view,
            mandate=mandate,
            next_charge=next_charge,
            card=card,
            weekdays=WEEKDAYS,
            form_id=uuid.uuid4().hex,
            **extra,
        ),
    )


@router.get("/autopay", response_class=HTMLResponse)
async def autopay(request: Request, portal: PortalDep, session: PatientSession) -> Response:
    return await _autopay_page(request, portal, session)


@router.post("/autopay", response_class=HTMLResponse)
async def turn_autopay_on(request: Request, portal: PortalDep, session: PatientSession) -> Response:
    form = await _form(request)
    caller = portal.patient_caller(session)
    form_id = form.get("form_id", "")
    if form.get("weekday") not in WEEKDAYS:
        return await _autopay_page(
            request, portal, session, 422, values=form, error="Choose the day of the week."
        )
    if not form_id.isalnum() or len(form_id) != 32:
        return await _autopay_page(request, portal, session, 400, error=_EXPIRED)
    view = await account_view(portal.backends, caller, session.account_id)
    method_id, refusal, status = await chosen_card(
        portal.backends, caller, session.account_id, view.cards, form, form_id
    )
    if refusal:
        return await _autopay_page(request, portal, session, status, values=form, error=refusal)
    answer = await portal.backends.post(
        caller,
        "payments",
        "/v1/autopay",
        {
            "account_id": str(session.account_id),
            "payment_method_id": method_id,
            "cadence": "weekly",
            "weekday": form["weekday"],
        },
        key=f"portal-{form_id}-autopay",
    )
    if answer.status == 409:
        message = "Autopay is already on for this account. Contact the clinic to change it."
        return await _autopay_page(request, portal, session, 409, error=message)
    if not answer.ok:
        message = "Autopay could not be turned on. Please try again."
        return await _autopay_page(request, portal, session, answer.status, error=message)
    await portal.store.remember_arrangement(
        session.clinic_id, session.account_id, "autopay", uuid.UUID(answer.body["id"])
    )
    return see_other("/autopay?changed=on")


@router.post("/autopay/off", response_class=HTMLResponse)
async def turn_autopay_off(
    request: Request, portal: PortalDep, session: PatientSession
) -> Response:
    form = await _form(request)
    enabled = {
        m["id"] for m in await _arrangements(portal, session, "autopay") if m["status"] == "enabled"
    }
    if form.get("mandate_id") not in enabled:
        return await _autopay_page(request, portal, session, 404, error="Autopay is not on.")
    answer = await portal.backends.delete(
        portal.patient_caller(session), "payments", f"/v1/autopay/{form['mandate_id']}"
    )
    if not answer.ok:
        message = "Autopay could not be turned off. Please try again."
        return await _autopay_page(request, portal, session, answer.status, error=message)
    return see_other("/autopay?changed=off")
