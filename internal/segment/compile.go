package segment

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/contact"
)

// Query is a compiled rule tree: SQL is a boolean expression over the alias c
// (contacts) with placeholders, Args their values in order.
type Query struct {
	SQL  string
	Args []any
}

// Compile turns a valid rule tree into one predicate over contacts c, numbering its
// placeholders from $1: "SELECT c.id FROM contacts c WHERE " + q.SQL lists the
// segment. The empty rule compiles to TRUE (everyone). Values only ever travel as
// arguments; column names and operators come from fixed tables in this package.
func Compile(r Rule) (Query, error) { return CompileFrom(r, 1) }

// CompileFrom is Compile with placeholders numbered from $firstArg, for embedding the
// predicate in a bigger query whose own arguments come first.
func CompileFrom(r Rule, firstArg int) (Query, error) {
	if firstArg < 1 {
		return Query{}, fmt.Errorf("compile segment: first placeholder must be $1 or later, not $%d", firstArg)
	}
	if err := r.Validate(); err != nil {
		return Query{}, fmt.Errorf("compile segment: %w", err)
	}
	if r.IsEmpty() {
		return Query{SQL: "TRUE"}, nil
	}
	b := &builder{next: firstArg}
	sql := b.node(r)
	return Query{SQL: sql, Args: b.args}, nil
}

// reachFunc answers a reachable leaf (channel "email", "sms", "post" or "any") or a topic
// leaf (channel "") about topic from an aggregate the enclosing query already computes
// over each contact's points: it returns that expression, or false where it can't.
type reachFunc func(topic, channel string) (string, bool)

// compileGrouped compiles r for a query that groups contacts c by id and aggregates
// their points (Count): reachable and topic leaves that reach can answer become
// aggregate expressions, so the points are read once rather than once more in a
// subquery. where goes in the query's WHERE, having in its HAVING ("" for none): the
// parts of a top-level "all" that need no aggregate stay in WHERE and still narrow the
// scan.
func compileGrouped(r Rule, firstArg int, reach reachFunc) (where, having string, args []any, err error) {
	if err := r.Validate(); err != nil {
		return "", "", nil, fmt.Errorf("compile segment: %w", err)
	}
	if r.IsEmpty() {
		return "TRUE", "", nil, nil
	}
	b := &builder{next: firstArg, reach: reach}
	parts := []Rule{r}
	if r.All != nil {
		parts = r.All
	}
	var w, h []string
	for _, p := range parts {
		b.aggregated = false
		sql := b.node(p)
		if b.aggregated {
			h = append(h, sql)
		} else {
			w = append(w, sql)
		}
	}
	where = "TRUE"
	if len(w) > 0 {
		where = strings.Join(w, " AND ")
	}
	return where, strings.Join(h, " AND "), b.args, nil
}

// builder collects arguments while a tree is compiled.
type builder struct {
	args       []any
	next       int
	reach      reachFunc // nil: every leaf is a predicate over c
	aggregated bool      // a leaf since the flag was cleared compiled to an aggregate
}

// reachLeaf is reach's answer for a leaf about topic and channel, if any.
func (b *builder) reachLeaf(topic, channel string) (string, bool) {
	if b.reach == nil {
		return "", false
	}
	sql, ok := b.reach(topic, channel)
	b.aggregated = b.aggregated || ok
	return sql, ok
}

// arg adds a value and returns its placeholder.
func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	p := "$" + strconv.Itoa(b.next)
	b.next++
	return p
}

func (b *builder) node(r Rule) string {
	switch {
	case r.All != nil:
		return b.group(r.All, " AND ")
	case r.Any != nil:
		return b.group(r.Any, " OR ")
	case r.Not != nil:
		return "NOT " + b.node(*r.Not)
	}
	return "(" + b.leaf(r) + ")"
}

func (b *builder) group(rules []Rule, op string) string {
	parts := make([]string, len(rules))
	for i, c := range rules {
		parts[i] = b.node(c)
	}
	return "(" + strings.Join(parts, op) + ")"
}

// Every leaf below compiles to an expression that is never NULL, so NOT of it is its
// exact complement: "c.household_id IN (...)" alone would be NULL for a contact with no
// household and vanish from both a rule and its negation.

