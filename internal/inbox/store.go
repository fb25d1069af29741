// Package inbox receives residents' texts and keeps the officers' inbox: conversations
// per phone number with the campaign each text answers, STOP/START acted on once per
// message, poll answers tallied, unread state, tags, assignment and replies sent back.
package inbox

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/db"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/reply"
)

// Config is what the inbox says on its own.
type Config struct {
	OrgName string
	// HelpText answers HELP and INFO when Twilio has not already answered them;
	// HelpTextWelsh answers CYMORTH, and HELP from a resident who reads Welsh.
	HelpText      string
	HelpTextWelsh string
}

// words are the inbox's own answers in one language.
type words struct {
	stopped, started, help string
	counted                string // before the poll option's label
}

// wordsFor returns the answers in lang, or in English when Crier has none in lang. The
// Welsh are as the Welsh Language Standards ask: the same answers, no less full.
func (s *Store) wordsFor(lang string) words {
	if lang == "cy" {
		return words{
			stopped: "Fyddwch chi ddim yn cael rhagor o negeseuon testun gan " + s.cfg.OrgName + ". Atebwch DECHRAU i'w cael eto.",
			started: "Byddwch chi'n cael negeseuon testun gan " + s.cfg.OrgName + " eto. Atebwch STOPIO i'w hatal.",
			help:    s.cfg.HelpTextWelsh,
			counted: "Diolch. Rydyn ni wedi cyfrif eich ateb: ",
		}
	}
	return words{
		stopped: "You won't get any more texts from " + s.cfg.OrgName + ". Reply START to get them again.",
		started: "You'll get texts from " + s.cfg.OrgName + " again. Reply STOP to stop them.",
		help:    s.cfg.HelpText,
		counted: "Thank you. We've counted your answer: ",
	}
}

// Store keeps conversations with residents.
type Store struct {
	db     *sqlx.DB
	cfg    Config
	sender dispatch.Sender // for replies back; nil: replies can't be sent

	mu    sync.Mutex
	polls map[int64]*reply.Poll // by campaign; a campaign's poll is frozen once it is sent
	stmts db.Stmts              // Receive's statements, prepared once (webhooks are the hot path)

	// slots bounds the texts being stored at once (see receiveSlots).
	slots chan struct{}
}

// receiveSlots is how many inbound texts a process stores at once; more wait their
// turn in Receive. After a poll, answers arrive in a burst: with every webhook in the
// database at once, a few dozen backends share the cores and each text takes as long
// as the slowest (a p99 of 150 ms at 16 concurrent webhooks on two cores); waiting in
// the process instead keeps the database busy with a few at a time, each quick, and
// keeps connections in the pool (20) for workers and pages.
func receiveSlots() int { return min(16, max(8, 4*runtime.GOMAXPROCS(0))) }

// stmt returns query prepared on the pool.
func (s *Store) stmt(ctx context.Context, query string) (*sqlx.Stmt, error) {
	return s.stmts.Get(ctx, s.db, query)
}

// NewStore returns a Store. sender sends officers' replies (the same sender campaigns use).
func NewStore(db *sqlx.DB, cfg Config, sender dispatch.Sender) *Store {
	if cfg.OrgName == "" {
		cfg.OrgName = "the council"
	}
	if cfg.HelpText == "" {
		cfg.HelpText = "Texts from " + cfg.OrgName + ". Reply STOP to stop them, START to start again. To talk to us, reply with your message."
	}
	if cfg.HelpTextWelsh == "" {
		cfg.HelpTextWelsh = "Negeseuon testun gan " + cfg.OrgName + ". Atebwch STOPIO i'w hatal, DECHRAU i'w cael eto. I siarad â ni, atebwch gyda'ch neges."
	}
	return &Store{db: db, cfg: cfg, sender: sender, polls: map[int64]*reply.Poll{}, slots: make(chan struct{}, receiveSlots())}
}

// ErrNotFound: no such conversation or message.
var ErrNotFound = errors.New("not found")

// Inbound is one text a resident sent, as Twilio's webhook describes it.
type Inbound struct {
	SID        string // MessageSid
	From, To   string // E.164
	Body       string
	OptOutType string // Twilio's OptOutType: STOP, START, HELP or ""
	// RawBody is the body exactly as it arrived when Body had to be cleaned to be stored
	// (see web's handleInbound); nil otherwise.
	RawBody []byte
}

