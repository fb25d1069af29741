-- +goose Up
-- Two-factor sign-in (TOTP, RFC 6238; issue 14). A user's secret is stored sealed
-- (AES-GCM under a key derived from CRIER_LINK_KEY, bound to the user's id), so the
-- database alone can't make codes. enabled_at is NULL while enrolment waits for its first
-- code. last_step is the time step of the last code accepted: a code is never taken twice.
CREATE TABLE user_totp (
    user_id     bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret      bytea NOT NULL,
    enabled_at  timestamptz,
    last_step   bigint NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- One-time recovery codes, known only by a keyed hash (HMAC-SHA-256); used_at set once.
CREATE TABLE user_recovery_codes (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (user_id, code_hash)
);

-- A sign-in whose password was right and that waits for its code: known by the SHA-256
-- of its cookie, five minutes and five tries at most.
CREATE TABLE pending_logins (
    token_hash  bytea PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf        text NOT NULL,
    next        text NOT NULL DEFAULT '',
    tries       int NOT NULL DEFAULT 0,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX pending_logins_user_idx ON pending_logins (user_id);

-- Wrong codes per user, for a limit across pending sign-ins (and the "off" form).
CREATE TABLE two_factor_failures (
    user_id  bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX two_factor_failures_idx ON two_factor_failures (user_id, at);

-- Site-wide security settings: one row.
CREATE TABLE security_settings (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    require_2fa  boolean NOT NULL DEFAULT false,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
INSERT INTO security_settings DEFAULT VALUES;

-- +goose Down
DROP TABLE security_settings;
DROP TABLE two_factor_failures;
DROP TABLE pending_logins;
DROP TABLE user_recovery_codes;
DROP TABLE user_totp;
