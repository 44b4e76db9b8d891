-- The portal's own state: which links were used or revoked, who is signed in, who is
-- cooling down after wrong answers, and the plans and autopay it set up for an account.
-- Money and patient records stay with the services that own them.
CREATE SCHEMA IF NOT EXISTS portal;

CREATE TABLE IF NOT EXISTS portal.used_links (
    link_id    uuid        PRIMARY KEY,
    clinic_id  uuid        NOT NULL,
    account_id uuid        NOT NULL,
    used_at    timestamptz NOT NULL DEFAULT now()
);

-- Links issued before `revoked_before` no longer open the portal.
CREATE TABLE IF NOT EXISTS portal.link_revocations (
    clinic_id      uuid        NOT NULL,
    account_id     uuid        NOT NULL,
    revoked_before timestamptz NOT NULL,
    revoked_by     text        NOT NULL,
    PRIMARY KEY (clinic_id, account_id)
);

CREATE TABLE IF NOT EXISTS portal.verification_failures (
    clinic_id    uuid        NOT NULL,
    account_id   uuid        NOT NULL,
    failures     integer     NOT NULL DEFAULT 0,
    locked_until timestamptz,
    PRIMARY KEY (clinic_id, account_id)
);

-- A session cookie holds a random secret; only its SHA-256 is stored.
CREATE TABLE IF NOT EXISTS portal.sessions (
    secret_hash  bytea       PRIMARY KEY,
    kind         text        NOT NULL CHECK (kind IN ('patient', 'staff')),
    reference    text        NOT NULL,
    clinic_id    uuid        NOT NULL,
    account_id   uuid,
    link_id      uuid,
    staff_token  text,
    csrf_token   text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz
);
CREATE INDEX IF NOT EXISTS sessions_by_account ON portal.sessions (clinic_id, account_id);

-- Payments answers plans and autopay by id only; the portal remembers the ids it set up.
CREATE TABLE IF NOT EXISTS portal.arrangements (
    clinic_id      uuid        NOT NULL,
    account_id     uuid        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('plan', 'autopay')),
    arrangement_id uuid        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (clinic_id, account_id, kind, arrangement_id)
);