// Received is what Receive made of an inbound text.
type Received struct {
	MessageID      int64
	ConversationID int64
	Duplicate      bool // the SID was already stored: nothing changed
	ContactID      int64
	CampaignID     int64 // the campaign it answers (0: none sent to that number)
	Keyword        reply.Keyword
	PollAnswer     string
	PollUnclear    bool
	LikelyOptOut   bool
	Language       string // the language the answer is in, when there is one ("cy"; "" or "en": English)
	// Reply is the text to answer with (TwiML), "" for none.
	Reply string
}

// receiveReadSQL finds who texted and the campaign they answer: the latest SMS sent
// to that number; and whether the number is STOPped (or marked opted out), which only
// a START changes.
const receiveReadSQL = `
SELECT cp.id AS point_id, cp.contact_id, o.id AS outbox_id, o.campaign_id,
       (SELECT c.preferred_language FROM contacts c WHERE c.id = cp.contact_id) AS language,
       cp.status = 'opted_out' OR coalesce((SELECT w.stopped FROM consent_wide w WHERE w.contact_point_id = cp.id), false) AS stopped,
       EXISTS (SELECT 1 FROM conversations cv JOIN sms_messages m ON m.conversation_id = cv.id
                WHERE cv.phone = $1 AND m.campaign_id = o.campaign_id AND m.poll_answer <> '') AS answered
  FROM (SELECT 1) one
  LEFT JOIN contact_points cp ON cp.kind = 'phone' AND cp.value = $1
  LEFT JOIN LATERAL (SELECT o.id, o.campaign_id FROM outbox o
                      WHERE o.contact_point_id = cp.id AND o.channel = 'sms' AND o.sent_at IS NOT NULL
                      ORDER BY o.sent_at DESC LIMIT 1) o ON true`

// receiveWriteSQL stores the text once per SID (it returns id 0 for a SID stored
// already). Receive then carries out a new STOP or START through the consent ledger in
// the same transaction, so a repeated webhook or a crash halfway can't leave half of it.
const receiveWriteSQL = `
WITH conv AS (
    INSERT INTO conversations (phone, contact_id) VALUES ($1, $2)
    ON CONFLICT (phone) DO UPDATE SET contact_id = coalesce(EXCLUDED.contact_id, conversations.contact_id),
           last_message_at = now()
    RETURNING id),
msg AS (
    INSERT INTO sms_messages (conversation_id, direction, provider_sid, body, campaign_id, outbox_id, keyword,
                              likely_opt_out, poll_answer, poll_unclear, raw_body)
    SELECT id, 'in', $3, $4, $5, $6, $7, $8, $9, $10, $11 FROM conv
    ON CONFLICT (provider_sid) DO NOTHING
    RETURNING id, conversation_id)
SELECT coalesce((SELECT id FROM msg), 0) AS id, (SELECT id FROM conv) AS conversation_id`

