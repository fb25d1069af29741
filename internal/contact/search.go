package contact

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lib/pq"
)

// searchWords bounds the words of a name search.
const searchWords = 5

// SearchQuery is an officer's search for contacts, read as one kind of search.
type SearchQuery struct {
	Query  string // as searched: spaces folded, at most 100 characters
	Kind   string // "", name, email, phone, postcode
	Notice string // why the query can't find anybody as typed
	// Sort is one of SearchSorts, or "" for the kind of search's own order (names A to
	// Z; with no query, the newest first). Desc reverses it.
	Sort string
	Desc bool
	// Channel keeps the contacts with a working way to be reached: "email", "mobile" or
	// "post" (searchChannels); "" keeps everyone.
	Channel string
	where   string // SQL condition on contacts c, with $1... placeholders
	args    []any
	order   string
}

var (
	searchPhoneChars     = regexp.MustCompile(`^[0-9+()./\- ]+$`)
	searchPostcodePrefix = regexp.MustCompile(`^[A-Z]{1,2}[0-9][0-9A-Z]?( [0-9])?$`)
	searchSpaces         = regexp.MustCompile(`\s+`)
)

// ParseSearch decides what q is: an email address (or its start), a phone number, a
// postcode (whole, district "SW2" or sector "SW2 1"), or words of a name. Every kind
// but names is looked up through an index (names have none yet: a trigram index on
// them would make that search indexed too). The SQL is fixed text; q only ever reaches
// the database as a parameter.
func ParseSearch(q string) SearchQuery {
	q = strings.TrimSpace(searchSpaces.ReplaceAllString(q, " "))
	if utf8.RuneCountInString(q) > 100 {
		q = string([]rune(q)[:100])
	}
	s := SearchQuery{Query: q, order: "lower(c.last_name), lower(c.first_name), c.id"}
	digits := strings.IndexFunc(q, unicode.IsDigit) >= 0
	switch {
	case q == "":
		s.where, s.order = "true", "c.id DESC"
	case strings.Contains(q, "@"):
		// The email index is on lower(value) in the "C" collation; a prefix LIKE uses it.
		s.Kind = "email"
		s.where = `c.id IN (SELECT cp.contact_id FROM contact_points cp
			WHERE cp.kind = 'email' AND lower(cp.value) LIKE lower($1::text COLLATE "C") || '%')`
		s.args = []any{likeEscape(q)}
	case digits && searchPhoneChars.MatchString(q):
		s.Kind = "phone"
		p, err := NormalizePhone(q, "GB")
		if err != nil {
			s.Notice = "Type the whole phone number to find who has it: " + err.Error() + "."
			s.where = "false"
			break
		}
		s.where = `c.id IN (SELECT cp.contact_id FROM contact_points cp WHERE cp.kind = 'phone' AND cp.value = $1)`
		s.args = []any{p.E164}
	case digits:
		s.Kind = "postcode"
		if pc, err := NormalizePostcode(q); err == nil {
			s.where = `c.household_id IN (SELECT h.id FROM addresses a JOIN households h ON h.address_id = a.id
				WHERE a.postcode = $1)`
			s.args = []any{pc.Code}
			break
		}
		up := strings.ToUpper(q)
		if !searchPostcodePrefix.MatchString(up) {
			s.Notice = fmt.Sprintf("Search by name, email address, phone number or postcode: “%s” is none of these. A postcode can be whole (SW2 1RW), a district (SW2) or a sector (SW2 1).", q)
			s.where = "false"
			break
		}
		if !strings.Contains(up, " ") {
			up += " " // a district: "SW2" must not find SW20
		}
		s.where = `c.household_id IN (SELECT h.id FROM addresses a JOIN households h ON h.address_id = a.id
			WHERE a.postcode LIKE $1)`
		s.args = []any{up + "%"}
	default:
		// Every word must begin a word of the first name or surname ("ada love" finds Ada
		// Lovelace; "jones" finds Smith-Jones).
		s.Kind = "name"
		var conds []string
		words := strings.Fields(q)
		for i, w := range words[:min(len(words), searchWords)] {
			conds = append(conds, fmt.Sprintf(
				`(' ' || lower(c.first_name) || ' ' || lower(translate(c.last_name, '-', ' '))) LIKE '%% ' || lower($%d) || '%%'`, i+1))
			s.args = append(s.args, likeEscape(w))
		}
		s.where = strings.Join(conds, " AND ")
	}
	return s
}

// likeEscape makes s match itself literally in a LIKE pattern (backslash is the escape
// character).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// SearchHit is a contact found by Search, with the ways it can be reached.
type SearchHit struct {
	ID        int64     `db:"id"`
	FirstName string    `db:"first_name"`
	LastName  string    `db:"last_name"`
	Ward      string    `db:"ward"`
	CreatedAt time.Time `db:"created_at"`
	Points    []PointSummary
}

