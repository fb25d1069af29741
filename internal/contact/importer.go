package contact

import (
	"context"
	"database/sql"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/sync/errgroup"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/suppression"
)

// ErrRejected is returned by Import when rows are invalid and SkipInvalid is off: nothing
// was written. The result lists every bad row.
var ErrRejected = errors.New("import rejected: the file has invalid rows and nothing was imported")

// ImportOptions configures one import.
type ImportOptions struct {
	Path        string
	Name        string           // name recorded in consent sources; default the file's base name
	Map         map[string]Field // header (as written) → field overrides
	Encoding    Encoding         // default auto
	Region      string           // default region for phone numbers, e.g. "GB"
	Topic       string           // topic slug consents are recorded for; default "general"
	DryRun      bool             // validate and report what would change, write nothing
	SkipInvalid bool             // import the good rows, write the rejects to RejectsPath
	RejectsPath string           // default: <file>.rejects.csv beside the input
	Actor       string           // who ran it, for the audit trail
	// Conflicts says what to do with a row that would merge into or rename the wrong
	// person (see ConflictPolicy); default ConflictsReport.
	Conflicts ConflictPolicy
	// Progress, if set, is called from the importer's goroutine as the file is read.
	Progress func(Progress)
	// Recorded, if set, is called with the id of the import's audit row (in imports) once
	// it is written: a dry run writes none.
	Recorded func(importID int64)
	// Suppression checks rows against the erasure suppression list: a row with the
	// email or a number of a resident who asked to be erased is skipped (Suppressed).
	// Without it, an import into a database holding suppressions is refused
	// (suppression.ErrNoKey).
	Suppression *suppression.Key
}

// Progress is how far an import has read.
type Progress struct {
	Bytes, TotalBytes int64
	Rows              int64
	Phase             string // "reading", "merging", "done"
}

// ImportResult says what an import did (or, for a dry run, would do).
type ImportResult struct {
	ImportID          int64
	File              string
	Encoding          Encoding
	Columns           []Column
	Rows              int
	Imported          int
	Rejected          int
	ContactsCreated   int
	ContactsUpdated   int
	ConsentsGranted   int
	ConsentsWithdrawn int
	WithdrawalsKept   int // rows that said "yes" to someone who had withdrawn: not re-granted
	Errors            []*InputError
	// Conflicts lists the rows skipped (ConflictsSkip) or imported as new people
	// (ConflictsNew) because they would have merged into or renamed someone else. With
	// ConflictsReport they are in Errors instead.
	Conflicts []*InputError
	// Changes lists, on a dry run, what the import would change about residents on
	// record: a new name, another email, a new home.
	Changes []Change
	// Suppressed lists the rows skipped because their email or a number belongs to a
	// resident who asked to be erased ("this person asked to be erased on 3 May 2026").
	// They are not written to the rejects file: the officer removes them from the source.
	Suppressed  []*InputError
	RejectsPath string
	DryRun      bool
	Duration    time.Duration
}

// Store reads and writes contacts.
type Store struct {
	db     *sqlx.DB
	logger *slog.Logger
}

// NewStore returns a Store over db.
func NewStore(db *sqlx.DB, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Store{db: db, logger: logger}
}

//go:embed merge.sql
var mergeSQL string

