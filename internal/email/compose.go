package email

import (
	"context"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/outbox"
)

// ComposerConfig says how e-bulletins are addressed and linked.
type ComposerConfig struct {
	PublicURL   string // e.g. "https://crier.example-council.gov.uk": unsubscribe and web links start here
	FromName    string // default sender name when the campaign sets none
	FromAddress string // default sender address
	ListDomain  string // for List-Id, e.g. "news.example-council.gov.uk"
	Branding    Branding
	Signer      *Signer
}

// Composer renders leased e-bulletin outbox rows; it implements dispatch.Composer.
type Composer struct {
	db  *sqlx.DB
	cfg ComposerConfig

	mu         sync.Mutex
	cache      map[composeKey]*compiledCampaign // content is frozen once scheduled
	recipients *sqlx.Stmt                       // recipientsSQL, prepared on first use
}

// composeKey names one compiled e-bulletin: a campaign in one of its languages ("" for
// a campaign in one language).
type composeKey struct {
	id   int64
	lang string
}

type compiledCampaign struct {
	compiled  *Compiled
	from      string
	replyTo   string
	topicID   int64
	topicName string
	topicSlug string
	loadedAt  time.Time
	updatedAt time.Time
}

// NewComposer returns a Composer.
func NewComposer(db *sqlx.DB, cfg ComposerConfig) *Composer {
	return &Composer{db: db, cfg: cfg, cache: map[composeKey]*compiledCampaign{}}
}

var _ dispatch.Composer = (*Composer)(nil)

// campaignFor compiles a campaign's content in language code once and keeps it for
// later batches.
func (c *Composer) campaignFor(ctx context.Context, id int64, code string) (*compiledCampaign, error) {
	key := composeKey{id, code}
	c.mu.Lock()
	cc := c.cache[key]
	c.mu.Unlock()
	if cc != nil {
		return cc, nil
	}
	var row struct {
		Name, Subject, Body, SenderName, SenderEmail, ReplyTo, TopicName, TopicSlug, Purpose string
		TopicID                                                                              int64
		UpdatedAt                                                                            time.Time
		Languages                                                                            pq.StringArray
		Variants                                                                             []byte
		Bilingual                                                                            bool
	}
	err := c.db.QueryRowxContext(ctx, `
		SELECT c.name, c.email_subject, c.email_body, c.sender_name, c.sender_email, c.reply_to,
		       t.name, t.slug, t.id, c.updated_at, c.purpose, c.languages, c.variants, c.bilingual
		  FROM campaigns c JOIN topics t ON t.id = c.topic_id WHERE c.id = $1`, id).
		Scan(&row.Name, &row.Subject, &row.Body, &row.SenderName, &row.SenderEmail, &row.ReplyTo,
			&row.TopicName, &row.TopicSlug, &row.TopicID, &row.UpdatedAt, &row.Purpose,
			&row.Languages, &row.Variants, &row.Bilingual)
	if err != nil {
		return nil, fmt.Errorf("load campaign %d: %w", id, err)
	}
	camp := &campaign.Campaign{Name: row.Name, EmailSubject: row.Subject, EmailBody: row.Body,
		Languages: row.Languages, Bilingual: row.Bilingual}
	if len(row.Variants) > 2 {
		if err := json.Unmarshal(row.Variants, &camp.Variants); err != nil {
			return nil, fmt.Errorf("load campaign %d: variants: %w", id, err)
		}
	}
	b := BulletinFor(camp, code)
	b.Topic, b.Service = row.TopicName, row.Purpose == "service"
	compiled, err := Compile(b, c.cfg.Branding)
	if err != nil {
		return nil, err
	}
	name, addr := row.SenderName, row.SenderEmail
	if name == "" {
		name = c.cfg.FromName
	}
	if addr == "" {
		addr = c.cfg.FromAddress
	}
	from := (&mail.Address{Name: name, Address: addr}).String()
	cc = &compiledCampaign{compiled: compiled, from: from, replyTo: row.ReplyTo, topicID: row.TopicID,
		topicName: row.TopicName, topicSlug: row.TopicSlug, loadedAt: time.Now(), updatedAt: row.UpdatedAt}
	c.mu.Lock()
	c.cache[key] = cc
	c.mu.Unlock()
	return cc, nil
}

type recipientRow struct {
	ID         int64  `db:"id"`
	FirstName  string `db:"first_name"`
	LastName   string `db:"last_name"`
	Ward       string `db:"ward"`
	Attributes []byte `db:"attributes"`
}

const recipientsSQL = `SELECT id, first_name, last_name, ward, attributes FROM contacts WHERE id = ANY($1)`

// recipientsStmt prepares recipientsSQL once: it runs for every batch a worker sends.
func (c *Composer) recipientsStmt(ctx context.Context) (*sqlx.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recipients == nil {
		st, err := c.db.PreparexContext(ctx, recipientsSQL)
		if err != nil {
			return nil, err
		}
		c.recipients = st
	}
	return c.recipients, nil
}

// Compose renders a batch: the recipients' fields come from one query, the campaign's
// content was compiled once, and each message gets its own signed links and headers.
func (c *Composer) Compose(ctx context.Context, items []outbox.Item) ([]dispatch.Message, []outbox.Result, error) {
	return c.compose(ctx, items, time.Now())
}

