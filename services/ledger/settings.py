from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from clinicpay.settings import ServiceSettings


class LedgerSettings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    ledger_port: int = 8004
    ledger_consumer_group: str = "clinicpay-ledger"
