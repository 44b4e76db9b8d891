from __future__ import annotations

from datetime import timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from clinicpay.settings import ServiceSettings


class PaymentsSettings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    payments_db_schema: str = "payments"
    payments_port: int = 8002
    payments_consumer_group: str = "clinicpay-payments"
    # The sandbox on the embedded default, Stripe anywhere else unless said otherwise.
    payments_gateway: Literal["sandbox", "stripe"] | None = None
    payments_sandbox_schema: str = "sandbox_gateway"
    payments_clinic_timezone: str = "UTC"
    payments_resolve_after_seconds: float = 30.0
    payments_retry_after_seconds: str = "259200,604800"  # a failed installment: +3 d, +7 d
    payments_work_interval_seconds: float = 1.0
    # Connections each process may hold (besides the API's few for keys and the access log):
    # the PostgreSQL server is shared by every replica, so keep this small; scale by replicas.
    payments_pool_size: int = Field(default=6, ge=2, le=100)
    # How long a request holds its Idempotency-Key before a retry may run it again: longer
    # than any request can take (the gateway's timeout bounds it).
    payments_idempotency_lease_seconds: float = 30.0
    stripe_secret_key: SecretStr | None = None
    stripe_api_base: str | None = None
    stripe_webhook_secret: SecretStr | None = None
    stripe_timeout_seconds: float = 10.0

    @model_validator(mode="after")
    def check_gateway(self) -> PaymentsSettings:
        if self.gateway == "stripe" and not self.stripe_secret_key:
            raise ValueError("STRIPE_SECRET_KEY is required when the gateway is stripe")
        ZoneInfo(self.payments_clinic_timezone)
        if self.payments_idempotency_lease_seconds < 2 * self.stripe_timeout_seconds:
            raise ValueError(
                "PAYMENTS_IDEMPOTENCY_LEASE_SECONDS must be at least twice the gateway timeout"
            )
        self.retry_after  # noqa: B018 - fail at start-up, not at the first failed installment
        return self

    @property
    def gateway(self) -> str:
        if self.payments_gateway:
            return self.payments_gateway
        return "sandbox" if self.clinicpay_env == "embedded" else "stripe"

    @property
    def retry_after(self) -> tuple[timedelta, ...]:
        seconds = [float(s) for s in self.payments_retry_after_seconds.split(",") if s.strip()]
        if any(s <= 0 for s in seconds) or seconds != sorted(seconds):
            raise ValueError("PAYMENTS_RETRY_AFTER_SECONDS: increasing positive seconds")
        return tuple(timedelta(seconds=s) for s in seconds)

    def eventsourcing_env(self) -> dict[str, str]:
        env = self.database.eventsourcing_env(self.payments_db_schema)
        env["CREATE_TABLE"] = "no"  # tables come from `migrate`, serialised across replicas
        env["APPLICATION_RECORDER_TOPIC"] = "payments.store.recorder:PaymentsRecorder"
        env["POSTGRES_POOL_SIZE"] = "1"
        env["POSTGRES_MAX_OVERFLOW"] = str(self.payments_pool_size - 1)
        return env
