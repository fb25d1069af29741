-- +goose Up
-- Two-way SMS: polls on campaigns, provider statuses from Twilio's callbacks, and the
-- officers' inbox of conversations with residents.

-- A campaign may ask a question residents answer by text (see internal/inbox.Poll).
ALTER TABLE campaigns ADD COLUMN poll jsonb;

-- The latest status the provider reported for a message, ranked so a late "sent"
-- never overwrites "delivered" (see sms.StatusRank).
ALTER TABLE outbox ADD COLUMN provider_status text NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN provider_rank smallint NOT NULL DEFAULT 0;
CREATE INDEX outbox_provider_idx ON outbox (provider_id) WHERE provider_id IS NOT NULL;
CREATE INDEX outbox_point_sent_idx ON outbox (contact_point_id, sent_at) WHERE channel = 'sms' AND sent_at IS NOT NULL;

-- Status callbacks can arrive before the worker that sent the message has recorded its
-- SID (it settles a chunk at a time). Each SID's latest status is kept here and applied
-- to the outbox row (or inbox reply) by whichever comes second; the dispatcher's rescuer
-- applies any that a race between the two left behind.
CREATE TABLE provider_statuses (
    provider_id   text COLLATE "C" PRIMARY KEY,
    status        text NOT NULL,                -- Twilio's MessageStatus
    rank          smallint NOT NULL,            -- see sms.StatusRank
    state         text NOT NULL,                -- what it makes the outbox row: sent, delivered, failed
    reason        text NOT NULL DEFAULT '',     -- from the error code table; no personal data
    error_code    integer NOT NULL DEFAULT 0,
    point_status  text NOT NULL DEFAULT '',     -- 'invalid' when the number is dead
    applied       boolean NOT NULL DEFAULT false,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX provider_statuses_unapplied_idx ON provider_statuses (updated_at) WHERE NOT applied;

-- One conversation per phone number that has texted us or been texted back. contact_id
-- is NULL for a number no contact has (kept as a new, unmatched conversation).
CREATE TABLE conversations (
    id               bigserial PRIMARY KEY,
    phone            text COLLATE "C" NOT NULL UNIQUE,  -- E.164
    contact_id       bigint,                             -- → contacts (statement-level RI, below)
    assigned_to      text NOT NULL DEFAULT '',           -- the officer looking after it
    unread           integer NOT NULL DEFAULT 0,
    last_message_at  timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversations_contact_idx ON conversations (contact_id);
CREATE INDEX conversations_recent_idx ON conversations (last_message_at DESC);

-- Every text in a conversation, both ways. provider_sid is Twilio's MessageSid: a webhook
-- Twilio repeats is stored once.
CREATE TABLE sms_messages (
    id               bigserial PRIMARY KEY,
    conversation_id  bigint NOT NULL,                    -- → conversations (statement-level RI, below)
    direction        text NOT NULL CHECK (direction IN ('in', 'out')),
    provider_sid     text COLLATE "C" UNIQUE,
    body             text NOT NULL,
    campaign_id      bigint,          -- the campaign an inbound text answers (the latest sent to that number)
    outbox_id        bigint,          -- the campaign message it answers
    keyword          text NOT NULL DEFAULT '' CHECK (keyword IN ('', 'stop', 'start', 'help')),
    likely_opt_out   boolean NOT NULL DEFAULT false,  -- reads like "please stop", but is not a keyword
    poll_answer      text NOT NULL DEFAULT '',        -- the poll option's key, when it answered the poll
    poll_unclear     boolean NOT NULL DEFAULT false,  -- the campaign had a poll and the answer was not clear
    tags             text[] NOT NULL DEFAULT '{}',    -- "issue raised", "praise", "needs follow-up", ...
    sent_by          text NOT NULL DEFAULT '',        -- the officer, for replies sent back
    status           text NOT NULL DEFAULT 'received', -- in: received; out: sending, sent, delivered, failed, unknown
    status_rank      smallint NOT NULL DEFAULT 0,
    status_reason    text NOT NULL DEFAULT '',
    read_at          timestamptz,
    at               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sms_messages_conversation_idx ON sms_messages (conversation_id, at);
CREATE INDEX sms_messages_campaign_idx ON sms_messages (campaign_id) WHERE campaign_id IS NOT NULL;

CREATE TRIGGER conversations_contact_ri_ins AFTER INSERT ON conversations REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('contact_id', 'contacts');
CREATE TRIGGER conversations_contact_ri_upd AFTER UPDATE ON conversations REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('contact_id', 'contacts');
CREATE TRIGGER sms_messages_conversation_ri_ins AFTER INSERT ON sms_messages REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('conversation_id', 'conversations');
-- Erasing a resident erases what they texted us.
CREATE TRIGGER contacts_conversations_ri_del AFTER DELETE ON contacts REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_parent_deleted('conversations', 'contact_id', 'cascade');
CREATE TRIGGER conversations_messages_ri_del AFTER DELETE ON conversations REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_parent_deleted('sms_messages', 'conversation_id', 'cascade');

-- +goose Down
DROP TRIGGER contacts_conversations_ri_del ON contacts;
DROP TABLE sms_messages;
DROP TABLE conversations;
DROP TABLE provider_statuses;
DROP INDEX outbox_point_sent_idx;
DROP INDEX outbox_provider_idx;
ALTER TABLE outbox DROP COLUMN provider_rank;
ALTER TABLE outbox DROP COLUMN provider_status;
ALTER TABLE campaigns DROP COLUMN poll;
