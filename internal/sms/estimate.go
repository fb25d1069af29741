package sms

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/segment"
)

// Audience is who a campaign's text would go to: the contacts its segment's rule selects
// with a usable mobile for its topic under the rules of its purpose.
type Audience struct {
	TopicID int64
	Purpose string       // segment.PurposeService or segment.PurposeMarketing
	Rule    segment.Rule // the empty rule is everyone
}

// Estimate is what a text costs over its real audience: each resident's own copy,
// merge fields filled in as at send time, measured the way carriers count it.
type Estimate struct {
	Texts      int // copies, one per resident who can get a text
	GSM7, UCS2 int // copies in each encoding
	// Segments is the total over all copies; MinSegments and MaxSegments the shortest
	// and the longest copy's.
	Segments, MinSegments, MaxSegments int
	// Groups counts copies by encoding and segments: GSM-7 first, fewer segments first.
	Groups []EstimateGroup
	// Merged lists the characters outside the GSM-7 alphabet that residents' merge
	// fields (not the text itself) brought in, in the most copies first.
	Merged []string
	// Worst is the copy with the most segments (then UCS-2, then the most units).
	Worst Worst
	// Own lists the characters of the text itself (and its fallbacks) outside the GSM-7
	// alphabet: with any, every copy is UCS-2.
	Own []string
	// UpTo is set when some of these residents may get the campaign on an earlier
	// channel instead (strategy best, with SMS not first): the numbers are a ceiling.
	UpTo bool
	// NamesOnly is set when the text's merge fields are all names, so that the wording
	// can say "names" rather than "details".
	NamesOnly bool
}

// EstimateGroup is how many copies go in one encoding and number of segments.
type EstimateGroup struct {
	Encoding Encoding
	Segments int
	Texts    int
}

// Worst is the longest copy: whose it is (the contact's ID only), its measure, and the
// characters its merge fields brought in that forced UCS-2.
type Worst struct {
	ContactID int64
	Measure   Measure
	Merged    []string
}

// UCS2Share is the fraction of copies sent as UCS-2; 0 when there are none.
func (e Estimate) UCS2Share() float64 {
	if e.Texts == 0 {
		return 0
	}
	return float64(e.UCS2) / float64(e.Texts)
}

// Cost is the total cost at pricePerSegment.
func (e Estimate) Cost(pricePerSegment float64) float64 {
	return float64(e.Segments) * pricePerSegment
}

// audienceSQL lists the residents a campaign's text would go to, one row each, with
// only the columns its merge fields read (%[1]s, from audienceColumns). It is the SMS
// half of outbox enqueueSQL's judgement, kept here so the estimate can be read without
// writing a snapshot: a contact the segment's predicate (%[2]s, placeholders from $3)
// selects counts when at least one of their phones is an active, non-landline number
// whose current consent for topic $1 allows purpose $2. It streams: nothing is grouped
// or sorted, so 100,000 residents cost one index probe per phone and no more memory
// than a row.
var audienceSQL = `
SELECT c.id%[1]s
  FROM contacts c
 WHERE (%[2]s)
   AND EXISTS (
       SELECT 1
         FROM contact_points cp` + consent.Joins("cp.id", "$1", "cur") + `
        WHERE cp.contact_id = c.id
          AND cp.kind = 'phone' AND cp.phone_type <> 'landline' AND cp.status = 'active'
          -- consent: the ledger's current status, as outbox enqueueSQL reads it
          AND ` + consent.Status("cur") + ` IS DISTINCT FROM 'withdrawn'
          AND NOT ($2 = 'marketing' AND ` + consent.Status("cur") + ` IS NULL))`

// audienceFirstArg is the first placeholder the segment's predicate may use in audienceSQL.
const audienceFirstArg = 3

// audienceColumns are the contact columns each merge field reads, in the order
// recipientRow scans them; attr.* fields all read attributes.
var audienceColumns = []struct{ field, column string }{
	{"first_name", "c.first_name"},
	{"last_name", "c.last_name"},
	{"ward", "c.ward"},
	{"attr.", "c.attributes"},
}

