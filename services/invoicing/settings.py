from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from clinicpay.settings import ServiceSettings


class InvoicingSettings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    invoicing_db_schema: str = "invoicing"
    invoicing_port: int = 8001

    def eventsourcing_env(self) -> dict[str, str]:
        env = self.database.eventsourcing_env(self.invoicing_db_schema)
        env["CREATE_TABLE"] = "no"  # tables come from `migrate`, serialised across replicas
        return env
