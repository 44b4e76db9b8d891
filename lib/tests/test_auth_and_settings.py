import uuid

import pytest
from pydantic import ValidationError

from auth import InvalidToken, TokenCodec
from clinicpay.settings import EMBEDDED_JWT_SECRET, ServiceSettings
from storage import DatabaseUrl

CODEC = TokenCodec(verify_key="a-test-secret-that-is-long-enough-for-hs256")


def test_a_minted_token_verifies_to_its_clinic_and_roles():
    clinic = uuid.uuid4()
    claims = CODEC.verify(CODEC.mint(subject="ana", clinic_id=clinic, roles=["billing"]))
    assert (claims.subject, claims.clinic_id, claims.roles) == (
        "ana",
        clinic,
        frozenset({"billing"}),
    )


def test_a_token_signed_with_another_key_or_expired_is_refused():
    other = TokenCodec(verify_key="another-secret-that-is-also-long-enough-ok")
    with pytest.raises(InvalidToken):
        CODEC.verify(other.mint(subject="x", clinic_id=uuid.uuid4(), roles=["billing"]))
    with pytest.raises(InvalidToken):
        CODEC.verify(
            CODEC.mint(subject="x", clinic_id=uuid.uuid4(), roles=["billing"], ttl_seconds=-5)
        )


def test_unknown_roles_cannot_be_minted():
    with pytest.raises(ValueError):
        CODEC.mint(subject="x", clinic_id=uuid.uuid4(), roles=["superuser"])


def test_production_refuses_to_start_without_a_secret_or_with_the_embedded_one(monkeypatch):
    monkeypatch.delenv("JWT_SECRET", raising=False)
    with pytest.raises(ValidationError):
        ServiceSettings(clinicpay_env="production", database_url="postgresql://x@h/db")
    with pytest.raises(ValidationError):
        ServiceSettings(
            clinicpay_env="production",
            database_url="postgresql://x@h/db",
            jwt_secret=EMBEDDED_JWT_SECRET,
        )
    embedded = ServiceSettings(clinicpay_env="embedded", database_url="postgresql://x@h/db")
    assert embedded.token_codec().verify_key == EMBEDDED_JWT_SECRET


@pytest.mark.parametrize(
    ("url", "host", "port", "user", "dbname"),
    [
        (
            "postgresql://postgres@127.0.0.1:5432/clinicpay",
            "127.0.0.1",
            5432,
            "postgres",
            "clinicpay",
        ),
        (
            "postgresql://postgres:@/clinicpay?host=/tmp/pg",
            "/tmp/pg",
            5432,
            "postgres",
            "clinicpay",
        ),
        ("postgres://u:p%40ss@db.internal/ledger", "db.internal", 5432, "u", "ledger"),
    ],
)
def test_one_database_url_configures_both_drivers(url, host, port, user, dbname):
    parsed = DatabaseUrl(url)
    env = parsed.eventsourcing_env("invoicing")
    assert (
        env["POSTGRES_HOST"],
        int(env["POSTGRES_PORT"]),
        env["POSTGRES_USER"],
        env["POSTGRES_DBNAME"],
    ) == (host, port, user, dbname)
    assert env["POSTGRES_SCHEMA"] == "invoicing"


def test_a_database_url_that_is_not_postgres_is_refused():
    with pytest.raises(ValueError):
        DatabaseUrl("mysql://root@localhost/db")


def test_a_patient_link_is_bound_to_its_account_and_expires():
    from auth import LinkCodec

    links = LinkCodec("patient-link-secret-long-enough-for-hs256!")
    clinic, account = uuid.uuid4(), uuid.uuid4()
    claims = links.verify(links.mint(clinic_id=clinic, account_id=account))
    assert (claims.clinic_id, claims.account_id) == (clinic, account)
    with pytest.raises(InvalidToken):
        links.verify(links.mint(clinic_id=clinic, account_id=account, now=0, ttl_seconds=60))


def test_a_link_is_not_a_staff_token_and_a_staff_token_is_not_a_link():
    from auth import LinkCodec

    shared = "the-same-secret-used-by-mistake-for-both-kinds"
    links, staff = LinkCodec(shared), TokenCodec(verify_key=shared)
    link = links.mint(clinic_id=uuid.uuid4(), account_id=uuid.uuid4())
    token = staff.mint(subject="x", clinic_id=uuid.uuid4(), roles=["admin"])
    with pytest.raises(InvalidToken):
        staff.verify(link)
    with pytest.raises(InvalidToken):
        links.verify(token)
