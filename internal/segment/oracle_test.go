package segment_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/demo"
	"github.com/crierhq/crier/internal/segment"
)

// The tests check the compiled SQL against an oracle: the same rules evaluated in Go
// over every row of the tables, loaded with plain SELECTs. The two share nothing but
// the rules' meaning.

type oContact struct {
	id               int64
	first, last      string
	lang             string
	largePrint       bool
	access, tags     []string
	ward             string
	attrs            map[string]any
	hasHome          bool
	postcode, sector string
	street           string
	points           []*oPoint
	outbox           []oOutbox
}

type oPoint struct {
	id        int64
	kind      string
	phoneType string
	status    string
	dnd       bool
	consent   map[int64]string // topic id → current status
}

type oOutbox struct {
	campaign int64
	state    string
}

type world struct {
	contacts []*oContact
	topics   map[string]int64
}

// load reads the whole database into a world.
func load(t testing.TB, d *sqlx.DB) *world {
	t.Helper()
	w := &world{topics: map[string]int64{}}
	byID := map[int64]*oContact{}
	rows, err := d.Query(`SELECT c.id, c.first_name, c.last_name, c.preferred_language, c.large_print,
		c.accessibility_needs, c.ward, c.tags, c.attributes, a.postcode, a.postcode_sector, a.street
		FROM contacts c LEFT JOIN households h ON h.id = c.household_id LEFT JOIN addresses a ON a.id = h.address_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		c := &oContact{}
		var access, tags pq.StringArray
		var attrs []byte
		var pc, sec, street *string
		if err := rows.Scan(&c.id, &c.first, &c.last, &c.lang, &c.largePrint, &access, &c.ward, &tags, &attrs, &pc, &sec, &street); err != nil {
			t.Fatal(err)
		}
		c.access, c.tags = access, tags
		if err := json.Unmarshal(attrs, &c.attrs); err != nil {
			t.Fatal(err)
		}
		if pc != nil {
			c.hasHome, c.postcode, c.sector, c.street = true, *pc, *sec, *street
		}
		w.contacts = append(w.contacts, c)
		byID[c.id] = c
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()

	points := map[int64]*oPoint{}
	rows, err = d.Query(`SELECT cp.id, cp.contact_id, cp.kind, coalesce(cp.phone_type, ''), cp.status,
		coalesce(a.do_not_deliver, false) FROM contact_points cp LEFT JOIN addresses a ON a.id = cp.address_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		p := &oPoint{consent: map[int64]string{}}
		var cid int64
		if err := rows.Scan(&p.id, &cid, &p.kind, &p.phoneType, &p.status, &p.dnd); err != nil {
			t.Fatal(err)
		}
		points[p.id] = p
		byID[cid].points = append(byID[cid].points, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()

	// Consent history in the order it happened; the last word per point and topic stands.
	var cons []struct {
		Point  int64     `db:"contact_point_id"`
		Topic  int64     `db:"topic_id"`
		Status string    `db:"status"`
		At     time.Time `db:"recorded_at"`
		ID     int64     `db:"id"`
	}
	if err := d.Select(&cons, `SELECT contact_point_id, topic_id, status, recorded_at, id FROM consents`); err != nil {
		t.Fatal(err)
	}
	sort.Slice(cons, func(i, j int) bool {
		if !cons[i].At.Equal(cons[j].At) {
			return cons[i].At.Before(cons[j].At)
		}
		return cons[i].ID < cons[j].ID
	})
	for _, c := range cons {
		points[c.Point].consent[c.Topic] = c.Status
	}

	var ob []struct {
		Campaign int64  `db:"campaign_id"`
		Contact  int64  `db:"contact_id"`
		State    string `db:"state"`
	}
	if err := d.Select(&ob, `SELECT campaign_id, contact_id, state FROM outbox`); err != nil {
		t.Fatal(err)
	}
	for _, o := range ob {
		byID[o.Contact].outbox = append(byID[o.Contact].outbox, oOutbox{o.Campaign, o.State})
	}

	var topics []struct {
		ID   int64  `db:"id"`
		Slug string `db:"slug"`
	}
	if err := d.Select(&topics, `SELECT id, slug FROM topics`); err != nil {
		t.Fatal(err)
	}
	for _, tp := range topics {
		w.topics[tp.Slug] = tp.ID
	}
	return w
}

// match evaluates r for c, as the package documents it.
func (w *world) match(r segment.Rule, c *oContact) bool {
	switch {
	case r.All != nil:
		for _, x := range r.All {
			if !w.match(x, c) {
				return false
			}
		}
		return true
	case r.Any != nil:
		for _, x := range r.Any {
			if w.match(x, c) {
				return true
			}
		}
		return false
	case r.Not != nil:
		return !w.match(*r.Not, c)
	case r.Field == "":
		return true
	}
	str, _ := r.Value.(string)
	list := listOf(r.Value)
	if r.Field == "postcode" || r.Field == "postcode_sector" {
		str, list = normPostcode(r.Field, r.Op, str), mapList(list, func(s string) string { return normPostcode(r.Field, r.Op, s) })
	}
	if key, ok := strings.CutPrefix(r.Field, "attr."); ok {
		v, has := c.attrs[key]
		sv := fmt.Sprint(v)
		switch r.Op {
		case "exists":
			return has
		case "contains":
			return has && strings.Contains(strings.ToLower(sv), strings.ToLower(str))
		case "eq", "ne":
			eq := has && sv == fmt.Sprint(r.Value)
			return eq == (r.Op == "eq")
		case "in":
			return has && slices.Contains(list, sv)
		}
	}
	home := func(f func() bool) bool { return c.hasHome && f() }
	switch r.Field + " " + r.Op {
	case "ward eq":
		return c.ward == str
	case "ward ne":
		return c.ward != str
	case "ward in":
		return slices.Contains(list, c.ward)
	case "ward not_in":
		return !slices.Contains(list, c.ward)
	case "language eq":
		return c.lang == strings.ToLower(str)
	case "language in":
		return slices.Contains(list, c.lang)
	case "first_name eq":
		return strings.EqualFold(c.first, str)
	case "first_name prefix":
		return strings.HasPrefix(strings.ToLower(c.first), strings.ToLower(str))
	case "last_name eq":
		return strings.EqualFold(c.last, str)
	case "last_name prefix":
		return strings.HasPrefix(strings.ToLower(c.last), strings.ToLower(str))
	case "large_print is":
		return c.largePrint == r.Value.(bool)
	case "accessibility has":
		return slices.Contains(c.access, strings.ToLower(str))
	case "tag has":
		return slices.Contains(c.tags, str)
	case "tag has_any":
		for _, x := range list {
			if slices.Contains(c.tags, x) {
				return true
			}
		}
		return false
	case "tag has_all":
		for _, x := range list {
			if !slices.Contains(c.tags, x) {
				return false
			}
		}
		return true
	case "street eq":
		return home(func() bool { return strings.EqualFold(c.street, str) })
	case "street in":
		return home(func() bool {
			return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, c.street) })
		})
	case "postcode eq":
		return home(func() bool { return c.postcode == str })
	case "postcode in":
		return home(func() bool { return slices.Contains(list, c.postcode) })
	case "postcode prefix": // the tests use whole districts, sectors and plain prefixes
		return home(func() bool { return prefixMatch(c.postcode, str) })
	case "postcode_sector eq":
		return home(func() bool { return c.sector == str })
	case "postcode_sector in":
		return home(func() bool { return slices.Contains(list, c.sector) })
	case "postcode_sector prefix":
		return home(func() bool { return prefixMatch(c.sector, str) })
	case "topic subscribed":
		return w.reach(c, "any-point", str)
	case "reachable by":
		topic := r.Topic
		if topic == "" {
			topic = "general"
		}
		return w.reach(c, str, topic)
	case "campaign sent", "campaign delivered", "campaign not_sent", "campaign not_delivered":
		id := toInt(r.Value)
		in, sent, delivered := false, false, false
		for _, o := range c.outbox {
			if o.campaign != id {
				continue
			}
			in = true
			sent = sent || o.state == "sent" || o.state == "delivered"
			delivered = delivered || o.state == "delivered"
		}
		switch r.Op {
		case "sent":
			return sent
		case "delivered":
			return delivered
		case "not_sent":
			return in && !sent
		default:
			return in && !delivered
		}
	}
	panic("oracle does not know " + r.Field + " " + r.Op)
}

