package contact

import (
	"context"
	"fmt"
	"strings"

	"github.com/lib/pq"
)

// idsByPointSQL finds, in one query however many are asked for, who holds each address
// and number: a batch pushed through the API learns its contacts' ids this way.
const idsByPointSQL = `
SELECT CASE WHEN kind = 'email' THEN lower(value) ELSE value END AS key, contact_id
  FROM contact_points
 WHERE (kind = 'email' AND lower(value) = ANY($1)) OR (kind = 'phone' AND value = ANY($2))`

// IDsByPoint returns the ids of the contacts holding the email addresses (any case) and
// E.164 numbers given, keyed by the address in lower case or the number. Those nobody
// holds are missing from the map.
func (s *Store) IDsByPoint(ctx context.Context, emails, phones []string) (map[string]int64, error) {
	lower := make([]string, len(emails))
	for i, e := range emails {
		lower[i] = strings.ToLower(strings.TrimSpace(e))
	}
	rows, err := s.db.QueryxContext(ctx, idsByPointSQL, pq.Array(lower), pq.Array(phones))
	if err != nil {
		return nil, fmt.Errorf("contacts by email or number: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var key string
		var id int64
		if err := rows.Scan(&key, &id); err != nil {
			return nil, fmt.Errorf("contacts by email or number: %w", err)
		}
		out[key] = id
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("contacts by email or number: %w", err)
	}
	return out, nil
}
