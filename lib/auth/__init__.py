"""Who is calling: staff and service bearer tokens (JWT)."""

from auth.tokens import ROLES, InvalidToken, StaffClaims, TokenCodec

__all__ = ["ROLES", "InvalidToken", "StaffClaims", "TokenCodec"]
