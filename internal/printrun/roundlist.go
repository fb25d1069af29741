package printrun

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/crierhq/crier/internal/audit"
)

// RoundQuery selects, orders and pages the officers' list of rounds. Zero fields don't
// filter.
type RoundQuery struct {
	CampaignID  int64
	VolunteerID int64  // rounds assigned to this account
	Unassigned  bool   // rounds assigned to nobody
	State       string // open (nobody has it yet), assigned, or done; "" for all
	Sort        string // a key of RoundSorts; "" is printed
	Desc        bool
	Limit       int // at most this many; 0 for all
	Offset      int
}

// RoundSorts are the orders the list of rounds offers, by key. Each ends with the
// round's id, so that a page never shuffles rounds that compare equal between requests.
// (Taken from this fixed map, never from the request: see STYLE.md §2.)
var RoundSorts = map[string]string{
	"printed":   "printed_at %[1]s, id %[1]s",
	"campaign":  "lower(campaign_name) %[1]s, printed_at DESC, id",
	"round":     "lower(name) %[1]s, id %[1]s",
	"volunteer": "volunteer = '' %[1]s, lower(volunteer) %[1]s, id",
	"todo":      "pending %[1]s, id",
	"progress":  "(delivered + not_delivered)::float8 / greatest(doors - skipped, 1) %[1]s, id",
}

// RoundStates are the states the list filters by.
var RoundStates = []string{"open", "assigned", "done"}

// ErrInvalidQuery: a sort or state the list doesn't offer.
var ErrInvalidQuery = fmt.Errorf("%w: no such sort or state", ErrInvalid)

// listRoundsSQL counts each round's doors once (rounds are small, a few hundred doors),
// then filters, orders and pages; the window count gives the total for the pager in the
// same pass. %s is an order from RoundSorts.
const listRoundsSQL = `
WITH r AS (
` + roundInfoSQL + `
     WHERE ($1 = 0 OR p.campaign_id = $1)
       AND ($2 = 0 OR r.volunteer_user_id = $2)
       AND (NOT $3 OR r.volunteer_user_id IS NULL AND r.volunteer = '')
       AND ($4 = '' OR r.state = $4)
     GROUP BY r.id, p.campaign_id, c.name, p.out_dir, p.created_at)
SELECT *, count(*) OVER () AS total FROM r
 ORDER BY %s
 LIMIT $5 OFFSET $6`

// RoundPage is one page of the list, and how many rounds the query selects in all.
type RoundPage struct {
	Rounds []RoundInfo
	Total  int
}

// ListRounds lists the rounds q selects, in its order, one page of them.
func (s *Store) ListRounds(ctx context.Context, q RoundQuery) (RoundPage, error) {
	order, ok := RoundSorts[q.Sort]
	if q.Sort == "" {
		order, ok = RoundSorts["printed"], true
		q.Desc = true // newest first, unless asked otherwise with a sort key
	}
	if !ok || q.State != "" && !containsStr(RoundStates, q.State) {
		return RoundPage{}, ErrInvalidQuery
	}
	dir := "ASC"
	if q.Desc {
		dir = "DESC"
	}
	limit := sql.NullInt64{Int64: int64(q.Limit), Valid: q.Limit > 0}
	var rows []struct {
		RoundInfo
		Total int `db:"total"`
	}
	query := fmt.Sprintf(listRoundsSQL, fmt.Sprintf(order, dir))
	if err := s.db.SelectContext(ctx, &rows, query, q.CampaignID, q.VolunteerID, q.Unassigned, q.State, limit, max(q.Offset, 0)); err != nil {
		return RoundPage{}, fmt.Errorf("list rounds: %w", err)
	}
	var page RoundPage
	for _, r := range rows {
		page.Rounds = append(page.Rounds, r.RoundInfo)
		page.Total = r.Total
	}
	if len(rows) == 0 && q.Offset > 0 {
		// Past the last page: the total is still worth knowing.
		all := q
		all.Limit, all.Offset = 0, 0
		rest, err := s.ListRounds(ctx, all)
		if err != nil {
			return RoundPage{}, err
		}
		page.Total = len(rest.Rounds)
	}
	return page, nil
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Option is one choice of a filter: a campaign or a volunteer.
type Option struct {
	ID   int64  `db:"id"`
	Name string `db:"name"`
}

// RoundFilters lists what the rounds can be filtered by: the campaigns that have rounds,
// and the volunteers' accounts that have been given one.
func (s *Store) RoundFilters(ctx context.Context) (campaigns, volunteers []Option, err error) {
	if err := s.db.SelectContext(ctx, &campaigns, `SELECT DISTINCT c.id, c.name FROM campaigns c
		JOIN print_runs p ON p.campaign_id = c.id JOIN rounds r ON r.print_run_id = p.id ORDER BY c.name, c.id`); err != nil {
		return nil, nil, fmt.Errorf("round filters: %w", err)
	}
	if err := s.db.SelectContext(ctx, &volunteers, `SELECT DISTINCT u.id, coalesce(nullif(u.name, ''), u.email) AS name
		FROM users u JOIN rounds r ON r.volunteer_user_id = u.id ORDER BY name, u.id`); err != nil {
		return nil, nil, fmt.Errorf("round filters: %w", err)
	}
	return campaigns, volunteers, nil
}

// Volunteer is an account a round can be given to.
type Volunteer struct {
	ID    int64  `db:"id"`
	Email string `db:"email"`
	Name  string `db:"name"`
}

// Volunteers lists the accounts Assign accepts: enabled volunteers', by name.
func (s *Store) Volunteers(ctx context.Context) ([]Volunteer, error) {
	var out []Volunteer
	if err := s.db.SelectContext(ctx, &out, `SELECT id, email, name FROM users
		WHERE role = 'volunteer' AND NOT disabled ORDER BY lower(coalesce(nullif(name, ''), email)), id`); err != nil {
		return nil, fmt.Errorf("volunteers: %w", err)
	}
	return out, nil
}

// Unassign takes a round back from its volunteer: nobody has it until it is assigned
// again (a round already walked stays done). The audit entry ctx carries (audit.Within)
// is recorded with it.
func (s *Store) Unassign(ctx context.Context, roundID int64) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var was struct {
		Name   string `db:"volunteer"`
		UserID *int64 `db:"volunteer_user_id"`
	}
	err = tx.GetContext(ctx, &was, `
		WITH old AS (SELECT id, volunteer, volunteer_user_id FROM rounds WHERE id = $1 FOR UPDATE)
		UPDATE rounds r SET volunteer = '', volunteer_user_id = NULL, assigned_at = NULL,
		       state = CASE WHEN r.state = 'done' THEN r.state ELSE 'open' END
		  FROM old WHERE r.id = old.id RETURNING old.volunteer, old.volunteer_user_id`, roundID)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("round %d: %w", roundID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("unassign round %d: %w", roundID, err)
	}
	if strings.TrimSpace(was.Name) == "" && was.UserID == nil {
		return nil // nobody had it: nothing changed, nothing to record
	}
	detail := map[string]any{}
	if was.UserID != nil {
		detail["volunteer_user_id"] = *was.UserID
	}
	if err := audit.Pending(ctx, tx, audit.ID(roundID), detail); err != nil {
		return fmt.Errorf("unassign round %d: %w", roundID, err)
	}
	return tx.Commit()
}