// audienceSettings: the planner's estimate for the semi-join is far too high for its
// cost, which turns on JIT compilation (hundreds of milliseconds for a query that runs
// in less); see segment's countSettings.
const audienceSettings = `SET LOCAL jit = off`

// EstimateAudience renders t for every resident of a, exactly as the composer renders
// it at send time, and measures each copy. Rows are streamed and only the columns t's
// merge fields read are fetched. Nothing about a resident is logged or kept but the
// longest copy's contact ID and measure.
func EstimateAudience(ctx context.Context, db *sqlx.DB, t *email.TextTemplate, a Audience) (Estimate, error) {
	if a.Purpose != segment.PurposeService && a.Purpose != segment.PurposeMarketing {
		return Estimate{}, fmt.Errorf("estimate texts: purpose %q must be %s or %s", a.Purpose, segment.PurposeService, segment.PurposeMarketing)
	}
	q, err := segment.CompileFrom(a.Rule, audienceFirstArg)
	if err != nil {
		return Estimate{}, fmt.Errorf("estimate texts: %w", err)
	}

	// Which columns to read: name fields read first_name and last_name, and so on.
	fields := t.Fields()
	use := make([]bool, len(audienceColumns))
	namesOnly := true
	for _, f := range fields {
		switch {
		case f == "full_name":
			use[0], use[1] = true, true
		case strings.HasPrefix(f, "attr."):
			use[3] = true
		default:
			for i, c := range audienceColumns {
				if c.field == f {
					use[i] = true
				}
			}
		}
		if f != "first_name" && f != "last_name" && f != "full_name" {
			namesOnly = false
		}
	}
	var cols strings.Builder
	for i, c := range audienceColumns {
		if use[i] {
			cols.WriteString(", " + c.column)
		}
	}

	// The text's own characters outside GSM-7 (its literal text, fallbacks and defaults):
	// what a copy has beyond them came from the resident.
	own := MeasureText(t.Render(email.Recipient{})).NonGSM
	e := Estimate{NamesOnly: namesOnly && len(fields) > 0, Own: own}
	ownSet := make(map[string]bool, len(own))
	for _, s := range own {
		ownSet[s] = true
	}

	tx, err := db.BeginTxx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return Estimate{}, fmt.Errorf("estimate texts: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, audienceSettings); err != nil {
		return Estimate{}, fmt.Errorf("estimate texts: settings: %w", err)
	}
	args := append([]any{a.TopicID, a.Purpose}, q.Args...)
	// The predicate is compiled SQL with placeholders, never user text (see
	// segment.Compile); the columns come from audienceColumns.
	rows, err := tx.QueryContext(ctx, fmt.Sprintf(audienceSQL, cols.String(), q.SQL), args...)
	if err != nil {
		return Estimate{}, fmt.Errorf("estimate texts: %w", err)
	}
	defer rows.Close()

	var (
		row    recipientRow
		dest   = []any{&row.ID}
		groups = map[EstimateGroup]int{}
		merged = map[string]int{}
	)
	for i, p := range []any{&row.FirstName, &row.LastName, &row.Ward, &row.Attributes} {
		if use[i] {
			dest = append(dest, p)
		}
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return Estimate{}, fmt.Errorf("estimate texts: %w", err)
		}
		m := MeasureText(t.Render(row.recipient()))
		e.Texts++
		e.Segments += m.Segments
		groups[EstimateGroup{Encoding: m.Encoding, Segments: m.Segments}]++
		var mine []string
		if m.Encoding == UCS2 {
			e.UCS2++
			for _, s := range m.NonGSM {
				if !ownSet[s] {
					merged[s]++
					mine = append(mine, s)
				}
			}
		} else {
			e.GSM7++
		}
		// The worst copy has the most segments, then is UCS-2 (nearer its next
		// segment), then has the most units; the lowest contact ID settles a tie.
		w := e.Worst.Measure
		if c := cmp.Or(cmp.Compare(m.Segments, w.Segments), cmp.Compare(m.Encoding, w.Encoding), cmp.Compare(m.Units, w.Units),
			cmp.Compare(e.Worst.ContactID, row.ID)); e.Texts == 1 || c > 0 {
			e.Worst = Worst{ContactID: row.ID, Measure: m, Merged: mine}
		}
		if e.Texts == 1 || m.Segments < e.MinSegments {
			e.MinSegments = m.Segments
		}
		e.MaxSegments = max(e.MaxSegments, m.Segments)
	}
	if err := rows.Err(); err != nil {
		return Estimate{}, fmt.Errorf("estimate texts: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Estimate{}, fmt.Errorf("estimate texts: %w", err)
	}

	for g, n := range groups {
		g.Texts = n
		e.Groups = append(e.Groups, g)
	}
	slices.SortFunc(e.Groups, func(a, b EstimateGroup) int {
		return cmp.Or(cmp.Compare(a.Encoding, b.Encoding), cmp.Compare(a.Segments, b.Segments)) // GSM-7 sorts first
	})
	for s := range merged {
		e.Merged = append(e.Merged, s)
	}
	slices.SortFunc(e.Merged, func(a, b string) int {
		ra, _ := utf8.DecodeRuneInString(a)
		rb, _ := utf8.DecodeRuneInString(b)
		return cmp.Or(cmp.Compare(merged[b], merged[a]), cmp.Compare(ra, rb))
	})
	return e, nil
}

