package segment

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/consent"
)

// Purposes of a campaign (campaigns.purpose).
const (
	// PurposeService is a necessary, neutral notice: a channel counts while its contact
	// point is active and the person has not withdrawn consent for the topic on it (no
	// record at all is fine).
	PurposeService = "service"
	// PurposeMarketing needs consent (PECR): a channel counts only with a granted
	// current consent for the topic on an active contact point.
	PurposeMarketing = "marketing"
)

// Count is how many contacts a segment holds and how they can be reached for one topic
// and purpose.
type Count struct {
	Total            int // contacts matching the rules
	Email, SMS, Post int // reachable on each channel (a contact may count on several)
	PostOnly         int // reachable by post and neither email nor SMS
	Unreachable      int // reachable on no channel
	// Excluded says, for each rule of the purpose that removed a channel from someone,
	// how many contacts lost that channel to it; only rules that excluded somebody are
	// listed, in a fixed order. A contact can appear under several reasons.
	Excluded []Exclusion
}

// Exclusion is one reason contacts can't be reached on a channel, and how many.
type Exclusion struct {
	Reason   string
	Contacts int
}

// countChannel is a channel as Count sees it: which points serve it, and the words for
// its exclusions.
type countChannel struct {
	name  string // column prefix
	noun  string // "email", "mobile number", "postal address"
	label string // "email", "SMS", "post"
	cond  string // which contact points cp serve the channel
	extra string // a further condition for a point to be usable
}

var countChannels = []countChannel{
	{name: "email", noun: "email", label: "email", cond: `cp.kind = 'email'`, extra: `TRUE`},
	{name: "sms", noun: "mobile number", label: "SMS", cond: `cp.kind = 'phone' AND cp.phone_type <> 'landline'`, extra: `TRUE`},
	{name: "post", noun: "postal address", label: "post", cond: `cp.kind = 'postal'`, extra: `NOT a.do_not_deliver`},
}

// countSettings apply to Count's transaction. The planner's row estimates for the
// grouped join are far too high (millions), which switches on JIT compilation: it cost
// 700ms on 100,000 contacts for a query that runs in a fraction of that. The per-contact
// aggregation hashes 100,000 groups, a little over the default 4MB of work_mem.
const countSettings = `SET LOCAL jit = off; SET LOCAL work_mem = '64MB'`

// consentOK is the purpose's consent rule for point cp's current consent cur; $2 is
// true for marketing.
const consentOK = `(cur.status = 'granted' OR (NOT $2 AND cur.status IS NULL))`

// exclusionRule is one reason a channel's point does not count.
type exclusionRule struct {
	reason        func(ch countChannel) string
	cond          string // over cp, cur and a, in addition to the channel's cond
	marketingOnly bool
	channel       string // "" for every channel, else only that one
}

var exclusionRules = []exclusionRule{
	{reason: func(ch countChannel) string { return "no consent for " + ch.label + " (marketing)" },
		cond: `cp.status = 'active' AND cur.status IS NULL`, marketingOnly: true},
	{reason: func(ch countChannel) string { return "withdrew consent for " + ch.label },
		cond: `cp.status = 'active' AND cur.status = 'withdrawn'`},
	{reason: func(ch countChannel) string { return ch.noun + " bounced" }, cond: `cp.status = 'bounced'`},
	{reason: func(ch countChannel) string { return ch.noun + " invalid" }, cond: `cp.status = 'invalid'`},
	{reason: func(ch countChannel) string { return "opted out of " + ch.label }, cond: `cp.status = 'opted_out'`},
	{reason: func(countChannel) string { return "address marked do not deliver" },
		cond: `cp.status = 'active' AND a.do_not_deliver`, channel: "post"},
}

// exclusion is an exclusion rule applied to a channel: a count of countSQL.
type exclusion struct {
	reason        string
	marketingOnly bool
}

// countPrefix and countSuffix are Count's query around the segment's predicate;
// countExclusions are what its counts after the first six stand for, in order. They
// are assembled once from the fixed fragments above: no value is ever part of them.
var countPrefix, countMask, countReachBits, countExclusions = buildCountSQL()