// Receive stores an inbound text and acts on it. A repeated SID (Twilio retries
// webhooks) is stored once and acted on once; it gets the same answer again.
func (s *Store) Receive(ctx context.Context, in Inbound) (Received, error) {
	in.From = strings.TrimSpace(in.From)
	if in.From == "" || in.SID == "" {
		return Received{}, errors.New("receive text: From and MessageSid are required")
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	case <-ctx.Done():
		return Received{}, fmt.Errorf("receive text: %w", ctx.Err())
	}
	var who struct {
		PointID    sql.NullInt64  `db:"point_id"`
		ContactID  sql.NullInt64  `db:"contact_id"`
		OutboxID   sql.NullInt64  `db:"outbox_id"`
		CampaignID sql.NullInt64  `db:"campaign_id"`
		Answered   bool           `db:"answered"` // already answered this campaign's poll clearly
		Language   sql.NullString `db:"language"` // the resident's preferred language
		Stopped    sql.NullBool   `db:"stopped"`  // the number is STOPped or opted out
	}
	read, err := s.stmt(ctx, receiveReadSQL)
	if err != nil {
		return Received{}, fmt.Errorf("receive text: %w", err)
	}
	write, err := s.stmt(ctx, receiveWriteSQL)
	if err != nil {
		return Received{}, fmt.Errorf("receive text: %w", err)
	}
	if err := read.GetContext(ctx, &who, in.From); err != nil {
		return Received{}, fmt.Errorf("receive text: %w", err)
	}
	r := Received{ContactID: who.ContactID.Int64, CampaignID: who.CampaignID.Int64}
	r.Keyword = reply.ClassifyKeyword(in.Body, in.OptOutType)
	// Answers go in the language of the keyword the resident used (STOPIO is Welsh),
	// else in the one they asked for.
	r.Language = who.Language.String
	if lang := reply.KeywordLanguage(in.Body); lang != "" {
		r.Language = lang
	}
	// YES is also Twilio's START keyword, and the answer to a yes/no poll: a resident who
	// was just sent the poll is subscribed already, so it counts as their answer.
	if r.Keyword == reply.NoKeyword || r.Keyword == reply.Start {
		p, err := s.pollOf(ctx, r.CampaignID)
		if err != nil {
			return Received{}, err
		}
		if p != nil {
			key, ok := p.Match(in.Body)
			switch {
			case ok:
				r.Keyword, r.PollAnswer = reply.NoKeyword, strings.ToUpper(key)
			case r.Keyword == reply.NoKeyword && !who.Answered:
				// A later "thanks!" from someone who has answered is not an unclear answer.
				r.PollUnclear = true
			}
		}
	}
	if r.Keyword == reply.NoKeyword {
		r.LikelyOptOut = reply.LikelyOptOut(in.Body)
		// "Please stop texting me" is not a try at the poll: it is flagged as what it is.
		r.PollUnclear = r.PollUnclear && !r.LikelyOptOut
	}
	// A STOP, or a START from a number that is STOPped, changes consent: stored and acted
	// on in one transaction. Other texts are one statement. (A START from a resident who
	// gets texts already changes nothing: "Yes!" answers many a text, and a transaction
	// through the consent ledger for each one cost the database more than the rest of
	// a poll's answers together.)
	acts := who.PointID.Valid && (r.Keyword == reply.Stop || r.Keyword == reply.Start && who.Stopped.Bool)
	var q sqlx.QueryerContext = s.db
	var tx *sqlx.Tx
	if acts {
		if tx, err = s.db.BeginTxx(ctx, nil); err != nil {
			return Received{}, fmt.Errorf("receive text: %w", err)
		}
		defer tx.Rollback()
		q = tx
		write = tx.StmtxContext(ctx, write)
	}
	err = write.QueryRowxContext(ctx, in.From, who.ContactID, in.SID, in.Body,
		who.CampaignID, who.OutboxID, string(r.Keyword), r.LikelyOptOut, r.PollAnswer, r.PollUnclear, in.RawBody).
		Scan(&r.MessageID, &r.ConversationID)
	if err != nil {
		return Received{}, fmt.Errorf("receive text: %w", err)
	}
	if acts && r.MessageID != 0 {
		src := consent.Source{Name: "SMS " + strings.ToUpper(string(r.Keyword)) + " (" + in.SID + ")"}
		points := []int64{who.PointID.Int64}
		if r.Keyword == reply.Stop {
			_, err = consent.Stop(ctx, q, points, src)
		} else {
			_, err = consent.Start(ctx, q, points, src)
		}
		if err != nil {
			return Received{}, fmt.Errorf("receive text: %w", err)
		}
	}
	if tx != nil {
		if err := tx.Commit(); err != nil {
			return Received{}, fmt.Errorf("receive text: %w", err)
		}
	}
	if r.MessageID == 0 {
		r.Duplicate = true
		if err := s.db.GetContext(ctx, &r.MessageID, `SELECT id FROM sms_messages WHERE provider_sid = $1`, in.SID); err != nil {
			return Received{}, fmt.Errorf("receive text: %w", err)
		}
	}
	r.Reply = s.answer(ctx, r, in.OptOutType != "" && r.Keyword != reply.NoKeyword)
	return r, nil
}

