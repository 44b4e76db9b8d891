"""Settings every clinicpay process reads from its environment, built once at start-up.

Secrets have working defaults only on the embedded default (`CLINICPAY_ENV=embedded`);
anywhere else a missing secret stops the process before it serves anything.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from auth import LinkCodec, TokenCodec
from storage import DatabaseUrl

EMBEDDED_JWT_SECRET = "clinicpay-embedded-only-not-a-secret"
EMBEDDED_LINK_SECRET = "clinicpay-embedded-only-patient-links"


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    clinicpay_env: Literal["embedded", "production"] = "production"
    database_url: str = Field(description="postgresql:// URL of the service's database")
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    topic_partitions: int = Field(default=6, ge=1, le=1000)
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: SecretStr | None = None
    jwt_public_key: SecretStr | None = None
    link_secret: SecretStr | None = Field(
        default=None, description="signs patients' secure links (reminders mint, portal verifies)"
    )
    log_json: bool = True
    log_level: str = "INFO"

    @model_validator(mode="after")
    def check_secrets(self) -> ServiceSettings:
        if self.clinicpay_env != "embedded":
            if self.jwt_algorithm == "HS256" and not self.jwt_secret:
                raise ValueError("JWT_SECRET is required outside the embedded default")
            if self.jwt_algorithm == "RS256" and not self.jwt_public_key:
                raise ValueError("JWT_PUBLIC_KEY is required for RS256")
            if self.jwt_secret and self.jwt_secret.get_secret_value() == EMBEDDED_JWT_SECRET:
                raise ValueError(
                    "the embedded JWT secret cannot be used outside the embedded default"
                )
        return self

    @property
    def database(self) -> DatabaseUrl:
        return DatabaseUrl(self.database_url)

    def link_codec(self) -> LinkCodec:
        if self.link_secret:
            return LinkCodec(self.link_secret.get_secret_value())
        if self.clinicpay_env != "embedded":
            raise ValueError("LINK_SECRET is required outside the embedded default")
        return LinkCodec(EMBEDDED_LINK_SECRET)

    def token_codec(self) -> TokenCodec:
        if self.jwt_algorithm == "RS256":
            assert self.jwt_public_key is not None
            return TokenCodec(verify_key=self.jwt_public_key.get_secret_value(), algorithm="RS256")
        secret = self.jwt_secret.get_secret_value() if self.jwt_secret else EMBEDDED_JWT_SECRET
        return TokenCodec(verify_key=secret)