// buildCountSQL gives every fact about a contact point a bit: "usable for email",
// "an email that bounced", ... A point's facts are summed into a mask (distinct
// powers of two, so the sum is their OR), a contact's mask is the bit_or over their
// points, and every number is a count FILTER over the contacts' masks. One integer per
// contact keeps the aggregation small enough to hash in the default work_mem, where a
// row of twenty booleans per contact was sorted on disk.
//
// Four more bits say whether a point is usable for the reachable and topic leaves of the
// segment's own rules (an active point, consent granted for the topic, whatever the
// purpose), so that a rule such as "reachable by email" about the counted topic is
// answered from the mask (compileGrouped) instead of reading every point again.
func buildCountSQL() (prefix, mask string, reach map[string]int, excl []exclusion) {
	var terms, counts []string
	bit := func(cond string) int {
		b := 1 << len(terms)
		terms = append(terms, fmt.Sprintf("CASE WHEN %s THEN %d ELSE 0 END", cond, b))
		return b
	}
	ok := map[string]int{}
	for _, ch := range countChannels {
		ok[ch.name] = bit(fmt.Sprintf("%s AND cp.status = 'active' AND %s AND %s", ch.cond, ch.extra, consentOK))
		counts = append(counts, fmt.Sprintf("count(*) FILTER (WHERE m & %d <> 0)", ok[ch.name]))
	}
	anyOK := ok["email"] | ok["sms"] | ok["post"]
	counts = append(counts,
		fmt.Sprintf("count(*) FILTER (WHERE m & %d = %d)", anyOK, ok["post"]),
		fmt.Sprintf("count(*) FILTER (WHERE m & %d = 0)", anyOK))
	for _, ch := range countChannels {
		for _, r := range exclusionRules {
			if r.channel != "" && r.channel != ch.name {
				continue
			}
			b := bit(ch.cond + " AND " + r.cond)
			counts = append(counts, fmt.Sprintf("count(*) FILTER (WHERE m & %d = %d)", ok[ch.name]|b, b))
			excl = append(excl, exclusion{reason: r.reason(ch), marketingOnly: r.marketingOnly})
		}
		if ch.name == "sms" {
			phone, text := bit("cp.kind = 'phone'"), bit("cp.kind = 'phone' AND cp.phone_type <> 'landline'")
			counts = append(counts, fmt.Sprintf("count(*) FILTER (WHERE m & %d = %d)", phone|text, phone))
			excl = append(excl, exclusion{reason: "landline only"})
		}
	}
	reach = map[string]int{}
	for _, ch := range []string{"email", "sms", "post"} {
		reach[ch] = bit(fmt.Sprintf("cp.status = 'active' AND (%s) AND cur.status = 'granted'", reachChannels[ch]))
	}
	reach["any"] = reach["email"] | reach["sms"] | reach["post"]
	reach[""] = bit("cp.status = 'active' AND cur.status = 'granted'")
	// The segment's predicate filters the scan of contacts (its subqueries run once,
	// hashed), each contact's points look up their current consent for the topic
	// (consent.Joins: an index probe per point, whatever the statistics say), and
	// contacts with no points at all count with an empty mask.
	mask = `coalesce(bit_or(` + strings.Join(terms, "\n                        + ") + `), 0)`
	prefix = `SELECT count(*),
       ` + strings.Join(counts, ",\n       ") + `
  FROM (SELECT c.id, ` + mask + ` AS m
          FROM contacts c
          LEFT JOIN contact_points cp ON cp.contact_id = c.id` + pointAddressSQL + `
` + consent.Joins("cp.id", "$1", "k") + `
         CROSS JOIN LATERAL (SELECT ` + consent.Status("k") + ` AS status) cur
         WHERE `
	return prefix, mask, reach, excl
}

// countQuery is Count's query for r about topic (its id is $1, the purpose $2) and the
// rule's arguments, numbered from $3.
func countQuery(r Rule, topic string) (string, []any, error) {
	where, having, args, err := compileGrouped(r, 3, countReach(topic))
	if err != nil {
		return "", nil, err
	}
	q := countPrefix + where + "\n         GROUP BY c.id"
	if having != "" {
		q += "\n        HAVING " + having
	}
	return q + ") x", args, nil
}

