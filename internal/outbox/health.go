package outbox

import (
	"context"
	"fmt"
	"time"
)

// The states of a channel's health.
const (
	Up   = "up"
	Down = "down"
)

// ChannelHealth is a channel's health as a dispatcher last recorded it (the
// channel_health table): whether its relay or API could be reached, since when and why
// not, and how many of its messages wait meanwhile.
type ChannelHealth struct {
	Channel   string    `db:"channel"`
	State     string    `db:"state"` // Up or Down
	Since     time.Time `db:"since"` // when the channel entered State
	ErrorKind string    `db:"error_kind"`
	// OutageFrom, when the channel is up again, is when its last outage began (Since is
	// when it ended); nil if it has not been down.
	OutageFrom *time.Time `db:"outage_from"`
	Instance   string     `db:"instance"`   // the crier process that last reported
	CheckedAt  time.Time  `db:"checked_at"` // the last send outcome seen
	Changed    bool       `db:"changed"`    // RecordHealth: this call changed the state
	Waiting    int        `db:"waiting"`    // Health: messages of running campaigns still to send on the channel
	Now        time.Time  `db:"now"`        // the database's clock when read
}

// recordHealthSQL upserts a channel's health in one statement, so two processes that
// see the same outage record (and log) one change: since moves only when the state does
// (changed is then true), and coming back up keeps when the outage began.
const recordHealthSQL = `
INSERT INTO channel_health AS h (channel, state, since, error_kind, outage_from, instance, checked_at)
VALUES ($1, $2, now(), $3, NULL, $4, now())
ON CONFLICT (channel) DO UPDATE SET
       state = EXCLUDED.state,
       since = CASE WHEN h.state = EXCLUDED.state THEN h.since ELSE now() END,
       error_kind = CASE WHEN EXCLUDED.state = 'down' THEN EXCLUDED.error_kind ELSE h.error_kind END,
       outage_from = CASE WHEN EXCLUDED.state = 'down' THEN NULL
                          WHEN h.state = 'down' THEN h.since ELSE h.outage_from END,
       instance = EXCLUDED.instance, checked_at = now()
RETURNING channel, state, since, error_kind, outage_from, instance, checked_at, since = now() AS changed, now() AS now`

// RecordHealth records that instance found channel up or down (state Up or Down; kind
// says why it is down and holds no personal data). It returns the row as recorded, with
// Changed set when this call changed the state.
func (s *Store) RecordHealth(ctx context.Context, channel, state, kind, instance string) (ChannelHealth, error) {
	var h ChannelHealth
	if err := s.db.GetContext(ctx, &h, recordHealthSQL, channel, state, kind, instance); err != nil {
		return ChannelHealth{}, fmt.Errorf("record %s health: %w", channel, err)
	}
	return h, nil
}

// Health returns every channel's recorded health, by channel, each with the number of
// its messages that running campaigns still have to send.
func (s *Store) Health(ctx context.Context) ([]ChannelHealth, error) {
	var hs []ChannelHealth
	err := s.db.SelectContext(ctx, &hs, `
		SELECT h.channel, h.state, h.since, h.error_kind, h.outage_from, h.instance, h.checked_at, false AS changed,
		       (SELECT count(*) FROM outbox o
		         WHERE o.channel = h.channel AND o.state IN ('pending', 'sending')
		           AND EXISTS (SELECT 1 FROM campaign_runs r WHERE r.id = o.run_id AND r.state = 'sending')) AS waiting,
		       now() AS now
		  FROM channel_health h ORDER BY h.channel`)
	if err != nil {
		return nil, fmt.Errorf("channel health: %w", err)
	}
	return hs, nil
}
