-- The ledger's own schema. Every statement is idempotent; applied at start-up under a lock.
CREATE SCHEMA IF NOT EXISTS ledger;

-- Every consumed event, raw, once (event id unique): the projection's idempotency key.
CREATE TABLE IF NOT EXISTS ledger.inbox (
    event_id     uuid PRIMARY KEY,
    event_type   text        NOT NULL,
    clinic_id    uuid        NOT NULL,
    account_id   uuid        NOT NULL,
    subject      text        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    topic        text        NOT NULL,
    "partition"  integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    envelope     jsonb       NOT NULL
);

CREATE TABLE IF NOT EXISTS ledger.journal_entries (
    entry_id     bigserial PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE REFERENCES ledger.inbox (event_id),
    event_type   text        NOT NULL,
    clinic_id    uuid        NOT NULL,
    account_id   uuid        NOT NULL,
    currency     char(3)     NOT NULL,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);

-- Debit positive, credit negative; the postings of an entry sum to zero.
CREATE TABLE IF NOT EXISTS ledger.postings (
    entry_id       bigint   NOT NULL REFERENCES ledger.journal_entries (entry_id),
    line           smallint NOT NULL,
    clinic_id      uuid     NOT NULL,
    ledger_account text     NOT NULL,
    account_id     uuid,
    invoice_id     uuid,
    amount         bigint   NOT NULL,
    currency       char(3)  NOT NULL,
    PRIMARY KEY (entry_id, line)
);
CREATE INDEX IF NOT EXISTS postings_by_account ON ledger.postings (clinic_id, account_id);

-- What each billing account owes (positive) or holds as credit (negative).
CREATE TABLE IF NOT EXISTS ledger.account_balances (
    clinic_id   uuid    NOT NULL,
    account_id  uuid    NOT NULL,
    currency    char(3) NOT NULL,
    balance     bigint  NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clinic_id, account_id, currency)
);
