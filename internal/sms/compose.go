package sms

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/outbox"
)

// Composer personalises leased SMS outbox rows; it implements dispatch.Composer. A
// campaign's text (its SMS, then its poll's prompt) is compiled once; the recipients'
// fields come from one query per batch.
type Composer struct {
	db        *sqlx.DB
	campaigns *campaign.Store

	mu    sync.Mutex
	cache map[smsKey]*email.TextTemplate
}

// smsKey names one compiled text: a campaign in one of its languages ("" for one in one).
type smsKey struct {
	id   int64
	lang string
}

// NewComposer returns a Composer.
func NewComposer(db *sqlx.DB) *Composer {
	return &Composer{db: db, campaigns: campaign.NewStore(db, nil), cache: map[smsKey]*email.TextTemplate{}}
}

var _ dispatch.Composer = (*Composer)(nil)

// Template returns the campaign's compiled SMS in language code (see
// campaign.SMSTextIn); content is frozen once scheduled.
func (c *Composer) Template(ctx context.Context, id int64, code string) (*email.TextTemplate, error) {
	key := smsKey{id, code}
	c.mu.Lock()
	t := c.cache[key]
	c.mu.Unlock()
	if t != nil {
		return t, nil
	}
	cp, err := c.campaigns.Get(ctx, strconv.FormatInt(id, 10))
	if err != nil {
		return nil, err
	}
	t, err = email.CompileText(cp.Name, "sms", cp.SMSTextIn(code))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.cache[key] = t
	c.mu.Unlock()
	return t, nil
}

// Compose renders a batch.
func (c *Composer) Compose(ctx context.Context, items []outbox.Item) ([]dispatch.Message, []outbox.Result, error) {
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ContactID
	}
	var rows []recipientRow
	if err := c.db.SelectContext(ctx, &rows, `SELECT id, first_name, last_name, ward, attributes FROM contacts WHERE id = ANY($1)`,
		pq.Array(ids)); err != nil {
		return nil, nil, fmt.Errorf("load recipients: %w", err)
	}
	byID := make(map[int64]email.Recipient, len(rows))
	for _, r := range rows {
		byID[r.ID] = r.recipient()
	}
	msgs := make([]dispatch.Message, 0, len(items))
	var failed []outbox.Result
	for _, it := range items {
		t, err := c.Template(ctx, it.CampaignID, it.Lang)
		if err != nil {
			return nil, nil, err
		}
		rec, ok := byID[it.ContactID]
		if !ok || it.To == "" {
			failed = append(failed, outbox.Result{ID: it.ID, Outcome: outbox.Bounced, Reason: "contact or number no longer exists"})
			continue
		}
		msgs = append(msgs, dispatch.Message{OutboxID: it.ID, CampaignID: it.CampaignID, RunID: it.RunID,
			ContactID: it.ContactID, Channel: dispatch.SMS, To: it.To, Text: t.Render(rec)})
	}
	return msgs, failed, nil
}

// recipientRow is a contact's merge-field columns, as the composer and the estimate
// (EstimateAudience) read them, so that both fill merge fields in the same way.
type recipientRow struct {
	ID         int64  `db:"id"`
	FirstName  string `db:"first_name"`
	LastName   string `db:"last_name"`
	Ward       string `db:"ward"`
	Attributes []byte `db:"attributes"`
}

func (r *recipientRow) recipient() email.Recipient {
	rec := email.Recipient{ContactID: r.ID, FirstName: r.FirstName, LastName: r.LastName, Ward: r.Ward}
	if len(r.Attributes) > 2 {
		_ = json.Unmarshal(r.Attributes, &rec.Attributes) // a string map, as the importer writes it
	}
	return rec
}
