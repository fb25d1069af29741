package web

// The import pages' view models.

import (
	"github.com/crierhq/crier/internal/contact"
)

// importAudit is one of the recent imports the import page lists.
type importAudit struct {
	contact.ImportSummary
	Started contactTime
}

// importReport is how an upload ended: a problem with the whole file (Error, shown at
// the top), every bad row in the CLI's words, or the counts.
type importReport struct {
	Error        string
	Failed       bool // the import broke down (not the file's fault)
	Problems     []string
	ProblemsNote string // "2 problems (invalid rows)"
	Result       *importResult
	Columns      []string
	// Conflicts are the rows that looked like someone else, skipped or imported as new
	// people (by the officer's choice); Changes, on a dry run, what the file would change
	// about residents on record.
	Conflicts     []string
	ConflictsNote string
	Changes       []string
	// Erased are the rows skipped because their resident asked to be erased (their email
	// or number is on the suppression list).
	Erased []string
}

// importResult is what the report shows of an import's result: counts, not rows (a
// job's report is kept in import_jobs while its page is).
type importResult struct {
	ImportID          int64
	File              string
	Encoding          contact.Encoding
	DryRun            bool
	Rows              int
	Rejected          int
	ContactsCreated   int
	ContactsUpdated   int
	ConsentsGranted   int
	ConsentsWithdrawn int
	WithdrawalsKept   int
}

// contactImportData is import.html's: the form, a job's page, or a report.
type contactImportData struct {
	MaxMB       int
	DryRun      bool
	SkipInvalid bool
	Conflicts   contact.ConflictPolicy // what to do with rows that look like someone else
	Report      importReport           // the form shown again: what was wrong with the file
	Job         *importJobView         // the job page: the import's progress, then its report
	Gone        bool                   // the job page of an import whose progress is no longer known
	Recent      importRecentView
}

// importRecentView is the latest imports; Live, when not Done, is where live.js gets
// them again.
type importRecentView struct {
	Rows []importAudit
	Done bool
	Live string
}
