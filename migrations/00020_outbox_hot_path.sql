-- +goose Up
-- Sending writes each outbox row three times (claimed, handed, settled). Room left in
-- each page lets the handed mark, which changes no indexed column, be a heap-only
-- update: no new index entries and nothing for vacuum to chase in the indexes. New
-- pages only; existing ones fill as before.
ALTER TABLE outbox SET (fillfactor = 70);

-- Only texts are looked up by their provider's id (Twilio's status callbacks carry the
-- SID). An e-bulletin's provider id is its Message-ID, which names the outbox row
-- itself ("outbox-<id>.crier@…"), so indexing it cost every sent e-bulletin an index
-- entry that nothing read.
DROP INDEX outbox_provider_idx;
CREATE INDEX outbox_sms_provider_idx ON outbox (provider_id) WHERE channel = 'sms' AND provider_id IS NOT NULL;

-- +goose Down
DROP INDEX outbox_sms_provider_idx;
CREATE INDEX outbox_provider_idx ON outbox (provider_id) WHERE provider_id IS NOT NULL;
ALTER TABLE outbox RESET (fillfactor);
