-- +goose Up
-- A mobile given at sign-up gets no text consent until it is confirmed by a code texted
-- to it: confirming the email proves the address, not the number (issue 11, defect 4).
--
-- While a code waits, the sign-up keeps its copy of the mobile (the rest is blanked when
-- the email is confirmed) until mobile_until, the latest code's expiry; it is blanked
-- when the code is typed in, the resident skips texts, or mobile_until passes (the
-- expiry sweep, or the next visit, does that). mobile_confirmed_at is the proof that
-- the code was typed in.
ALTER TABLE signups ADD COLUMN mobile_until timestamptz;
ALTER TABLE signups ADD COLUMN mobile_confirmed_at timestamptz;
CREATE INDEX signups_mobile_until_idx ON signups (mobile_until) WHERE mobile <> '';

-- The codes texted for a sign-up: only the newest one can be typed in, and each row
-- counts toward the sign-up's daily limit. The code is stored only as SHA-256 over the
-- sign-up's link token (which is itself stored only hashed) and the code, so the table
-- alone can't tell anyone a code. Rows go when the mobile is confirmed, skipped or
-- expires, and with their sign-up.
CREATE TABLE signup_mobile_codes (
    id          bigserial PRIMARY KEY,
    signup_id   bigint NOT NULL REFERENCES signups (id) ON DELETE CASCADE,
    code_hash   bytea NOT NULL,
    sent_at     timestamptz NOT NULL DEFAULT now(),
    wrong_tries int NOT NULL DEFAULT 0
);
CREATE INDEX signup_mobile_codes_signup_idx ON signup_mobile_codes (signup_id, sent_at);

-- +goose Down
DROP TABLE signup_mobile_codes;
ALTER TABLE signups DROP COLUMN mobile_confirmed_at;
ALTER TABLE signups DROP COLUMN mobile_until;
