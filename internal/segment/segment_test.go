package segment_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/segment"
)

func leaf(field, op string, v any) segment.Rule { return segment.Rule{Field: field, Op: op, Value: v} }

func all(rs ...segment.Rule) segment.Rule  { return segment.Rule{All: rs} }
func any_(rs ...segment.Rule) segment.Rule { return segment.Rule{Any: rs} }
func not(r segment.Rule) segment.Rule      { return segment.Rule{Not: &r} }

// ids runs a compiled rule as the package documents: SELECT c.id FROM contacts c WHERE ...
func (s *seeded) ids(t *testing.T, r segment.Rule) []int64 {
	t.Helper()
	q, err := segment.Compile(r)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	var got []int64
	if err := s.db.Select(&got, `SELECT c.id FROM contacts c WHERE `+q.SQL+` ORDER BY c.id`, q.Args...); err != nil {
		t.Fatalf("run %s: %v", q.SQL, err)
	}
	return got
}

func (s *seeded) want(r segment.Rule) []int64 {
	var out []int64
	for _, c := range s.world.contacts {
		if s.world.match(r, c) {
			out = append(out, c.id)
		}
	}
	slices.Sort(out)
	return out
}

func TestRulesMatchOracle(t *testing.T) {
	s := seed(t)
	total := len(s.world.contacts)
	camp := s.campaign
	cases := []struct {
		name string
		rule segment.Rule
		some bool // the case must match some contacts but not all
	}{
		{"everyone", segment.Rule{}, false},
		{"ward eq", leaf("ward", "eq", "St Anne's"), true},
		{"ward ne", leaf("ward", "ne", "St Anne's"), true},
		{"ward in", leaf("ward", "in", []string{"Millbrook", "Harcourt"}), true},
		{"ward not_in", leaf("ward", "not_in", []string{"Millbrook", "Harcourt"}), true},
		{"postcode_sector eq", leaf("postcode_sector", "eq", "SE24 9"), true},
		{"postcode_sector eq unspaced lower", leaf("postcode_sector", "eq", "se249"), true},
		{"postcode_sector in", leaf("postcode_sector", "in", []string{"SW2 1", "SE24 0"}), true},
		{"postcode_sector prefix district", leaf("postcode_sector", "prefix", "SE24"), true},
		{"postcode_sector prefix SE2 is not SE24", leaf("postcode_sector", "prefix", "SE2"), false},
		{"postcode_sector prefix sector", leaf("postcode_sector", "prefix", "SE249"), true},
		{"postcode prefix district", leaf("postcode", "prefix", "sw2"), true},
		{"postcode prefix plain", leaf("postcode", "prefix", "SE24 9Z"), true},
		{"postcode eq", leaf("postcode", "eq", "se249zz"), true},
		{"postcode in", leaf("postcode", "in", []string{"SE24 9ZZ", "SW2 1AA"}), true},
		{"street eq any case", leaf("street", "eq", "acre lane"), true},
		{"street eq non-ASCII", leaf("street", "eq", "ŁĄKOWA STREET"), true},
		{"street in", leaf("street", "in", []string{"Church Road", "MILL LANE"}), true},
		{"language eq", leaf("language", "eq", "CY"), true},
		{"language in", leaf("language", "in", []string{"pl", "so"}), true},
		{"large_print true", leaf("large_print", "is", true), true},
		{"large_print false", leaf("large_print", "is", false), true},
		{"accessibility has", leaf("accessibility", "has", "large-print"), true},
		{"tag has", leaf("tag", "has", "older residents"), true},
		{"tag has_any", leaf("tag", "has_any", []string{"youth club", "business"}), true},
		{"tag has_all", leaf("tag", "has_all", []string{"neighbourhood watch", "older residents"}), true},
		{"attr eq", leaf("attr.tenure", "eq", "council"), true},
		{"attr eq number matches text", leaf("attr.floor", "eq", int64(3)), true},
		{"attr ne", leaf("attr.tenure", "ne", "council"), true},
		{"attr in", leaf("attr.tenure", "in", []string{"owner", "private rent"}), true},
		{"attr exists", leaf("attr.floor", "exists", nil), true},
		{"attr contains", leaf("attr.tenure", "contains", "COUNCIL"), true},
		{"first_name eq", leaf("first_name", "eq", "ADA"), true},
		{"first_name prefix", leaf("first_name", "prefix", "a"), true},
		{"last_name eq", leaf("last_name", "eq", "okri"), true},
		{"last_name prefix", leaf("last_name", "prefix", "Mc"), false},
		{"topic subscribed general", leaf("topic", "subscribed", "general"), true},
		{"topic subscribed bins", leaf("topic", "subscribed", "bins"), true},
		{"reachable email", leaf("reachable", "by", "email"), true},
		{"reachable sms", leaf("reachable", "by", "sms"), true},
		{"reachable post", leaf("reachable", "by", "post"), true},
		{"reachable any", leaf("reachable", "by", "any"), true},
		{"reachable sms bins", segment.Rule{Field: "reachable", Op: "by", Value: "sms", Topic: "bins"}, true},
		{"campaign sent", leaf("campaign", "sent", camp), true},
		{"campaign delivered", leaf("campaign", "delivered", camp), true},
		{"campaign not_sent", leaf("campaign", "not_sent", camp), true},
		{"campaign not_delivered", leaf("campaign", "not_delivered", camp), true},
		{"campaign other", leaf("campaign", "sent", camp+1), false},
		{"all", all(leaf("ward", "eq", "Millbrook"), leaf("reachable", "by", "email"), leaf("tag", "has", "older residents")), true},
		{"any", any_(leaf("ward", "eq", "Harcourt"), leaf("large_print", "is", true), leaf("attr.floor", "exists", nil)), true},
		{"not", not(leaf("reachable", "by", "any")), true},
		{"not of a home rule keeps the homeless", not(leaf("postcode_sector", "prefix", "SE24")), true},
		{"not of an attribute rule", not(leaf("attr.tenure", "contains", "council")), true},
		{"nested", all(
			any_(leaf("ward", "in", []string{"Millbrook"}), leaf("postcode", "prefix", "SW2")),
			not(any_(leaf("reachable", "by", "email"), leaf("reachable", "by", "sms"))),
			any_(leaf("campaign", "not_delivered", camp), not(leaf("campaign", "sent", camp))),
		), true},
		{"injection is just a value", leaf("ward", "eq", "x'; DROP TABLE contacts;--"), false},
		{"injection in a list and an attribute", any_(
			leaf("street", "in", []string{"'); DELETE FROM contacts; --", `\"`}),
			leaf("attr.tenure", "eq", `council"}'); DROP TABLE contacts;--`),
			leaf("first_name", "prefix", "%' OR 1=1 --"),
		), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, want := s.ids(t, tc.rule), s.want(tc.rule)
			if !slices.Equal(got, want) {
				t.Fatalf("SQL matched %d contacts, oracle %d (first SQL %v, oracle %v)", len(got), len(want), head(got), head(want))
			}
			if tc.some && (len(got) == 0 || len(got) == total) {
				t.Fatalf("matched %d of %d contacts: the case tests nothing", len(got), total)
			}
			for _, purpose := range []string{"service", "marketing"} {
				for _, topic := range []string{"general", "bins"} {
					c, err := segment.NewStore(s.db).Count(context.Background(), tc.rule, topic, purpose)
					if err != nil {
						t.Fatalf("count: %v", err)
					}
					w := s.world.count(tc.rule, topic, purpose)
					c.Excluded, w.Excluded = sortExcl(c.Excluded), sortExcl(w.Excluded)
					if !reflect.DeepEqual(c, w) {
						t.Fatalf("%s %s:\n got %+v\nwant %+v", topic, purpose, c, w)
					}
				}
			}
		})
	}
	var n int
	if err := s.db.Get(&n, `SELECT count(*) FROM contacts`); err != nil || n != total {
		t.Fatalf("contacts after the injection attempts: %d, %v", n, err)
	}
}

