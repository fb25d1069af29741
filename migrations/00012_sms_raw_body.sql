-- +goose Up
-- A text whose body PostgreSQL can't hold as text (a NUL byte, bytes that are not UTF-8)
-- is stored with replacement characters in body and, exactly as it arrived, in raw_body
-- (issue 14, defect 5); raw_body is NULL for every other text.
ALTER TABLE sms_messages ADD COLUMN raw_body bytea;

-- +goose Down
ALTER TABLE sms_messages DROP COLUMN raw_body;