// answer is the automatic reply to a text, if one applies. When Twilio's opt-out
// handling already answered a keyword (it sent OptOutType), Crier stays quiet rather
// than text the resident twice.
func (s *Store) answer(ctx context.Context, r Received, twilioAnswered bool) string {
	w := s.wordsFor(r.Language)
	switch r.Keyword {
	case reply.Stop:
		if twilioAnswered {
			return ""
		}
		return w.stopped
	case reply.Start:
		if twilioAnswered {
			return ""
		}
		return w.started
	case reply.Help:
		if twilioAnswered {
			return ""
		}
		return w.help
	}
	if r.PollAnswer != "" {
		if p, _ := s.pollOf(ctx, r.CampaignID); p != nil {
			for _, o := range p.Options {
				if strings.EqualFold(o.Key, r.PollAnswer) {
					return w.counted + o.Label + "."
				}
			}
		}
	}
	return ""
}

// pollOf returns a campaign's poll (nil if none), cached.
func (s *Store) pollOf(ctx context.Context, campaignID int64) (*reply.Poll, error) {
	if campaignID == 0 {
		return nil, nil
	}
	s.mu.Lock()
	p, ok := s.polls[campaignID]
	s.mu.Unlock()
	if ok {
		return p, nil
	}
	var raw sql.NullString
	if err := s.db.GetContext(ctx, &raw, `SELECT poll::text FROM campaigns WHERE id = $1`, campaignID); err != nil {
		return nil, fmt.Errorf("campaign %d poll: %w", campaignID, err)
	}
	if raw.Valid {
		p = new(reply.Poll)
		if err := json.Unmarshal([]byte(raw.String), p); err != nil {
			return nil, fmt.Errorf("campaign %d poll: %w", campaignID, err)
		}
	}
	s.mu.Lock()
	s.polls[campaignID] = p
	s.mu.Unlock()
	return p, nil
}

// Conversation is one resident's thread, as the inbox lists it.
type Conversation struct {
	ID            int64     `db:"id"`
	Phone         string    `db:"phone"`
	ContactID     *int64    `db:"contact_id"`
	Name          string    `db:"name"` // "" for an unknown number
	AssignedTo    string    `db:"assigned_to"`
	Unread        int       `db:"unread"`
	LastMessageAt time.Time `db:"last_message_at"`
	LastBody      string    `db:"last_body"`
	CampaignName  string    `db:"campaign_name"` // the campaign the latest text answers
	Flags         string    `db:"flags"`         // "likely opt-out", "unclear poll answer", "STOP", ...
}

// Filter narrows List, and says which page of it, sorted how.
type Filter struct {
	Unread     bool
	AssignedTo string // "" any; "-" unassigned
	CampaignID int64
	Flagged    bool   // likely opt-outs and unclear poll answers
	Sort       string // one of ListSorts; "" is "received", latest first
	Desc       bool
	Limit      int // 0: 100
	Offset     int
}

// ListSorts are the keys List can sort by: received (the latest text's time), from (the
// resident's name; unknown numbers last), unread (how many texts are unread) and
// campaign (the name of the campaign the latest text answers).
var ListSorts = []string{"received", "from", "unread", "campaign"}

// listOrders is the ORDER BY of each sort key, ascending and descending: fixed text
// chosen by key, never built from the request. (ORDER BY takes an output column's
// name only on its own, so the expressions are written out.)
var listOrders = map[string][2]string{
	"received": {`cv.last_message_at, cv.id`, `cv.last_message_at DESC, cv.id DESC`},
	"from": {`coalesce(trim(c.first_name || ' ' || c.last_name), '') = '', lower(trim(c.first_name || ' ' || c.last_name)), cv.id`,
		`coalesce(trim(c.first_name || ' ' || c.last_name), '') = '', lower(trim(c.first_name || ' ' || c.last_name)) DESC, cv.id DESC`},
	"unread": {`unread, cv.last_message_at DESC, cv.id DESC`, `unread DESC, cv.last_message_at DESC, cv.id DESC`},
	"campaign": {`cp.name IS NULL, lower(cp.name), cv.last_message_at DESC, cv.id DESC`,
		`cp.name IS NULL, lower(cp.name) DESC, cv.last_message_at DESC, cv.id DESC`},
}

// ErrUnknownSort is returned by List asked to sort by a key not in ListSorts.
var ErrUnknownSort = errors.New("unknown sort key")

