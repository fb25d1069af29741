-- +goose Up
-- Sending records a message's events a few at a time (the handed mark and the result
-- are group-committed per message, issue 13): for that, PostgreSQL's own foreign key
-- (row triggers in C with cached plans) costs far less than the statement-level check,
-- which plans its dynamic query on every statement. Bulk paths (cancelling a big run)
-- pay a per-row index probe instead, which is cheap against the rows they write.
DROP TRIGGER message_events_outbox_ri_ins ON message_events;
DROP TRIGGER outbox_events_ri_del ON outbox;
ALTER TABLE message_events ADD CONSTRAINT message_events_outbox_fkey
    FOREIGN KEY (outbox_id) REFERENCES outbox (id) ON DELETE CASCADE;

-- +goose Down
ALTER TABLE message_events DROP CONSTRAINT message_events_outbox_fkey;
CREATE TRIGGER message_events_outbox_ri_ins AFTER INSERT ON message_events REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('outbox_id', 'outbox');
CREATE TRIGGER outbox_events_ri_del AFTER DELETE ON outbox REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_parent_deleted('message_events', 'outbox_id', 'cascade');
