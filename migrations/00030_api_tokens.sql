-- +goose Up
-- API tokens (issue: HTTP API): one per integration (the council's CRM, a website), each
-- with its scopes. The secret is shown once, when the token is made, and only its
-- SHA-256 is kept: a copy of the database lets nobody call the API. A token reads
-- "crier_<prefix>_<secret>"; prefix is random too, stored as it is and unique, so a
-- request's token is found by an index and then compared with its hash in constant
-- time. A revoked token stays, for the audit log's sake, and its name may be reused.
CREATE TABLE api_tokens (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    prefix       text NOT NULL UNIQUE CHECK (prefix ~ '^[a-z0-9]{12}$'),
    token_hash   bytea NOT NULL CHECK (length(token_hash) = 32),
    scopes       text[] NOT NULL CHECK (cardinality(scopes) > 0
                     AND scopes <@ ARRAY['read', 'contacts:write', 'campaigns:write']),
    created_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text NOT NULL CHECK (created_by <> ''),
    last_used_at timestamptz,
    revoked_at   timestamptz,
    revoked_by   text NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX api_tokens_live_name_idx ON api_tokens (lower(name)) WHERE revoked_at IS NULL;

-- +goose Down
DROP TABLE api_tokens;
