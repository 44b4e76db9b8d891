"""The cipher key for PHI at rest: a working default on the embedded default only."""

import pytest
from eventsourcing.cryptography import AESCipher
from pydantic import ValidationError

from invoicing.settings import EMBEDDED_CIPHER_KEY, InvoicingSettings

PRODUCTION = dict(
    clinicpay_env="production",
    database_url="postgresql://x@h/db",
    jwt_secret="a-production-secret-that-is-long-enough",
)


@pytest.fixture(autouse=True)
def no_key_in_the_environment(monkeypatch):
    monkeypatch.delenv("INVOICING_CIPHER_KEY", raising=False)


def test_production_refuses_to_start_without_a_cipher_key():
    with pytest.raises(ValidationError, match="INVOICING_CIPHER_KEY is required"):
        InvoicingSettings(**PRODUCTION)


def test_production_refuses_the_embedded_key():
    with pytest.raises(ValidationError, match="embedded cipher key"):
        InvoicingSettings(**PRODUCTION, invoicing_cipher_key=EMBEDDED_CIPHER_KEY)


@pytest.mark.parametrize("key", ["not base64!", "c2hvcnQ="])
def test_a_key_that_is_not_an_aes_key_is_refused(key):
    with pytest.raises(ValidationError):
        InvoicingSettings(**PRODUCTION, invoicing_cipher_key=key)


def test_production_encrypts_with_its_own_key():
    key = AESCipher.create_key(32)
    env = InvoicingSettings(**PRODUCTION, invoicing_cipher_key=key).eventsourcing_env()
    assert (env["CIPHER_TOPIC"], env["CIPHER_KEY"]) == ("eventsourcing.cryptography:AESCipher", key)


def test_the_embedded_default_encrypts_with_the_built_in_key():
    settings = InvoicingSettings(clinicpay_env="embedded", database_url="postgresql://x@h/db")
    assert settings.eventsourcing_env()["CIPHER_KEY"] == EMBEDDED_CIPHER_KEY
