"""The authenticated caller of a staff or service endpoint, as a FastAPI dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from auth import InvalidToken, StaffClaims, TokenCodec

_bearer = HTTPBearer(auto_error=False, description="Staff or service JWT")


def current_staff(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> StaffClaims:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "a bearer token is required", {"WWW-Authenticate": "Bearer"})
    codec: TokenCodec = request.app.state.token_codec
    try:
        claims = codec.verify(credentials.credentials)
    except InvalidToken:
        raise HTTPException(
            401, "the bearer token is not valid", {"WWW-Authenticate": "Bearer"}
        ) from None
    request.state.staff = claims
    return claims


Staff = Annotated[StaffClaims, Depends(current_staff)]


def require_roles(*roles: str):
    """A dependency that admits only callers holding one of `roles`."""

    def check(staff: Staff) -> StaffClaims:
        if not staff.has_any(*roles):
            raise HTTPException(403, f"requires one of the roles: {', '.join(roles)}")
        return staff

    return Depends(check)
