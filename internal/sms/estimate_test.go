package sms_test

import (
	"context"
	"slices"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/sms"
)

// estimateText is 92 characters for "Jo": one GSM-7 segment, but two in UCS-2 (70 a
// segment), which one letter of a name outside the GSM alphabet brings about.
const estimateText = "Hi {{first_name | \"neighbour\"}}, your bin day changes to Tuesday from January. Put bins out by 7am. Reply STOP to end."

// estimateResident is one hand-written fixture: a contact in a ward with phones.
type estimateResident struct {
	first, last, ward string
	phones            []estimatePhone
}

type estimatePhone struct {
	kind    string // mobile, landline, unknown
	status  string // active, bounced, ...
	consent string // "" (none recorded), granted, withdrawn, or "granted,withdrawn" (latest last)
}

var estimateResidents = []estimateResident{
	{"Siân", "Evans", "Millbrook", []estimatePhone{{"mobile", "active", "granted"}}},
	{"Zoë", "Smith", "Millbrook", []estimatePhone{{"mobile", "active", "granted"}}},
	{"Ffion", "Jones", "Millbrook", []estimatePhone{{"mobile", "active", "granted"}}},
	{"Łukasz", "Nowak", "Millbrook", []estimatePhone{{"unknown", "active", "granted"}}},
	{"محمد", "Ali", "Millbrook", []estimatePhone{{"mobile", "active", "granted"}}},
	{"Jo", "Bloggs", "Millbrook", []estimatePhone{{"mobile", "active", "granted"}}},
	// No first name: the text's own fallback, "neighbour", fills it in.
	{"", "Price", "Millbrook", []estimatePhone{{"mobile", "active", "granted"}}},
	// Two mobiles, one withdrawn and one granted: one text.
	{"Rhys", "Owen", "Millbrook", []estimatePhone{{"mobile", "active", "withdrawn"}, {"mobile", "active", "granted"}}},
	// Nobody below gets a text, whatever their name.
	{"Chloë", "Hughes", "Millbrook", []estimatePhone{{"landline", "active", "granted"}}},
	{"Llŷr", "Morgan", "Millbrook", []estimatePhone{{"mobile", "active", "granted,withdrawn"}}},
	{"Seren", "Davies", "Millbrook", []estimatePhone{{"mobile", "bounced", "granted"}}},
	{"Zoë", "Baker", "Riverside", []estimatePhone{{"mobile", "active", "granted"}}},
	{"Dewi", "Price", "Millbrook", nil},
	// No consent recorded: a service notice reaches them, marketing does not.
	{"Gwenllïan", "Rees", "Millbrook", []estimatePhone{{"mobile", "active", ""}}},
}

