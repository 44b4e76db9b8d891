from __future__ import annotations

import binascii
import hashlib
from base64 import b64decode, b64encode

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from clinicpay.settings import ServiceSettings

# Works on the embedded default only; refused anywhere else, like the embedded JWT secret.
EMBEDDED_CIPHER_KEY = b64encode(
    hashlib.sha256(b"clinicpay-embedded-invoicing-cipher-not-a-secret").digest()
).decode()
CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"


class InvoicingSettings(ServiceSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    invoicing_db_schema: str = "invoicing"
    invoicing_port: int = 8001
    invoicing_consumer_group: str = "clinicpay-invoicing"
    invoicing_cipher_key: SecretStr | None = Field(
        default=None, description="AES key (base64 of 16, 24 or 32 bytes) for PHI at rest"
    )
    invoicing_aggregate_cache_size: int = Field(default=5000, ge=0)
    invoicing_db_pool_size: int = Field(
        default=4, ge=1, le=100, description="PostgreSQL connections an API process keeps open"
    )

    @model_validator(mode="after")
    def check_cipher_key(self) -> InvoicingSettings:
        key = self.invoicing_cipher_key.get_secret_value() if self.invoicing_cipher_key else None
        if self.clinicpay_env != "embedded":
            if not key:
                raise ValueError("INVOICING_CIPHER_KEY is required outside the embedded default")
            if key == EMBEDDED_CIPHER_KEY:
                raise ValueError(
                    "the embedded cipher key cannot be used outside the embedded default"
                )
        if key is not None:
            try:
                length = len(b64decode(key, validate=True))
            except (binascii.Error, ValueError):
                raise ValueError("INVOICING_CIPHER_KEY must be base64") from None
            if length not in (16, 24, 32):
                raise ValueError("INVOICING_CIPHER_KEY must decode to 16, 24 or 32 bytes")
        return self

    def cipher_key(self) -> str:
        if self.invoicing_cipher_key is not None:
            return self.invoicing_cipher_key.get_secret_value()
        return EMBEDDED_CIPHER_KEY

    def eventsourcing_env(self, pool_size: int | None = None) -> dict[str, str]:
        """`pool_size`: connections kept open (as many again may be opened under load);
        an API uses `invoicing_db_pool_size`, the relay and the worker need fewer."""
        env = self.database.eventsourcing_env(self.invoicing_db_schema)
        env["CREATE_TABLE"] = "no"  # tables come from `migrate`, serialised across replicas
        size = pool_size or self.invoicing_db_pool_size
        env["POSTGRES_POOL_SIZE"] = str(size)
        env["POSTGRES_MAX_OVERFLOW"] = str(size)
        env["CIPHER_TOPIC"] = CIPHER_TOPIC
        env["CIPHER_KEY"] = self.cipher_key()
        if self.invoicing_aggregate_cache_size:
            env["AGGREGATE_CACHE_MAXSIZE"] = str(self.invoicing_aggregate_cache_size)
        return env