func head(ids []int64) []int64 { return ids[:min(5, len(ids))] }

func TestCountMarketingAndService(t *testing.T) {
	s := seed(t)
	ctx := context.Background()
	st := segment.NewStore(s.db)
	cs := contact.NewStore(s.db, nil)

	// Someone reached only by an email point with no consent on record, and someone
	// whose only email has a grant.
	var unrecorded, granted int64
	pick := func(dst *int64, consent string) {
		t.Helper()
		err := s.db.Get(dst, `SELECT cp.id FROM contact_points cp
			WHERE cp.kind = 'email' AND cp.status = 'active'
			  AND (SELECT count(*) FROM contact_points o WHERE o.contact_id = cp.contact_id AND o.kind = 'email') = 1
			  AND coalesce((SELECT k.status FROM consents k WHERE k.contact_point_id = cp.id AND k.topic_id = 1
			                ORDER BY k.recorded_at DESC, k.id DESC LIMIT 1), '') = $1
			ORDER BY cp.id LIMIT 1`, consent)
		if err != nil {
			t.Fatalf("pick a %q email: %v", consent, err)
		}
	}
	pick(&unrecorded, "")
	pick(&granted, "granted")
	var who int64
	if err := s.db.Get(&who, `SELECT contact_id FROM contact_points WHERE id = $1`, granted); err != nil {
		t.Fatal(err)
	}

	count := func(purpose string) segment.Count {
		t.Helper()
		c, err := st.Count(ctx, segment.Rule{}, "general", purpose)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	mkt0, svc0 := count("marketing"), count("service")
	if svc0.Email <= mkt0.Email {
		t.Fatalf("service email %d should exceed marketing %d: no record is fine for service", svc0.Email, mkt0.Email)
	}
	if !hasReason(mkt0, "no consent for email (marketing)") || hasReason(svc0, "no consent for email (marketing)") {
		t.Fatalf("the marketing-only exclusion: marketing %v, service %v", mkt0.Excluded, svc0.Excluded)
	}

	// A withdrawal on a point with no record: marketing never counted it; service stops.
	if err := cs.RecordConsent(ctx, unrecorded, "general", "withdrawn", "test: reply STOP"); err != nil {
		t.Fatal(err)
	}
	mkt1, svc1 := count("marketing"), count("service")
	if mkt1.Email != mkt0.Email || svc1.Email != svc0.Email-1 {
		t.Fatalf("after withdrawing an unrecorded point: marketing %d→%d (want same), service %d→%d (want -1)",
			mkt0.Email, mkt1.Email, svc0.Email, svc1.Email)
	}
	// A withdrawal of a grant: both lose the contact.
	if err := cs.RecordConsent(ctx, granted, "general", "withdrawn", "test: unsubscribe link"); err != nil {
		t.Fatal(err)
	}
	mkt2, svc2 := count("marketing"), count("service")
	if mkt2.Email != mkt1.Email-1 || svc2.Email != svc1.Email-1 {
		t.Fatalf("after withdrawing a grant: marketing %d→%d, service %d→%d, want both -1", mkt1.Email, mkt2.Email, svc1.Email, svc2.Email)
	}
	if reason(svc2, "withdrew consent for email") != reason(svc0, "withdrew consent for email")+2 {
		t.Fatalf("withdrawal exclusions: %v then %v", svc0.Excluded, svc2.Excluded)
	}
	// The leaf agrees: the contact is no longer reachable by email for general.
	got := s.ids(t, all(leaf("reachable", "by", "email"), leaf("ward", "ne", "no such ward")))
	if slices.Contains(got, who) {
		t.Fatalf("contact %d still reachable by email after withdrawing", who)
	}
	// And the oracle, reloaded, agrees on every number.
	s.world = load(t, s.db)
	for _, p := range []string{"marketing", "service"} {
		c, w := count(p), s.world.count(segment.Rule{}, "general", p)
		c.Excluded, w.Excluded = sortExcl(c.Excluded), sortExcl(w.Excluded)
		if !reflect.DeepEqual(c, w) {
			t.Fatalf("%s:\n got %+v\nwant %+v", p, c, w)
		}
	}
}

func hasReason(c segment.Count, r string) bool { return reason(c, r) > 0 }

func reason(c segment.Count, r string) int {
	for _, e := range c.Excluded {
		if e.Reason == r {
			return e.Contacts
		}
	}
	return 0
}

func TestCountErrors(t *testing.T) {
	s := seed(t)
	st := segment.NewStore(s.db)
	ctx := context.Background()
	cases := []struct {
		name    string
		rule    segment.Rule
		topic   string
		purpose string
		want    error
	}{
		{"bad purpose", segment.Rule{}, "general", "newsletter", segment.ErrInvalid},
		{"unknown topic", segment.Rule{}, "parking", "service", segment.ErrUnknownTopic},
		{"unknown topic in a rule", leaf("topic", "subscribed", "parking"), "general", "service", segment.ErrUnknownTopic},
		{"unknown topic of reachable", segment.Rule{Field: "reachable", Op: "by", Value: "sms", Topic: "parking"}, "general", "service", segment.ErrUnknownTopic},
		{"invalid rule", leaf("wrd", "eq", "x"), "general", "service", segment.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := st.Count(ctx, tc.rule, tc.topic, tc.purpose)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestStore(t *testing.T) {
	s := seed(t)
	st := segment.NewStore(s.db)
	ctx := context.Background()
	r, err := segment.Parse([]byte(`{"all":[{"field":"ward","op":"eq","value":"Millbrook"},
		{"not":{"field":"tag","op":"has_any","value":["business"]}},
		{"field":"campaign","op":"not_delivered","value":7}]}`))
	if err != nil {
		t.Fatal(err)
	}
	created, err := st.Create(ctx, " Millbrook residents ", "not businesses", r, "officer@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == 0 || created.Name != "Millbrook residents" || !reflect.DeepEqual(created.Rules, r) || created.CreatedBy != "officer@example.org" {
		t.Fatalf("created = %+v", created)
	}
	if _, err := st.Create(ctx, "Millbrook residents", "", segment.Rule{}, ""); !errors.Is(err, segment.ErrExists) ||
		!strings.Contains(err.Error(), `"Millbrook residents"`) {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, err := st.Create(ctx, "bad", "", leaf("ward", "eq", 3), ""); !errors.Is(err, segment.ErrInvalid) {
		t.Fatalf("invalid rule: %v", err)
	}
	if _, err := st.Create(ctx, "  ", "", segment.Rule{}, ""); !errors.Is(err, segment.ErrInvalid) {
		t.Fatalf("empty name: %v", err)
	}
	everyone, err := st.Create(ctx, "Everyone", "", segment.Rule{}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"Millbrook residents", created.Name, strconv.FormatInt(created.ID, 10)} {
		got, err := st.Get(ctx, key)
		if err != nil || got.ID != created.ID || !reflect.DeepEqual(got.Rules, r) {
			t.Fatalf("get %q = %+v, %v", key, got, err)
		}
	}
	for _, key := range []string{"nobody", "99999"} {
		if _, err := st.Get(ctx, key); !errors.Is(err, segment.ErrNotFound) {
			t.Fatalf("get %q: %v, want ErrNotFound", key, err)
		}
	}
	list, err := st.List(ctx)
	if err != nil || len(list) != 2 || list[0].ID != everyone.ID || list[1].ID != created.ID {
		t.Fatalf("list = %+v, %v", list, err)
	}
	// A stored segment counts like its rule.
	c, err := st.Count(ctx, list[1].Rules, "general", "service")
	if err != nil || c.Total != len(s.want(r)) {
		t.Fatalf("count of stored segment = %+v, %v; want total %d", c, err, len(s.want(r)))
	}
}