// listWhere is List's and Count's filter, $1 to $4.
const listWhere = `
		 WHERE ($1 = false OR EXISTS (SELECT 1 FROM sms_messages m WHERE m.conversation_id = cv.id AND m.direction = 'in' AND m.read_at IS NULL))
		   AND ($2 = '' OR ($2 = '-' AND cv.assigned_to = '') OR cv.assigned_to = $2)
		   AND ($3 = 0 OR EXISTS (SELECT 1 FROM sms_messages m WHERE m.conversation_id = cv.id AND m.campaign_id = $3))
		   AND ($4 = false OR EXISTS (SELECT 1 FROM sms_messages m WHERE m.conversation_id = cv.id
		                               AND (m.likely_opt_out OR m.poll_unclear) AND m.read_at IS NULL))`

const listSQL = `
		SELECT cv.id, cv.phone, cv.contact_id, coalesce(trim(c.first_name || ' ' || c.last_name), '') AS name,
		       cv.assigned_to, cv.last_message_at,
		       (SELECT count(*) FROM sms_messages m WHERE m.conversation_id = cv.id AND m.direction = 'in' AND m.read_at IS NULL) AS unread,
		       coalesce(last.body, '') AS last_body, coalesce(cp.name, '') AS campaign_name,
		       concat_ws(', ', CASE WHEN last.keyword <> '' THEN upper(last.keyword) END,
		                 CASE WHEN last.likely_opt_out THEN 'likely opt-out' END,
		                 CASE WHEN last.poll_unclear THEN 'unclear poll answer' END,
		                 CASE WHEN last.poll_answer <> '' THEN 'poll answer ' || last.poll_answer END) AS flags
		  FROM conversations cv
		  LEFT JOIN contacts c ON c.id = cv.contact_id
		  LEFT JOIN LATERAL (SELECT * FROM sms_messages m WHERE m.conversation_id = cv.id AND m.direction = 'in'
		                      ORDER BY m.at DESC, m.id DESC LIMIT 1) last ON true
		  LEFT JOIN campaigns cp ON cp.id = last.campaign_id` + listWhere + `
		 ORDER BY `

// List returns one page of the conversations f asks for, latest first unless f.Sort says
// otherwise; a sort key not in ListSorts is an error wrapping ErrUnknownSort.
func (s *Store) List(ctx context.Context, f Filter) ([]Conversation, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Sort == "" {
		f.Sort, f.Desc = "received", true
	}
	order, ok := listOrders[f.Sort]
	if !ok {
		return nil, fmt.Errorf("list conversations by %q: %w", f.Sort, ErrUnknownSort)
	}
	by := order[0]
	if f.Desc {
		by = order[1]
	}
	out := []Conversation{}
	err := s.db.SelectContext(ctx, &out, listSQL+by+` LIMIT $5 OFFSET $6`,
		f.Unread, f.AssignedTo, f.CampaignID, f.Flagged, f.Limit, max(f.Offset, 0))
	if err != nil {
		return nil, fmt.Errorf("list conversations: %w", err)
	}
	return out, nil
}

