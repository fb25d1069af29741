package consent

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Topic is something residents agree (or not) to hear about: consent is recorded per
// contact point and topic.
type Topic struct {
	ID          int64  `db:"id"`
	Slug        string `db:"slug"`
	Name        string `db:"name"`
	Description string `db:"description"`
}

const topicsSQL = `SELECT id, slug, name, description FROM topics ORDER BY name, slug`

// Topics lists every topic, by name (and slug, for topics of the same name).
func Topics(ctx context.Context, q sqlx.QueryerContext) ([]Topic, error) {
	var out []Topic
	if err := sqlx.SelectContext(ctx, q, &out, topicsSQL); err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	return out, nil
}

const topicNameSQL = `SELECT name FROM topics WHERE id = $1`

// TopicName returns the name of topic id. A topic that does not exist is an error that
// wraps sql.ErrNoRows.
func TopicName(ctx context.Context, q sqlx.QueryerContext, id int64) (string, error) {
	var name string
	if err := sqlx.GetContext(ctx, q, &name, topicNameSQL, id); err != nil {
		return "", fmt.Errorf("topic %d: %w", id, err)
	}
	return name, nil
}

// Existing returns those of the topics ids that exist, in order of id.
func Existing(ctx context.Context, q sqlx.QueryerContext, ids []int64) ([]int64, error) {
	var live []int64
	if err := sqlx.SelectContext(ctx, q, &live, `SELECT id FROM topics WHERE id = ANY($1) ORDER BY id`, pq.Array(ids)); err != nil {
		return nil, fmt.Errorf("topics: %w", err)
	}
	return live, nil
}
