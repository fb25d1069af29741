package inbox

import (
	"context"
	"fmt"
)

// UnclearAnswer is a resident whose answer to a poll could not be read: their
// conversation, name (or "") and number, and their latest unclear text.
type UnclearAnswer struct {
	ConversationID int64  `db:"id"`
	Name           string `db:"name"`
	Phone          string `db:"phone"`
	Body           string `db:"body"`
}

// unclearSQL lists the residents Poll counts as unclear: an unclear answer to the
// campaign's poll and no clear one.
const unclearSQL = `
			SELECT cv.id, cv.phone, coalesce(trim(c.first_name || ' ' || c.last_name), '') AS name, u.body
			  FROM (SELECT DISTINCT ON (m.conversation_id) m.conversation_id, m.body FROM sms_messages m
			         WHERE m.campaign_id = $1 AND m.direction = 'in' AND m.poll_unclear
			           AND NOT EXISTS (SELECT 1 FROM sms_messages a WHERE a.conversation_id = m.conversation_id
			                            AND a.campaign_id = $1 AND a.poll_answer <> '')
			         ORDER BY m.conversation_id, m.at DESC, m.id DESC) u
			  JOIN conversations cv ON cv.id = u.conversation_id
			  LEFT JOIN contacts c ON c.id = cv.contact_id
			 ORDER BY cv.last_message_at DESC, cv.id DESC
			 LIMIT $2`

// UnclearAnswers lists up to limit of the residents whose answer to campaign
// campaignID's poll is unclear, the conversations most recently active first.
func (s *Store) UnclearAnswers(ctx context.Context, campaignID int64, limit int) ([]UnclearAnswer, error) {
	var out []UnclearAnswer
	if err := s.db.SelectContext(ctx, &out, unclearSQL, campaignID, limit); err != nil {
		return nil, fmt.Errorf("unclear answers to campaign %d's poll: %w", campaignID, err)
	}
	return out, nil
}
