package inbox

import (
	"context"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// Reply is one text a resident sent, as the API lists it.
type Reply struct {
	ID             int64          `db:"id" json:"id"`
	ConversationID int64          `db:"conversation_id" json:"conversation_id"`
	ContactID      *int64         `db:"contact_id" json:"contact_id"`
	From           string         `db:"phone" json:"from"`
	Body           string         `db:"body" json:"body"`
	At             time.Time      `db:"at" json:"at"`
	CampaignID     *int64         `db:"campaign_id" json:"campaign_id"`
	Keyword        string         `db:"keyword" json:"keyword"`
	LikelyOptOut   bool           `db:"likely_opt_out" json:"likely_opt_out"`
	PollAnswer     string         `db:"poll_answer" json:"poll_answer"`
	PollUnclear    bool           `db:"poll_unclear" json:"poll_unclear"`
	Tags           pq.StringArray `db:"tags" json:"tags"`
}

// repliesSQL pages by id rather than OFFSET: a client polling for new texts passes the
// last id it saw and never misses or repeats one, however many arrive meanwhile.
const repliesSQL = `
SELECT m.id, m.conversation_id, cv.contact_id, cv.phone, m.body, m.at, m.campaign_id, m.keyword,
       m.likely_opt_out, m.poll_answer, m.poll_unclear, m.tags
  FROM sms_messages m JOIN conversations cv ON cv.id = m.conversation_id
 WHERE m.direction = 'in' AND m.id > $1 AND ($2::timestamptz IS NULL OR m.at >= $2)
 ORDER BY m.id
 LIMIT $3`

// Replies returns up to limit of the texts residents sent with an id above after and,
// unless since is zero, received at or after since, oldest first.
func (s *Store) Replies(ctx context.Context, since time.Time, after int64, limit int) ([]Reply, error) {
	var at *time.Time
	if !since.IsZero() {
		at = &since
	}
	out := []Reply{}
	if err := s.db.SelectContext(ctx, &out, repliesSQL, after, at, limit); err != nil {
		return nil, fmt.Errorf("list replies: %w", err)
	}
	for i := range out {
		if out[i].Tags == nil {
			out[i].Tags = pq.StringArray{}
		}
	}
	return out, nil
}