// Count returns how many conversations f's filters find (its sort and page are ignored).
func (s *Store) Count(ctx context.Context, f Filter) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT count(*) FROM conversations cv`+listWhere,
		f.Unread, f.AssignedTo, f.CampaignID, f.Flagged); err != nil {
		return 0, fmt.Errorf("count conversations: %w", err)
	}
	return n, nil
}

// Assignees returns the names of the officers who have conversations assigned, A to Z.
func (s *Store) Assignees(ctx context.Context) ([]string, error) {
	var out []string
	if err := s.db.SelectContext(ctx, &out, `SELECT DISTINCT assigned_to FROM conversations
		WHERE assigned_to <> '' ORDER BY assigned_to`); err != nil {
		return nil, fmt.Errorf("list assignees: %w", err)
	}
	return out, nil
}

// CampaignRef names a campaign residents have answered.
type CampaignRef struct {
	ID   int64  `db:"id"`
	Name string `db:"name"`
}

// AnsweredCampaigns returns the campaigns residents' texts answer, newest first.
func (s *Store) AnsweredCampaigns(ctx context.Context) ([]CampaignRef, error) {
	var out []CampaignRef
	if err := s.db.SelectContext(ctx, &out, `SELECT cp.id, cp.name FROM campaigns cp
		WHERE cp.id IN (SELECT m.campaign_id FROM sms_messages m WHERE m.direction = 'in' AND m.campaign_id IS NOT NULL)
		ORDER BY cp.id DESC`); err != nil {
		return nil, fmt.Errorf("list answered campaigns: %w", err)
	}
	return out, nil
}

// Message is one text in a conversation.
type Message struct {
	ID           int64          `db:"id"`
	Direction    string         `db:"direction"` // in | out
	Body         string         `db:"body"`
	At           time.Time      `db:"at"`
	CampaignID   *int64         `db:"campaign_id"`
	CampaignName string         `db:"campaign_name"`
	Keyword      string         `db:"keyword"`
	LikelyOptOut bool           `db:"likely_opt_out"`
	PollAnswer   string         `db:"poll_answer"`
	PollUnclear  bool           `db:"poll_unclear"`
	Tags         pq.StringArray `db:"tags"`
	SentBy       string         `db:"sent_by"`
	Status       string         `db:"status"`
	StatusReason string         `db:"status_reason"`
	ReadAt       *time.Time     `db:"read_at"`
}

// Get returns a conversation and its texts, oldest first. With markRead, the resident's
// texts are marked read (an officer has now seen them).
func (s *Store) Get(ctx context.Context, id int64, markRead bool) (*Conversation, []Message, error) {
	convs := []Conversation{}
	err := s.db.SelectContext(ctx, &convs, `
		SELECT cv.id, cv.phone, cv.contact_id, coalesce(trim(c.first_name || ' ' || c.last_name), '') AS name,
		       cv.assigned_to, cv.last_message_at, 0 AS unread, '' AS last_body, '' AS campaign_name, '' AS flags
		  FROM conversations cv LEFT JOIN contacts c ON c.id = cv.contact_id WHERE cv.id = $1`, id)
	if err != nil {
		return nil, nil, fmt.Errorf("conversation %d: %w", id, err)
	}
	if len(convs) == 0 {
		return nil, nil, fmt.Errorf("conversation %d: %w", id, ErrNotFound)
	}
	var msgs []Message
	if err := s.db.SelectContext(ctx, &msgs, `
		SELECT m.id, m.direction, m.body, m.at, m.campaign_id, coalesce(cp.name, '') AS campaign_name, m.keyword,
		       m.likely_opt_out, m.poll_answer, m.poll_unclear, m.tags, m.sent_by, m.status, m.status_reason, m.read_at
		  FROM sms_messages m LEFT JOIN campaigns cp ON cp.id = m.campaign_id
		 WHERE m.conversation_id = $1 ORDER BY m.at, m.id`, id); err != nil {
		return nil, nil, fmt.Errorf("conversation %d: %w", id, err)
	}
	if markRead {
		if _, err := s.db.ExecContext(ctx, `UPDATE sms_messages SET read_at = now()
			WHERE conversation_id = $1 AND direction = 'in' AND read_at IS NULL`, id); err != nil {
			return nil, nil, fmt.Errorf("mark conversation %d read: %w", id, err)
		}
	}
	return &convs[0], msgs, nil
}

// Assign gives a conversation to an officer ("" to nobody).
func (s *Store) Assign(ctx context.Context, id int64, officer string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE conversations SET assigned_to = $2 WHERE id = $1`, id, strings.TrimSpace(officer))
	if err != nil {
		return fmt.Errorf("assign conversation %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("conversation %d: %w", id, ErrNotFound)
	}
	return nil
}

// Tag adds (or with remove, removes) tags on one of a resident's texts. Tags are kept
// as written, trimmed; the same tag twice is kept once.
func (s *Store) Tag(ctx context.Context, messageID int64, tags []string, remove bool) ([]string, error) {
	var clean []string
	for _, t := range tags {
		if t = strings.TrimSpace(t); t != "" {
			clean = append(clean, t)
		}
	}
	if len(clean) == 0 {
		return nil, errors.New("tag: give at least one tag, such as \"needs follow-up\"")
	}
	q := `UPDATE sms_messages SET tags = ARRAY(SELECT DISTINCT unnest(tags || $2::text[]) ORDER BY 1)
	       WHERE id = $1 AND direction = 'in' RETURNING tags`
	if remove {
		q = `UPDATE sms_messages SET tags = ARRAY(SELECT unnest(tags) EXCEPT SELECT unnest($2::text[]) ORDER BY 1)
	          WHERE id = $1 AND direction = 'in' RETURNING tags`
	}
	var out pq.StringArray
	err := s.db.GetContext(ctx, &out, q, messageID, pq.Array(clean))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("text %d (a resident's text): %w", messageID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("tag text %d: %w", messageID, err)
	}
	return out, nil
}

