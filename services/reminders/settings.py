from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from auth import TokenCodec
from clinicpay.settings import ServiceSettings

EMBEDDED_DIGEST_KEY = "clinicpay-embedded-only-phone-digests"


class RemindersSettings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    reminders_port: int = 8003
    reminders_consumer_group: str = "clinicpay-reminders"
    reminders_db_schema: str = "reminders"
    invoicing_url: str = "http://127.0.0.1:8001"
    portal_url: str = "http://127.0.0.1:8005"
    reminders_url: str = "http://127.0.0.1:8003"  # where short SMS links redirect from
    reminders_tick_seconds: float = 15.0
    reminders_delivery_interval_seconds: float = 1.0
    reminders_max_attempts: int = 5
    reminders_retry_base_seconds: float = 30.0
    reminders_email: Literal["mailbox", "smtp"] | None = None
    reminders_sms: Literal["mailbox", "http"] | None = None
    reminders_signing_key: SecretStr | None = None  # signs service tokens under RS256
    reminders_digest_key: SecretStr | None = None  # keys the digests of opted-out numbers
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_from: str = "billing@clinicpay.local"
    smtp_timeout_seconds: float = 10.0
    sms_api_url: str = "https://api.twilio.com"
    sms_account_sid: str | None = None
    sms_auth_token: SecretStr | None = None
    sms_from: str | None = None

    @property
    def embedded(self) -> bool:
        return self.clinicpay_env == "embedded"

    @property
    def email_channel(self) -> str:
        return self.reminders_email or ("mailbox" if self.embedded else "smtp")

    @property
    def sms_channel(self) -> str:
        return self.reminders_sms or ("mailbox" if self.embedded else "http")

    def digest_key(self) -> bytes:
        if self.reminders_digest_key:
            return self.reminders_digest_key.get_secret_value().encode()
        if not self.embedded:
            raise ValueError("REMINDERS_DIGEST_KEY is required outside the embedded default")
        return EMBEDDED_DIGEST_KEY.encode()

    def service_token(self, clinic_id: UUID) -> str:
        """A short-lived `service` token for one clinic, to read invoicing's records."""
        codec = self.token_codec()
        if self.jwt_algorithm == "RS256":
            if not self.reminders_signing_key:
                raise ValueError("REMINDERS_SIGNING_KEY is required with RS256")
            codec = TokenCodec(
                verify_key=codec.verify_key,
                algorithm="RS256",
                signing_key=self.reminders_signing_key.get_secret_value(),
            )
        return codec.mint(
            subject="service:reminders", clinic_id=clinic_id, roles=["service"], ttl_seconds=300
        )
