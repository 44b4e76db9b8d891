-- The ledger's own schema. Every statement is idempotent; applied at start-up under a lock.
-- The journal and balances (journal.sql) are created beside these, in this schema.
CREATE SCHEMA IF NOT EXISTS ledger;

-- Before the audit log existed, consumed events were kept in ledger.inbox. Those
-- projections cannot be traced to a chained row, so they are dropped and the topics are
-- consumed again from the beginning into the audit log.
DO $$
BEGIN
    IF to_regclass('ledger.inbox') IS NOT NULL AND to_regclass('ledger.audit_log') IS NULL THEN
        DROP TABLE IF EXISTS ledger.postings, ledger.journal_entries, ledger.account_balances;
        DROP TABLE ledger.inbox;
        IF to_regclass('ledger.consumer_offsets') IS NOT NULL THEN
            DELETE FROM ledger.consumer_offsets;
        END IF;
    END IF;
END
$$;

-- Every consumed event, raw (the whole envelope), once (event id unique), hash-chained per
-- partition (see chain.py). The other columns are indexed copies of envelope attributes.
CREATE TABLE IF NOT EXISTS ledger.audit_log (
    chain          text        NOT NULL,
    seq            bigint      NOT NULL,
    event_id       uuid        NOT NULL UNIQUE,
    event_type     text        NOT NULL,
    clinic_id      uuid        NOT NULL,
    account_id     uuid        NOT NULL,
    subject        text        NOT NULL,
    correlation_id text        NOT NULL,
    causation_id   text,
    occurred_at    timestamptz NOT NULL,
    topic          text        NOT NULL,
    "partition"    integer     NOT NULL,
    "offset"       bigint      NOT NULL,
    recorded_at    timestamptz NOT NULL,
    envelope       jsonb       NOT NULL,
    prev_hash      bytea       NOT NULL,
    hash           bytea       NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX IF NOT EXISTS audit_log_by_clinic ON ledger.audit_log (clinic_id, occurred_at, event_id);
CREATE INDEX IF NOT EXISTS audit_log_by_account ON ledger.audit_log (clinic_id, account_id);
CREATE INDEX IF NOT EXISTS audit_log_by_subject ON ledger.audit_log (clinic_id, subject);
CREATE INDEX IF NOT EXISTS audit_log_by_correlation ON ledger.audit_log (clinic_id, correlation_id);

-- Append-only: the database refuses to change or delete a row (tampering needs the owner to
-- switch the trigger off, and verify still finds it).
CREATE OR REPLACE FUNCTION ledger.audit_log_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger.audit_log is append-only';
END
$$;
DROP TRIGGER IF EXISTS audit_log_append_only ON ledger.audit_log;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION ledger.audit_log_is_append_only();

-- The last row of every chain, written in the same transaction as the rows.
CREATE TABLE IF NOT EXISTS ledger.audit_heads (
    chain       text        PRIMARY KEY,
    seq         bigint      NOT NULL,
    hash        bytea       NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Dead letters already sent back to their topic by `clinicpay ledger dlq replay`.
CREATE TABLE IF NOT EXISTS ledger.dlq_replays (
    dlq_topic    text        NOT NULL,
    "partition"  integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    replayed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (dlq_topic, "partition", "offset")
);
