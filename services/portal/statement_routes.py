"""The statement for a period, from the ledger: every charge, payment, credit and refund
with the balance after it. Shown as a page and downloadable as CSV."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.clients import ServiceUnavailable
from portal.reads import clinic_of
from portal.web import PatientSession, PortalDep, page

router = APIRouter(include_in_schema=False)
MAX_PERIOD = timedelta(days=3 * 366)


def _period(request: Request, today: date) -> tuple[date, date, str | None]:
    default = (today.replace(day=1) - timedelta(days=1)).replace(day=1), today
    try:
        start = date.fromisoformat(request.query_params.get("from") or default[0].isoformat())
        end = date.fromisoformat(request.query_params.get("to") or default[1].isoformat())
    except ValueError:
        return *default, "Enter the dates as shown, for example 2026-11-01."
    if start > end:
        return *default, "The start of the period must be before its end."
    if end - start > MAX_PERIOD:
        return *default, "Choose a period of three years or less."
    return start, end, None


@router.get("/statement", response_class=HTMLResponse)
async def statement(request: Request, portal: PortalDep, session: PatientSession) -> Response:
    caller = portal.patient_caller(session)
    clinic = await clinic_of(portal.backends, caller)
    start, end, error = _period(request, clinic.today())
    found = None
    if error is None:
        try:
            answer = await portal.backends.get(
                caller,
                "ledger",
                f"/v1/accounts/{session.account_id}/statement",
                **{"from": start.isoformat(), "to": end.isoformat()},
            )
            found = answer.body if answer.ok and isinstance(answer.body, dict) else None
        except ServiceUnavailable:
            found = None
    return page(
        request,
        "statement.html",
        status_code=422 if error else 200,
        clinic=clinic,
        start=start,
        end=end,
        error=error,
        statement=found,
        csrf_token=session.csrf_token,
    )


@router.get("/statement.csv")
async def statement_csv(request: Request, portal: PortalDep, session: PatientSession) -> Response:
    caller = portal.patient_caller(session)
    clinic = await clinic_of(portal.backends, caller)
    start, end, error = _period(request, clinic.today())
    if error:
        return page(request, "error.html", status_code=422, message=error)
    answer = await portal.backends.call(
        caller,
        "GET",
        "ledger",
        f"/v1/accounts/{session.account_id}/statement",
        params={"from": start.isoformat(), "to": end.isoformat(), "format": "csv"},
        accept="text/csv",
    )
    if not answer.ok or not isinstance(answer.body, str):
        message = "Statements are not available right now. Please try again later."
        return page(request, "error.html", status_code=503, message=message)
    return Response(
        answer.body,
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="statement-{start}-{end}.csv"'},
    )
