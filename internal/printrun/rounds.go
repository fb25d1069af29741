package printrun

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/leaflet"
	"github.com/crierhq/crier/internal/rounds"
)

// RoundInfo is one round as volunteers and officers list it.
type RoundInfo struct {
	ID           int64          `db:"id"`
	PrintRunID   int64          `db:"print_run_id"`
	CampaignID   int64          `db:"campaign_id"`
	CampaignName string         `db:"campaign_name"`
	Name         string         `db:"name"`
	Streets      pq.StringArray `db:"streets"`
	Volunteer    string         `db:"volunteer"`
	State        string         `db:"state"`
	Doors        int            `db:"doors"`
	Delivered    int            `db:"delivered"`
	NotDelivered int            `db:"not_delivered"`
	Skipped      int            `db:"skipped"`
	Pending      int            `db:"pending"`
	VolunteerID  *int64         `db:"volunteer_user_id"`
	Dir          string         `db:"out_dir"`
	Files        pq.StringArray `db:"files"`
	AssignedAt   *time.Time     `db:"assigned_at"`
	CompletedAt  *time.Time     `db:"completed_at"`
	PrintedAt    time.Time      `db:"printed_at"` // when its print run was made
}

// ToDeliver is how many of the round's doors take a leaflet (those not to deliver to
// left out).
func (r *RoundInfo) ToDeliver() int { return r.Doors - r.Skipped }

// Percent is how much of the round is walked: doors reported, of those to deliver to.
func (r *RoundInfo) Percent() int {
	if r.ToDeliver() <= 0 {
		return 100
	}
	return (r.Delivered + r.NotDelivered) * 100 / r.ToDeliver()
}

// Rounds lists rounds, newest print run first; campaignID 0 means every campaign.
func (s *Store) Rounds(ctx context.Context, campaignID int64) ([]RoundInfo, error) {
	return s.RoundsFor(ctx, RoundFilter{CampaignID: campaignID})
}

// RoundFilter narrows RoundsFor; zero fields don't filter.
type RoundFilter struct {
	CampaignID  int64
	VolunteerID int64 // a volunteer's account: "My rounds"
	RoundID     int64
}

// roundInfoSQL selects RoundInfo's columns, each round's doors counted by state; the
// caller adds its WHERE and GROUP BY r.id, p.campaign_id, c.name, p.out_dir, p.created_at.
const roundInfoSQL = `
SELECT r.id, r.print_run_id, p.campaign_id, c.name AS campaign_name, r.name, r.streets, r.volunteer, r.state,
       r.assigned_at, r.completed_at, r.volunteer_user_id, p.out_dir, r.files, p.created_at AS printed_at,
       count(st.id) AS doors,
       count(st.id) FILTER (WHERE st.state = 'delivered') AS delivered,
       count(st.id) FILTER (WHERE st.state = 'not_delivered') AS not_delivered,
       count(st.id) FILTER (WHERE st.state = 'skipped') AS skipped,
       count(st.id) FILTER (WHERE st.state = 'pending') AS pending
  FROM rounds r JOIN print_runs p ON p.id = r.print_run_id JOIN campaigns c ON c.id = p.campaign_id
  LEFT JOIN round_stops st ON st.round_id = r.id`

// RoundsFor lists the rounds f selects.
func (s *Store) RoundsFor(ctx context.Context, f RoundFilter) ([]RoundInfo, error) {
	var out []RoundInfo
	err := s.db.SelectContext(ctx, &out, roundInfoSQL+`
		 WHERE ($1 = 0 OR p.campaign_id = $1) AND ($2 = 0 OR r.volunteer_user_id = $2) AND ($3 = 0 OR r.id = $3)
		 GROUP BY r.id, p.campaign_id, c.name, p.out_dir, p.created_at
		 ORDER BY r.print_run_id DESC, r.id`, f.CampaignID, f.VolunteerID, f.RoundID)
	if err != nil {
		return nil, fmt.Errorf("list rounds: %w", err)
	}
	return out, nil
}

