-- +goose Up
-- An opt-out stops pending sends: a withdrawal recorded while a run is under way (a STOP
-- text, an unsubscribe link, a provider's opt-out, an import) suppresses that contact
-- point's messages still waiting in the outbox for campaigns of that topic. Messages
-- already leased by a worker are not touched: they are being sent now.

CREATE INDEX outbox_pending_point_idx ON outbox (contact_point_id) WHERE state = 'pending';

-- +goose StatementBegin
CREATE FUNCTION consents_withdrawn_stop_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH w AS (
        SELECT DISTINCT contact_point_id, topic_id FROM new_rows WHERE status = 'withdrawn'
    ), s AS (
        UPDATE outbox o SET state = 'suppressed', reason = 'consent withdrawn after the run started', updated_at = now()
          FROM w, campaigns c
         WHERE o.contact_point_id = w.contact_point_id AND o.state = 'pending'
           AND c.id = o.campaign_id AND c.topic_id = w.topic_id
        RETURNING o.id
    )
    INSERT INTO message_events (outbox_id, event, detail)
    SELECT id, 'suppressed', 'consent withdrawn after the run started' FROM s;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER consents_withdrawn_stop_pending AFTER INSERT ON consents REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION consents_withdrawn_stop_pending();

-- +goose Down
DROP TRIGGER consents_withdrawn_stop_pending ON consents;
DROP FUNCTION consents_withdrawn_stop_pending();
DROP INDEX outbox_pending_point_idx;
