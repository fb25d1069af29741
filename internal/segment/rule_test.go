package segment

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseErrorsNameThePlace(t *testing.T) {
	const ok = `{"field":"ward","op":"eq","value":"Millbrook"}`
	cases := []struct {
		name string
		json string
		want []string // each a whole line of the error
	}{
		{"unknown field deep in the tree", `{"all":[` + ok + `,` + ok + `,{"any":[{"field":"wrd","op":"eq","value":"x"}]}]}`,
			[]string{`rules.all[2].any[0]: field "wrd" is unknown (did you mean ward?)`}},
		{"unknown op", `{"field":"ward","op":"eqq","value":"x"}`,
			[]string{`rules: op "eqq" does not apply to field ward: use one of eq, in, ne, not_in (did you mean eq?)`}},
		{"missing op", `{"field":"tag","value":"x"}`,
			[]string{`rules: field tag needs an op: one of has, has_all, has_any`}},
		{"bool wanted", `{"field":"large_print","op":"is","value":"yes"}`,
			[]string{`rules: large_print is needs true or false, but has "yes"`}},
		{"list wanted", `{"field":"ward","op":"in","value":"Millbrook"}`,
			[]string{`rules: ward in needs a list of text values, but has "Millbrook"`}},
		{"empty list", `{"field":"tag","op":"has_any","value":[]}`,
			[]string{`rules: tag has_any needs a list of text values, but the list is empty`}},
		{"list of numbers", `{"field":"ward","op":"in","value":[1,2]}`,
			[]string{`rules: ward in needs a list of text values, but has a list`}},
		{"blank value", `{"field":"street","op":"eq","value":"  "}`,
			[]string{`rules: street eq needs a text value, but a value is empty`}},
		{"group and leaf at once", `{"all":[` + ok + `],"field":"ward","op":"eq","value":"x"}`,
			[]string{`rules: a rule is one of all, any, not or a field, but this one has all and field`}},
		{"empty rule inside a group", `{"any":[` + ok + `,{}]}`,
			[]string{`rules.any[1]: the rule is empty: give all, any, not or a field`}},
		{"empty any", `{"any":[]}`, []string{`rules: any needs at least one rule`}},
		{"not", `{"not":{"field":"campaign","op":"sent","value":0}}`,
			[]string{`rules.not: campaign sent needs a campaign id (a whole number), but has 0`}},
		{"fractional id", `{"field":"campaign","op":"delivered","value":1.5}`,
			[]string{`rules: campaign delivered needs a campaign id (a whole number), but has 1.5`}},
		{"unknown engagement op", `{"field":"campaign","op":"opened","value":1}`,
			[]string{`rules: op "opened" does not apply to field campaign: use one of delivered, not_delivered, not_sent, replied, sent`}},
		{"partial postcode for eq", `{"field":"postcode","op":"eq","value":"SE24"}`,
			[]string{`rules: "SE24" is not a full postcode (e.g. "SE24 9HB"); use prefix for part of one`}},
		{"bad sector", `{"field":"postcode_sector","op":"in","value":["SE24 9","nope"]}`,
			[]string{`rules: "nope" is not a postcode sector (e.g. "SE24 9")`}},
		{"channel typo", `{"field":"reachable","op":"by","value":"emial"}`,
			[]string{`rules: channel "emial" is unknown: use one of any, email, post, sms (did you mean email?)`}},
		{"topic on another field", `{"field":"ward","op":"eq","value":"x","topic":"general"}`,
			[]string{`rules: topic applies only to the reachable field`}},
		{"bad topic slug", `{"field":"topic","op":"subscribed","value":"Bin Days"}`,
			[]string{`rules: "Bin Days" is not a topic slug (lower-case letters, digits and hyphens, e.g. "general")`}},
		{"bad attribute name", `{"field":"attr.x'--","op":"exists"}`,
			[]string{`rules: attribute name "x'--" must be letters, digits, _ or - (e.g. attr.tenure)`}},
		{"exists takes no value", `{"field":"attr.floor","op":"exists","value":"3"}`,
			[]string{`rules: attr.floor exists needs no value, but has one`}},
		{"attribute object", `{"field":"attr.floor","op":"eq","value":{"a":1}}`,
			[]string{`rules: attr.floor eq needs a text, number or true/false value, but has an object`}},
		{"language name", `{"field":"language","op":"eq","value":"English"}`,
			[]string{`rules: "English" is not a language code: use a two- or three-letter code such as en or cy`}},
		{"every problem is reported", `{"all":[{"field":"ward","op":"eq"},` + ok + `,{"not":{"field":"tags","op":"has","value":"x"}}]}`,
			[]string{`rules.all[0]: ward eq needs a text value, but has none`,
				`rules.all[2].not: field "tags" is unknown (did you mean tag?)`}},
		{"unknown key", `{"feild":"ward"}`, []string{`rules: not a rule tree: unknown field "feild"`}},
		{"wrong JSON type", `{"all":{"field":"ward"}}`, []string{`rules: not a rule tree: "all" must not be a JSON object`}},
		{"not an object", `[1]`, []string{`rules: not a rule tree: a rule must be a JSON object, not a array`}},
		{"trailing data", ok + ` {}`, []string{`rules: not a rule tree: unexpected data after the rule`}},
		{"too deep", strings.Repeat(`{"not":`, 40) + ok + strings.Repeat(`}`, 40),
			[]string{`rules` + strings.Repeat(`.not`, 32) + `: rules are nested more than 32 deep`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.json))
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			var re *RuleError
			if !errors.As(err, &re) {
				t.Errorf("%v is not a *RuleError", err)
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("error:\n%s\nwant:\n%s", err, strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestParseCanonicalForm(t *testing.T) {
	cases := []struct {
		name string
		json string
		want Rule
	}{
		{"null is everyone", `null`, Rule{}},
		{"empty object is everyone", `{}`, Rule{}},
		{"lists become []string", `{"field":"ward","op":"in","value":["a","b"]}`, Rule{Field: "ward", Op: "in", Value: []string{"a", "b"}}},
		{"ids become int64", `{"field":"campaign","op":"sent","value":12.0}`, Rule{Field: "campaign", Op: "sent", Value: int64(12)}},
		{"other numbers stay float64", `{"field":"attr.x","op":"eq","value":2.5}`, Rule{Field: "attr.x", Op: "eq", Value: 2.5}},
		{"reachable with topic", `{"field":"reachable","op":"by","value":"sms","topic":"bins"}`, Rule{Field: "reachable", Op: "by", Value: "sms", Topic: "bins"}},
		{"nested", `{"any":[{"not":{"field":"large_print","op":"is","value":false}}]}`,
			Rule{Any: []Rule{{Not: &Rule{Field: "large_print", Op: "is", Value: false}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.json))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestCompileNumbersPlaceholders(t *testing.T) {
	r := Rule{All: []Rule{
		{Field: "ward", Op: "in", Value: []string{"Millbrook", "Harcourt"}},
		{Not: &Rule{Field: "tag", Op: "has", Value: "business"}},
		{Field: "campaign", Op: "not_delivered", Value: 4},
	}}
	cases := []struct {
		first int
		want  []string
	}{
		{1, []string{"c.ward = ANY($1)", "ARRAY[$2::text]", "o.campaign_id = $3"}},
		{5, []string{"c.ward = ANY($5)", "ARRAY[$6::text]", "o.campaign_id = $7"}},
	}
	for _, tc := range cases {
		q, err := CompileFrom(r, tc.first)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tc.want {
			if !strings.Contains(q.SQL, w) {
				t.Errorf("from $%d: %q not in\n%s", tc.first, w, q.SQL)
			}
		}
		if len(q.Args) != 3 || q.Args[1] != "business" || q.Args[2] != int64(4) {
			t.Errorf("args = %#v", q.Args)
		}
		if strings.Contains(q.SQL, "Millbrook") || strings.Contains(q.SQL, "business") {
			t.Errorf("a value is in the SQL: %s", q.SQL)
		}
	}
	if q, err := Compile(Rule{}); err != nil || q.SQL != "TRUE" || len(q.Args) != 0 {
		t.Fatalf("empty rule = %+v, %v", q, err)
	}
	if _, err := CompileFrom(r, 0); err == nil {
		t.Fatal("CompileFrom(r, 0) should fail")
	}
	if _, err := Compile(Rule{Field: "ward", Op: "eq"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("invalid rule compiled: %v", err)
	}
}

func TestCampaignOpsAreTheAllowList(t *testing.T) {
	// Adding an engagement op (replied) is one entry in campaignOps: validation follows it.
	for op := range campaignOps {
		if err := (Rule{Field: "campaign", Op: op, Value: 1}).Validate(); err != nil {
			t.Errorf("%s: %v", op, err)
		}
	}
	if err := (Rule{Field: "campaign", Op: "opened", Value: 1}).Validate(); err == nil {
		t.Error("opened accepted though it is not defined")
	}
	// tag and answer narrow "replied" only.
	if err := (Rule{Field: "campaign", Op: "replied", Value: 1, Tag: "praise", Answer: "1"}).Validate(); err != nil {
		t.Errorf("replied with tag and answer: %v", err)
	}
	for _, r := range []Rule{{Field: "campaign", Op: "sent", Value: 1, Tag: "praise"}, {Field: "ward", Op: "eq", Value: "x", Answer: "1"}} {
		if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "tag and answer apply only to campaign replied") {
			t.Errorf("%+v: %v", r, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"all":[]}`,
		`{"field":"ward","op":"eq","value":"Millbrook"}`,
		`{"all":[{"field":"ward","op":"in","value":["Millbrook","Harcourt"]},{"not":{"field":"tag","op":"has","value":"business"}}]}`,
		`{"any":[{"field":"reachable","op":"by","value":"sms","topic":"bins"},{"field":"campaign","op":"not_sent","value":3}]}`,
		`{"field":"attr.floor","op":"eq","value":3.5}`,
		`{"field":"attr.floor","op":"eq","value":1e400}`,
		`{"field":"attr.tenure","op":"in","value":["council","owner"]}`,
		`{"field":"postcode","op":"prefix","value":"SE24"}`,
		`{"field":"postcode_sector","op":"eq","value":"se249"}`,
		`{"field":"large_print","op":"is","value":true}`,
		`{"not":{"not":{"field":"first_name","op":"prefix","value":"Zo\u00eb"}}}`,
		`{"field":"campaign","op":"sent","value":9007199254740993}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		// A valid rule compiles, and survives a trip through JSON unchanged.
		q, err := CompileFrom(r, 3)
		if err != nil {
			t.Fatalf("valid rule does not compile: %v", err)
		}
		if n := strings.Count(q.SQL, "$"); n < len(q.Args) {
			t.Fatalf("%d args but %d placeholders", len(q.Args), n)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		r2, err := Parse(b)
		if err != nil {
			t.Fatalf("re-parse %s: %v", b, err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the rule:\n%#v\n%#v\n%s", r, r2, b)
		}
	})
}