// prefixMatch: "SE2" is a district (matches "SE2 …" only), "SE249" a sector, else plain.
func prefixMatch(stored, p string) bool {
	p = strings.ToUpper(p)
	district, _, _ := strings.Cut(stored, " ")
	switch p {
	case "SE2", "SE24", "SW2", "SE27":
		return district == p
	case "SE249":
		return strings.HasPrefix(stored, "SE24 9")
	}
	return strings.HasPrefix(stored, p)
}

func toInt(v any) int64 {
	switch v := v.(type) {
	case int64:
		return v
	case int:
		return int64(v)
	case float64:
		return int64(v)
	}
	panic(fmt.Sprintf("not an id: %T", v))
}

func listOf(v any) []string {
	switch v := v.(type) {
	case []string:
		return v
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

// usable says whether point p serves channel ch for topic under purpose ("reach" is the
// reachable leaf: granted consent).
func (w *world) usable(p *oPoint, ch, topic, purpose string) bool {
	switch ch {
	case "email":
		if p.kind != "email" {
			return false
		}
	case "sms":
		if p.kind != "phone" || p.phoneType == "landline" {
			return false
		}
	case "post":
		if p.kind != "postal" || p.dnd {
			return false
		}
	case "any":
		return w.usable(p, "email", topic, purpose) || w.usable(p, "sms", topic, purpose) || w.usable(p, "post", topic, purpose)
	case "any-point":
	}
	if p.status != "active" {
		return false
	}
	st := p.consent[w.topics[topic]]
	if purpose == "service" {
		return st != "withdrawn"
	}
	return st == "granted"
}

func (w *world) reach(c *oContact, ch, topic string) bool {
	for _, p := range c.points {
		if w.usable(p, ch, topic, "marketing") {
			return true
		}
	}
	return false
}

// count is the oracle's Count.
func (w *world) count(r segment.Rule, topic, purpose string) segment.Count {
	var out segment.Count
	excl := map[string]int{}
	var order []string
	add := func(reason string, n int) {
		if _, ok := excl[reason]; !ok {
			order = append(order, reason)
		}
		excl[reason] += n
	}
	for _, c := range w.contacts {
		if !w.match(r, c) {
			continue
		}
		out.Total++
		ok := map[string]bool{}
		for _, ch := range []string{"email", "sms", "post"} {
			for _, p := range c.points {
				ok[ch] = ok[ch] || w.usable(p, ch, topic, purpose)
			}
		}
		b2i := func(b bool) int {
			if b {
				return 1
			}
			return 0
		}
		out.Email += b2i(ok["email"])
		out.SMS += b2i(ok["sms"])
		out.Post += b2i(ok["post"])
		out.PostOnly += b2i(ok["post"] && !ok["email"] && !ok["sms"])
		out.Unreachable += b2i(!ok["post"] && !ok["email"] && !ok["sms"])

		for _, ch := range []struct{ name, noun, label string }{{"email", "email", "email"}, {"sms", "mobile number", "SMS"}, {"post", "postal address", "post"}} {
			reasons := map[string]bool{}
			for _, p := range c.points {
				serves := (ch.name == "email" && p.kind == "email") || (ch.name == "sms" && p.kind == "phone" && p.phoneType != "landline") ||
					(ch.name == "post" && p.kind == "postal")
				if !serves || ok[ch.name] {
					continue
				}
				st := p.consent[w.topics[topic]]
				switch {
				case p.status == "active" && st == "" && purpose == "marketing":
					reasons["no consent for "+ch.label+" (marketing)"] = true
				case p.status == "active" && st == "withdrawn":
					reasons["withdrew consent for "+ch.label] = true
				case p.status == "bounced":
					reasons[ch.noun+" bounced"] = true
				case p.status == "invalid":
					reasons[ch.noun+" invalid"] = true
				case p.status == "opted_out":
					reasons["opted out of "+ch.label] = true
				}
				if ch.name == "post" && p.status == "active" && p.dnd {
					reasons["address marked do not deliver"] = true
				}
			}
			for r := range reasons {
				add(r, 1)
			}
			if ch.name == "sms" {
				phone, text := false, false
				for _, p := range c.points {
					phone = phone || p.kind == "phone"
					text = text || (p.kind == "phone" && p.phoneType != "landline")
				}
				if phone && !text {
					add("landline only", 1)
				}
			}
		}
	}
	for _, r := range order {
		if excl[r] > 0 {
			out.Excluded = append(out.Excluded, segment.Exclusion{Reason: r, Contacts: excl[r]})
		}
	}
	return out
}

// sortExcl orders exclusions by reason, to compare sets.
func sortExcl(e []segment.Exclusion) []segment.Exclusion {
	out := slices.Clone(e)
	sort.Slice(out, func(i, j int) bool { return out[i].Reason < out[j].Reason })
	return out
}

// importCSV writes body to a file and imports it with the real importer.
func importCSV(t testing.TB, d *sqlx.DB, name string, write func(f *os.File) error) {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := contact.NewStore(d, nil).Import(context.Background(), contact.ImportOptions{Path: p})
	if err != nil {
		if res != nil && len(res.Errors) > 0 {
			t.Fatalf("import %s: %v (first problem: %v)", name, err, res.Errors[0])
		}
		t.Fatalf("import %s: %v", name, err)
	}
}

// extraResidents have what the demo file lacks: accessibility needs, free attributes,
// a non-ASCII street and a do-not-deliver note.
const extraResidents = "First name,Surname,Email,Mobile,House number,Street,Postcode,Ward,Accessibility,Tenure,Floor,Delivery notes,Email consent,Post consent\n" +
	"Ada,Lovelace,ada.lovelace@example.net,,1,Łąkowa Street,SE24 9ZZ,Millbrook,large-print;braille,council,3,,yes,yes\n" +
	"Ben,Okri,ben.okri@example.net,,2,Łąkowa Street,SE24 9ZZ,Millbrook,Large-Print,private rent,,,yes,no\n" +
	"Cara,Dunne,,,3,Łąkowa Street,SE24 9ZZ,Millbrook,easy-read,Council Leasehold,12,Do not deliver,,yes\n" +
	"Dev,Patel,dev.patel@example.net,,4,Łąkowa Street,SE24 9ZZ,Millbrook,,owner,0,,no,\n" +
	"Eli,Stone,eli.stone@example.net,,5,Łąkowa Street,SE24 9ZZ,Millbrook,,council,3,,yes,yes\n"

// seeded is a database with 5,000 demo residents, the extra residents, bounced,
// invalid and opted-out points, withdrawals, a second topic and a sent campaign.
type seeded struct {
	db       *sqlx.DB
	world    *world
	campaign int64
}

func seed(t *testing.T) *seeded {
	t.Helper()
	ctx := context.Background()
	d := dbtest.New(t)
	importCSV(t, d, "residents.csv", func(f *os.File) error { return demo.WriteCSV(f, demo.Options{Rows: 5000, Seed: 1}) })
	importCSV(t, d, "extra.csv", func(f *os.File) error { _, err := f.WriteString(extraResidents); return err })

	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := d.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`UPDATE contact_points SET status = 'bounced' WHERE kind = 'email' AND id % 37 = 0`)
	exec(`UPDATE contact_points SET status = 'invalid' WHERE kind = 'email' AND id % 53 = 0`)
	exec(`UPDATE contact_points SET status = 'opted_out' WHERE kind = 'phone' AND id % 13 = 0`)
	exec(`UPDATE contact_points SET status = 'bounced' WHERE kind = 'postal' AND id % 97 = 0`)
	exec(`INSERT INTO topics (slug, name) VALUES ('bins', 'Bin collections')`)

	// Withdrawals through the contact store, as an unsubscribe would record them: some
	// on points with a grant, some on points with no record at all.
	cs := contact.NewStore(d, nil)
	var pts []int64
	if err := d.Select(&pts, `SELECT id FROM contact_points WHERE id % 11 = 0 ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	for _, p := range pts {
		if err := cs.RecordConsent(ctx, p, "general", "withdrawn", "test unsubscribe"); err != nil {
			t.Fatal(err)
		}
	}
	// Some withdrew and later granted again: the latest word stands.
	for _, p := range pts[:len(pts)/5] {
		if err := cs.RecordConsent(ctx, p, "general", "granted", "test resubscribe"); err != nil {
			t.Fatal(err)
		}
	}
	exec(`INSERT INTO consents (contact_point_id, topic_id, status, source)
		SELECT id, (SELECT id FROM topics WHERE slug = 'bins'), 'granted', 'test' FROM contact_points WHERE id % 3 = 0`)

	var campaign, run int64
	if err := d.GetContext(ctx, &campaign, `INSERT INTO campaigns (name, topic_id, purpose)
		VALUES ('Spring clean', 1, 'marketing') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	if err := d.GetContext(ctx, &run, `INSERT INTO campaign_runs (campaign_id, scheduled_for) VALUES ($1, now()) RETURNING id`, campaign); err != nil {
		t.Fatal(err)
	}
	// Every fifth contact is in the audience, on email and post, in assorted states.
	exec(`INSERT INTO outbox (run_id, campaign_id, contact_id, channel, state)
		SELECT $1, $2, id, ch, (ARRAY['sent','delivered','failed','bounced','suppressed','pending'])[1 + (id + length(ch)) % 6]
		  FROM contacts, unnest(ARRAY['email','post']) ch WHERE id % 5 = 0`, run, campaign)
	exec(`ANALYZE`)
	return &seeded{db: d, world: load(t, d), campaign: campaign}
}

// normPostcode puts a postcode or sector value in stored form, as the importer would.
func normPostcode(field, op, s string) string {
	if op == "prefix" || s == "" {
		return s
	}
	if field == "postcode_sector" {
		s += "AA"
	}
	pc, err := contact.NormalizePostcode(s)
	if err != nil {
		panic(err)
	}
	if field == "postcode_sector" {
		return pc.Sector
	}
	return pc.Code
}

func mapList(in []string, f func(string) string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = f(s)
	}
	return out
}
