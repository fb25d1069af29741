-- +goose Up
-- Accounts for officers, admins and volunteers, their sessions, and login attempts for
-- rate limiting.

CREATE TABLE users (
    id             bigserial PRIMARY KEY,
    email          text NOT NULL CHECK (email <> ''),
    name           text NOT NULL CHECK (name <> ''),
    role           text NOT NULL CHECK (role IN ('admin', 'officer', 'volunteer')),
    password_hash  text NOT NULL,
    disabled       boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- A session is known by the SHA-256 of its cookie: the table alone can't be replayed.
CREATE TABLE sessions (
    token_hash    bytea PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf          text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expiry_idx ON sessions (expires_at);

CREATE TABLE login_attempts (
    id     bigserial PRIMARY KEY,
    login  text NOT NULL,
    ip     text NOT NULL,
    ok     boolean NOT NULL,
    at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_attempts_login_idx ON login_attempts (lower(login), at);
CREATE INDEX login_attempts_ip_idx ON login_attempts (ip, at);

-- A round assigned to a volunteer with an account: their "My rounds".
ALTER TABLE rounds ADD COLUMN volunteer_user_id bigint REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX rounds_volunteer_idx ON rounds (volunteer_user_id);
-- The round's PDFs in its print run's folder, for "My rounds" downloads.
ALTER TABLE rounds ADD COLUMN files text[] NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE rounds DROP COLUMN files;
ALTER TABLE rounds DROP COLUMN volunteer_user_id;
DROP TABLE login_attempts;
DROP TABLE sessions;
DROP TABLE users;