// EstimateCampaign estimates c's text (its SMS with the poll's prompt, as sent) over c's
// audience: its segment (everyone without one), topic and purpose. It returns
// segment.ErrNotFound when c's segment is gone.
func EstimateCampaign(ctx context.Context, db *sqlx.DB, c *campaign.Campaign) (Estimate, error) {
	text, byLanguage := c.CostliestSMSText()
	t, err := email.CompileText(c.Name, "sms", text)
	if err != nil {
		return Estimate{}, err
	}
	a := Audience{TopicID: c.TopicID, Purpose: c.Purpose}
	if c.SegmentID != nil {
		seg, err := segment.NewStore(db).Get(ctx, strconv.FormatInt(*c.SegmentID, 10))
		if err != nil {
			return Estimate{}, fmt.Errorf("estimate texts: %w", err)
		}
		a.Rule = seg.Rules
	}
	e, err := EstimateAudience(ctx, db, t, a)
	if err != nil {
		return Estimate{}, err
	}
	if ch := c.Channels(); c.Strategy == "best" && len(ch) > 0 && ch[0] != "sms" || byLanguage {
		e.UpTo = true // some get another channel, or a shorter text in their language
	}
	return e, nil
}

// Summary says, for an officer, how many texts go in which encoding and how many
// segments, why some are UCS-2, and about what they cost at pricePerSegment (no cost
// when it is 0): "257 texts: 226 in GSM-7 (1 segment each) and 31 in UCS-2 (12%, 2
// segments each), because some names have letters like â or ë — 288 segments, about
// £11.52 at £0.0400 a segment."
func (e Estimate) Summary(pricePerSegment float64) string {
	if e.Texts == 0 {
		return "Nobody in this audience can get a text."
	}
	var b strings.Builder
	if e.UpTo {
		b.WriteString("Up to ")
	}
	b.WriteString(count(e.Texts, "text", "texts"))
	parts := make([]string, 0, 2)
	for _, enc := range []Encoding{GSM7, UCS2} {
		n := map[Encoding]int{GSM7: e.GSM7, UCS2: e.UCS2}[enc]
		if n == 0 {
			continue
		}
		var segs []int
		for _, g := range e.Groups {
			if g.Encoding == enc {
				segs = append(segs, g.Segments)
			}
		}
		what := segmentRange(segs, n)
		if enc == UCS2 && n < e.Texts {
			what = fmt.Sprintf("%d%%, %s", percent(n, e.Texts), what)
		}
		if n == e.Texts {
			parts = append(parts, fmt.Sprintf("all in %s (%s)", enc, what))
		} else {
			parts = append(parts, fmt.Sprintf("%d in %s (%s)", n, enc, what))
		}
	}
	if strings.HasPrefix(parts[0], "all") {
		b.WriteString(", " + parts[0])
	} else {
		b.WriteString(": " + strings.Join(parts, " and "))
	}
	// The text's own characters make every copy UCS-2, whatever the names.
	switch {
	case e.UCS2 > 0 && len(e.Own) > 0:
		b.WriteString(", because the text itself has characters outside the standard SMS alphabet")
	case e.UCS2 > 0 && len(e.Merged) > 0:
		fmt.Fprintf(&b, ", because some %s have %s like %s", e.whose(), letters(e.Merged), orList(e.Merged, 3))
	}
	fmt.Fprintf(&b, " — %s", count(e.Segments, "segment", "segments"))
	if pricePerSegment > 0 {
		fmt.Fprintf(&b, ", about £%.2f at £%.4f a segment", e.Cost(pricePerSegment), pricePerSegment)
	}
	b.WriteString(".")
	if e.UpTo {
		b.WriteString(" Fewer go if some residents are reached first on an earlier channel.")
	}
	return b.String()
}

