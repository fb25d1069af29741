-- +goose Up
-- A sign-in attempt is recorded before its password is checked, with ok NULL until the
-- check ends, so parallel attempts count against the limit at once (issue 14, defect 1).
-- The limit is per (account, address) and per address, with growing delays, not a
-- lock-out of the account everywhere (defect 2); this index serves both counts.
ALTER TABLE login_attempts ALTER COLUMN ok DROP NOT NULL;
DROP INDEX login_attempts_ip_idx;
CREATE INDEX login_attempts_ip_idx ON login_attempts (ip, at) INCLUDE (login, ok);

-- +goose Down
DELETE FROM login_attempts WHERE ok IS NULL;
ALTER TABLE login_attempts ALTER COLUMN ok SET NOT NULL;
DROP INDEX login_attempts_ip_idx;
CREATE INDEX login_attempts_ip_idx ON login_attempts (ip, at);
