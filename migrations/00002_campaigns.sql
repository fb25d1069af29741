-- +goose Up
-- Segments, campaigns with their state history, runs, the outbox and message events.

CREATE TABLE segments (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name <> ''),
    description text NOT NULL DEFAULT '',
    rules       jsonb NOT NULL,  -- the rule tree, see internal/segment
    created_by  text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE campaigns (
    id             bigserial PRIMARY KEY,
    name           text NOT NULL CHECK (name <> ''),
    topic_id       bigint NOT NULL REFERENCES topics (id),
    segment_id     bigint REFERENCES segments (id),
    -- service: a necessary, neutral notice, sent by the resident's channel preferences;
    -- marketing: only to contact points with consent for the topic, always with an opt-out (PECR).
    purpose        text NOT NULL CHECK (purpose IN ('service', 'marketing')),
    -- all: every consented channel; best: one channel per resident, the first of channel_order they can take.
    strategy       text NOT NULL DEFAULT 'best' CHECK (strategy IN ('all', 'best')),
    channel_order  text[] NOT NULL DEFAULT '{email,sms,post}',
    email_subject  text NOT NULL DEFAULT '',
    email_body     text NOT NULL DEFAULT '',   -- Markdown with merge fields
    sms_body       text NOT NULL DEFAULT '',
    leaflet_title  text NOT NULL DEFAULT '',
    leaflet_body   text NOT NULL DEFAULT '',
    sender_name    text NOT NULL DEFAULT '',
    sender_email   text NOT NULL DEFAULT '',
    reply_to       text NOT NULL DEFAULT '',
    urgent         boolean NOT NULL DEFAULT false,
    state          text NOT NULL DEFAULT 'draft'
                   CHECK (state IN ('draft', 'scheduled', 'sending', 'completed', 'paused', 'cancelled')),
    -- once: send_at (NULL = now); recurring: a cron expression in time_zone.
    schedule_kind  text NOT NULL DEFAULT 'once' CHECK (schedule_kind IN ('once', 'recurring')),
    send_at        timestamptz,
    recurrence     text NOT NULL DEFAULT '',
    time_zone      text NOT NULL DEFAULT 'Europe/London',
    next_run_at    timestamptz,
    created_by     text NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_due_idx ON campaigns (next_run_at) WHERE state IN ('scheduled', 'sending');

-- Who changed a campaign's state, when and why.
CREATE TABLE campaign_history (
    id          bigserial PRIMARY KEY,
    campaign_id bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    from_state  text NOT NULL,
    to_state    text NOT NULL,
    actor       text NOT NULL DEFAULT '',
    note        text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaign_history_campaign_idx ON campaign_history (campaign_id, at);

-- One run per occurrence of a campaign, each with its own audience snapshot.
CREATE TABLE campaign_runs (
    id             bigserial PRIMARY KEY,
    campaign_id    bigint NOT NULL REFERENCES campaigns (id),
    scheduled_for  timestamptz NOT NULL,
    state          text NOT NULL DEFAULT 'sending'
                   CHECK (state IN ('sending', 'paused', 'completed', 'cancelled')),
    audience       integer NOT NULL DEFAULT 0,
    started_at     timestamptz NOT NULL DEFAULT now(),
    completed_at   timestamptz,
    UNIQUE (campaign_id, scheduled_for)
);

-- One row per run × contact × channel. Workers lease pending rows with
-- FOR UPDATE SKIP LOCKED; lease_until lets a rescuer reclaim rows of a crashed worker.
CREATE TABLE outbox (
    id                bigserial PRIMARY KEY,
    run_id            bigint NOT NULL,
    campaign_id       bigint NOT NULL,
    contact_id        bigint NOT NULL,
    contact_point_id  bigint,          -- NULL for suppressed rows with no usable point
    channel           text NOT NULL CHECK (channel IN ('email', 'sms', 'post')),
    state             text NOT NULL DEFAULT 'pending'
                      CHECK (state IN ('pending', 'sending', 'sent', 'delivered', 'failed', 'bounced',
                                       'suppressed', 'cancelled', 'unknown')),
    reason            text NOT NULL DEFAULT '',  -- why suppressed / failed; no personal data
    attempt           integer NOT NULL DEFAULT 0,
    max_attempts      integer NOT NULL DEFAULT 8,
    run_at            timestamptz NOT NULL DEFAULT now(),
    locked_by         text,
    lease_until       timestamptz,
    handed_at         timestamptz,      -- set just before the provider call (see internal/outbox)
    provider_id       text,
    sent_at           timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (run_id, contact_id, channel)
);
CREATE INDEX outbox_due_idx ON outbox (channel, run_at, id) WHERE state = 'pending';
CREATE INDEX outbox_lease_idx ON outbox (lease_until) WHERE state = 'sending';
CREATE INDEX outbox_contact_idx ON outbox (contact_id);

-- Everything that happened to a message: queued, sent, delivered, bounced, failed,
-- suppressed, opted_out, retried, unknown, ... with time and detail (no personal data).
CREATE TABLE message_events (
    id          bigserial PRIMARY KEY,
    outbox_id   bigint NOT NULL,
    event       text NOT NULL,
    detail      text NOT NULL DEFAULT '',
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_events_outbox_idx ON message_events (outbox_id, at);

CREATE TRIGGER outbox_run_ri_ins AFTER INSERT ON outbox REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('run_id', 'campaign_runs');
CREATE TRIGGER outbox_contact_ri_ins AFTER INSERT ON outbox REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('contact_id', 'contacts');
CREATE TRIGGER message_events_outbox_ri_ins AFTER INSERT ON message_events REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_check_children('outbox_id', 'outbox');
-- A resident erased from contacts takes their outbox rows and events with them.
CREATE TRIGGER contacts_outbox_ri_del AFTER DELETE ON contacts REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_parent_deleted('outbox', 'contact_id', 'cascade');
CREATE TRIGGER outbox_events_ri_del AFTER DELETE ON outbox REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_parent_deleted('message_events', 'outbox_id', 'cascade');
CREATE TRIGGER campaign_runs_ri_del AFTER DELETE ON campaign_runs REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION ri_parent_deleted('outbox', 'run_id', 'restrict');

-- +goose Down
DROP TRIGGER contacts_outbox_ri_del ON contacts;
DROP TABLE message_events;
DROP TABLE outbox;
DROP TABLE campaign_runs;
DROP TABLE campaign_history;
DROP TABLE campaigns;
DROP TABLE segments;
