package segment

import (
	"context"
	"fmt"
)

const attributeNamesSQL = `SELECT DISTINCT k FROM contacts c CROSS JOIN LATERAL jsonb_object_keys(c.attributes) k
		WHERE c.attributes <> '{}' ORDER BY k LIMIT $1`

// AttributeNames lists the names of the free attributes contacts have (from imports),
// in the database's order, at most limit of them: what the rule builder offers.
// (AttributeKeys, for the warnings about values nobody has, reads them another way.)
func (s *Store) AttributeNames(ctx context.Context, limit int) ([]string, error) {
	var keys []string
	if err := s.db.SelectContext(ctx, &keys, attributeNamesSQL, limit); err != nil {
		return nil, fmt.Errorf("attribute names: %w", err)
	}
	return keys, nil
}