func mergeStatements() []string {
	var out []string
	for _, s := range strings.Split(mergeSQL, "\n-- next\n") {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

const createStageSQL = `
CREATE TEMP TABLE import_rows (
    line int NOT NULL,
    first_name text NOT NULL, last_name text NOT NULL, -- default collation: lower() folds ŁUKASZ too
    email text COLLATE "C" NOT NULL, email_key text COLLATE "C" NOT NULL,
    mobile text COLLATE "C" NOT NULL, mobile_type text, mobile_fictional boolean NOT NULL,
    phone text COLLATE "C" NOT NULL, phone_type text, phone_fictional boolean NOT NULL,
    flat text COLLATE "C" NOT NULL, house_number text COLLATE "C" NOT NULL, street text COLLATE "C" NOT NULL,
    town text NOT NULL, postcode text COLLATE "C" NOT NULL, sector text COLLATE "C" NOT NULL, ward text COLLATE "C" NOT NULL,
    uprn text COLLATE "C" NOT NULL,
    language text NOT NULL, large_print boolean, accessibility text NOT NULL, tags text NOT NULL,
    attributes jsonb NOT NULL, delivery_notes text NOT NULL, do_not_deliver boolean NOT NULL,
    email_consent boolean, sms_consent boolean, post_consent boolean
) ON COMMIT DROP`

var stageColumns = []string{"line", "first_name", "last_name", "email", "email_key",
	"mobile", "mobile_type", "mobile_fictional", "phone", "phone_type", "phone_fictional",
	"flat", "house_number", "street", "town", "postcode", "sector", "ward", "uprn",
	"language", "large_print", "accessibility", "tags", "attributes", "delivery_notes", "do_not_deliver",
	"email_consent", "sms_consent", "post_consent"}

// ANALYZE gives the planner real numbers for the identity check and the joins in merge.sql.
const indexStageSQL = `ANALYZE import_rows`

// Import reads a CSV file of contacts and merges it into the database in one
// transaction: all rows or none (unless SkipInvalid). Invalid rows come back in
// ImportResult.Errors with file, line, column and reason; with any of them and no
// SkipInvalid, Import returns ErrRejected and writes nothing.
func (s *Store) Import(ctx context.Context, opts ImportOptions) (*ImportResult, error) {
	start := time.Now()
	if opts.Region == "" {
		opts.Region = "GB"
	}
	if opts.Topic == "" {
		opts.Topic = "general"
	}
	if opts.Encoding == "" {
		opts.Encoding = EncodingAuto
	}
	if opts.Name == "" {
		opts.Name = filepath.Base(opts.Path)
	}
	res := &ImportResult{File: opts.Name, DryRun: opts.DryRun}

	src, err := openSource(opts.Path, opts.Encoding)
	if err != nil {
		return nil, fmt.Errorf("open import file: %w", err)
	}
	defer src.f.Close()
	res.Encoding = src.encoding

	var topicID int64
	if err := s.db.GetContext(ctx, &topicID, `SELECT id FROM topics WHERE slug = $1`, opts.Topic); err != nil {
		return nil, fmt.Errorf("topic %q: %w", opts.Topic, notFound(err))
	}

	counter := &countingReader{}
	cr := NewCSVReader(opts.Name, src.reader(counter))
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s is empty: the first line must be a header", opts.Name)
	}
	var tooLong *InputError
	if errors.As(err, &tooLong) {
		return nil, tooLong
	}
	if err != nil {
		return nil, fmt.Errorf("%s: read header: %w", opts.Name, csvError(err))
	}
	cols, err := MapHeader(header, opts.Map)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Name, err)
	}
	res.Columns = cols
	if err := checkReachable(cols); err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Name, err)
	}

	var importID *int64
	if !opts.DryRun {
		var id int64
		optsJSON, _ := json.Marshal(map[string]any{"topic": opts.Topic, "skip_invalid": opts.SkipInvalid,
			"encoding": src.encoding, "map": opts.Map})
		err := s.db.GetContext(ctx, &id, `INSERT INTO imports (file_name, file_sha256, topic_id, actor, status, options)
			VALUES ($1, $2, $3, $4, 'running', $5) RETURNING id`, opts.Name, src.sha256, topicID, opts.Actor, optsJSON)
		if err != nil {
			return nil, fmt.Errorf("record import: %w", err)
		}
		importID = &id
		res.ImportID = id
		if opts.Recorded != nil {
			opts.Recorded(id)
		}
	}

	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, s.finishAudit(importID, res, err)
	}
	defer tx.Rollback()

	phase := time.Now()
	rejects, err := s.stage(ctx, tx, cr, cols, src, counter, opts, res)
	if err != nil {
		return res, s.finishAudit(importID, res, err)
	}
	s.logger.DebugContext(ctx, "import phase", "phase", "stage", "duration", time.Since(phase))
	phase = time.Now()
	var skipped []*InputError // conflicting rows left out of the import
	if res.Rejected == 0 || opts.SkipInvalid {
		// The settings and the staging table's statistics are in place before the first
		// query over it (the identity check): unanalysed, import_rows was planned with
		// guessed sizes, JIT-compiled (2 s of a 200,000-row import) and sorted on disk.
		if err := prepareMerge(ctx, tx); err != nil {
			return res, s.finishAudit(importID, res, err)
		}
		if res.Suppressed, err = skipSuppressed(ctx, tx, opts.Name, opts.Suppression); err != nil {
			return res, s.finishAudit(importID, res, err)
		}
		res.Imported -= len(res.Suppressed)
		conflicts, err := checkIdentities(ctx, tx, opts.Name, cols, opts)
		if err != nil {
			return res, s.finishAudit(importID, res, err)
		}
		if opts.Conflicts == ConflictsReport || opts.Conflicts == "" {
			res.Errors = append(res.Errors, conflicts...)
			res.Rejected += distinctLines(conflicts)
		} else {
			res.Conflicts = conflicts
		}
		if opts.Conflicts != ConflictsNew {
			res.Imported -= distinctLines(conflicts)
			skipped = conflicts
		}
	}
	s.logger.DebugContext(ctx, "import phase", "phase", "identities", "duration", time.Since(phase))
	if opts.DryRun && (res.Rejected == 0 || opts.SkipInvalid) {
		if res.Changes, err = plannedChanges(ctx, tx); err != nil {
			return res, s.finishAudit(importID, res, err)
		}
	}
	sortInputErrors(res.Errors)
	sortInputErrors(res.Conflicts)
	if res.Rejected > 0 && !opts.SkipInvalid {
		return res, s.finishAudit(importID, res, ErrRejected)
	}
	// A dry run writes nothing, not even the rejects file: the report lists every reject.
	// The rejects file holds every row left out, the conflicting ones too (read again
	// from the file: the import keeps only the invalid rows' cells).
	if (res.Rejected > 0 || len(skipped) > 0) && !opts.DryRun {
		if opts.RejectsPath == "" {
			opts.RejectsPath = strings.TrimSuffix(opts.Path, filepath.Ext(opts.Path)) + ".rejects.csv"
		}
		more, err := src.records(describeByLine(skipped))
		if err != nil {
			return res, s.finishAudit(importID, res, fmt.Errorf("write rejects: %w", err))
		}
		rejects = append(rejects, more...)
		slices.SortFunc(rejects, func(a, b rawRecord) int { return a.line - b.line })
		if err := writeRejects(opts.RejectsPath, header, rejects); err != nil {
			return res, s.finishAudit(importID, res, fmt.Errorf("write rejects: %w", err))
		}
		res.RejectsPath = opts.RejectsPath
	}

	report(opts.Progress, Progress{Bytes: src.size, TotalBytes: src.size, Rows: int64(res.Rows), Phase: "merging"})
	phase = time.Now()
	written, err := s.merge(ctx, tx, topicID, opts.Name, importID, res)
	if err != nil {
		return res, s.finishAudit(importID, res, err)
	}
	s.logger.DebugContext(ctx, "import phase", "phase", "merge", "duration", time.Since(phase))
	phase = time.Now()
	if opts.DryRun {
		res.Duration = time.Since(start)
		return res, nil // the deferred Rollback discards everything
	}
	if err := analyzeAfterImport(ctx, tx, written); err != nil {
		return res, s.finishAudit(importID, res, err)
	}
	s.logger.DebugContext(ctx, "import phase", "phase", "analyze", "duration", time.Since(phase))
	if _, err := tx.ExecContext(ctx, `UPDATE imports SET status = 'completed', finished_at = now(),
		rows_total = $2, rows_rejected = $3, contacts_created = $4, contacts_updated = $5, consents_recorded = $6
		WHERE id = $1`, *importID, res.Rows, res.Rejected, res.ContactsCreated, res.ContactsUpdated,
		res.ConsentsGranted+res.ConsentsWithdrawn); err != nil {
		return res, s.finishAudit(importID, res, fmt.Errorf("record import: %w", err))
	}
	if err := audit.Pending(ctx, tx, audit.ID(*importID), map[string]any{"file": opts.Name, "rows": res.Rows, "rejected": res.Rejected,
		"contacts_created": res.ContactsCreated, "contacts_updated": res.ContactsUpdated}); err != nil {
		return res, s.finishAudit(importID, res, err)
	}
	if err := tx.Commit(); err != nil {
		return res, s.finishAudit(importID, res, fmt.Errorf("commit import: %w", err))
	}
	res.Duration = time.Since(start)
	report(opts.Progress, Progress{Bytes: src.size, TotalBytes: src.size, Rows: int64(res.Rows), Phase: "done"})
	s.logger.Debug("import completed", "import_id", res.ImportID, "rows", res.Rows, "rejected", res.Rejected,
		"created", res.ContactsCreated, "updated", res.ContactsUpdated, "duration", res.Duration)
	return res, nil
}