// compose renders items with preference links issued at issued: now for a send, the
// time it was sent for a copy viewed later, so "view in browser" on an old or forwarded
// e-bulletin can't mint a fresh preference link.
func (c *Composer) compose(ctx context.Context, items []outbox.Item, issued time.Time) ([]dispatch.Message, []outbox.Result, error) {
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ContactID
	}
	st, err := c.recipientsStmt(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("load recipients: %w", err)
	}
	rows := make([]recipientRow, 0, len(items))
	if err := st.SelectContext(ctx, &rows, pq.Array(ids)); err != nil {
		return nil, nil, fmt.Errorf("load recipients: %w", err)
	}
	byID := make(map[int64]*recipientRow, len(rows))
	for i := range rows {
		byID[rows[i].ID] = &rows[i]
	}
	msgs := make([]dispatch.Message, 0, len(items))
	var failed []outbox.Result
	for _, it := range items {
		cc, err := c.campaignFor(ctx, it.CampaignID, it.Lang)
		if err != nil {
			return nil, nil, err
		}
		r := byID[it.ContactID]
		if r == nil || it.To == "" {
			failed = append(failed, outbox.Result{ID: it.ID, Outcome: outbox.Bounced, Reason: "contact or address no longer exists"})
			continue
		}
		rec := Recipient{ContactID: r.ID, FirstName: r.FirstName, LastName: r.LastName, Ward: r.Ward}
		if len(r.Attributes) > 2 {
			_ = json.Unmarshal(r.Attributes, &rec.Attributes) // attributes are written as a string map by the importer
		}
		unsub := c.cfg.Signer.Token("unsubscribe", it.ContactPointID, cc.topicID)
		links := Links{
			Unsubscribe:   c.cfg.PublicURL + "/u/" + unsub,
			Preferences:   c.cfg.PublicURL + "/p/" + c.cfg.Signer.PreferencesToken(it.ContactID, issued),
			ViewInBrowser: c.cfg.PublicURL + "/b/" + c.cfg.Signer.Token("view", it.ID),
		}
		out, err := cc.compiled.Render(rec, links)
		if err != nil {
			failed = append(failed, outbox.Result{ID: it.ID, Outcome: outbox.Bounced, Reason: "render: " + err.Error()})
			continue
		}
		headers := map[string]string{
			// RFC 8058 one-click unsubscribe: the https URL that takes a POST, and nothing
			// else. Crier has no mailbox to read a mailto, so offering one would lose
			// residents' requests.
			"List-Unsubscribe":      "<" + links.Unsubscribe + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
			"List-Id":               listID(cc.topicName, cc.topicSlug, c.cfg.ListDomain),
		}
		if cc.replyTo != "" {
			headers["Reply-To"] = cc.replyTo
		}
		msgs = append(msgs, dispatch.Message{
			OutboxID: it.ID, CampaignID: it.CampaignID, RunID: it.RunID, ContactID: it.ContactID,
			Channel: dispatch.Email, To: it.To, From: cc.from,
			Subject: out.Subject, HTML: out.HTML, Text: out.Text, Headers: headers,
		})
	}
	return msgs, failed, nil
}

func listID(name, slug, domain string) string {
	name = strings.NewReplacer("<", "", ">", "", "\"", "").Replace(name)
	return fmt.Sprintf("%q <%s.%s>", name, slug, domain)
}

// RenderOne renders the e-bulletin of one outbox row as its recipient received it (for
// "view in browser"). It returns an error for a row that is not an e-bulletin.
func (c *Composer) RenderOne(ctx context.Context, outboxID int64) (Rendered, error) {
	var row struct {
		outbox.Item
		Issued time.Time `db:"issued"`
	}
	err := c.db.GetContext(ctx, &row, `SELECT o.id, o.run_id, o.campaign_id, o.contact_id,
		coalesce(o.contact_point_id, 0) AS contact_point_id, o.channel, o.attempt, o.max_attempts,
		coalesce(cp.value, '') AS address, coalesce(o.sent_at, o.handed_at, o.updated_at) AS issued, o.lang
		FROM outbox o LEFT JOIN contact_points cp ON cp.id = o.contact_point_id
		WHERE o.id = $1 AND o.channel = 'email'`, outboxID)
	if err != nil {
		return Rendered{}, fmt.Errorf("outbox row %d: %w", outboxID, err)
	}
	msgs, failed, err := c.compose(ctx, []outbox.Item{row.Item}, row.Issued)
	if err != nil {
		return Rendered{}, err
	}
	if len(msgs) != 1 {
		return Rendered{}, fmt.Errorf("outbox row %d: %s", outboxID, failed[0].Reason)
	}
	return Rendered{Subject: msgs[0].Subject, HTML: msgs[0].HTML, Text: msgs[0].Text}, nil
}

// BulletinFor is campaign c's e-bulletin as a resident whose message is in language code
// gets it ("" for a campaign in one language): that language's subject and body, or,
// for a bilingual campaign, both languages, code's first. Topic and Service are left
// for the caller.
func BulletinFor(c *campaign.Campaign, code string) Bulletin {
	if c.Bilingual && len(c.Languages) == 2 {
		pair := c.Pair(code)
		a, b := c.In(pair[0]), c.In(pair[1])
		return Bulletin{CampaignName: c.Name, Subject: a.EmailSubject, Markdown: a.EmailBody, Lang: pair[0],
			Second: &BulletinPart{Lang: pair[1], Subject: b.EmailSubject, Markdown: b.EmailBody}}
	}
	if code == "" {
		code = c.DefaultLanguage()
	}
	v := c.In(code)
	return Bulletin{CampaignName: c.Name, Subject: v.EmailSubject, Markdown: v.EmailBody, Lang: code}
}
