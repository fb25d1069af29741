// Package audit keeps the audit log: who signed in, exported or imported contacts,
// moved a campaign, printed leaflets or changed an account, and when. The table is
// append-only (a trigger refuses UPDATE, DELETE and TRUNCATE). An entry names the
// officer who acted, and the subject by type and id; its detail holds ids and counts,
// never residents' personal data.
package audit

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// The actions recorded. An action is lower case words joined by "." and "_".
const (
	SignIn         = "auth.sign_in"
	SignInFailed   = "auth.sign_in_failed"
	SignOut        = "auth.sign_out"
	PasswordReset  = "auth.password_reset" // a reset link was used
	ContactsExport = "contacts.export"
	ContactsImport = "contacts.import"
	ConsentChanged = "consent.change"
	CampaignCreate = "campaign.create"
	CampaignSched  = "campaign.schedule"
	CampaignPause  = "campaign.pause"
	CampaignResume = "campaign.resume"
	CampaignCancel = "campaign.cancel"
	CampaignResend = "campaign.resend"
	CampaignUpdate = "campaign.update" // a draft's content changed
	CampaignCopy   = "campaign.duplicate"
	CampaignDelete = "campaign.delete"
	LeafletsPrint  = "leaflets.print"
	RoundAssign    = "round.assign"   // an officer gave a round to a volunteer
	RoundUnassign  = "round.unassign" // and took it back
	RoundDoor      = "round.door"     // a door reported delivered or not
	RoundRest      = "round.rest"     // the rest of a round's doors reported delivered
	UserAdd        = "user.add"
	UserPassword   = "user.password"
	UserDisable    = "user.disable"
	UserEnable     = "user.enable"
	UserRole       = "user.role"
	UserResetLink  = "user.reset_link"
	AuditExport    = "audit.export"
	SubjectAccess  = "contacts.subject_access" // everything held about one resident, exported (internal/rights)
	ContactErase   = "contacts.erase"          // a resident erased, their email and numbers suppressed
	Retention      = "rights.retention"        // old texts' words removed under the retention policy
	APITokenAdd    = "api_token.add"           // an API token made for an integration (internal/apitoken)
	APITokenRevoke = "api_token.revoke"
	// ContactBounced: an email address marked bounced after a bounce report (internal/bounce).
	ContactBounced = "contacts.bounced"
	// ContactComplaint: an email address's consent withdrawn after a spam complaint.
	ContactComplaint = "contacts.complaint"
)

// Actions lists the actions, for the admin page's filter.
var Actions = []string{SignIn, SignInFailed, SignOut, PasswordReset, ContactsExport, ContactsImport, ConsentChanged,
	CampaignCreate, CampaignSched, CampaignPause, CampaignResume, CampaignCancel, CampaignResend, LeafletsPrint,
	RoundAssign, RoundUnassign, RoundDoor, RoundRest, UserAdd, UserPassword, UserDisable, UserEnable, UserRole, UserResetLink, AuditExport,
	CampaignUpdate, CampaignCopy, CampaignDelete, SubjectAccess, ContactErase, Retention, APITokenAdd, APITokenRevoke,
	ContactBounced, ContactComplaint}

// ErrInvalid is an entry that can't be recorded as it is.
var ErrInvalid = errors.New("invalid audit entry")

// Entry is one line of the audit log.
type Entry struct {
	ID          int64     `db:"id"`
	At          time.Time `db:"at"`
	ActorID     *int64    `db:"actor_id"` // the account, for web actions
	Actor       string    `db:"actor"`    // the account's email then, or "cli:<os user>"
	Action      string    `db:"action"`
	SubjectType string    `db:"subject_type"` // "campaign", "user", "import", ...
	SubjectID   string    `db:"subject_id"`
	// Detail is stored as JSON: ids, counts, states — no resident's name, email,
	// phone or address.
	Detail map[string]any `db:"-"`
	Client string         `db:"client"` // the web client's address; empty from the CLI
}

// CLIActor is the actor of a command run as the operating system user user.
func CLIActor(user string) string { return "cli:" + user }

// ID formats an id for Entry.SubjectID.
func ID(id int64) string { return strconv.FormatInt(id, 10) }

