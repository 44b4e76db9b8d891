"""What every portal page shares: the templates, the session cookie, CSRF, security headers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import jinja2
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from auth import LinkCodec
from portal.clients import Backends, Caller, ServiceTokens
from portal.money import format_money
from portal.settings import PortalSettings
from portal.store import PortalStore, Session

HERE = Path(__file__).parent
PATIENT_COOKIE = "portal_session"
STAFF_COOKIE = "portal_staff_session"
LINK_COOKIE = "portal_link"
PRE_SESSION_CSRF_COOKIE = "portal_csrf"

templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, trim_blocks=True
    )
)
templates.env.filters["money"] = lambda amount, currency: format_money(int(amount), currency)


def _long_date(value: date | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.strftime("%b %-d, %Y")


def _local_time(value: datetime | None) -> str:
    return value.strftime("%b %-d, %Y, %-I:%M %p %Z") if value else "—"


templates.env.filters["long_date"] = _long_date
templates.env.filters["local_time"] = _local_time


@dataclass
class Portal:
    """Everything a request needs, built once at start-up (app.state.portal)."""

    settings: PortalSettings
    store: PortalStore
    backends: Backends
    service_tokens: ServiceTokens
    link_codec: LinkCodec

    @property
    def idle(self) -> timedelta:
        return timedelta(seconds=self.settings.portal_session_idle_seconds)

    def patient_caller(self, session: Session) -> Caller:
        return Caller(
            self.service_tokens.for_clinic(session.clinic_id),
            acting_for=f"guarantor-session:{session.reference}",
        )

    def set_cookie(self, response: Response, name: str, value: str, **options: Any) -> None:
        response.set_cookie(
            name,
            value,
            httponly=True,
            secure=self.settings.cookie_secure,
            samesite="strict",
            **{"path": "/", **options},
        )


def portal(request: Request) -> Portal:
    return request.app.state.portal


PortalDep = Annotated[Portal, Depends(portal)]


class SignInRequired(Exception):
    def __init__(self, kind: str, reason: str) -> None:
        self.kind = kind
        self.reason = reason


class CsrfRejected(Exception):
    """A form arrived without this session's CSRF token: it did not come from our page."""


async def _session(request: Request, kind: str, cookie: str) -> Session:
    secret = request.cookies.get(cookie)
    if not secret or len(secret) > 100:
        raise SignInRequired(kind, "signed-out")
    session = await portal(request).store.touch_session(secret, kind, portal(request).idle)
    if session is None:
        raise SignInRequired(kind, "expired")
    if request.method == "POST":
        form = await request.form()
        supplied = str(form.get("csrf_token", ""))
        if not secrets.compare_digest(supplied.encode(), session.csrf_token.encode()):
            raise CsrfRejected()
    request.state.actor = f"{kind}-session:{session.reference}"
    request.state.clinic_id = session.clinic_id
    return session


async def patient_session(request: Request) -> Session:
    return await _session(request, "patient", PATIENT_COOKIE)


async def staff_session(request: Request) -> Session:
    return await _session(request, "staff", STAFF_COOKIE)


PatientSession = Annotated[Session, Depends(patient_session)]
StaffSession = Annotated[Session, Depends(staff_session)]


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def csp(settings: PortalSettings) -> str:
    stripe = " https://js.stripe.com" if settings.stripe_publishable_key else ""
    frames = " https://js.stripe.com https://hooks.stripe.com" if stripe else " 'none'"
    return (
        f"default-src 'self'; script-src 'self'{stripe}; style-src 'self'; img-src 'self' data:;"
        f" frame-src{frames}; connect-src 'self'{' https://api.stripe.com' if stripe else ''};"
        " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )


class SecurityHeaders:
    """No page is cached, framed, or sent as a referrer (links carry tokens)."""

    def __init__(self, app: ASGIApp, content_security_policy: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", content_security_policy.encode()),
            (b"referrer-policy", b"no-referrer"),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.extend(self.headers)
                if not scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
            await send(message)

        await self.app(scope, receive, with_headers)


def uuid_or_none(value: str | None) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None
