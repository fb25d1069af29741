package printrun

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// A print job is a print run an officer started from the web: the server that took the
// press runs Print in the background and records its progress in print_jobs
// (migrations/00023_print_jobs.sql), so the job page survives a reload and any server
// sharing the database can show it. One job runs per campaign at a time; the database
// keeps it so (a partial unique index), whatever the number of presses, tabs or servers.

// JobStale is how long a running job may go without a heartbeat before it is taken to
// have lost its server (a restart, a crash). A print run is all or nothing, so such a job
// printed nothing, and the campaign may be printed again.
const JobStale = 2 * time.Minute

// ErrBusy: a print job is already running for the campaign; StartJob returns it with
// that job (a *BusyError).
var ErrBusy = errors.New("a print run is already running for this campaign")

// BusyError names the job already running.
type BusyError struct{ JobID int64 }

func (e *BusyError) Error() string { return fmt.Sprintf("%s (job %d)", ErrBusy, e.JobID) }
func (e *BusyError) Unwrap() error { return ErrBusy }

// Job is a print job as its page shows it.
type Job struct {
	ID         int64      `db:"id"`
	CampaignID int64      `db:"campaign_id"`
	Status     string     `db:"status"` // running, done, failed, interrupted
	Format     string     `db:"format"`
	RoundSize  int        `db:"round_size"`
	Done       int        `db:"done"`
	Total      int        `db:"total"`
	PrintRunID *int64     `db:"print_run_id"`
	ErrorKind  string     `db:"error_kind"`
	Error      string     `db:"error"`
	StartedBy  string     `db:"started_by"` // the account's name
	StartedAt  time.Time  `db:"started_at"`
	EndedAt    *time.Time `db:"ended_at"`
}

// Running says whether the job is still printing.
func (j *Job) Running() bool { return j.Status == "running" }

// Percent is how much of the job is done, 0 to 100.
func (j *Job) Percent() int {
	if j.Total <= 0 {
		return 0
	}
	return min(max(j.Done*100/j.Total, 0), 100)
}

// interruptStaleSQL closes running jobs whose server has stopped.
const interruptStaleSQL = `
UPDATE print_jobs SET status = 'interrupted', ended_at = now()
 WHERE status = 'running' AND heartbeat_at < now() - $1 * interval '1 second'`

// StartJob records a new running job for campaignID, started by the account userID. A
// job already running for the campaign is refused with a *BusyError naming it (one whose
// server has stopped is marked interrupted first, and does not count).
func (s *Store) StartJob(ctx context.Context, campaignID int64, format string, roundSize int, userID int64) (*Job, error) {
	if _, err := s.db.ExecContext(ctx, interruptStaleSQL, JobStale.Seconds()); err != nil {
		return nil, fmt.Errorf("start print job: %w", err)
	}
	var id int64
	err := s.db.GetContext(ctx, &id, `INSERT INTO print_jobs (campaign_id, format, round_size, started_by)
		VALUES ($1, $2, $3, $4) RETURNING id`, campaignID, format, roundSize, userID)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "23505" {
		var running int64
		if err := s.db.GetContext(ctx, &running, `SELECT id FROM print_jobs WHERE campaign_id = $1 AND status = 'running'`, campaignID); err != nil {
			return nil, fmt.Errorf("start print job: %w", err)
		}
		return nil, &BusyError{JobID: running}
	}
	if err != nil {
		return nil, fmt.Errorf("start print job: %w", err)
	}
	return s.Job(ctx, id)
}

const selectJob = `
SELECT j.id, j.campaign_id, j.status, j.format, j.round_size, j.done, j.total, j.print_run_id, j.error_kind, j.error,
       coalesce(nullif(u.name, ''), u.email, '') AS started_by, j.started_at, j.ended_at
  FROM print_jobs j LEFT JOIN users u ON u.id = j.started_by`

// Job returns job id, or ErrNotFound. A running job whose server has stopped is marked
// interrupted first.
func (s *Store) Job(ctx context.Context, id int64) (*Job, error) {
	if _, err := s.db.ExecContext(ctx, interruptStaleSQL, JobStale.Seconds()); err != nil {
		return nil, fmt.Errorf("print job %d: %w", id, err)
	}
	var j Job
	err := s.db.GetContext(ctx, &j, selectJob+` WHERE j.id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("print job %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("print job %d: %w", id, err)
	}
	return &j, nil
}

// LatestJob returns the campaign's newest print job, or ErrNotFound if it has none.
func (s *Store) LatestJob(ctx context.Context, campaignID int64) (*Job, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, `SELECT max(id) FROM print_jobs WHERE campaign_id = $1 HAVING max(id) IS NOT NULL`, campaignID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("campaign %d's print jobs: %w", campaignID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("campaign %d's print jobs: %w", campaignID, err)
	}
	return s.Job(ctx, id)
}

// JobProgress records how far job id has got, and that its server is still running it.
func (s *Store) JobProgress(ctx context.Context, id int64, done, total int) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE print_jobs SET done = $2, total = $3, heartbeat_at = now()
		WHERE id = $1 AND status = 'running'`, id, done, total); err != nil {
		return fmt.Errorf("print job %d progress: %w", id, err)
	}
	return nil
}

// JobHeartbeat records that job id's server is still running it (while it reports no
// progress: reading the audience, saving the rounds).
func (s *Store) JobHeartbeat(ctx context.Context, id int64) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE print_jobs SET heartbeat_at = now() WHERE id = $1 AND status = 'running'`, id); err != nil {
		return fmt.Errorf("print job %d heartbeat: %w", id, err)
	}
	return nil
}

// FinishJob records that job id made print run printRunID. What really happened wins
// over an interruption another server assumed.
func (s *Store) FinishJob(ctx context.Context, id, printRunID int64) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE print_jobs SET status = 'done', print_run_id = $2, done = total,
		error_kind = '', error = '', ended_at = now() WHERE id = $1`, id, printRunID); err != nil {
		return fmt.Errorf("finish print job %d: %w", id, err)
	}
	return nil
}

// FailJob records that job id printed nothing, and why: kind (see the migration) and a
// message for the officer, which must hold no resident's name or address.
func (s *Store) FailJob(ctx context.Context, id int64, kind, msg string) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE print_jobs SET status = 'failed', error_kind = $2, error = $3,
		ended_at = now() WHERE id = $1`, id, kind, msg); err != nil {
		return fmt.Errorf("fail print job %d: %w", id, err)
	}
	return nil
}

// Unprintable lists the doors of campaignID's post messages waiting to be printed whose
// names or addresses the leaflet font cannot print (nil when there are none): what a
// failed print job shows the officer, read again rather than stored, since it names
// residents.
func (s *Store) Unprintable(ctx context.Context, campaignID int64) ([]UnprintableDoor, error) {
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var runID sql.NullInt64
	if err := tx.GetContext(ctx, &runID, `SELECT max(id) FROM campaign_runs WHERE campaign_id = $1`, campaignID); err != nil {
		return nil, fmt.Errorf("unprintable doors: %w", err)
	}
	if !runID.Valid {
		return nil, nil
	}
	var rows []addrRow
	if err := tx.SelectContext(ctx, &rows, addressedReadSQL, runID.Int64); err != nil {
		return nil, fmt.Errorf("unprintable doors: %w", err)
	}
	var ue *UnprintableError
	if err := checkPrintable(groupDoors(rows)); errors.As(err, &ue) {
		return ue.Doors, nil
	} else if err != nil {
		return nil, err
	}
	return nil, nil
}
