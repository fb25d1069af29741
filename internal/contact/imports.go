package contact

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// ImportSummary is one import as the import page lists it.
type ImportSummary struct {
	ID        int64     `db:"id"`
	File      string    `db:"file_name"`
	Actor     string    `db:"actor"`
	Status    string    `db:"status"`
	Rows      int       `db:"rows_total"`
	Rejected  int       `db:"rows_rejected"`
	Created   int       `db:"contacts_created"`
	Updated   int       `db:"contacts_updated"`
	StartedAt time.Time `db:"started_at"`
}

const recentImportsSQL = `SELECT id, file_name, actor, status, rows_total, rows_rejected,
		contacts_created, contacts_updated, started_at FROM imports ORDER BY id DESC LIMIT $1`

// RecentImports lists the latest limit imports, newest first.
func (s *Store) RecentImports(ctx context.Context, limit int) ([]ImportSummary, error) {
	var out []ImportSummary
	if err := s.db.SelectContext(ctx, &out, recentImportsSQL, limit); err != nil {
		return nil, fmt.Errorf("recent imports: %w", err)
	}
	return out, nil
}

// ImportsQuery is one page of the imports list: filtered by status and by text in the
// file name or the officer's account, sorted by one of ImportSorts.
type ImportsQuery struct {
	Status string // completed, rejected, failed, running; "" for any
	Text   string
	Sort   string // a key of ImportSorts; "" is "started"
	Desc   bool
	Limit  int
	Offset int
}

// ImportSorts are the keys the imports list can be sorted by, and their SQL.
var ImportSorts = map[string]string{
	"started": "started_at",
	"file":    "lower(file_name)",
	"actor":   "lower(actor)",
	"rows":    "rows_total",
}

// ImportStatuses are the statuses an import can have, for the list's filter.
var ImportStatuses = []string{"completed", "rejected", "failed", "running"}

// ImportsPage returns one page of imports and how many match in all.
func (s *Store) ImportsPage(ctx context.Context, q ImportsQuery) ([]ImportSummary, int, error) {
	key := q.Sort
	if key == "" {
		key = "started"
	}
	col, ok := ImportSorts[key]
	if !ok || (q.Status != "" && !slices.Contains(ImportStatuses, q.Status)) {
		return nil, 0, fmt.Errorf("imports list: %w", ErrUnknownSort)
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	where := `($1 = '' OR status = $1) AND ($2 = '' OR strpos(lower(file_name), lower($2)) > 0 OR strpos(lower(actor), lower($2)) > 0)`
	var total int
	if err := s.db.GetContext(ctx, &total, `SELECT count(*) FROM imports WHERE `+where, q.Status, q.Text); err != nil {
		return nil, 0, fmt.Errorf("imports list: %w", err)
	}
	var out []ImportSummary
	err := s.db.SelectContext(ctx, &out, `SELECT id, file_name, actor, status, rows_total, rows_rejected,
		contacts_created, contacts_updated, started_at FROM imports WHERE `+where+`
		ORDER BY `+col+` `+dir+`, id `+dir+` LIMIT $3 OFFSET $4`, q.Status, q.Text, max(q.Limit, 1), max(q.Offset, 0))
	if err != nil {
		return nil, 0, fmt.Errorf("imports list: %w", err)
	}
	return out, total, nil
}
