-- +goose Up
-- Officers' uploads being imported in the background, and how they ended (issue 14,
-- defect 4): kept here rather than in one process's memory, so that a job page outlives
-- a restart and can be served by any `crier serve` sharing the database, and so that an
-- import whose process stopped is marked interrupted rather than "running" for ever.
-- instance and heartbeat_at say who runs a job and that it still does: the process
-- writes heartbeat_at every few seconds while the job runs. upload_dir is the temporary
-- directory holding the residents' file on host: cleared once it has been removed.
-- report is what the job page shows when the job ends: counts and problems, already in
-- words and shortened (see internal/web/import_jobs.go). Ended jobs are deleted an hour
-- after they end.
CREATE TABLE import_jobs (
    id           text PRIMARY KEY,               -- 128 random bits: the job page's address
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    import_id    bigint REFERENCES imports (id) ON DELETE SET NULL, -- its audit row, once written (not for a dry run)
    instance     text NOT NULL,
    host         text NOT NULL,
    file_name    text NOT NULL,
    dry_run      boolean NOT NULL,
    skip_invalid boolean NOT NULL,
    conflicts    text NOT NULL,
    upload_dir   text NOT NULL DEFAULT '',
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'interrupted')),
    phase        text NOT NULL DEFAULT '',
    bytes        bigint NOT NULL DEFAULT 0,
    total_bytes  bigint NOT NULL DEFAULT 0,
    rows_read    bigint NOT NULL DEFAULT 0,
    report       jsonb,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    ended_at     timestamptz
);
CREATE INDEX import_jobs_running ON import_jobs (heartbeat_at) WHERE status = 'running';
CREATE INDEX import_jobs_ended ON import_jobs (ended_at) WHERE ended_at IS NOT NULL;

-- +goose Down
DROP TABLE import_jobs;
