package consent

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

// The residents' own pages (the preference centre and the unsubscribe link) read
// consent per contact point and topic, as the ledger stands now.

// Choice is one topic on one of a resident's contact points, with the consent that
// stands for it.
type Choice struct {
	PointID int64  `db:"point_id"`
	Kind    string `db:"kind"`
	Value   string `db:"value"`
	Street  string `db:"street"`
	House   string `db:"house_number"`
	Flat    string `db:"flat"`
	Post    string `db:"postcode"`
	PtState string `db:"point_status"`
	TopicID int64  `db:"topic_id"`
	Topic   string `db:"topic"`
	About   string `db:"about"`
	Status  string `db:"status"` // the latest consent: granted, withdrawn or ""
}

// Choices lists every topic on every contact point that can reach the resident (active
// or opted out by a STOP, and a mobile rather than a landline), by topic, then email,
// text, post.
func Choices(ctx context.Context, q sqlx.QueryerContext, contactID int64) ([]Choice, error) {
	var choices []Choice
	err := sqlx.SelectContext(ctx, q, &choices, `
		SELECT cp.id AS point_id, cp.kind, cp.value, cp.status AS point_status,
		       coalesce(a.street, '') AS street, coalesce(a.house_number, '') AS house_number,
		       coalesce(a.flat, '') AS flat, coalesce(a.postcode, '') AS postcode,
		       t.id AS topic_id, t.name AS topic, t.description AS about, coalesce(`+Status("cur")+`, '') AS status
		  FROM contact_points cp
		  LEFT JOIN addresses a ON a.id = cp.address_id
		 CROSS JOIN topics t`+Joins("cp.id", "t.id", "cur")+`
		 WHERE cp.contact_id = $1 AND cp.status IN ('active', 'opted_out')
		   AND (cp.kind <> 'phone' OR cp.phone_type = 'mobile')
		 ORDER BY t.name, t.id, CASE cp.kind WHEN 'email' THEN 1 WHEN 'phone' THEN 2 ELSE 3 END, cp.id`, contactID)
	if err != nil {
		return nil, fmt.Errorf("consent choices: %w", err)
	}
	return choices, nil
}

// PointTopic is one contact point and topic, as an unsubscribe link names them.
type PointTopic struct {
	PointID, TopicID int64
	Topic            string // the topic's name
	Channel          string // the point's kind: email, phone or postal
	Withdrawn        bool   // the consent that stands is a withdrawal
}

// ErrNoPointTopic is PointTopic's error when the point or the topic no longer exists.
var ErrNoPointTopic = errors.New("no such contact point or topic")

// LookupPointTopic returns the point and topic with the consent that stands for them.
func LookupPointTopic(ctx context.Context, q sqlx.QueryerContext, pointID, topicID int64) (PointTopic, error) {
	t := PointTopic{PointID: pointID, TopicID: topicID}
	err := q.QueryRowxContext(ctx, `
		SELECT tp.name, cp.kind, coalesce(`+Status("c")+`, '') = 'withdrawn'
		  FROM contact_points cp CROSS JOIN topics tp`+Joins("cp.id", "tp.id", "c")+`
		 WHERE cp.id = $1 AND tp.id = $2`, pointID, topicID).
		Scan(&t.Topic, &t.Channel, &t.Withdrawn)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNoPointTopic
	}
	if err != nil {
		return t, fmt.Errorf("contact point and topic: %w", err)
	}
	return t, nil
}
