-- +goose Up
-- Each inbound text asks whether this resident has already answered the campaign's poll.
-- Without an index of its own the planner ANDed the conversation's messages with every
-- message of the campaign (sms_messages_campaign_idx), so each text read the whole
-- campaign's replies: 12,950 index entries per request after 13,000 replies, and the
-- webhook slowed as answers came in. This index holds only the poll answers, keyed by
-- conversation and campaign: one probe whatever the campaign's size.
CREATE INDEX sms_messages_poll_answered_idx ON sms_messages (conversation_id, campaign_id) WHERE poll_answer <> '';

-- +goose Down
DROP INDEX sms_messages_poll_answered_idx;
