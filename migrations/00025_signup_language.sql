-- +goose Up
-- The language a resident asked for when signing up (a code such as cy; '' when they
-- did not choose): it becomes their preferred language when they confirm.
ALTER TABLE signups ADD COLUMN language text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE signups DROP COLUMN language;
