CREATE SCHEMA IF NOT EXISTS reminders;

-- What the clinic is called and where it is (from invoicing, refreshed now and then).
CREATE TABLE IF NOT EXISTS reminders.clinics (
    clinic_id  uuid PRIMARY KEY,
    name       text NOT NULL,
    timezone   text NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS reminders.policies (
    clinic_id  uuid PRIMARY KEY,
    policy     jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL
);

-- Every thing that falls due: an invoice, a plan installment, a scheduled payment, an autopay
-- mandate. Its row is the lock that serialises the consumer and the schedulers for it.
CREATE TABLE IF NOT EXISTS reminders.subjects (
    subject_type text NOT NULL,
    subject_id   text NOT NULL,
    clinic_id    uuid NOT NULL,
    account_id   uuid NOT NULL,
    closed       text,                 -- why nothing more is due: paid, voided, written_off ...
    currency     text,
    total        bigint,               -- NULL until the invoice is issued
    adjusted     bigint NOT NULL DEFAULT 0,
    paid         bigint NOT NULL DEFAULT 0,  -- captured less refunded
    due_date     date,
    issued_at    timestamptz,
    details      jsonb NOT NULL DEFAULT '{}',
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject_type, subject_id)
);

-- One row per (subject, kind, step): the primary key is what makes a step due only once.
CREATE TABLE IF NOT EXISTS reminders.schedule (
    subject_type text NOT NULL,
    subject_id   text NOT NULL,
    kind         text NOT NULL,
    step         text NOT NULL,
    clinic_id    uuid NOT NULL,
    account_id   uuid NOT NULL,
    due_at       timestamptz NOT NULL,
    status       text NOT NULL DEFAULT 'pending',  -- pending, sent, skipped
    reason       text,
    reminder_id  uuid NOT NULL UNIQUE,
    settled_at   timestamptz,
    PRIMARY KEY (subject_type, subject_id, kind, step),
    FOREIGN KEY (subject_type, subject_id) REFERENCES reminders.subjects
);
-- A step that came due outside the clinic's sending hours (a late tick) waits for them.
ALTER TABLE reminders.schedule ADD COLUMN IF NOT EXISTS not_before timestamptz;
CREATE INDEX IF NOT EXISTS schedule_pending ON reminders.schedule (due_at)
    WHERE status = 'pending';

-- Events to publish, written in the transaction that decided them; the relay sends them.
CREATE TABLE IF NOT EXISTS reminders.outbox (
    position     bigserial PRIMARY KEY,
    event_id     uuid NOT NULL UNIQUE,
    topic        text NOT NULL,
    key          bytea NOT NULL,
    value        bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON reminders.outbox (position)
    WHERE published_at IS NULL;

CREATE TABLE IF NOT EXISTS reminders.inbox (
    event_id    uuid PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- One notice on one channel. Its contents are rendered at delivery and kept only in the
-- dev mailbox; this row holds ids, status and the failure code.
CREATE TABLE IF NOT EXISTS reminders.notifications (
    notification_id uuid PRIMARY KEY,
    reminder_id     uuid,
    clinic_id       uuid NOT NULL,
    account_id      uuid NOT NULL,
    kind            text NOT NULL,
    channel         text NOT NULL,
    subject_type    text NOT NULL,
    subject_id      text NOT NULL,
    facts           jsonb NOT NULL,     -- amount, currency, due date: no PHI
    status          text NOT NULL DEFAULT 'pending',  -- pending, sent, failed, skipped
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    failure_code    text,
    link_id         uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    settled_at      timestamptz
);
CREATE INDEX IF NOT EXISTS notifications_due ON reminders.notifications (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS notifications_by_account
    ON reminders.notifications (clinic_id, account_id, created_at);

-- The dev mailbox: every message the mailbox notifier "sent", for a person to open.
CREATE TABLE IF NOT EXISTS reminders.mailbox (
    id              uuid PRIMARY KEY,
    notification_id uuid NOT NULL UNIQUE,
    clinic_id       uuid NOT NULL,
    account_id      uuid NOT NULL,
    kind            text NOT NULL,
    channel         text NOT NULL,
    recipient       text NOT NULL,
    subject         text,
    text_body       text NOT NULL,
    html_body       text,
    link            text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS mailbox_by_account ON reminders.mailbox (clinic_id, account_id, created_at);

-- Numbers that answered STOP, by a keyed digest: the number itself is not kept.
CREATE TABLE IF NOT EXISTS reminders.sms_opt_outs (
    phone_digest text PRIMARY KEY,
    opted_out_at timestamptz NOT NULL DEFAULT now()
);

-- An SMS carries a short code instead of the signed token; it redirects to the portal link.
CREATE TABLE IF NOT EXISTS reminders.short_links (
    code       text PRIMARY KEY,
    target     text NOT NULL,
    expires_at timestamptz NOT NULL
);
