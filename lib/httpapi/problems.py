"""Errors as RFC 9457 `application/problem+json`, mapped once per service."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://clinicpay.dev/problems/"


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str | None = None
    errors: list[dict[str, Any]] | None = None


@dataclass(frozen=True)
class ProblemSpec:
    status: int
    slug: str
    title: str


def problem_response(
    status: int, slug: str, title: str, detail: str | None = None, **extra: Any
) -> JSONResponse:
    body = Problem(type=TYPE_BASE + slug, title=title, status=status, detail=detail, **extra)
    return JSONResponse(
        body.model_dump(exclude_none=True), status_code=status, media_type=PROBLEM_JSON
    )


_STATUS_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("unauthenticated", "Authentication required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("too-large", "Request too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-request", "Invalid request"),
    429: ("rate-limited", "Too many requests"),
}


def _validation_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    # Echo where and why, never the rejected value: it may be PHI or a card number.
    return [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in error.errors()
    ]


def install_problem_handlers(
    app: FastAPI, domain_errors: Mapping[type[Exception], ProblemSpec]
) -> None:
    async def on_validation(_: Request, error: RequestValidationError) -> JSONResponse:
        return problem_response(
            422,
            "invalid-request",
            "The request is malformed or out of range",
            errors=_validation_errors(error),
        )

    async def on_http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        slug, title = _STATUS_SLUGS.get(error.status_code, ("error", "Error"))
        response = problem_response(error.status_code, slug, title, detail=str(error.detail))
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response

    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)

    for error_type, spec in domain_errors.items():

        async def on_domain(_: Request, error: Exception, spec: ProblemSpec = spec) -> JSONResponse:
            return problem_response(spec.status, spec.slug, spec.title, detail=str(error) or None)

        app.add_exception_handler(error_type, on_domain)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries declaring the problem bodies a route can answer."""
    return {
        status: {
            "model": Problem,
            "description": _STATUS_SLUGS.get(status, ("error", "Error"))[1],
            "content": {PROBLEM_JSON: {}},
        }
        for status in statuses
    }