// WorstCase says which copy is longest and why, for an officer; "" without copies.
func (e Estimate) WorstCase() string {
	if e.Texts == 0 {
		return ""
	}
	m := e.Worst.Measure
	s := fmt.Sprintf("The longest copy is %s (%d characters in %s)", count(m.Segments, "segment", "segments"), m.Characters, m.Encoding)
	switch {
	case m.Encoding == UCS2 && len(e.Own) > 0:
		return s + ": the text itself needs UCS-2."
	case m.Encoding == UCS2 && len(e.Worst.Merged) > 0:
		who := "a name"
		if !e.NamesOnly {
			who = "a resident’s details"
		}
		return fmt.Sprintf("%s: %s with %s needs UCS-2.", s, who, strings.Join(e.Worst.Merged, "/"))
	case m.Encoding == UCS2:
		return s + ": the text itself needs UCS-2."
	case e.MaxSegments > e.MinSegments:
		return s + ": a long name or detail fills it in."
	}
	return s + "."
}

func (e Estimate) whose() string {
	if e.NamesOnly {
		return "names"
	}
	return "residents’ details"
}

// segmentRange is "1 segment", "2 segments each", "1 or 2 segments", "1 to 3 segments"
// for n copies with the given (sorted, distinct) segment counts.
func segmentRange(segs []int, n int) string {
	switch {
	case len(segs) == 1 && n == 1:
		return count(segs[0], "segment", "segments")
	case len(segs) == 1:
		return count(segs[0], "segment", "segments") + " each"
	case len(segs) == 2 && segs[1] == segs[0]+1:
		return fmt.Sprintf("%d or %d segments", segs[0], segs[1])
	}
	return fmt.Sprintf("%d to %d segments", segs[0], segs[len(segs)-1])
}

func count(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, plural(n, one, many))
}

// percent rounds n/of to a whole percent, never to 0 or 100 for a part.
func percent(n, of int) int {
	p := (200*n + of) / (2 * of)
	return min(max(p, 1), 99)
}

// letters is "letters" when every character is one, else "characters".
func letters(chars []string) string {
	for _, s := range chars {
		if r, _ := utf8.DecodeRuneInString(s); !unicode.IsLetter(r) {
			return "characters"
		}
	}
	return "letters"
}

// orList is "a", "a or b", "a, b or c" of at most n items.
func orList(items []string, n int) string {
	items = items[:min(len(items), n)]
	if len(items) == 1 {
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}
