-- +goose Up
-- Residents' own changes on the web: every one is a consent row with source 'web' and a
-- detail saying which page ("preference centre", "unsubscribe link", "sign-up form,
-- confirmed by email"). Older rows keep their sources and an empty detail.
ALTER TABLE consents ADD COLUMN detail text NOT NULL DEFAULT '';

-- A sign-up waiting for its email confirmation (double opt-in). Nothing is added to
-- contacts or consents until the link is followed and confirmed; unconfirmed sign-ups
-- expire and are deleted (they hold personal data nobody agreed to keep). The link's
-- token is stored only as its SHA-256, as sessions are.
CREATE TABLE signups (
    id            bigserial PRIMARY KEY,
    token_hash    bytea NOT NULL UNIQUE,
    email         text NOT NULL,
    first_name    text NOT NULL DEFAULT '',
    last_name     text NOT NULL DEFAULT '',
    mobile        text NOT NULL DEFAULT '',   -- E.164, when they asked for texts too
    topic_ids     bigint[] NOT NULL,
    client_hash   bytea NOT NULL,             -- SHA-256 of the client's IP: rate limits without keeping the IP
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    confirmed_at  timestamptz,
    contact_id    bigint REFERENCES contacts (id) ON DELETE SET NULL
);
CREATE INDEX signups_email_idx ON signups (lower(email), created_at);
CREATE INDEX signups_client_idx ON signups (client_hash, created_at);
CREATE INDEX signups_expiry_idx ON signups (expires_at) WHERE confirmed_at IS NULL;

-- +goose Down
DROP TABLE signups;
ALTER TABLE consents DROP COLUMN detail;
