package campaign

import (
	"context"
	"fmt"
)

const pausedMidRunSQL = `SELECT EXISTS (SELECT 1 FROM campaign_runs WHERE campaign_id = $1 AND state = 'paused')`

// PausedMidRun reports whether campaign id had started sending when it was paused (a
// run of it is paused): it is resumed, not scheduled again.
func (s *Store) PausedMidRun(ctx context.Context, id int64) (bool, error) {
	var paused bool
	if err := s.db.GetContext(ctx, &paused, pausedMidRunSQL, id); err != nil {
		return false, fmt.Errorf("campaign %d paused mid-run: %w", id, err)
	}
	return paused, nil
}
