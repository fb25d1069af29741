-- +goose Up
-- The audit log (issue 14): who signed in, exported or imported contacts, moved a
-- campaign, printed leaflets or changed an account. Append-only like consents: a
-- trigger refuses UPDATE, DELETE and TRUNCATE, so a row once written stays as written
-- (only a superuser dropping the trigger can change that, and that shows in the schema).
-- actor is the account's email as it was then, or "cli:<os user>"; actor_id the account,
-- kept when the account is gone. detail holds ids and counts, never residents' personal
-- data; client is the web client's address.
CREATE TABLE audit_log (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_id      bigint,
    actor         text NOT NULL CHECK (actor <> ''),
    action        text NOT NULL CHECK (action ~ '^[a-z][a-z_.]*$'),
    subject_type  text NOT NULL DEFAULT '',
    subject_id    text NOT NULL DEFAULT '',
    detail        jsonb NOT NULL DEFAULT '{}',
    client        text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (lower(actor), at DESC);

-- +goose StatementBegin
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- One-time password reset links. Only the SHA-256 of the token is kept, as for
-- sessions: the table alone can't be used to reset anybody's password.
CREATE TABLE password_resets (
    token_hash  bytea PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);

-- +goose Down
DROP TABLE password_resets;
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