// Record appends e to the log with q: the pool, or the transaction of the action it
// records, so that the action and its entry commit (or roll back) together.
func Record(ctx context.Context, q sqlx.ExecerContext, e Entry) error {
	if strings.TrimSpace(e.Actor) == "" || e.Action == "" {
		return fmt.Errorf("%w: an entry needs an actor and an action", ErrInvalid)
	}
	detail := []byte("{}")
	if len(e.Detail) > 0 {
		var err error
		if detail, err = json.Marshal(e.Detail); err != nil {
			return fmt.Errorf("audit detail: %w", err)
		}
	}
	_, err := q.ExecContext(ctx, `INSERT INTO audit_log (actor_id, actor, action, subject_type, subject_id, detail, client)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, e.ActorID, e.Actor, e.Action, e.SubjectType, e.SubjectID, detail, e.Client)
	if err != nil {
		return fmt.Errorf("record %s: %w", e.Action, err)
	}
	return nil
}

type pendingKey struct{}

// Within returns ctx carrying e, the entry for an action about to be taken. The store
// that takes the action records e in the action's own transaction (Pending), so the
// action and its entry commit, or roll back, together: no action unrecorded after a
// crash, no entry for an action that failed.
func Within(ctx context.Context, e Entry) context.Context {
	return context.WithValue(ctx, pendingKey{}, e)
}

// Pending records the entry ctx carries, if any (see Within), with q, the action's
// transaction. subjectID, when not empty, names what only the action knows (a new
// campaign's id); detail adds to the entry's detail (counts).
func Pending(ctx context.Context, q sqlx.ExecerContext, subjectID string, detail map[string]any) error {
	e, ok := ctx.Value(pendingKey{}).(Entry)
	if !ok {
		return nil
	}
	if subjectID != "" {
		e.SubjectID = subjectID
	}
	if len(detail) > 0 {
		merged := make(map[string]any, len(e.Detail)+len(detail))
		for k, v := range e.Detail {
			merged[k] = v
		}
		for k, v := range detail {
			merged[k] = v
		}
		e.Detail = merged
	}
	return Record(ctx, q, e)
}

// Filter selects entries, newest first.
type Filter struct {
	Action string    // exactly this action; empty for all
	Actor  string    // the actor contains this, any case; empty for all
	Since  time.Time // at or after; zero for all
	Before int64     // id below this (the next page); 0 for the newest
	Limit  int       // at most; 0 for all
}

// listSQL pages by id rather than OFFSET: ids only grow, and a page stays put while
// entries are added above it.
const listSQL = `
SELECT id, at, actor_id, actor, action, subject_type, subject_id, detail, client
  FROM audit_log
 WHERE ($1 = '' OR action = $1)
   AND ($2 = '' OR strpos(lower(actor), lower($2)) > 0)
   AND ($3::timestamptz IS NULL OR at >= $3)
   AND ($4 = 0 OR id < $4)
 ORDER BY id DESC
 LIMIT $5`

// List returns the entries f selects, newest first.
func List(ctx context.Context, q sqlx.QueryerContext, f Filter) ([]Entry, error) {
	var since *time.Time
	if !f.Since.IsZero() {
		since = &f.Since
	}
	var limit *int
	if f.Limit > 0 {
		limit = &f.Limit
	}
	rows, err := q.QueryxContext(ctx, listSQL, f.Action, f.Actor, since, f.Before, limit)
	if err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var detail []byte
		if err := rows.Scan(&e.ID, &e.At, &e.ActorID, &e.Actor, &e.Action, &e.SubjectType, &e.SubjectID, &detail, &e.Client); err != nil {
			return nil, fmt.Errorf("list audit log: %w", err)
		}
		if err := json.Unmarshal(detail, &e.Detail); err != nil {
			return nil, fmt.Errorf("list audit log: entry %d: %w", e.ID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit log: %w", err)
	}
	return out, nil
}

// DetailText is an entry's detail as "key=value" pairs in key order.
func (e Entry) DetailText() string {
	if len(e.Detail) == 0 {
		return ""
	}
	b, _ := json.Marshal(e.Detail) // keys sorted
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := string(m[k])
		if s, err := strconv.Unquote(v); err == nil {
			v = s
		}
		parts[i] = k + "=" + v
	}
	return strings.Join(parts, " ")
}

// WriteCSV writes entries as CSV with a header row, times in UTC (RFC 3339). A cell a
// spreadsheet could run as a formula gets a leading apostrophe, as contact exports do.
func WriteCSV(w io.Writer, entries []Entry) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "at", "actor_id", "actor", "action", "subject_type", "subject_id", "detail", "client"})
	for _, e := range entries {
		actorID := ""
		if e.ActorID != nil {
			actorID = strconv.FormatInt(*e.ActorID, 10)
		}
		detail := "{}"
		if len(e.Detail) > 0 {
			b, err := json.Marshal(e.Detail)
			if err != nil {
				return err
			}
			detail = string(b)
		}
		rec := []string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339), actorID, e.Actor, e.Action,
			e.SubjectType, e.SubjectID, detail, e.Client}
		for i, c := range rec {
			rec[i] = defuse(c)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// defuse keeps a spreadsheet from running a cell as a formula.
func defuse(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
