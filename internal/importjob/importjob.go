// Package importjob keeps the web app's contact imports in the database (the
// import_jobs table, migrations/00014_import_jobs.sql): an officer's upload is imported in
// the background, and its page — how far it has got, then its report — outlives a restart
// and can be shown by any `crier serve` sharing the database.
package importjob

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Store reads and writes import_jobs.
type Store struct {
	db *sqlx.DB
}

// NewStore returns a Store on db.
func NewStore(db *sqlx.DB) *Store { return &Store{db: db} }

// New is a job about to start.
type New struct {
	ID          string // the job page's address: random, never reused
	UserID      int64  // the officer who uploaded the file: only they see its page
	Instance    string // the process running it, as it names itself
	Host        string // where its upload is
	File        string
	DryRun      bool
	SkipInvalid bool
	Conflicts   string
	UploadDir   string
}

// Start records a job as running, reading its file. A clash of ids (2⁻¹²⁸) is refused
// by the primary key: one import's report must never show for another.
func (s *Store) Start(ctx context.Context, j New) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO import_jobs (id, user_id, instance, host, file_name, dry_run,
		skip_invalid, conflicts, upload_dir, phase) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'reading')`,
		j.ID, j.UserID, j.Instance, j.Host, j.File, j.DryRun, j.SkipInvalid, j.Conflicts, j.UploadDir)
	if err != nil {
		return fmt.Errorf("start import job: %w", err)
	}
	return nil
}

// Forget deletes the jobs that ended keep ago or more.
func (s *Store) Forget(ctx context.Context, keep time.Duration) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM import_jobs WHERE ended_at < now() - $1 * interval '1 second'`, keep.Seconds())
	if err != nil {
		return fmt.Errorf("forget import jobs: %w", err)
	}
	return nil
}

// Job is a job as import_jobs holds it.
type Job struct {
	ID          string         `db:"id"`
	File        string         `db:"file_name"`
	DryRun      bool           `db:"dry_run"`
	SkipInvalid bool           `db:"skip_invalid"`
	Status      string         `db:"status"` // running, done or interrupted
	Phase       string         `db:"phase"`  // reading, merging or done
	Bytes       int64          `db:"bytes"`
	TotalBytes  int64          `db:"total_bytes"`
	Rows        int64          `db:"rows_read"`
	Report      sql.NullString `db:"report"` // JSON, when done
}

// ErrNotFound is Get's error for a job that was never started, was started by somebody
// else, or has been forgotten.
var ErrNotFound = errors.New("no such import job")

// Get returns userID's job id.
func (s *Store) Get(ctx context.Context, id string, userID int64) (Job, error) {
	var j Job
	err := s.db.GetContext(ctx, &j, `SELECT id, file_name, dry_run, skip_invalid, status, phase, bytes,
		total_bytes, rows_read, report FROM import_jobs WHERE id = $1 AND user_id = $2`, id, userID)
	if errors.Is(err, sql.ErrNoRows) {
		return j, ErrNotFound
	}
	if err != nil {
		return j, fmt.Errorf("import job: %w", err)
	}
	return j, nil
}

// Interrupt marks as interrupted the running jobs whose process has stopped — those
// without a heartbeat for stale and, when instance is not empty, that instance's (a
// process of that name is starting, so the one before it has stopped) — and their
// imports' audit rows as failed. Nothing an interrupted job read was imported: an import
// is one transaction. It returns how many jobs it interrupted.
func (s *Store) Interrupt(ctx context.Context, stale time.Duration, instance string) (int, error) {
	var n int
	err := s.db.GetContext(ctx, &n, `WITH stopped AS (
		    UPDATE import_jobs SET status = 'interrupted', ended_at = now()
		     WHERE status = 'running' AND (heartbeat_at < now() - $1 * interval '1 second' OR instance = $2)
		    RETURNING import_id),
		  audit AS (
		    UPDATE imports SET status = 'failed', finished_at = now(),
		           error = 'interrupted: the server stopped while importing; nothing was imported'
		     WHERE id IN (SELECT import_id FROM stopped) AND status = 'running')
		SELECT count(*) FROM stopped`, stale.Seconds(), instance)
	if err != nil {
		return 0, fmt.Errorf("interrupt import jobs: %w", err)
	}
	return n, nil
}

// Upload is a job's upload directory.
type Upload struct {
	Job string `db:"id"`
	Dir string `db:"upload_dir"`
}

// EndedUploads lists the uploads on host of jobs that have ended: they can go.
func (s *Store) EndedUploads(ctx context.Context, host string) ([]Upload, error) {
	var ups []Upload
	if err := s.db.SelectContext(ctx, &ups, `SELECT id, upload_dir FROM import_jobs
		WHERE status <> 'running' AND upload_dir <> '' AND host = $1`, host); err != nil {
		return nil, fmt.Errorf("ended imports' uploads: %w", err)
	}
	return ups, nil
}

// UploadRemoved notes that job's upload is gone.
func (s *Store) UploadRemoved(ctx context.Context, job string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE import_jobs SET upload_dir = '' WHERE id = $1`, job); err != nil {
		return fmt.Errorf("import upload removed: %w", err)
	}
	return nil
}

// KnownUploads lists every upload directory on host that a job names.
func (s *Store) KnownUploads(ctx context.Context, host string) ([]string, error) {
	var dirs []string
	if err := s.db.SelectContext(ctx, &dirs, `SELECT upload_dir FROM import_jobs WHERE upload_dir <> '' AND host = $1`, host); err != nil {
		return nil, fmt.Errorf("import uploads: %w", err)
	}
	return dirs, nil
}

// Heartbeat says the job's process is still running it.
func (s *Store) Heartbeat(ctx context.Context, job string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE import_jobs SET heartbeat_at = now() WHERE id = $1 AND status = 'running'`, job); err != nil {
		return fmt.Errorf("import job heartbeat: %w", err)
	}
	return nil
}

// Progress is how far a running job has got.
type Progress struct {
	Phase             string
	Bytes, TotalBytes int64
	Rows              int64
}

// Record writes a running job's progress (and so its heartbeat).
func (s *Store) Record(ctx context.Context, job string, p Progress) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE import_jobs SET phase = $2, bytes = $3, total_bytes = $4,
		rows_read = $5, heartbeat_at = now() WHERE id = $1 AND status = 'running'`, job, p.Phase, p.Bytes, p.TotalBytes, p.Rows); err != nil {
		return fmt.Errorf("import job progress: %w", err)
	}
	return nil
}

// Imported names the import (its audit row in imports) the job is running, so that an
// interruption can close it too.
func (s *Store) Imported(ctx context.Context, job string, importID int64) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE import_jobs SET import_id = $2 WHERE id = $1`, job, importID); err != nil {
		return fmt.Errorf("import job audit row: %w", err)
	}
	return nil
}

// Finish records how the job ended, with its report (JSON) and its upload removed. What
// really happened wins over an interruption another process assumed.
func (s *Store) Finish(ctx context.Context, job string, report []byte) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE import_jobs SET status = 'done', report = $2, ended_at = now(),
		upload_dir = '', phase = 'done' WHERE id = $1`, job, report); err != nil {
		return fmt.Errorf("finish import job: %w", err)
	}
	return nil
}