// addressSQL tests the contact's home (their household's address) against cond over a.
const addressSQL = `c.household_id IS NOT NULL AND c.household_id IN (
  SELECT h.id FROM households h JOIN addresses a ON a.id = h.address_id WHERE %s)`

// reachSQL: contacts holding an active point, matching the channel's condition, whose
// current consent for the topic is granted. The consent is looked up per point
// (consent.Joins: LATERAL, LIMIT 1 on consents_point_topic_idx) rather than joined from
// a DISTINCT ON of all consents: the planner can't estimate how many rows of that are
// "granted" (it guessed 0.5%) and chose nested loops that took seconds on 100,000
// contacts.
var reachSQL = `c.id IN (
  SELECT cp.contact_id FROM contact_points cp` + pointAddressSQL + consent.Joins("cp.id", "%[1]s", "cur") + `
   WHERE cp.status = 'active' AND (%[2]s) AND ` + consent.Status("cur") + ` = 'granted')`

// pointAddressSQL joins contact point cp to its address a, which only a postal point
// has: the address is probed per postal point (the subquery is kept apart by OFFSET 0,
// so cp.kind = 'postal' is a one-time filter that skips it for every email and
// number). As a plain join, right after importing a mailing list with no addresses,
// the planner chose a nested loop over the empty table and rescanned it for each of
// 200,000 emails, a relation-size system call each: a third of a segment count.
const pointAddressSQL = `
    LEFT JOIN LATERAL (SELECT a.do_not_deliver FROM addresses a
                        WHERE cp.kind = 'postal' AND a.id = cp.address_id OFFSET 0) a ON true`

const topicIDSQL = `(SELECT t.id FROM topics t WHERE t.slug = %s)`

// reachChannels maps a reachable leaf's channel to its condition on contact point cp
// and its address a. Post needs an address not marked do-not-deliver.
var reachChannels = map[string]string{
	"email": `cp.kind = 'email'`,
	"sms":   `cp.kind = 'phone' AND cp.phone_type <> 'landline'`,
	"post":  `cp.kind = 'postal' AND NOT a.do_not_deliver`,
	"any":   `cp.kind = 'email' OR (cp.kind = 'phone' AND cp.phone_type <> 'landline') OR (cp.kind = 'postal' AND NOT a.do_not_deliver)`,
}

// campaignOps are the engagement ops of the campaign field, each a predicate over
// contacts c with @campaign standing for the campaign id. An op added here (replied,
// over the replies table) is accepted by Validate and compiled with no other change.
//
// not_sent and not_delivered are about the campaign's audience: contacts with an outbox
// row for it, none of which was sent (delivered). Everyone outside the audience is
// "not sent" too; say that with {"not": {"field": "campaign", "op": "sent", ...}}.
var campaignOps = map[string]string{
	"sent": `c.id IN (SELECT o.contact_id FROM outbox o
   WHERE o.campaign_id = @campaign AND o.state IN ('sent', 'delivered'))`,
	"delivered": `c.id IN (SELECT o.contact_id FROM outbox o
   WHERE o.campaign_id = @campaign AND o.state = 'delivered')`,
	"not_sent": `c.id IN (SELECT o.contact_id FROM outbox o WHERE o.campaign_id = @campaign
   GROUP BY o.contact_id HAVING NOT bool_or(o.state IN ('sent', 'delivered')))`,
	"not_delivered": `c.id IN (SELECT o.contact_id FROM outbox o WHERE o.campaign_id = @campaign
   GROUP BY o.contact_id HAVING NOT bool_or(o.state = 'delivered'))`,
	// replied: texted back about the campaign — not a bare STOP, START or HELP. The rule's
	// tag and answer narrow it to replies an officer tagged so, or that answered the poll so.
	"replied": `c.id IN (SELECT cv.contact_id FROM sms_messages m JOIN conversations cv ON cv.id = m.conversation_id
   WHERE m.campaign_id = @campaign AND m.direction = 'in' AND m.keyword = '' AND cv.contact_id IS NOT NULL @extra)`,
}

// stringCols are the plain text columns of contacts a leaf may compare, by field.
var stringCols = map[string]string{
	"ward":     "c.ward",
	"language": "c.preferred_language",
}

