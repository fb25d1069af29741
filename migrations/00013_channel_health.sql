-- +goose Up
-- The health of each sending channel, as the dispatcher last saw it from real sends
-- (issue 13, defect 4): "down" once the relay or API cannot be reached or refuses us,
-- "up" again at the next success. One row per channel, written by whichever `crier
-- serve` saw the change, so that `crier campaign status` and the dashboard (other
-- processes) can say "SMTP unreachable since 14:02". checked_at is the last send outcome
-- seen: a row whose process stopped goes stale, and readers say when it was last checked.
-- No personal data: error_kind is a kind ("connection refused"), never an address.
CREATE TABLE channel_health (
    channel      text PRIMARY KEY CHECK (channel IN ('email', 'sms')),
    state        text NOT NULL CHECK (state IN ('up', 'down')),
    since        timestamptz NOT NULL,       -- when the channel entered this state
    error_kind   text NOT NULL DEFAULT '',   -- down: why; up: why the last outage was
    outage_from  timestamptz,                -- up after an outage: when the outage began (since: when it ended)
    instance     text NOT NULL,              -- the crier process that last reported
    checked_at   timestamptz NOT NULL        -- the last send outcome seen
);

-- +goose Down
DROP TABLE channel_health;
