-- The journal and the balances projected from it, in schema {schema}: `ledger` for the live
-- projection, a fresh schema for `clinicpay ledger rebuild`. Idempotent.
CREATE SCHEMA IF NOT EXISTS {schema};

CREATE TABLE IF NOT EXISTS {schema}.journal_entries (
    entry_id     bigserial PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    event_type   text        NOT NULL,
    clinic_id    uuid        NOT NULL,
    account_id   uuid        NOT NULL,
    currency     char(3)     NOT NULL,
    invoice_id   uuid,
    payment_id   uuid,
    description  text        NOT NULL,
    posted_on    date        NOT NULL,
    occurred_at  timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS journal_by_account ON {schema}.journal_entries (clinic_id, account_id, posted_on);

-- Debit positive, credit negative; the postings of an entry sum to zero.
CREATE TABLE IF NOT EXISTS {schema}.postings (
    event_id       uuid     NOT NULL,
    line           smallint NOT NULL,
    clinic_id      uuid     NOT NULL,
    ledger_account text     NOT NULL,
    account_id     uuid,
    invoice_id     uuid,
    amount         bigint   NOT NULL,
    currency       char(3)  NOT NULL,
    posted_on      date     NOT NULL,
    PRIMARY KEY (event_id, line)
);
CREATE INDEX IF NOT EXISTS postings_by_clinic ON {schema}.postings (clinic_id, ledger_account, posted_on);
CREATE INDEX IF NOT EXISTS postings_by_account ON {schema}.postings (clinic_id, account_id);

-- What each billing account owes (positive) or holds as credit (negative).
CREATE TABLE IF NOT EXISTS {schema}.account_balances (
    clinic_id   uuid    NOT NULL,
    account_id  uuid    NOT NULL,
    currency    char(3) NOT NULL,
    balance     bigint  NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clinic_id, account_id, currency)
);

-- The receivable per invoice; the due date arrives with InvoiceIssued, whenever that is.
CREATE TABLE IF NOT EXISTS {schema}.invoice_balances (
    clinic_id   uuid    NOT NULL,
    account_id  uuid    NOT NULL,
    invoice_id  uuid    NOT NULL,
    currency    char(3) NOT NULL,
    balance     bigint  NOT NULL,
    due_date    date,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clinic_id, account_id, invoice_id, currency)
);
