-- +goose Up
-- One consent ledger (internal/consent owns every write). A decision is either about one
-- topic, or about every topic on a contact point, now and later (topic_id NULL):
--   * "unsubscribe from everything" is a channel-wide withdrawal (keyword ''): a topic
--     created afterwards is withdrawn too, until the resident grants it themselves;
--   * STOP (a text, the provider's OptOutType or Twilio 21610) is a channel-wide row with
--     keyword 'stop', and START one with keyword 'start'. While the latest of these is a
--     STOP every topic is withdrawn; a START lifts only that, so what stood before the
--     STOP stands again: nothing the resident never granted is granted by START.
-- The current status of (point, topic) is therefore: withdrawn while STOPped; otherwise
-- the latest of the topic's own rows and the channel-wide withdrawals; otherwise nothing
-- on record. internal/consent writes that rule once as SQL (Joins, Status) and once as
-- a pure model the tests compare with.
ALTER TABLE consents ALTER COLUMN topic_id DROP NOT NULL;
ALTER TABLE consents ADD COLUMN keyword text NOT NULL DEFAULT ''
    CHECK (keyword IN ('', 'stop', 'start'));
ALTER TABLE consents ADD CONSTRAINT consents_keyword_shape CHECK (
    (keyword = '' AND (topic_id IS NOT NULL OR status = 'withdrawn'))
 OR (keyword = 'stop' AND topic_id IS NULL AND status = 'withdrawn')
 OR (keyword = 'start' AND topic_id IS NULL AND status = 'granted'));

-- Channel-wide rows are few: a small partial index serves both the per-point look-up
-- and the aggregate of consent_wide.
CREATE INDEX consents_wide_idx ON consents (contact_point_id, recorded_at DESC, id DESC) WHERE topic_id IS NULL;

-- Per contact point holding any channel-wide row: whether it is STOPped now, and the
-- latest channel-wide withdrawal (time and id, to compare with a topic's latest row).
CREATE VIEW consent_wide AS
SELECT contact_point_id,
       coalesce((array_agg(keyword ORDER BY recorded_at DESC, id DESC) FILTER (WHERE keyword <> ''))[1] = 'stop', false) AS stopped,
       (array_agg(recorded_at ORDER BY recorded_at DESC, id DESC) FILTER (WHERE keyword = ''))[1] AS all_at,
       (array_agg(id ORDER BY recorded_at DESC, id DESC) FILTER (WHERE keyword = ''))[1] AS all_id
  FROM consents WHERE topic_id IS NULL
 GROUP BY contact_point_id;

-- current_consents keeps its name for ad-hoc queries, with the ledger's meaning: every
-- (point, topic) with a current status. (Crier's own queries use consent.Joins, which
-- looks up only the points a query needs.)
DROP VIEW subscriptions;
DROP VIEW current_consents;
CREATE VIEW current_consents AS
SELECT cp.id AS contact_point_id, t.id AS topic_id, s.status
  FROM contact_points cp CROSS JOIN topics t
  LEFT JOIN LATERAL (SELECT k.status, k.recorded_at, k.id FROM consents k
                      WHERE k.contact_point_id = cp.id AND k.topic_id = t.id
                      ORDER BY k.recorded_at DESC, k.id DESC LIMIT 1) cur ON true
  LEFT JOIN consent_wide w ON w.contact_point_id = cp.id
 CROSS JOIN LATERAL (SELECT CASE WHEN w.stopped THEN 'withdrawn'
                                 WHEN w.all_at IS NOT NULL AND (cur.recorded_at IS NULL OR (w.all_at, w.all_id) > (cur.recorded_at, cur.id)) THEN 'withdrawn'
                                 ELSE cur.status END AS status) s
 WHERE s.status IS NOT NULL;

-- A withdrawal stops pending sends; a channel-wide one (topic NULL) those of every topic.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION consents_withdrawn_stop_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH w AS (
        SELECT DISTINCT contact_point_id, topic_id FROM new_rows WHERE status = 'withdrawn'
    ), s AS (
        UPDATE outbox o SET state = 'suppressed', reason = 'consent withdrawn after the run started', updated_at = now()
          FROM w, campaigns c
         WHERE o.contact_point_id = w.contact_point_id AND o.state = 'pending'
           AND c.id = o.campaign_id AND (w.topic_id IS NULL OR c.topic_id = w.topic_id)
        RETURNING o.id
    )
    INSERT INTO message_events (outbox_id, event, detail)
    SELECT id, 'suppressed', 'consent withdrawn after the run started' FROM s;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

-- A contact point that stops being usable (an invalid number, a bounced address, an
-- opt-out at the provider) stops its pending sends in every campaign at once, not only
-- in the run that found out.
-- +goose StatementBegin
CREATE FUNCTION contact_points_unusable_stop_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH p AS (
        SELECT n.id, n.status FROM new_rows n JOIN old_rows o ON o.id = n.id
         WHERE o.status = 'active' AND n.status <> 'active'
    ), s AS (
        UPDATE outbox o SET state = 'suppressed', reason = 'contact point ' || replace(p.status, '_', ' ') || ' after the run started',
               updated_at = now()
          FROM p
         WHERE o.contact_point_id = p.id AND o.state = 'pending'
        RETURNING o.id, o.reason
    )
    INSERT INTO message_events (outbox_id, event, detail)
    SELECT id, 'suppressed', reason FROM s;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER contact_points_unusable_stop_pending AFTER UPDATE ON contact_points
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION contact_points_unusable_stop_pending();

-- +goose Down
DROP TRIGGER contact_points_unusable_stop_pending ON contact_points;
DROP FUNCTION contact_points_unusable_stop_pending();
DROP VIEW current_consents;
DROP VIEW consent_wide;
DROP INDEX consents_wide_idx;
ALTER TABLE consents DROP CONSTRAINT consents_keyword_shape;
ALTER TABLE consents DROP COLUMN keyword;
DELETE FROM consents WHERE topic_id IS NULL;
ALTER TABLE consents ALTER COLUMN topic_id SET NOT NULL;
CREATE VIEW current_consents AS
    SELECT DISTINCT ON (contact_point_id, topic_id)
           contact_point_id, topic_id, status, source, recorded_at, id AS consent_id
      FROM consents
     ORDER BY contact_point_id, topic_id, recorded_at DESC, id DESC;
CREATE VIEW subscriptions AS
    SELECT cp.contact_id, cc.topic_id, array_agg(cp.kind ORDER BY cp.kind) AS channels,
           max(cc.recorded_at) AS since
      FROM current_consents cc
      JOIN contact_points cp ON cp.id = cc.contact_point_id
     WHERE cc.status = 'granted'
     GROUP BY cp.contact_id, cc.topic_id;
