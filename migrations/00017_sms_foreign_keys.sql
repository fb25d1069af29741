-- +goose Up
-- Texts arrive one at a time, not in bulk: for them PostgreSQL's own foreign keys (row
-- triggers in C with cached plans) cost far less than the statement-level checks, which
-- plan their dynamic query on every statement. An inbound text is one upsert of its
-- conversation and one insert of the message: three such checks took about 40% of the
-- webhook's database time (issue 13, inbound texts). The bulk tables (contacts, points,
-- consents) keep the statement-level checks that imports need.
DROP TRIGGER conversations_contact_ri_ins ON conversations;
DROP TRIGGER conversations_contact_ri_upd ON conversations;
DROP TRIGGER sms_messages_conversation_ri_ins ON sms_messages;
DROP TRIGGER contacts_conversations_ri_del ON contacts;
DROP TRIGGER conversations_messages_ri_del ON conversations;
ALTER TABLE conversations ADD CONSTRAINT conversations_contact_fkey
    FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE CASCADE;
ALTER TABLE sms_messages ADD CONSTRAINT sms_messages_conversation_fkey
    FOREIGN KEY (conversation_id) REFERENCES conversations (id) ON DELETE CASCADE;

-- +goose Down
ALTER TABLE sms_messages DROP CONSTRAINT sms_messages_conversation_fkey;
ALTER TABLE conversations DROP CONSTRAINT conversations_contact_fkey;
CREATE TRIGGER conversations_contact_ri_ins AFTER INSERT ON conversations REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('contact_id', 'contacts');
CREATE TRIGGER conversations_contact_ri_upd AFTER UPDATE ON conversations REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('contact_id', 'contacts');
CREATE TRIGGER sms_messages_conversation_ri_ins AFTER INSERT ON sms_messages REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('conversation_id', 'conversations');
CREATE TRIGGER contacts_conversations_ri_del AFTER DELETE ON contacts REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_parent_deleted('conversations', 'contact_id', 'cascade');
CREATE TRIGGER conversations_messages_ri_del AFTER DELETE ON conversations REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_parent_deleted('sms_messages', 'conversation_id', 'cascade');
