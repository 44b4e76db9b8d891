from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from auth import TokenCodec
from clinicpay.settings import ServiceSettings


class PortalSettings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    portal_port: int = 8005
    invoicing_url: str = "http://127.0.0.1:8001"
    payments_url: str = "http://127.0.0.1:8002"
    reminders_url: str = "http://127.0.0.1:8003"
    ledger_url: str = "http://127.0.0.1:8004"
    portal_session_idle_seconds: int = Field(default=900, ge=60, le=24 * 3600)
    portal_verify_max_failures: int = Field(default=5, ge=1, le=100)
    portal_verify_cooldown_seconds: int = Field(default=900, ge=1, le=24 * 3600)
    # Outside the embedded default the portal is served over HTTPS and its cookies say so.
    portal_cookie_secure: bool | None = None
    # The portal calls the other services with a short-lived service token per clinic, signed
    # with this key (RS256: the identity provider's service key; HS256: JWT_SECRET).
    portal_service_signing_key: SecretStr | None = None
    payments_gateway: Literal["sandbox", "stripe"] | None = None
    stripe_publishable_key: str | None = None
    portal_http_timeout_seconds: float = Field(default=15.0, gt=0, le=120)

    @property
    def cookie_secure(self) -> bool:
        if self.portal_cookie_secure is not None:
            return self.portal_cookie_secure
        return self.clinicpay_env != "embedded"

    @property
    def gateway(self) -> str:
        if self.payments_gateway:
            return self.payments_gateway
        return "sandbox" if self.clinicpay_env == "embedded" else "stripe"

    def service_token_codec(self) -> TokenCodec:
        verifying = self.token_codec()
        if self.portal_service_signing_key:
            return TokenCodec(
                verify_key=verifying.verify_key,
                algorithm=verifying.algorithm,
                signing_key=self.portal_service_signing_key.get_secret_value(),
            )
        if verifying.algorithm != "HS256":
            raise ValueError("PORTAL_SERVICE_SIGNING_KEY is required with RS256")
        return verifying
