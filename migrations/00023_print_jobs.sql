-- +goose Up
-- Print runs officers start from the web (issue 15): a row per press of "Print
-- leaflets", run in the background by the server that took the press. The job page reads
-- its progress here, so it survives a reload and any `crier serve` sharing the database
-- can show it. The partial unique index lets one job run per campaign at a time: two
-- presses at once (two tabs, two officers, two servers) start one print run.
CREATE TABLE print_jobs (
    id            bigserial PRIMARY KEY,
    campaign_id   bigint NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    status        text NOT NULL DEFAULT 'running'
                  CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
    format        text NOT NULL,
    round_size    integer NOT NULL CHECK (round_size > 0),
    done          integer NOT NULL DEFAULT 0,   -- leaflets rendered so far
    total         integer NOT NULL DEFAULT 0,   -- leaflets to render (0 until counted)
    print_run_id  bigint REFERENCES print_runs (id) ON DELETE SET NULL,
    -- Why it failed, in words for the officer: 'unprintable' (some doors' names or
    -- addresses), 'nothing' (nothing waiting to print), 'invalid' (the leaflet itself) or
    -- 'internal'; error never holds a resident's name or address.
    error_kind    text NOT NULL DEFAULT '',
    error         text NOT NULL DEFAULT '',
    started_by    bigint REFERENCES users (id) ON DELETE SET NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    heartbeat_at  timestamptz NOT NULL DEFAULT now(),
    ended_at      timestamptz
);
CREATE UNIQUE INDEX print_jobs_one_running_idx ON print_jobs (campaign_id) WHERE status = 'running';
CREATE INDEX print_jobs_campaign_idx ON print_jobs (campaign_id, id);

-- +goose Down
DROP TABLE print_jobs;
