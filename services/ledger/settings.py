from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from clinicpay.settings import ServiceSettings


class LedgerSettings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    ledger_port: int = 8004
    ledger_consumer_group: str = "clinicpay-ledger"
    ledger_max_records: int = Field(default=10_000, ge=1, le=100_000)
    ledger_concurrency: int = Field(default=3, ge=1, le=16)  # below the pool's 4 connections
