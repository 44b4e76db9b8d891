"""The tables payments keeps beside its event store, all in the service's own schema.

`invoices` is the read model of invoicing's events (what each invoice still owes, before our
own allocations are counted). Every other table is an index of our own aggregates, written in
the same transaction as the events it reflects (see recorder.py), so an index row and the
event it reflects are committed together or not at all.
"""

DDL = """
CREATE TABLE IF NOT EXISTS {schema}.invoices (
    invoice_id         uuid PRIMARY KEY,
    clinic_id          uuid    NOT NULL,
    account_id         uuid    NOT NULL,
    currency           char(3) NOT NULL,
    issued_on          date    NOT NULL,
    due_date           date    NOT NULL,
    issued_at          timestamptz NOT NULL,
    total_amount       bigint  NOT NULL,
    adjusted_amount    bigint  NOT NULL DEFAULT 0,
    written_off_amount bigint  NOT NULL DEFAULT 0,
    voided             boolean NOT NULL DEFAULT false,
    allocated          bigint  NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS invoices_by_account ON {schema}.invoices (clinic_id, account_id);

-- Consumed events, once each: the read model's idempotency.
CREATE TABLE IF NOT EXISTS {schema}.inbox (
    event_id    uuid PRIMARY KEY,
    event_type  text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- One row per capture or refund of an account, numbered: two allocations computed from the
-- same state cannot both commit, because they claim the same (account, seq).
CREATE TABLE IF NOT EXISTS {schema}.allocation_entries (
    entry_id    uuid PRIMARY KEY,
    clinic_id   uuid    NOT NULL,
    account_id  uuid    NOT NULL,
    seq         bigint  NOT NULL,
    currency    char(3) NOT NULL,
    payment_id  uuid    NOT NULL,
    unallocated bigint  NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (clinic_id, account_id, seq)
);

CREATE TABLE IF NOT EXISTS {schema}.payment_methods (
    method_id           uuid PRIMARY KEY,
    clinic_id           uuid    NOT NULL,
    account_id          uuid    NOT NULL,
    gateway             text    NOT NULL,
    gateway_customer_id text    NOT NULL,
    brand               text    NOT NULL,
    last4               char(4) NOT NULL,
    exp_month           smallint NOT NULL,
    exp_year            smallint NOT NULL,
    is_default          boolean NOT NULL,
    removed             boolean NOT NULL DEFAULT false,
    saved_at            timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS methods_by_account ON {schema}.payment_methods (clinic_id, account_id);
CREATE UNIQUE INDEX IF NOT EXISTS one_default_method ON {schema}.payment_methods
    (clinic_id, account_id) WHERE is_default AND NOT removed;

CREATE TABLE IF NOT EXISTS {schema}.payment_records (
    payment_id   uuid PRIMARY KEY,
    clinic_id    uuid    NOT NULL,
    account_id   uuid    NOT NULL,
    method_id    uuid    NOT NULL,
    amount       bigint  NOT NULL,
    currency     char(3) NOT NULL,
    status       text    NOT NULL,
    intent_id    text,
    requested_at timestamptz NOT NULL,
    settled_at   timestamptz
);
CREATE INDEX IF NOT EXISTS payments_by_account ON {schema}.payment_records (clinic_id, account_id);
CREATE INDEX IF NOT EXISTS payments_by_settlement ON {schema}.payment_records (settled_at);

CREATE TABLE IF NOT EXISTS {schema}.refund_records (
    refund_id         uuid PRIMARY KEY,
    payment_id        uuid   NOT NULL,
    amount            bigint NOT NULL,
    status            text   NOT NULL,
    gateway_refund_id text,
    requested_at      timestamptz NOT NULL,
    settled_at        timestamptz
);
CREATE INDEX IF NOT EXISTS refunds_by_settlement ON {schema}.refund_records (settled_at);

CREATE TABLE IF NOT EXISTS {schema}.plans (
    plan_id    uuid PRIMARY KEY,
    clinic_id  uuid NOT NULL,
    account_id uuid NOT NULL,
    method_id  uuid NOT NULL,
    status     text NOT NULL
);
CREATE INDEX IF NOT EXISTS plans_by_method ON {schema}.plans (method_id) WHERE status = 'active';

-- An invoice belongs to at most one active plan.
CREATE TABLE IF NOT EXISTS {schema}.plan_invoices (
    invoice_id uuid    NOT NULL,
    plan_id    uuid    NOT NULL,
    active     boolean NOT NULL,
    PRIMARY KEY (invoice_id, plan_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS one_active_plan_per_invoice ON {schema}.plan_invoices
    (invoice_id) WHERE active;

-- An account has at most one enabled autopay mandate.
CREATE TABLE IF NOT EXISTS {schema}.mandates (
    mandate_id uuid PRIMARY KEY,
    clinic_id  uuid    NOT NULL,
    account_id uuid    NOT NULL,
    method_id  uuid    NOT NULL,
    enabled    boolean NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_enabled_mandate ON {schema}.mandates
    (clinic_id, account_id) WHERE enabled;

-- Work the worker does when it falls due: resolve a charge or refund whose outcome is
-- unknown, retry a failed installment, make the charge a ReminderDue asked for.
CREATE TABLE IF NOT EXISTS {schema}.work_queue (
    kind    text        NOT NULL,
    subject uuid        NOT NULL,
    detail  text        NOT NULL DEFAULT '',
    due_at  timestamptz NOT NULL,
    tries   integer     NOT NULL DEFAULT 0,
    payload jsonb,
    PRIMARY KEY (kind, subject, detail)
);
CREATE INDEX IF NOT EXISTS work_by_due ON {schema}.work_queue (due_at);

-- Stripe webhook events already handled, by Stripe's event id.
CREATE TABLE IF NOT EXISTS {schema}.webhook_events (
    event_id    text PRIMARY KEY,
    event_type  text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
"""
