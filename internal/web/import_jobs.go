package web

import (
	"crypto/rand"
	"strconv"
	"sync"
	"time"

	"github.com/crierhq/crier/internal/contact"
)

// An officer's CSV upload is imported in the background: the POST starts a job and
// sends the browser to the job's page, which shows how far the import has got and, when
// it ends, the report. Jobs live in this process's memory only: the imports table is
// the durable record (a restart loses the progress, not the import's outcome), and a
// finished job is forgotten after importJobKeep.

// importJobKeep is how long a finished job's page stays available.
const importJobKeep = time.Hour

// importJobs is the Server's registry of background imports.
type importJobs struct {
	now func() time.Time // time.Now; tests move the clock on

	mu   sync.Mutex
	jobs map[string]*importJob
	// hold, when set (by tests only), is called after each progress report is recorded,
	// from the importer's goroutine, and may block it.
	hold func(contact.Progress)
}

func newImportJobs() *importJobs {
	return &importJobs{now: time.Now, jobs: map[string]*importJob{}}
}

// importJob is one upload being imported.
type importJob struct {
	id          string // 128 random bits: the job page's address
	userID      int64  // the officer who uploaded it: nobody else sees the job
	file        string // the file's name as the browser gave it, reduced to a base name
	dryRun      bool
	skipInvalid bool
	hold        func(contact.Progress)

	mu       sync.Mutex
	progress contact.Progress
	ended    time.Time // zero while the import runs
	report   importReport
}

// start registers a new job for userID and forgets the jobs that ended long ago.
func (js *importJobs) start(userID int64, file string, dryRun, skipInvalid bool) *importJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.sweep()
	j := &importJob{id: rand.Text(), userID: userID, file: file, dryRun: dryRun, skipInvalid: skipInvalid, hold: js.hold}
	for js.jobs[j.id] != nil { // 2⁻¹²⁸; but a clash must never show one import's report for another
		j.id = rand.Text()
	}
	js.jobs[j.id] = j
	return j
}

// get returns userID's job id, or nil if there is no such job: never started, started
// by somebody else, forgotten, or lost when the server restarted.
func (js *importJobs) get(id string, userID int64) *importJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.sweep()
	j := js.jobs[id]
	if j == nil || j.userID != userID {
		return nil
	}
	return j
}

// sweep forgets the jobs that ended importJobKeep ago or more. js.mu is held.
func (js *importJobs) sweep() {
	now := js.now()
	for id, j := range js.jobs {
		if end := j.endedAt(); !end.IsZero() && now.Sub(end) >= importJobKeep {
			delete(js.jobs, id)
		}
	}
}

// len is how many jobs are remembered.
func (js *importJobs) len() int {
	js.mu.Lock()
	defer js.mu.Unlock()
	return len(js.jobs)
}

// record is the import's Progress callback (called from the importer's goroutine).
func (j *importJob) record(p contact.Progress) {
	j.mu.Lock()
	j.progress = p
	j.mu.Unlock()
	if j.hold != nil {
		j.hold(p)
	}
}

// finish records how the import ended, at now.
func (j *importJob) finish(r importReport, now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.report, j.ended = r, now
}

func (j *importJob) endedAt() time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.ended
}

// importJobView is a job as its page shows it: how far it has got, or its report.
type importJobView struct {
	ID          string
	File        string
	DryRun      bool
	SkipInvalid bool
	Done        bool
	Phase       string // what it is doing, in words
	Saving      bool   // the file has been read; the rows are being merged (nothing to measure)
	Percent     int    // of the file read
	Rows        string // rows read so far, "12,345"
	Report      importReport
}

func (j *importJob) view() importJobView {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := importJobView{ID: j.id, File: j.file, DryRun: j.dryRun, SkipInvalid: j.skipInvalid, Done: !j.ended.IsZero(),
		Report: j.report, Rows: importCount(j.progress.Rows)}
	p := j.progress
	if p.TotalBytes > 0 {
		v.Percent = int(min(max(p.Bytes*100/p.TotalBytes, 0), 100))
	}
	switch p.Phase {
	case "merging":
		v.Saving, v.Percent = true, 100
		v.Phase = "Saving to the database"
		if j.dryRun {
			v.Phase = "Comparing with the database"
		}
	case "done":
		v.Saving, v.Percent = true, 100
		v.Phase = "Finishing"
	default: // "reading", or not started yet
		v.Phase = "Reading the file"
	}
	return v
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