// ErrOptedOut: the resident texted STOP, so no reply can be sent until they text START.
var ErrOptedOut = errors.New("the resident texted STOP: no texts can go to them until they text START")

// Reply texts an officer's answer back to the resident of a conversation through the
// SMS sender. The reply is recorded as "sending" before it leaves, then as sent (with the
// provider's SID, so delivery callbacks reach it) or failed: a crash between the two
// leaves it visibly "sending", never silently lost or sent twice.
func (s *Store) Reply(ctx context.Context, conversationID int64, officer, body string) (Message, error) {
	body = strings.TrimSpace(body)
	if body == "" {
		return Message{}, errors.New("reply: the text is empty")
	}
	if s.sender == nil {
		return Message{}, errors.New("reply: no SMS provider is configured (CRIER_TWILIO_ACCOUNT_SID, CRIER_TWILIO_AUTH_TOKEN, CRIER_TWILIO_FROM)")
	}
	var conv struct {
		Phone     string        `db:"phone"`
		ContactID sql.NullInt64 `db:"contact_id"`
		Keyword   string        `db:"keyword"`
	}
	err := s.db.GetContext(ctx, &conv, `
		SELECT cv.phone, cv.contact_id,
		       coalesce((SELECT m.keyword FROM sms_messages m WHERE m.conversation_id = cv.id AND m.keyword IN ('stop', 'start')
		                  ORDER BY m.at DESC, m.id DESC LIMIT 1), '') AS keyword
		  FROM conversations cv WHERE cv.id = $1`, conversationID)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, fmt.Errorf("conversation %d: %w", conversationID, ErrNotFound)
	}
	if err != nil {
		return Message{}, fmt.Errorf("reply: %w", err)
	}
	if conv.Keyword == "stop" {
		return Message{}, ErrOptedOut
	}
	m := Message{Direction: "out", Body: body, SentBy: officer, Status: "sending"}
	if err := s.db.QueryRowxContext(ctx, `
		WITH ins AS (INSERT INTO sms_messages (conversation_id, direction, body, sent_by, status, read_at)
		             VALUES ($1, 'out', $2, $3, 'sending', now()) RETURNING id, at),
		bump AS (UPDATE conversations SET last_message_at = now() WHERE id = $1)
		SELECT id, at FROM ins`, conversationID, body, officer).Scan(&m.ID, &m.At); err != nil {
		return Message{}, fmt.Errorf("reply: %w", err)
	}
	rcpt, sendErr := s.sender.Send(ctx, dispatch.Message{Channel: dispatch.SMS, To: conv.Phone, Text: body,
		ContactID: conv.ContactID.Int64})
	// Record the outcome even if ctx has ended: the text may have left.
	dbctx := context.WithoutCancel(ctx)
	if sendErr != nil {
		m.Status, m.StatusReason = "failed", sendErr.Error()
		var se *dispatch.SendError
		if errors.As(sendErr, &se) {
			m.StatusReason = se.Error() // the classified form carries no personal data
		}
		if err := s.recordReplyFailed(dbctx, m.ID, conv.Phone, m.StatusReason, sendErr); err != nil {
			return m, errors.Join(sendErr, err)
		}
		return m, fmt.Errorf("reply not sent: %w", sendErr)
	}
	m.Status = "sent"
	if err := s.recordSent(dbctx, m.ID, rcpt.ProviderID); err != nil {
		return m, fmt.Errorf("reply sent (%s) but not recorded: %w", rcpt.ProviderID, err)
	}
	return m, nil
}

