package contact

import (
	"context"
	"fmt"
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
