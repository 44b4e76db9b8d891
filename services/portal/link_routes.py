"""The patient's way in: the notice's link, one fact the clinic knows, then a session.

A link is signed, expires, opens one session only, and can be revoked by staff. A wrong date
of birth, an unknown account and a locked account all read alike, so the page never tells
whether an account exists; five wrong answers start a cool-down.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from auth import InvalidToken, LinkClaims
from portal.clients import Caller
from portal.web import (
    LINK_COOKIE,
    PATIENT_COOKIE,
    PRE_SESSION_CSRF_COOKIE,
    PatientSession,
    Portal,
    PortalDep,
    page,
    see_other,
)

router = APIRouter(include_in_schema=False)
LINK_COOKIE_SECONDS = 30 * 60
NO_MATCH = "We could not confirm that date of birth. Check it and try again."


async def _claims(portal: Portal, token: str | None) -> LinkClaims | None:
    if not token or len(token) > 2048:
        return None
    try:
        claims = portal.link_codec.verify(token)
    except InvalidToken:
        return None
    issued = jwt.decode(token, options={"verify_signature": False}).get("iat", 0)
    refusal = await portal.store.link_refusal(
        claims.link_id,
        claims.clinic_id,
        claims.account_id,
        datetime.fromtimestamp(int(issued), UTC),
    )
    return None if refusal else claims


@router.get("/l/{token}", response_class=HTMLResponse)
async def open_link(token: str, request: Request, portal: PortalDep) -> Response:
    claims = await _claims(portal, token)
    if claims is None:
        return page(request, "link_refused.html", status_code=410)
    csrf = secrets.token_urlsafe(24)
    response = page(request, "verify.html", csrf_token=csrf, error=None)
    portal.set_cookie(response, LINK_COOKIE, token, max_age=LINK_COOKIE_SECONDS, path="/verify")
    portal.set_cookie(response, PRE_SESSION_CSRF_COOKIE, csrf, max_age=LINK_COOKIE_SECONDS)
    return response


@router.post("/verify", response_class=HTMLResponse)
async def verify(request: Request, portal: PortalDep) -> Response:
    form = await request.form()
    csrf = request.cookies.get(PRE_SESSION_CSRF_COOKIE, "")
    if not csrf or not secrets.compare_digest(str(form.get("csrf_token", "")), csrf):
        return page(request, "error.html", status_code=403, message=_FORM_EXPIRED)
    claims = await _claims(portal, request.cookies.get(LINK_COOKIE))
    if claims is None:
        return page(request, "link_refused.html", status_code=410)
    request.state.clinic_id = claims.clinic_id
    throttle = await portal.store.throttle(claims.clinic_id, claims.account_id)
    if throttle.locked_until and throttle.locked_until > datetime.now(UTC):
        return _refused(request, csrf, _cooling_down(throttle.locked_until), 429)
    try:
        born_on = date.fromisoformat(str(form.get("date_of_birth", "")).strip())
    except ValueError:
        return _refused(request, csrf, "Enter a date of birth, for example 1984-03-02.", 422)
    if not await _matches(portal, claims, born_on):
        throttle = await portal.store.record_failure(
            claims.clinic_id,
            claims.account_id,
            portal.settings.portal_verify_max_failures,
            timedelta(seconds=portal.settings.portal_verify_cooldown_seconds),
        )
        if throttle.locked_until:
            return _refused(request, csrf, _cooling_down(throttle.locked_until), 429)
        return _refused(request, csrf, NO_MATCH, 422)
    await portal.store.clear_failures(claims.clinic_id, claims.account_id)
    opened = await portal.store.open_patient_session(
        claims.link_id, claims.clinic_id, claims.account_id
    )
    if opened is None:
        return page(request, "link_refused.html", status_code=410)
    secret, _ = opened
    response = see_other("/home")
    portal.set_cookie(response, PATIENT_COOKIE, secret)
    response.delete_cookie(LINK_COOKIE, path="/verify")
    return response


async def _matches(portal: Portal, claims: LinkClaims, born_on: date) -> bool:
    caller = Caller(portal.service_tokens.for_clinic(claims.clinic_id), "portal-sign-in")
    answer = await portal.backends.post(
        caller,
        "invoicing",
        f"/v1/accounts/{claims.account_id}/identity-checks",
        {"date_of_birth": born_on.isoformat()},
    )
    return answer.ok and answer.body.get("match") is True


def _refused(request: Request, csrf: str, message: str, status: int) -> Response:
    return page(request, "verify.html", status_code=status, csrf_token=csrf, error=message)


def _cooling_down(until: datetime) -> str:
    minutes = max(1, round((until - datetime.now(UTC)).total_seconds() / 60))
    return (
        "Too many attempts. For your security, please wait "
        f"{minutes} minute{'s' if minutes != 1 else ''} and try again."
    )


_FORM_EXPIRED = "This form has expired. Open the link from your notice again."


@router.post("/logout", response_class=HTMLResponse)
async def logout(request: Request, portal: PortalDep, session: PatientSession) -> Response:
    await portal.store.end_session(request.cookies[PATIENT_COOKIE])
    response = see_other("/signed-out?reason=logout")
    response.delete_cookie(PATIENT_COOKIE, path="/")
    return response


@router.get("/signed-out", response_class=HTMLResponse)
async def signed_out(request: Request) -> Response:
    reason = request.query_params.get("reason", "signed-out")
    staff = bool(request.query_params.get("staff"))
    return page(request, "signed_out.html", reason=reason, staff=staff)