// countReach answers the segment's reachable and topic leaves about the counted topic
// from the count's mask (see buildCountSQL).
func countReach(topic string) reachFunc {
	return func(t, channel string) (string, bool) {
		b, ok := countReachBits[channel]
		if !ok || t != topic {
			return "", false
		}
		return fmt.Sprintf("(%s & %d) <> 0", countMask, b), true
	}
}

// Count compiles r and counts its audience in one query: how many contacts match, and
// how many are reachable on each channel for topic under the rules of purpose
// (PurposeService or PurposeMarketing). Post needs an active postal point at an
// address not marked do-not-deliver, with consent as for the other channels. An
// unknown topic (asked about, or named by a rule) gives an error wrapping
// ErrUnknownTopic.
func (s *Store) Count(ctx context.Context, r Rule, topic string, purpose string) (Count, error) {
	if purpose != PurposeService && purpose != PurposeMarketing {
		return Count{}, fmt.Errorf("count segment: purpose %q must be %s or %s: %w", purpose, PurposeService, PurposeMarketing, ErrInvalid)
	}
	query, ruleArgs, err := countQuery(r, topic)
	if err != nil {
		return Count{}, fmt.Errorf("count segment: %w", err)
	}
	topicID, err := s.topicIDs(ctx, topic, ruleTopics(r))
	if err != nil {
		return Count{}, fmt.Errorf("count segment: %w", err)
	}

	args := append([]any{topicID, purpose == PurposeMarketing}, ruleArgs...)
	nums := make([]int, 6+len(countExclusions))
	dest := make([]any, len(nums))
	for i := range nums {
		dest[i] = &nums[i]
	}
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Count{}, fmt.Errorf("count segment: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, countSettings); err != nil {
		return Count{}, fmt.Errorf("count segment: settings: %w", err)
	}
	if err := tx.QueryRowContext(ctx, query, args...).Scan(dest...); err != nil {
		return Count{}, fmt.Errorf("count segment: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Count{}, fmt.Errorf("count segment: %w", err)
	}
	c := Count{Total: nums[0], Email: nums[1], SMS: nums[2], Post: nums[3], PostOnly: nums[4], Unreachable: nums[5]}
	for i, e := range countExclusions {
		n := nums[6+i]
		if n == 0 || (e.marketingOnly && purpose != PurposeMarketing) {
			continue
		}
		c.Excluded = append(c.Excluded, Exclusion{Reason: e.reason, Contacts: n})
	}
	return c, nil
}

// topicIDs returns the id of topic after checking that it and every topic of others
// exist.
func (s *Store) topicIDs(ctx context.Context, topic string, others []string) (int64, error) {
	want := append([]string{topic}, others...)
	var rows []struct {
		ID   int64  `db:"id"`
		Slug string `db:"slug"`
	}
	if err := s.db.SelectContext(ctx, &rows, `SELECT id, slug FROM topics WHERE slug = ANY($1)`, pq.Array(want)); err != nil {
		return 0, fmt.Errorf("look up topics: %w", err)
	}
	var id int64
	var found []string
	for _, r := range rows {
		found = append(found, r.Slug)
		if r.Slug == topic {
			id = r.ID
		}
	}
	for _, t := range want {
		if !slices.Contains(found, t) {
			return 0, fmt.Errorf("topic %q: %w", t, ErrUnknownTopic)
		}
	}
	return id, nil
}

// ruleTopics lists the topics a rule tree's leaves name.
func ruleTopics(r Rule) []string {
	var out []string
	var walk func(Rule)
	walk = func(r Rule) {
		for _, c := range r.All {
			walk(c)
		}
		for _, c := range r.Any {
			walk(c)
		}
		if r.Not != nil {
			walk(*r.Not)
		}
		switch r.Field {
		case "topic":
			if s, ok := r.Value.(string); ok {
				out = append(out, s)
			}
		case "reachable":
			t := r.Topic
			if t == "" {
				t = DefaultTopic
			}
			out = append(out, t)
		}
	}
	walk(r)
	return out
}
