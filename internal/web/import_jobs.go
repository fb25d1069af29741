package web

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/importjob"
)

// An officer's CSV upload is imported in the background: the POST starts a job and
// sends the browser to the job's page, which shows how far the import has got and, when
// it ends, the report. Jobs live in import_jobs (migrations/00014_import_jobs.sql), not
// in this process's memory: a job page outlives a restart and any `crier serve` sharing
// the database can show it. A process that stops (a restart, a crash) leaves its jobs
// "running"; RecoverImports, when a server starts, marks them interrupted and removes
// their uploads, and a job page seen after its process has stopped says so too.

const (
	// importJobKeep is how long a finished job's page stays available: it names the
	// file's bad rows, which are residents' data.
	importJobKeep = time.Hour
	// importSaveEvery bounds how often progress is written to the database.
	importSaveEvery = 500 * time.Millisecond
	// importHeartbeat is how often a running job says its process is still running it
	// (progress says so too, but merging a big file reports none for minutes).
	importHeartbeat = 10 * time.Second
	// importStale is how long a job may go without a heartbeat before it is taken to have
	// lost its process: many heartbeats, so that a busy database is not mistaken for one.
	importStale = 2 * time.Minute
	// importDirPrefix names an upload's temporary directory (os.MkdirTemp's pattern).
	importDirPrefix = "crier-import-"
)

// importJobs is the Server's view of the import jobs in the database.
type importJobs struct {
	store    *importjob.Store
	log      *slog.Logger
	instance string // this process, as it names itself in import_jobs
	host     string // where its uploads are: only a process on the same host can remove them

	mu sync.Mutex
	// hold, when set (by tests only), is called after each progress report is recorded,
	// from the importer's goroutine, and may block it.
	hold func(contact.Progress)
}

func newImportJobs(db *sqlx.DB, log *slog.Logger, instance string) *importJobs {
	host, err := os.Hostname()
	if err != nil {
		host = "localhost"
	}
	return &importJobs{store: importjob.NewStore(db), log: log, instance: instance, host: host}
}

// importJob is one upload this process is importing.
type importJob struct {
	id     string // 128 random bits: the job page's address
	js     *importJobs
	dryRun bool
	hold   func(contact.Progress)

	mu        sync.Mutex
	saved     time.Time // when progress was last written
	savedStep string    // the phase last written
	stop      chan struct{}
	stopped   sync.Once
}

// start records a new job for userID, importing the upload in dir, and forgets the jobs
// that ended long ago.
func (js *importJobs) start(ctx context.Context, userID int64, file, dir string, dryRun, skipInvalid bool, conflicts contact.ConflictPolicy) (*importJob, error) {
	if err := js.forget(ctx); err != nil {
		return nil, err
	}
	js.mu.Lock()
	hold := js.hold
	js.mu.Unlock()
	j := &importJob{id: rand.Text(), js: js, dryRun: dryRun, hold: hold, stop: make(chan struct{})}
	err := js.store.Start(ctx, importjob.New{ID: j.id, UserID: userID, Instance: js.instance, Host: js.host,
		File: file, DryRun: dryRun, SkipInvalid: skipInvalid, Conflicts: string(conflicts), UploadDir: dir})
	if err != nil {
		return nil, err
	}
	go j.beat()
	return j, nil
}

// forget deletes the jobs that ended importJobKeep ago or more.
func (js *importJobs) forget(ctx context.Context) error {
	return js.store.Forget(ctx, importJobKeep)
}

// get returns userID's job id as its page shows it, or nil if there is no such job:
// never started, started by somebody else, or forgotten. A job whose process has
// stopped is marked interrupted first.
func (js *importJobs) get(ctx context.Context, id string, userID int64) (*importJobView, error) {
	if err := js.forget(ctx); err != nil {
		return nil, err
	}
	if _, err := js.interrupt(ctx, false); err != nil {
		return nil, err
	}
	row, err := js.store.Get(ctx, id, userID)
	if errors.Is(err, importjob.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v, err := jobView(row)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// interrupt marks as interrupted the running jobs whose process has stopped — those
// without a heartbeat for importStale and, with own (a process of this instance's name is
// starting, so the one before it has stopped), this instance's — and their audit rows as
// failed; then removes the uploads on this host of every job that has ended. Nothing an
// interrupted job read was imported: an import is one transaction. It returns how many
// jobs it interrupted.
func (js *importJobs) interrupt(ctx context.Context, own bool) (int, error) {
	instance := ""
	if own {
		instance = js.instance
	}
	n, err := js.store.Interrupt(ctx, importStale, instance)
	if err != nil {
		return 0, err
	}
	dirs, err := js.store.EndedUploads(ctx, js.host)
	if err != nil {
		return n, err
	}
	for _, d := range dirs {
		if err := removeUpload(d.Dir); err != nil {
			js.log.WarnContext(ctx, "remove import upload", "job", d.Job[:6], "err", err)
			continue
		}
		if err := js.store.UploadRemoved(ctx, d.Job); err != nil {
			return n, err
		}
	}
	return n, nil
}

// removeUpload removes an upload's directory: only one that is what os.MkdirTemp made
// for an upload, whatever the database says.
func removeUpload(dir string) error {
	if !filepath.IsAbs(dir) || !strings.HasPrefix(filepath.Base(dir), importDirPrefix) {
		return fmt.Errorf("not an upload directory: %q", dir)
	}
	return os.RemoveAll(dir)
}

// removeOrphanUploads removes upload directories in the temporary directory that no job
// knows of and nobody has touched for importStale: a process stopped between saving an
// upload and starting its job. (A running job's directory is named in import_jobs.)
func (js *importJobs) removeOrphanUploads(ctx context.Context) error {
	tmp := os.TempDir()
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return fmt.Errorf("uploads: %w", err)
	}
	known, err := js.store.KnownUploads(ctx, js.host)
	if err != nil {
		return err
	}
	for _, e := range entries {
		dir := filepath.Join(tmp, e.Name())
		if !e.IsDir() || !strings.HasPrefix(e.Name(), importDirPrefix) || slices.Contains(known, dir) {
			continue
		}
		if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < importStale {
			continue
		}
		if err := removeUpload(dir); err != nil {
			js.log.WarnContext(ctx, "remove orphan import upload", "err", err)
		}
	}
	return nil
}

// RecoverImports is for a server starting: it marks the import jobs left running by a
// stopped process (this instance's previous run, or any whose heartbeat is stale) as
// interrupted, and removes their uploads and any other upload left behind on this host.
// Jobs another live process is running are left alone.
func (s *Server) RecoverImports(ctx context.Context) error {
	n, err := s.imports.interrupt(ctx, true)
	if err != nil {
		return err
	}
	if n > 0 {
		s.log.WarnContext(ctx, "import jobs interrupted by a stopped server", "jobs", n)
	}
	return s.imports.removeOrphanUploads(ctx)
}

// beat writes the job's heartbeat until it ends.
func (j *importJob) beat() {
	t := time.NewTicker(importHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-j.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), importHeartbeat)
			if err := j.js.store.Heartbeat(ctx, j.id); err != nil {
				j.js.log.WarnContext(ctx, "import job heartbeat", "err", err)
			}
			cancel()
		}
	}
}