func distinctLines(errs []*InputError) int {
	seen := map[int]bool{}
	for _, e := range errs {
		seen[e.Line] = true
	}
	return len(seen)
}

// analyzeAfterImport gives the planner statistics for what the import wrote, in its
// transaction, so they are there the moment the rows are: the next export, count or
// campaign snapshot must not depend on autovacuum having caught up (on freshly loaded
// tables it plans as if they were empty, and a first export ran for minutes). It runs
// when what the import wrote (rows inserted or updated, in all the tables) is large for
// the tables, by autovacuum's own rule (50 rows + 10%): a re-import that changed
// nothing has nothing to analyse.
func analyzeAfterImport(ctx context.Context, tx *sqlx.Tx, rows int) error {
	var known float64
	if err := tx.GetContext(ctx, &known, `SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = 'contacts'::regclass`); err != nil {
		return fmt.Errorf("analyze after import: %w", err)
	}
	if float64(rows) <= 50+0.1*known {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `ANALYZE contacts, contact_points, consents, addresses, households`); err != nil {
		return fmt.Errorf("analyze after import: %w", err)
	}
	return nil
}

// finishAudit records how a failed import ended (outside its rolled-back transaction)
// and returns err.
func (s *Store) finishAudit(importID *int64, res *ImportResult, err error) error {
	if importID == nil {
		return err
	}
	status, msg := "failed", err.Error()
	if errors.Is(err, ErrRejected) {
		status, msg = "rejected", fmt.Sprintf("%d invalid rows", res.Rejected)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, aerr := s.db.ExecContext(ctx, `UPDATE imports SET status = $2, error = $3, finished_at = now(),
		rows_total = $4, rows_rejected = $5 WHERE id = $1`, *importID, status, msg, res.Rows, res.Rejected); aerr != nil {
		s.logger.Error("record import outcome", "import_id", *importID, "err", aerr)
	}
	return err
}

type rawRecord struct {
	line    int
	fields  []string
	problem string // why the row was rejected, for the rejects file
}

type stagedBatch struct {
	rows    []stageRow
	rejects []rawRecord
	errs    []*InputError
}

// stage streams the file through parallel normalisers into COPY import_rows. It returns
// the rejected records (for the rejects file) and fills res.Rows/Imported/Rejected/Errors.
func (s *Store) stage(ctx context.Context, tx *sqlx.Tx, cr *csv.Reader, cols []Column, src *sourceFile,
	counter *countingReader, opts ImportOptions, res *ImportResult) ([]rawRecord, error) {
	if _, err := tx.ExecContext(ctx, createStageSQL); err != nil {
		return nil, fmt.Errorf("create staging table: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, pq.CopyIn("import_rows", stageColumns...))
	if err != nil {
		return nil, fmt.Errorf("start copy: %w", err)
	}
	defer stmt.Close()

	nz := newNormaliser(opts.Name, cols, opts.Region)
	var lastReport time.Time
	tick := func(line int) {
		if opts.Progress != nil && time.Since(lastReport) > 100*time.Millisecond {
			lastReport = time.Now()
			report(opts.Progress, Progress{Bytes: counter.n, TotalBytes: src.size, Rows: int64(line), Phase: "reading"})
		}
	}
	var rejects []rawRecord
	var copyErr error
	emit := func(b stagedBatch) {
		res.Rows += len(b.rows) + len(b.rejects)
		res.Rejected += len(b.rejects)
		res.Errors = append(res.Errors, b.errs...)
		rejects = append(rejects, b.rejects...)
		if copyErr != nil || (res.Rejected > 0 && !opts.SkipInvalid) {
			return // keep reading to report every bad row, but stop loading
		}
		for i := range b.rows {
			if _, err := stmt.ExecContext(ctx, b.rows[i].values()...); err != nil {
				copyErr = fmt.Errorf("copy rows: %w", err)
				return
			}
		}
		res.Imported += len(b.rows)
	}
	if err := scan(ctx, cr, nz, tick, emit); err != nil {
		return nil, err
	}
	if copyErr != nil {
		return nil, copyErr
	}
	if res.Rejected > 0 && !opts.SkipInvalid {
		res.Imported = 0
		return rejects, nil
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("finish copy: %w", err)
	}
	return rejects, nil
}

// scan reads records from cr on one goroutine, normalises them in batches on every core,
// and hands each batch to emit on the calling goroutine (where COPY must run, since a
// connection is not safe for concurrent use). Batches may arrive out of file order: every
// row carries its line. A CSV syntax error stops the scan with an InputError, because
// nothing after an unclosed quote can be trusted to be the row it looks like.
func scan(ctx context.Context, cr *csv.Reader, nz *normaliser, tick func(line int), emit func(stagedBatch)) error {
	// A batch ends at 1000 rows or 4 MB, so that the dozen batches in flight (queued, being
	// normalised, being copied) stay small however long the rows are.
	const batchSize, batchBytes = 1000, 4 << 20
	g, gctx := errgroup.WithContext(ctx)
	raw := make(chan []rawRecord, 4)
	staged := make(chan stagedBatch, 4)

	g.Go(func() error {
		defer close(raw)
		batch := make([]rawRecord, 0, batchSize)
		send := func() error {
			select {
			case raw <- batch:
			case <-gctx.Done():
				return gctx.Err()
			}
			batch = make([]rawRecord, 0, batchSize)
			return nil
		}
		size := 0 // of the batch's fields: rows can be up to MaxRecordBytes each
		for {
			rec, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				var tooLong *InputError
				if errors.As(err, &tooLong) {
					return tooLong
				}
				var pe *csv.ParseError
				if errors.As(err, &pe) {
					return &InputError{File: nz.file, Line: pe.StartLine, Col: pe.Column,
						Err: invalidf("%v: the file is not valid CSV from here on, so nothing was imported", pe.Err)}
				}
				return fmt.Errorf("read %s: %w", nz.file, err)
			}
			line, _ := cr.FieldPos(0)
			batch = append(batch, rawRecord{line: line, fields: rec})
			for _, f := range rec {
				size += len(f)
			}
			if len(batch) == batchSize || size >= batchBytes {
				if err := send(); err != nil {
					return err
				}
				size = 0
				tick(line)
			}
		}
		if len(batch) > 0 {
			return send()
		}
		return nil
	})

	var workers sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		workers.Add(1)
		g.Go(func() error {
			defer workers.Done()
			for batch := range raw {
				out := stagedBatch{rows: make([]stageRow, 0, len(batch))}
				for _, rec := range batch {
					row, errs := nz.row(rec.line, rec.fields)
					if len(errs) > 0 {
						out.errs = append(out.errs, errs...)
						rec.problem = describe(errs)
						out.rejects = append(out.rejects, rec)
						continue
					}
					out.rows = append(out.rows, row)
				}
				select {
				case staged <- out:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			return nil
		})
	}
	go func() {
		workers.Wait()
		close(staged)
	}()
	for b := range staged {
		emit(b)
	}
	return g.Wait()
}

// prepareMerge sets up the import's transaction for the queries over the staging table.
// Plans there run once over big temp tables: compiling them (JIT) costs more than it
// saves, and their hash joins and sorts get more memory than the default 4MB (the
// server's, not crier's).
func prepareMerge(ctx context.Context, tx *sqlx.Tx) error {
	if _, err := tx.ExecContext(ctx, `SET LOCAL work_mem = '256MB'; SET LOCAL jit = off`); err != nil {
		return fmt.Errorf("merge settings: %w", err)
	}
	if _, err := tx.ExecContext(ctx, indexStageSQL); err != nil {
		return fmt.Errorf("analyse staging table: %w", err)
	}
	return nil
}

// merge runs merge.sql and records the consents, and returns how many rows it wrote
// (inserted or updated) in the tables it touched.
func (s *Store) merge(ctx context.Context, tx *sqlx.Tx, topicID int64, name string, importID *int64, res *ImportResult) (int, error) {
	written := 0
	for i, q := range mergeStatements() {
		t0 := time.Now()
		r, err := tx.ExecContext(ctx, q)
		if err != nil {
			return 0, fmt.Errorf("merge step %d: %w", i+1, err)
		}
		s.logger.DebugContext(ctx, "merge step", "step", i+1, "duration", time.Since(t0))
		n, _ := r.RowsAffected()
		if writesTables(q) {
			written += int(n)
		}
		switch {
		case strings.Contains(q, "INSERT INTO contacts"):
			res.ContactsCreated = int(n)
		case strings.Contains(q, "UPDATE contacts c SET"):
			res.ContactsUpdated = int(n)
		}
	}
	var audit int64
	if importID != nil {
		audit = *importID
	}
	t0 := time.Now()
	c, err := consent.ApplyImport(ctx, tx, "import_consents", topicID, audit, "import "+name+" row ")
	if err != nil {
		return 0, err
	}
	s.logger.DebugContext(ctx, "merge step", "step", "consents", "duration", time.Since(t0))
	res.ConsentsGranted, res.ConsentsWithdrawn, res.WithdrawalsKept = c.Granted, c.Withdrawn, c.Kept
	return written + c.Granted + c.Withdrawn, nil
}

// writesTables reports whether a statement of merge.sql writes the database's tables,
// rather than building one of the import's temp tables or analysing it.
func writesTables(q string) bool {
	for _, line := range strings.Split(q, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "--") {
			continue
		}
		return !strings.HasPrefix(line, "CREATE TEMP TABLE") && !strings.HasPrefix(line, "ANALYZE")
	}
	return false
}

func writeRejects(path string, header []string, rejects []rawRecord) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write(append(append([]string{}, header...), "Line", "Problem"))
	for _, r := range rejects {
		_ = w.Write(append(append([]string{}, neutraliseAll(r.fields)...), fmt.Sprint(r.line), r.problem))
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func report(fn func(Progress), p Progress) {
	if fn != nil {
		fn(p)
	}
}

func notFound(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d, column %d: %v", pe.StartLine, pe.Column, pe.Err)
	}
	return err
}

// checkReachable refuses a file none of whose columns can reach anybody.
func checkReachable(cols []Column) error {
	for _, c := range cols {
		switch c.Field {
		case FieldEmail, FieldMobile, FieldPhone, FieldStreet, FieldAddressLine1, FieldAddressLine2,
			FieldAddressLine3, FieldAddressLine4:
			return nil
		}
	}
	return fmt.Errorf("no column holds an email address, phone number, street or address line: check the header, or name the columns with --map HEADER=email (or mobile, phone, street, address_line_1)")
}

// suppressedSQL finds the staged rows whose email, mobile or phone is on the suppression
// list ($1, $2: the key's HMAC pads), with when the suppression was made; one row per
// line (the earliest). Suppressions are few and the hash is computed per staged row in
// one pass, so a big file costs one hash join.
var suppressedSQL = `
SELECT DISTINCT ON (r.line) r.line, x.field, s.created_at
  FROM import_rows r
 CROSS JOIN LATERAL (VALUES ('email', CASE WHEN r.email_key <> '' THEN ` + suppression.HashSQL("'email:' || r.email_key", "$1", "$2") + ` END),
                            ('mobile', CASE WHEN r.mobile <> '' THEN ` + suppression.HashSQL("'phone:' || r.mobile", "$1", "$2") + ` END),
                            ('phone', CASE WHEN r.phone <> '' THEN ` + suppression.HashSQL("'phone:' || r.phone", "$1", "$2") + ` END)) x(field, hash)
  JOIN suppressions s ON s.hash = x.hash
 ORDER BY r.line, s.created_at`

// skipSuppressed removes from the staged rows those of residents who asked to be erased
// and returns one InputError per row skipped. Without key it refuses the import if any
// suppression exists (going on could re-add an erased resident).
func skipSuppressed(ctx context.Context, tx *sqlx.Tx, file string, key *suppression.Key) ([]*InputError, error) {
	any, err := suppression.Any(ctx, tx)
	if err != nil || !any {
		return nil, err
	}
	if key == nil {
		return nil, suppression.ErrNoKey
	}
	ipad, opad := key.Pads()
	rows, err := tx.QueryContext(ctx, suppressedSQL, ipad, opad)
	if err != nil {
		return nil, fmt.Errorf("check suppressions: %w", err)
	}
	defer rows.Close()
	var out []*InputError
	var lines []int64
	for rows.Next() {
		var line int
		var field string
		var at time.Time
		if err := rows.Scan(&line, &field, &at); err != nil {
			return nil, fmt.Errorf("check suppressions: %w", err)
		}
		if loc, err := time.LoadLocation("Europe/London"); err == nil {
			at = at.In(loc)
		}
		out = append(out, &InputError{File: file, Line: line,
			Err: fmt.Errorf("this person asked to be erased on %s (their %s is on the suppression list); skipped", at.Format("2 January 2006"), field)})
		lines = append(lines, int64(line))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("check suppressions: %w", err)
	}
	if len(lines) > 0 {
		if _, err := tx.ExecContext(ctx, `DELETE FROM import_rows WHERE line = ANY($1)`, pq.Array(lines)); err != nil {
			return nil, fmt.Errorf("skip suppressed rows: %w", err)
		}
	}
	return out, nil
}
