package campaign

// Campaigns as lists show them: the officers' list of campaigns, and the campaigns a
// segment's rules can name.

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// Summary is a campaign as the list of campaigns shows it.
type Summary struct {
	ID        int64      `db:"id"`
	Name      string     `db:"name"`
	Topic     string     `db:"topic"` // the topic's name
	Purpose   string     `db:"purpose"`
	State     string     `db:"state"`
	NextRunAt *time.Time `db:"next_run_at"`
}

const summariesSQL = `
		SELECT c.id, c.name, t.name AS topic, c.purpose, c.state, c.next_run_at
		  FROM campaigns c JOIN topics t ON t.id = c.topic_id
		 ORDER BY c.id DESC`

// Summaries lists every campaign, newest first.
func (s *Store) Summaries(ctx context.Context) ([]Summary, error) {
	var out []Summary
	if err := s.db.SelectContext(ctx, &out, summariesSQL); err != nil {
		return nil, fmt.Errorf("list campaigns: %w", err)
	}
	return out, nil
}

// Ref names a campaign.
type Ref struct {
	ID   int64  `db:"id"`
	Name string `db:"name"`
}

const recentSQL = `SELECT id, name FROM campaigns ORDER BY id DESC LIMIT $1`

// Recent lists the latest limit campaigns, newest first.
func (s *Store) Recent(ctx context.Context, limit int) ([]Ref, error) {
	var out []Ref
	if err := s.db.SelectContext(ctx, &out, recentSQL, limit); err != nil {
		return nil, fmt.Errorf("recent campaigns: %w", err)
	}
	return out, nil
}

const namesSQL = `SELECT id, name FROM campaigns WHERE id = ANY($1)`

// Names returns the names of the campaigns ids that exist, by id.
func (s *Store) Names(ctx context.Context, ids []int64) (map[int64]string, error) {
	var rows []Ref
	if err := s.db.SelectContext(ctx, &rows, namesSQL, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("campaign names: %w", err)
	}
	out := make(map[int64]string, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Name
	}
	return out, nil
}