// record is the import's Progress callback (called from the importer's goroutine). It
// writes at most every importSaveEvery, and at once when the phase changes.
func (j *importJob) record(p contact.Progress) {
	j.mu.Lock()
	if p.Phase != j.savedStep || time.Since(j.saved) >= importSaveEvery {
		j.saved, j.savedStep = time.Now(), p.Phase
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := j.js.store.Record(ctx, j.id, importjob.Progress{Phase: p.Phase, Bytes: p.Bytes, TotalBytes: p.TotalBytes, Rows: p.Rows})
		if err != nil {
			j.js.log.WarnContext(ctx, "import job progress", "err", err)
		}
		cancel()
	}
	j.mu.Unlock()
	if j.hold != nil {
		j.hold(p)
	}
}

// recorded notes the import's audit row, so that an interruption can close it too.
func (j *importJob) recorded(importID int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := j.js.store.Imported(ctx, j.id, importID); err != nil {
		j.js.log.WarnContext(ctx, "import job audit row", "err", err)
	}
}

// finish records how the import ended (its upload already removed). What really
// happened wins over an interruption another process assumed.
func (j *importJob) finish(ctx context.Context, r importReport) error {
	j.stopped.Do(func() { close(j.stop) })
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("finish import job: %w", err)
	}
	return j.js.store.Finish(ctx, j.id, b)
}

// importJobView is a job as its page shows it: how far it has got, or its report.
type importJobView struct {
	ID          string
	File        string
	DryRun      bool
	SkipInvalid bool
	Done        bool
	Interrupted bool   // its server stopped while it ran: nothing was imported
	Phase       string // what it is doing, in words
	Saving      bool   // the file has been read; the rows are being merged (nothing to measure)
	Percent     int    // of the file read
	Rows        string // rows read so far, "12,345"
	Report      importReport
}

// jobView is how the job page shows row.
func jobView(row importjob.Job) (importJobView, error) {
	v := importJobView{ID: row.ID, File: row.File, DryRun: row.DryRun, SkipInvalid: row.SkipInvalid,
		Done: row.Status != "running", Rows: importCount(row.Rows)}
	switch row.Status {
	case "interrupted":
		v.Interrupted = true
		v.Report = importReport{Failed: true, Error: "The server stopped while it was importing " + row.File +
			", so nothing was imported and the uploaded file has been deleted. Import it again."}
		if row.DryRun {
			v.Report.Error = "The server stopped while it was checking " + row.File +
				", so the check did not finish (a dry run writes nothing) and the uploaded file has been deleted. Check it again."
		}
		return v, nil
	case "done":
		if row.Report.Valid {
			if err := json.Unmarshal([]byte(row.Report.String), &v.Report); err != nil {
				return v, fmt.Errorf("import job report: %w", err)
			}
		}
		return v, nil
	}
	if row.TotalBytes > 0 {
		v.Percent = int(min(max(row.Bytes*100/row.TotalBytes, 0), 100))
	}
	switch row.Phase {
	case "merging":
		v.Saving, v.Percent = true, 100
		v.Phase = "Saving to the database"
		if row.DryRun {
			v.Phase = "Comparing with the database"
		}
	case "done":
		v.Saving, v.Percent = true, 100
		v.Phase = "Finishing"
	default: // "reading", or not started yet
		v.Phase = "Reading the file"
	}
	return v, nil
}

// importCount writes n with thousands separators: 1234567 is "1,234,567".
func importCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	if neg {
		return "-" + string(b)
	}
	return string(b)
}