// seedEstimate writes estimateResidents and returns the general topic's id.
func seedEstimate(t *testing.T, d *sqlx.DB) int64 {
	t.Helper()
	ctx := t.Context()
	var topic int64
	if err := d.GetContext(ctx, &topic, `SELECT id FROM topics WHERE slug = 'general'`); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range estimateResidents {
		var id int64
		if err := d.GetContext(ctx, &id, `INSERT INTO contacts (first_name, last_name, ward) VALUES ($1, $2, $3) RETURNING id`,
			r.first, r.last, r.ward); err != nil {
			t.Fatal(err)
		}
		for _, p := range r.phones {
			n++
			var point int64
			if err := d.GetContext(ctx, &point, `INSERT INTO contact_points (contact_id, kind, value, phone_type, status)
				VALUES ($1, 'phone', '+44770090' || lpad($2::text, 4, '0'), $3, $4) RETURNING id`, id, n, p.kind, p.status); err != nil {
				t.Fatal(err)
			}
			var statuses []string
			switch p.consent {
			case "granted", "withdrawn":
				statuses = []string{p.consent}
			case "granted,withdrawn":
				statuses = []string{"granted", "withdrawn"}
			}
			for i, s := range statuses {
				if _, err := d.ExecContext(ctx, `INSERT INTO consents (contact_point_id, topic_id, status, source, recorded_at)
					VALUES ($1, $2, $3, 'test', now() - make_interval(days => $4))`, point, topic, s, len(statuses)-i); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return topic
}

// TestEstimateAudience estimates the text over the real audience: the names with â, ë,
// Ł and Arabic letters make their copies UCS-2 and two segments, where a sample ASCII
// name says one GSM-7 segment for everybody.
func TestEstimateAudience(t *testing.T) {
	d := dbtest.New(t)
	topic := seedEstimate(t, d)
	tmpl, err := email.CompileText("Bins", "sms", estimateText)
	if err != nil {
		t.Fatal(err)
	}
	if m := sms.MeasureText(tmpl.Render(email.Recipient{FirstName: "Jo"})); m.Encoding != sms.GSM7 || m.Segments != 1 || m.Characters != 92 {
		t.Fatalf("the text for Jo: %+v", m)
	}
	millbrook := segment.Rule{Field: "ward", Op: "eq", Value: "Millbrook"}

	tests := []struct {
		name       string
		audience   sms.Audience
		texts      int
		gsm, ucs2  int
		share      float64
		segments   int
		min, max   int
		groups     []sms.EstimateGroup
		merged     []string
		worstChars []string
		summary    string
		worst      string
	}{
		{
			// Siân, Zoë, Łukasz, محمد in UCS-2; Ffion, Jo, Price ("neighbour"), Rhys in GSM-7.
			name:     "marketing",
			audience: sms.Audience{TopicID: topic, Purpose: segment.PurposeMarketing, Rule: millbrook},
			texts:    8, gsm: 4, ucs2: 4, share: 0.5, segments: 12, min: 1, max: 2,
			groups:     []sms.EstimateGroup{{Encoding: sms.GSM7, Segments: 1, Texts: 4}, {Encoding: sms.UCS2, Segments: 2, Texts: 4}},
			merged:     []string{"â", "ë", "Ł", "ح", "د", "م"},
			worstChars: []string{"Ł"},
			summary:    "8 texts: 4 in GSM-7 (1 segment each) and 4 in UCS-2 (50%, 2 segments each), because some names have letters like â, ë or Ł — 12 segments, about £0.48 at £0.0400 a segment.",
			worst:      "The longest copy is 2 segments (96 characters in UCS-2): a name with Ł needs UCS-2.",
		},
		{
			// Gwenllïan has no consent on record: a service notice reaches her too.
			name:     "service",
			audience: sms.Audience{TopicID: topic, Purpose: segment.PurposeService, Rule: millbrook},
			texts:    9, gsm: 4, ucs2: 5, share: 5.0 / 9, segments: 14, min: 1, max: 2,
			groups:     []sms.EstimateGroup{{Encoding: sms.GSM7, Segments: 1, Texts: 4}, {Encoding: sms.UCS2, Segments: 2, Texts: 5}},
			merged:     []string{"â", "ë", "ï", "Ł", "ح", "د", "م"},
			worstChars: []string{"ï"},
			summary:    "9 texts: 4 in GSM-7 (1 segment each) and 5 in UCS-2 (56%, 2 segments each), because some names have letters like â, ë or ï — 14 segments, about £0.56 at £0.0400 a segment.",
			worst:      "The longest copy is 2 segments (99 characters in UCS-2): a name with ï needs UCS-2.",
		},
		{
			name:     "nobody",
			audience: sms.Audience{TopicID: topic, Purpose: segment.PurposeService, Rule: segment.Rule{Field: "ward", Op: "eq", Value: "Nowhere"}},
			summary:  "Nobody in this audience can get a text.",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := sms.EstimateAudience(context.Background(), d, tmpl, tc.audience)
			if err != nil {
				t.Fatal(err)
			}
			if e.Texts != tc.texts || e.GSM7 != tc.gsm || e.UCS2 != tc.ucs2 || e.Segments != tc.segments ||
				e.MinSegments != tc.min || e.MaxSegments != tc.max {
				t.Errorf("estimate: %d texts, %d GSM-7, %d UCS-2, %d segments (%d to %d); want %d, %d, %d, %d (%d to %d)",
					e.Texts, e.GSM7, e.UCS2, e.Segments, e.MinSegments, e.MaxSegments, tc.texts, tc.gsm, tc.ucs2, tc.segments, tc.min, tc.max)
			}
			if got := e.UCS2Share(); got != tc.share {
				t.Errorf("UCS-2 share %v, want %v", got, tc.share)
			}
			if !slices.Equal(e.Groups, tc.groups) {
				t.Errorf("groups %+v, want %+v", e.Groups, tc.groups)
			}
			if !slices.Equal(e.Merged, tc.merged) {
				t.Errorf("characters from merge fields %q, want %q", e.Merged, tc.merged)
			}
			if tc.texts > 0 && (e.Worst.Measure.Encoding != sms.UCS2 || e.Worst.Measure.Segments != tc.max ||
				!slices.Equal(e.Worst.Merged, tc.worstChars)) {
				t.Errorf("worst %+v, want UCS-2, %d segments, merged %q", e.Worst, tc.max, tc.worstChars)
			}
			if got := e.Summary(0.04); got != tc.summary {
				t.Errorf("summary:\n got %q\nwant %q", got, tc.summary)
			}
			if got := e.WorstCase(); got != tc.worst {
				t.Errorf("worst case:\n got %q\nwant %q", got, tc.worst)
			}
		})
	}
}

// TestEstimateAudienceDetails: a text with the ward and an attribute reads them as the
// composer does, and says "details", not "names", when a house name brings in ŷ.
func TestEstimateAudienceDetails(t *testing.T) {
	d := dbtest.New(t)
	topic := seedEstimate(t, d)
	if _, err := d.Exec(`UPDATE contacts SET attributes = '{"house": "Tŷ Newydd"}' WHERE first_name = 'Jo'`); err != nil {
		t.Fatal(err)
	}
	tmpl, err := email.CompileText("Bins", "sms", `{{full_name}} of {{ward}}: bins at {{attr.house | "your home"}} go on Tuesday.`)
	if err != nil {
		t.Fatal(err)
	}
	e, err := sms.EstimateAudience(t.Context(), d, tmpl, sms.Audience{TopicID: topic, Purpose: segment.PurposeMarketing,
		Rule: segment.Rule{Any: []segment.Rule{{Field: "first_name", Op: "eq", Value: "Jo"}, {Field: "first_name", Op: "eq", Value: "Ffion"}}}})
	if err != nil {
		t.Fatal(err)
	}
	const want = "2 texts: 1 in GSM-7 (1 segment) and 1 in UCS-2 (50%, 1 segment), because some residents’ details have letters like ŷ — 2 segments."
	if got := e.Summary(0); got != want {
		t.Errorf("summary:\n got %q\nwant %q", got, want)
	}
	if got, want := e.WorstCase(), "The longest copy is 1 segment (56 characters in UCS-2): a resident’s details with ŷ needs UCS-2."; got != want {
		t.Errorf("worst case:\n got %q\nwant %q", got, want)
	}
}

// TestEstimateSummary words estimates that the fixtures above don't reach: ranges of
// segments, a ceiling (strategy best, SMS not first), no price, characters that are not
// letters.
func TestEstimateSummary(t *testing.T) {
	tests := []struct {
		name  string
		e     sms.Estimate
		price float64
		want  string
	}{
		{"ranges", sms.Estimate{Texts: 10, GSM7: 7, UCS2: 3, Segments: 19, NamesOnly: true, Merged: []string{"ŵ"},
			Groups: []sms.EstimateGroup{{sms.GSM7, 1, 4}, {sms.GSM7, 2, 3}, {sms.UCS2, 2, 1}, {sms.UCS2, 4, 2}}}, 0.05,
			"10 texts: 7 in GSM-7 (1 or 2 segments) and 3 in UCS-2 (30%, 2 to 4 segments), because some names have letters like ŵ — 19 segments, about £0.95 at £0.0500 a segment."},
		{"up to, no price", sms.Estimate{Texts: 3, GSM7: 2, UCS2: 1, Segments: 4, UpTo: true, Merged: []string{"☃", "ë"},
			Groups: []sms.EstimateGroup{{sms.GSM7, 1, 2}, {sms.UCS2, 2, 1}}}, 0,
			"Up to 3 texts: 2 in GSM-7 (1 segment each) and 1 in UCS-2 (33%, 2 segments), because some residents’ details have characters like ☃ or ë — 4 segments. Fewer go if some residents are reached first on an earlier channel."},
		{"a small share", sms.Estimate{Texts: 1000, GSM7: 999, UCS2: 1, Segments: 1001, NamesOnly: true, Merged: []string{"â"},
			Groups: []sms.EstimateGroup{{sms.GSM7, 1, 999}, {sms.UCS2, 2, 1}}}, 0,
			"1000 texts: 999 in GSM-7 (1 segment each) and 1 in UCS-2 (1%, 2 segments), because some names have letters like â — 1001 segments."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.e.Summary(tc.price); got != tc.want {
				t.Errorf("\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}