// StopInfo is one door of a round.
type StopInfo struct {
	Seq        int
	Address    string // one line, as on the round sheet: "Flat 2, The Old Rectory, Church Lane, Millbrook, MB1 2AB"
	Door       string // the address up to its street: "Flat 2, The Old Rectory, Church Lane"
	Place      string // the rest: "Millbrook, MB1 2AB"
	Notes      string // the address's delivery notes
	LargePrint bool   // a resident there reads large print: their leaflet is the large-print one
	State      string
	Reason     string
}

// Stops lists a round's doors in walking order.
func (s *Store) Stops(ctx context.Context, roundID int64) ([]StopInfo, error) {
	var rows []struct {
		Seq         int    `db:"seq"`
		Flat        string `db:"flat"`
		HouseNumber string `db:"house_number"`
		Street      string `db:"street"`
		Town        string `db:"town"`
		Postcode    string `db:"postcode"`
		Notes       string `db:"notes"`
		LargePrint  bool   `db:"large_print"`
		State       string `db:"state"`
		Reason      string `db:"reason"`
	}
	err := s.db.SelectContext(ctx, &rows, `
		SELECT st.seq, a.flat, a.house_number, a.street, a.town, a.postcode, a.delivery_notes AS notes,
		       st.large_print, st.state, st.reason
		  FROM round_stops st JOIN addresses a ON a.id = st.address_id
		 WHERE st.round_id = $1 ORDER BY st.seq`, roundID)
	if err != nil {
		return nil, fmt.Errorf("round %d: %w", roundID, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("round %d: %w", roundID, ErrNotFound)
	}
	out := make([]StopInfo, len(rows))
	for i, r := range rows {
		a := rounds.Address{Flat: r.Flat, HouseNumber: r.HouseNumber, Street: r.Street, Town: r.Town, Postcode: r.Postcode}
		lines := addressLines(a)
		place := 1 // the postcode
		if a.Town != "" {
			place = 2
		}
		out[i] = StopInfo{Seq: r.Seq, Address: strings.Join(lines, ", "), Door: strings.Join(lines[:len(lines)-place], ", "),
			Place: strings.Join(lines[len(lines)-place:], ", "), Notes: r.Notes, LargePrint: r.LargePrint, State: r.State, Reason: r.Reason}
	}
	return out, nil
}

// Assign gives a round to a volunteer: an enabled volunteer account, named by its email
// address or, when no other account has that name, by its name. The volunteer then sees
// the round in "My rounds" on the web. Anyone else is refused (ErrInvalid) with what to
// do instead: a round given to a name nobody can sign in as would never be walked.
func (s *Store) Assign(ctx context.Context, roundID int64, volunteer string) error {
	volunteer = strings.TrimSpace(volunteer)
	if volunteer == "" {
		return fmt.Errorf("%w: name the volunteer", ErrInvalid)
	}
	var found []struct {
		ID       int64  `db:"id"`
		Email    string `db:"email"`
		Name     string `db:"name"`
		Role     string `db:"role"`
		Disabled bool   `db:"disabled"`
	}
	if err := s.db.SelectContext(ctx, &found, `
		SELECT id, email, name, role, disabled FROM users
		 WHERE lower(email) = lower($1) OR lower(name) = lower($1)
		 ORDER BY lower(email) = lower($1) DESC, id`, volunteer); err != nil {
		return fmt.Errorf("assign round %d: %w", roundID, err)
	}
	if len(found) > 1 && strings.EqualFold(found[0].Email, volunteer) {
		found = found[:1] // an email address names one account
	}
	switch {
	case len(found) == 0:
		return fmt.Errorf("%w: no account is called or has the email %q: rounds go to volunteers' accounts; add one with crier user add EMAIL --role volunteer --name NAME, or see crier user list", ErrInvalid, volunteer)
	case len(found) > 1:
		emails := make([]string, len(found))
		for i, f := range found {
			emails[i] = f.Email
		}
		return fmt.Errorf("%w: %d accounts are called %q: name the volunteer by email (%s)", ErrInvalid, len(found), volunteer, strings.Join(emails, ", "))
	case found[0].Disabled:
		return fmt.Errorf("%w: the account %s is disabled: enable it (crier user enable) or choose another volunteer", ErrInvalid, found[0].Email)
	case found[0].Role != "volunteer":
		return fmt.Errorf("%w: %s is an %s's account, not a volunteer's: rounds go to volunteers", ErrInvalid, found[0].Email, found[0].Role)
	}
	u := found[0]
	name := u.Name
	if name == "" {
		name = u.Email
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `
		UPDATE rounds SET volunteer = $2, volunteer_user_id = $3, assigned_at = now(),
		       state = CASE WHEN state = 'done' THEN state ELSE 'assigned' END
		 WHERE id = $1`, roundID, name, u.ID)
	if err != nil {
		return fmt.Errorf("assign round %d: %w", roundID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("round %d: %w", roundID, ErrNotFound)
	}
	if err := audit.Pending(ctx, tx, audit.ID(roundID), map[string]any{"volunteer_user_id": u.ID}); err != nil {
		return fmt.Errorf("assign round %d: %w", roundID, err)
	}
	return tx.Commit()
}

// Delivery is what a volunteer reports for a round.
type Delivery struct {
	RoundID int64
	Seqs    []int  // the doors (by number on the round sheet); none: every door still pending
	Failed  bool   // could not deliver
	Reason  string // why not (required when Failed): "no letterbox", "access gate locked"
	Actor   string // who reports it
	// Expect, when not 0, is how many doors the volunteer was told the report covers
	// ("mark the rest delivered: 12 doors"): a report that would cover another number
	// (a door reported meanwhile from another phone) records nothing and returns
	// ErrChanged.
	Expect int
}

// ErrChanged: the round changed since the volunteer saw it; nothing was recorded.
var ErrChanged = errors.New("the round has changed")

// Deliver records a volunteer's report: doors delivered or not, and the post messages
// behind them delivered or failed, each with an event. A door already reported is
// changed only by a new report for that door (a correction). The round is done when no
// door is pending.
func (s *Store) Deliver(ctx context.Context, d Delivery) (int, error) {
	if d.Failed && strings.TrimSpace(d.Reason) == "" {
		return 0, fmt.Errorf("%w: say why the leaflet could not be delivered (--reason)", ErrInvalid)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var volunteer string
	if err := tx.GetContext(ctx, &volunteer, `SELECT volunteer FROM rounds WHERE id = $1 FOR UPDATE`, d.RoundID); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("round %d: %w", d.RoundID, ErrNotFound)
		}
		return 0, err
	}
	state, outState, event := "delivered", "delivered", "delivered"
	if d.Failed {
		state, outState, event = "not_delivered", "failed", "not delivered"
	}
	who := d.Actor
	if volunteer != "" {
		who = volunteer
	}
	detail := fmt.Sprintf("round %d by %s", d.RoundID, who)
	reason := ""
	if d.Failed {
		reason = "could not deliver: " + strings.TrimSpace(d.Reason)
		detail += ": " + reason
	}
	var n int
	if len(d.Seqs) > 0 {
		var known int
		if err := tx.GetContext(ctx, &known, `SELECT count(*) FROM round_stops WHERE round_id = $1 AND seq = ANY($2) AND state <> 'skipped'`,
			d.RoundID, pq.Array(d.Seqs)); err != nil {
			return 0, err
		}
		if known != len(uniqueInts(d.Seqs)) {
			return 0, fmt.Errorf("%w: round %d has no door numbered %s to deliver to (see crier rounds show %d)", ErrInvalid, d.RoundID, intsList(d.Seqs), d.RoundID)
		}
	}
	err = tx.GetContext(ctx, &n, `
		WITH st AS (
		    UPDATE round_stops SET state = $3, reason = $4, updated_at = now()
		     WHERE round_id = $1 AND state <> 'skipped'
		       AND (coalesce(cardinality($2::int[]), 0) = 0 AND state = 'pending' OR seq = ANY($2))
		 RETURNING outbox_ids),
		ob AS (
		    UPDATE outbox o SET state = $5, reason = $4, updated_at = now()
		      FROM (SELECT unnest(outbox_ids) AS id FROM st) x
		     WHERE o.id = x.id AND o.state IN ('sent', 'delivered', 'failed')
		 RETURNING o.id),
		ev AS (INSERT INTO message_events (outbox_id, event, detail) SELECT id, $6, $7 FROM ob)
		SELECT count(*) FROM st`,
		d.RoundID, pq.Array(d.Seqs), state, reason, outState, event, detail)
	if err != nil {
		return 0, fmt.Errorf("record delivery: %w", err)
	}
	if d.Expect != 0 && n != d.Expect {
		return 0, fmt.Errorf("round %d: %w: %d doors, not %d", d.RoundID, ErrChanged, n, d.Expect)
	}
	entry := map[string]any{"doors": n, "outcome": state}
	if len(d.Seqs) == 1 {
		entry["door"] = d.Seqs[0]
	}
	if err := audit.Pending(ctx, tx, audit.ID(d.RoundID), entry); err != nil {
		return 0, fmt.Errorf("record delivery: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `
		UPDATE rounds SET state = 'done', completed_at = now()
		 WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM round_stops WHERE round_id = $1 AND state = 'pending')`, d.RoundID); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

func uniqueInts(v []int) map[int]bool {
	m := map[int]bool{}
	for _, x := range v {
		m[x] = true
	}
	return m
}

func intsList(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

// Sheet returns a round's sheet as it stands: its volunteer, and each door with its
// notes and, once reported, what happened there — for printing again after the round
// is assigned.
func (s *Store) Sheet(ctx context.Context, roundID int64) (leaflet.RoundSheet, error) {
	var r struct {
		Name      string         `db:"name"`
		Volunteer string         `db:"volunteer"`
		Campaign  string         `db:"campaign"`
		Streets   pq.StringArray `db:"streets"`
	}
	err := s.db.GetContext(ctx, &r, `SELECT r.name, r.volunteer, c.name AS campaign, r.streets
		FROM rounds r JOIN print_runs p ON p.id = r.print_run_id JOIN campaigns c ON c.id = p.campaign_id WHERE r.id = $1`, roundID)
	if errors.Is(err, sql.ErrNoRows) {
		return leaflet.RoundSheet{}, fmt.Errorf("round %d: %w", roundID, ErrNotFound)
	}
	if err != nil {
		return leaflet.RoundSheet{}, err
	}
	stops, err := s.Stops(ctx, roundID)
	if err != nil {
		return leaflet.RoundSheet{}, err
	}
	sheet := leaflet.RoundSheet{Round: r.Name, Volunteer: r.Volunteer, Campaign: r.Campaign, Streets: r.Streets}
	for _, st := range stops {
		// What happened first, then what the first sheet said: the large-print leaflet
		// and the address's own delivery notes.
		var parts []string
		switch st.State {
		case "skipped":
			parts = append(parts, st.Reason)
		case "delivered":
			parts = append(parts, "Delivered")
		case "not_delivered":
			parts = append(parts, "Not delivered: "+strings.TrimPrefix(st.Reason, "could not deliver: "))
		}
		if st.LargePrint && st.State != "skipped" {
			parts = append(parts, "LARGE PRINT leaflet")
		}
		if n := strings.TrimSpace(st.Notes); n != "" && (len(parts) == 0 || !strings.EqualFold(n, parts[0])) {
			parts = append(parts, strings.TrimSuffix(n, "."))
		}
		notes := ""
		if len(parts) > 0 {
			notes = strings.Join(parts, ". ") + "."
		}
		sheet.Stops = append(sheet.Stops, leaflet.Stop{Address: st.Address, Notes: notes, DoNotDeliver: st.State == "skipped"})
	}
	return sheet, nil
}