// nameCols are the name columns, compared case-insensitively.
var nameCols = map[string]string{
	"first_name": "c.first_name",
	"last_name":  "c.last_name",
}

// leaf compiles one validated leaf. fmt.Sprintf below only ever places placeholders and
// fixed fragments from this file into SQL, never a value.
func (b *builder) leaf(r Rule) string {
	if key, ok := strings.CutPrefix(r.Field, attrPrefix); ok {
		return b.attr(key, r.Op, r.Value)
	}
	switch r.Field {
	case "ward", "language":
		col := stringCols[r.Field]
		norm := strings.TrimSpace
		if r.Field == "language" {
			norm = func(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
		}
		switch r.Op {
		case "eq":
			return col + " = " + b.arg(norm(r.Value.(string)))
		case "ne":
			return col + " <> " + b.arg(norm(r.Value.(string)))
		case "in":
			return col + " = ANY(" + b.arg(pq.Array(mapStrings(r.Value, norm))) + ")"
		case "not_in":
			return col + " <> ALL(" + b.arg(pq.Array(mapStrings(r.Value, norm))) + ")"
		}
	case "first_name", "last_name":
		col := "lower(" + nameCols[r.Field] + ")"
		v := b.arg(strings.TrimSpace(r.Value.(string)))
		if r.Op == "prefix" {
			return "starts_with(" + col + ", lower(" + v + "))"
		}
		return col + " = lower(" + v + ")"
	case "postcode_sector", "postcode":
		return b.postcode(r.Field, r.Op, r.Value)
	case "street":
		// Streets are stored in the "C" collation, whose lower() folds ASCII only.
		col := `lower(a.street COLLATE "default")`
		if r.Op == "eq" {
			return fmt.Sprintf(addressSQL, col+" = lower("+b.arg(strings.TrimSpace(r.Value.(string)))+")")
		}
		list := b.arg(pq.Array(mapStrings(r.Value, strings.TrimSpace)))
		return fmt.Sprintf(addressSQL, col+" IN (SELECT lower(s) FROM unnest("+list+"::text[]) s)")
	case "large_print":
		return "c.large_print = " + b.arg(r.Value.(bool))
	case "accessibility":
		return b.arg(strings.ToLower(strings.TrimSpace(r.Value.(string)))) + " = ANY(c.accessibility_needs)"
	case "tag":
		// contacts_tags_idx is partial (tags <> '{}'): the predicate lets the planner use it.
		switch r.Op {
		case "has":
			return "c.tags <> '{}' AND c.tags @> ARRAY[" + b.arg(strings.TrimSpace(r.Value.(string))) + "::text]"
		case "has_any":
			return "c.tags <> '{}' AND c.tags && " + b.arg(pq.Array(mapStrings(r.Value, strings.TrimSpace))) + "::text[]"
		case "has_all":
			return "c.tags <> '{}' AND c.tags @> " + b.arg(pq.Array(mapStrings(r.Value, strings.TrimSpace))) + "::text[]"
		}
	case "topic":
		if sql, ok := b.reachLeaf(r.Value.(string), ""); ok {
			return sql
		}
		topic := fmt.Sprintf(topicIDSQL, b.arg(r.Value.(string)))
		return fmt.Sprintf(reachSQL, topic, "TRUE")
	case "reachable":
		t := r.Topic
		if t == "" {
			t = DefaultTopic
		}
		if sql, ok := b.reachLeaf(t, r.Value.(string)); ok {
			return sql
		}
		topic := fmt.Sprintf(topicIDSQL, b.arg(t))
		return fmt.Sprintf(reachSQL, topic, reachChannels[r.Value.(string)])
	case "campaign":
		id, _ := intValue(r.Value)
		extra := ""
		if r.Tag != "" {
			extra += " AND " + b.arg(strings.TrimSpace(r.Tag)) + " = ANY(m.tags)"
		}
		if r.Answer != "" {
			extra += " AND m.poll_answer = " + b.arg(strings.ToUpper(strings.TrimSpace(r.Answer)))
		}
		q := strings.ReplaceAll(campaignOps[r.Op], "@extra", extra)
		return strings.ReplaceAll(q, "@campaign", b.arg(id))
	}
	// Unreachable for a validated rule; a FALSE keeps a future slip from matching everyone.
	return "FALSE"
}

// postcode compiles postcode and postcode_sector leaves. A prefix that is a whole
// outward code ("SE2") matches that district only, not SE24 or SE25; a sector written
// without its space ("SE249") matches that sector; anything else is a plain prefix of
// the stored, capitalised form.
func (b *builder) postcode(field, op string, v any) string {
	col := "a." + field // field is "postcode" or "postcode_sector": fixed by the switch in leaf
	switch op {
	case "eq", "in":
		list := mapStrings(v, func(s string) string {
			if field == "postcode" {
				pc, _ := contact.NormalizePostcode(s)
				return pc.Code
			}
			sec, _ := normSector(s)
			return sec
		})
		if op == "eq" {
			return fmt.Sprintf(addressSQL, col+" = "+b.arg(list[0]))
		}
		return fmt.Sprintf(addressSQL, col+" = ANY("+b.arg(pq.Array(list))+")")
	}
	mode, p := postcodePrefix(v.(string))
	switch mode {
	case prefixDistrict:
		return fmt.Sprintf(addressSQL, "split_part("+col+", ' ', 1) = "+b.arg(p))
	case prefixSector:
		return fmt.Sprintf(addressSQL, "a.postcode_sector = "+b.arg(p))
	}
	return fmt.Sprintf(addressSQL, "starts_with("+col+", "+b.arg(p)+")")
}

type prefixMode int

const (
	prefixPlain prefixMode = iota
	prefixDistrict
	prefixSector
)

// postcodePrefix decides how a postcode prefix matches; see postcode.
func postcodePrefix(s string) (prefixMode, string) {
	u := strings.Join(strings.Fields(strings.ToUpper(s)), " ")
	if !strings.Contains(u, " ") {
		if pc, err := contact.NormalizePostcode(u + " 1AA"); err == nil && pc.District == u {
			return prefixDistrict, u
		}
		if sec, ok := normSector(u); ok {
			return prefixSector, sec
		}
	}
	return prefixPlain, u
}

// attr compiles a leaf over the free attributes. Equality uses jsonb containment so
// contacts_attributes_idx (jsonb_path_ops, partial on attributes <> '{}') applies.
// Imports store every attribute as text, so a number or true/false also matches its
// text form: {"floor": 3} matches "3".
func (b *builder) attr(key, op string, v any) string {
	const nonEmpty = "c.attributes <> '{}' AND "
	switch op {
	case "eq", "ne":
		eq := nonEmpty + "(" + b.containsAny(key, []any{v}) + ")"
		if op == "ne" {
			return "NOT (" + eq + ")"
		}
		return eq
	case "in":
		list, _ := stringList(v)
		vals := make([]any, len(list))
		for i, s := range list {
			vals[i] = s
		}
		return nonEmpty + "(" + b.containsAny(key, vals) + ")"
	case "exists":
		return nonEmpty + "c.attributes -> " + b.arg(key) + " IS NOT NULL"
	case "contains":
		return nonEmpty + "coalesce(strpos(lower(c.attributes ->> " + b.arg(key) + "), lower(" +
			b.arg(strings.TrimSpace(v.(string))) + ")) > 0, false)"
	}
	return "FALSE"
}

// containsAny is an OR of containment tests, one per candidate document {key: value}.
func (b *builder) containsAny(key string, vals []any) string {
	var parts []string
	seen := map[string]bool{}
	for _, v := range vals {
		cands := []any{v}
		if _, isString := v.(string); !isString {
			j, _ := scalarJSON(v)
			cands = append(cands, j) // its text form
		}
		for _, c := range cands {
			doc := attrDoc(key, c)
			if seen[doc] {
				continue
			}
			seen[doc] = true
			parts = append(parts, "c.attributes @> "+b.arg(doc)+"::jsonb")
		}
	}
	return strings.Join(parts, " OR ")
}

// attrDoc is the JSON document {key: v}; v is a string or a valid scalar.
func attrDoc(key string, v any) string {
	k, _ := scalarJSON(key)
	if s, ok := v.(string); ok {
		j, _ := scalarJSON(s)
		return "{" + k + ":" + j + "}"
	}
	j, _ := scalarJSON(v)
	return "{" + k + ":" + j + "}"
}

func mapStrings(v any, f func(string) string) []string {
	in := valueStrings(v)
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}
