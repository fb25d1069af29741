-- +goose Up
-- Residents' data rights under UK GDPR (issue 17, see internal/rights and docs/data-rights.md).
--
-- A resident who asked to be erased is gone from contacts, but their email address or
-- phone number must never come back into marketing by a later import or sign-up. What
-- stays is a suppression entry holding only HMAC-SHA-256 of the normalised value (a
-- lower-cased email, an E.164 number) under a key derived from CRIER_LINK_KEY: a plain
-- SHA-256 of a UK mobile is found by trying the 10^10 candidates in minutes, while the
-- keyed hash can't be tested without the key, which is not in the database.
CREATE TABLE suppressions (
    hash        bytea PRIMARY KEY CHECK (length(hash) = 32),
    kind        text NOT NULL CHECK (kind IN ('email', 'phone')),
    reason      text NOT NULL DEFAULT '',   -- the officer's words ("asked to be erased, letter of 3 May"); never the value
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Retention (CRIER_RETENTION_REPLIES, CRIER_RETENTION_BODIES) removes old texts' words
-- but keeps the row (its time, campaign, poll answer and tags still count): body_removed_at
-- says when, so the inbox can say "removed under the retention policy" rather than show
-- an empty text.
ALTER TABLE sms_messages ADD COLUMN body_removed_at timestamptz;
CREATE INDEX sms_messages_retention_idx ON sms_messages (at) WHERE body_removed_at IS NULL;

-- +goose Down
DROP INDEX sms_messages_retention_idx;
ALTER TABLE sms_messages DROP COLUMN body_removed_at;
DROP TABLE suppressions;
