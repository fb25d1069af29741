-- +goose Up
-- Campaigns in more than one language (issue 16). languages is the fallback order, the
-- first being the default: its texts stay in the campaign's own columns; the others'
-- are in variants, a JSON object by language code ({"en": {"email_subject": …,
-- "email_body": …, "sms_body": …, "leaflet_title": …, "leaflet_body": …}}). An empty
-- languages is a campaign in one language, as before. bilingual sends every resident
-- one message carrying the first two languages (the Welsh Language Standards' way),
-- their own language first.
ALTER TABLE campaigns
    ADD COLUMN languages text[] NOT NULL DEFAULT '{}',
    ADD COLUMN variants jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN bilingual boolean NOT NULL DEFAULT false;

-- The language each message was snapshotted in ('' for a campaign in one language), so
-- a run's counts by language and its messages do not change when a resident later
-- changes their preference.
ALTER TABLE outbox ADD COLUMN lang text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE outbox DROP COLUMN lang;
ALTER TABLE campaigns DROP COLUMN bilingual, DROP COLUMN variants, DROP COLUMN languages;
