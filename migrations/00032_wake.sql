-- +goose Up
-- Work notifications (internal/db/wake.go): `crier serve` looks for due campaigns and
-- pending messages once a second, and also the moment the database says work arrived,
-- so "send now" sends now. The payload names the table: a campaign scheduled (by the
-- command line, the web app or the API, in any process) wakes the scheduler; a run's
-- snapshot into the outbox wakes the workers. Notifications are delivered at commit,
-- once per transaction and payload, and cost nothing when nobody listens.
-- +goose StatementBegin
CREATE FUNCTION crier_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('crier_wake', TG_TABLE_NAME);
    RETURN NULL;
END $$;
-- +goose StatementEnd

CREATE TRIGGER campaigns_wake AFTER INSERT OR UPDATE OF state, next_run_at ON campaigns
    FOR EACH ROW WHEN (NEW.state = 'scheduled') EXECUTE FUNCTION crier_wake();

-- Only a run's snapshot inserts into the outbox; the workers' claims and records are
-- updates, which must not notify (each would take the notification queue's lock).
CREATE TRIGGER outbox_wake AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION crier_wake();

-- +goose Down
DROP TRIGGER outbox_wake ON outbox;
DROP TRIGGER campaigns_wake ON campaigns;
DROP FUNCTION crier_wake();