// recordReplyFailed records a reply the provider refused and what the refusal says of
// the number, as a campaign's send would: an opt-out at the provider (Twilio 21610) is
// the resident's STOP; a number the provider calls invalid or unable to take texts
// (21211, 21614) is marked so, which also stops its pending sends.
func (s *Store) recordReplyFailed(ctx context.Context, id int64, phone, reason string, sendErr error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `UPDATE sms_messages SET status = 'failed', status_reason = $2 WHERE id = $1`, id, reason); err != nil {
		return err
	}
	var se *dispatch.SendError
	point := func() (int64, error) {
		var p int64
		err := tx.GetContext(ctx, &p, `SELECT id FROM contact_points WHERE kind = 'phone' AND value = $1`, phone)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
		return p, err
	}
	switch {
	case errors.Is(sendErr, dispatch.ErrOptedOut):
		p, err := point()
		if err != nil {
			return err
		}
		if p != 0 {
			if _, err := consent.Stop(ctx, tx, []int64{p}, consent.Source{Name: "provider reports opt-out: " + reason}); err != nil {
				return err
			}
		}
	case errors.Is(sendErr, dispatch.ErrPermanent) && !(errors.As(sendErr, &se) && se.MessageOnly):
		if _, err := tx.ExecContext(ctx, `UPDATE contact_points SET status = 'invalid', status_reason = $2, updated_at = now()
			WHERE kind = 'phone' AND value = $1 AND status = 'active'`, phone, reason); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// recordSent stores a reply's SID and applies any status callback that beat it, holding
// the SID's lock as the outbox does (see outbox.lockSIDsSQL) so the two can't miss
// each other.
func (s *Store) recordSent(ctx context.Context, id int64, sid string) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(29571, hashtext($1))`, sid); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE sms_messages SET status = 'sent', provider_sid = $2,
		status_rank = greatest(status_rank, 1) WHERE id = $1`, id, sid); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `
		WITH ps AS (UPDATE provider_statuses SET applied = true WHERE provider_id = $2 AND NOT applied
		            RETURNING state, rank, reason)
		UPDATE sms_messages m SET status = ps.state, status_rank = ps.rank, status_reason = ps.reason
		  FROM ps WHERE m.id = $1 AND m.status_rank < ps.rank`, id, sid); err != nil {
		return err
	}
	return tx.Commit()
}

// PollCount is one option's tally.
type PollCount struct {
	Key   string
	Label string
	Count int // residents whose latest clear answer it is
}

// PollResults tallies a campaign's poll: each resident's latest clear answer counts
// once. Unclear is how many residents answered but never clearly (an officer reads
// those in the inbox).
type PollResults struct {
	CampaignID int64
	Question   string
	Counts     []PollCount
	Unclear    int
	Total      int // residents with a clear answer
}

// Poll tallies campaignID's poll.
func (s *Store) Poll(ctx context.Context, campaignID int64) (*PollResults, error) {
	p, err := s.pollOf(ctx, campaignID)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("campaign %d has no poll", campaignID)
	}
	var rows []struct {
		Answer string `db:"poll_answer"`
		N      int    `db:"n"`
	}
	if err := s.db.SelectContext(ctx, &rows, `
		WITH latest AS (
		    SELECT DISTINCT ON (conversation_id) conversation_id, poll_answer FROM sms_messages
		     WHERE campaign_id = $1 AND direction = 'in' AND poll_answer <> ''
		     ORDER BY conversation_id, at DESC, id DESC)
		SELECT poll_answer, count(*) AS n FROM latest GROUP BY poll_answer
		UNION ALL
		SELECT '', count(DISTINCT conversation_id) FROM sms_messages m
		 WHERE campaign_id = $1 AND direction = 'in' AND poll_unclear
		   AND NOT EXISTS (SELECT 1 FROM sms_messages a WHERE a.conversation_id = m.conversation_id
		                    AND a.campaign_id = $1 AND a.poll_answer <> '')`, campaignID); err != nil {
		return nil, fmt.Errorf("poll results for campaign %d: %w", campaignID, err)
	}
	res := &PollResults{CampaignID: campaignID, Question: p.Question}
	byKey := map[string]int{}
	for _, r := range rows {
		if r.Answer == "" {
			res.Unclear = r.N
			continue
		}
		byKey[r.Answer] = r.N
		res.Total += r.N
	}
	for _, o := range p.Options {
		n := byKey[strings.ToUpper(o.Key)]
		res.Counts = append(res.Counts, PollCount{Key: o.Key, Label: o.Label, Count: n})
	}
	return res, nil
}