// PointSummary is what a search result shows of a contact point: its kind and status.
type PointSummary struct {
	ContactID int64   `db:"contact_id"`
	Kind      string  `db:"kind"`
	PhoneType *string `db:"phone_type"`
	Status    string  `db:"status"`
}

// SearchSorts are the keys a search can be sorted by: name (surname, then first name),
// ward, and added (when the contact was created).
var SearchSorts = []string{"name", "ward", "added"}

// searchOrders is the ORDER BY of each sort key, ascending and descending: fixed text
// chosen by key, never built from the request.
var searchOrders = map[string][2]string{
	"name":  {`lower(c.last_name), lower(c.first_name), c.id`, `lower(c.last_name) DESC, lower(c.first_name) DESC, c.id DESC`},
	"ward":  {`c.ward, lower(c.last_name), lower(c.first_name), c.id`, `c.ward DESC, lower(c.last_name), lower(c.first_name), c.id`},
	"added": {`c.created_at, c.id`, `c.created_at DESC, c.id DESC`},
}

// searchChannels are the channels a search can be narrowed to (SearchQuery.Channel), each the condition that
// a contact has a working contact point of that kind (fixed text, chosen by key).
var searchChannels = map[string]string{
	"email":  `EXISTS (SELECT 1 FROM contact_points f WHERE f.contact_id = c.id AND f.kind = 'email' AND f.status = 'active')`,
	"mobile": `EXISTS (SELECT 1 FROM contact_points f WHERE f.contact_id = c.id AND f.kind = 'phone' AND f.phone_type = 'mobile' AND f.status = 'active')`,
	"post":   `EXISTS (SELECT 1 FROM contact_points f WHERE f.contact_id = c.id AND f.kind = 'postal' AND f.status = 'active')`,
}

// ErrUnknownSort is returned by Search asked to sort by a key not in SearchSorts, or to
// narrow to a channel not in searchChannels.
var ErrUnknownSort = errors.New("unknown sort key or filter")

// searchSQL is ParseSearch's condition and order (fixed text chosen by the kind of
// query or the sort key, never the query itself) with the page's bounds as the last two
// parameters.
const searchSQL = `SELECT c.id, c.first_name, c.last_name, c.ward, c.created_at FROM contacts c
		WHERE %s ORDER BY %s LIMIT $%d OFFSET $%d`

const searchCountSQL = `SELECT count(*) FROM contacts c WHERE %s`

const searchPointsSQL = `SELECT contact_id, kind, phone_type, status FROM contact_points
		WHERE contact_id = ANY($1)
		ORDER BY contact_id, CASE kind WHEN 'email' THEN 1 WHEN 'phone' THEN 2 ELSE 3 END, phone_type = 'mobile' DESC, id`

// Search returns limit of the contacts q finds, from offset on, each with its contact
// points (email first, then phones, mobiles first, then post), and how many contacts it
// finds in all. A q.Sort not in SearchSorts, or a q.Channel not in searchChannels, is an
// error wrapping ErrUnknownSort.
func (s *Store) Search(ctx context.Context, q SearchQuery, limit, offset int) ([]SearchHit, int, error) {
	where, order := q.where, q.order
	if q.Sort != "" {
		o, ok := searchOrders[q.Sort]
		if !ok {
			return nil, 0, fmt.Errorf("search contacts by %q: %w", q.Sort, ErrUnknownSort)
		}
		order = o[0]
		if q.Desc {
			order = o[1]
		}
	} else if q.Desc {
		return nil, 0, fmt.Errorf("search contacts: the default order has no reverse: %w", ErrUnknownSort)
	}
	if q.Channel != "" {
		cond, ok := searchChannels[q.Channel]
		if !ok {
			return nil, 0, fmt.Errorf("search contacts on %q: %w", q.Channel, ErrUnknownSort)
		}
		where = "(" + where + ") AND " + cond
	}
	var total int
	if err := s.db.GetContext(ctx, &total, fmt.Sprintf(searchCountSQL, where), q.args...); err != nil {
		return nil, 0, fmt.Errorf("count contacts: %w", err)
	}
	n := len(q.args)
	query := fmt.Sprintf(searchSQL, where, order, n+1, n+2)
	args := append(slices.Clone(q.args), limit, max(offset, 0))
	hits := []SearchHit{}
	if err := s.db.SelectContext(ctx, &hits, query, args...); err != nil {
		return nil, 0, fmt.Errorf("search contacts: %w", err)
	}
	if len(hits) == 0 {
		return hits, total, nil
	}
	ids := make([]int64, len(hits))
	at := make(map[int64]int, len(hits))
	for i, h := range hits {
		ids[i], at[h.ID] = h.ID, i
	}
	var pts []PointSummary
	if err := s.db.SelectContext(ctx, &pts, searchPointsSQL, pq.Array(ids)); err != nil {
		return nil, 0, fmt.Errorf("search contacts: channels: %w", err)
	}
	for _, p := range pts {
		h := &hits[at[p.ContactID]]
		h.Points = append(h.Points, p)
	}
	return hits, total, nil
}
