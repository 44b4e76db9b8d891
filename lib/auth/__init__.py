"""Who is calling: staff and service bearer tokens (JWT)."""

from auth.links import LinkClaims, LinkCodec
from auth.tokens import ROLES, InvalidToken, StaffClaims, TokenCodec

__all__ = ["ROLES", "InvalidToken", "LinkClaims", "LinkCodec", "StaffClaims", "TokenCodec"]
