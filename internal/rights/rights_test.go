package rights_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/rights"
	"github.com/crierhq/crier/internal/suppression"
)

var officer = audit.Entry{Actor: "cli:officer"}

func key(t *testing.T) *suppression.Key {
	t.Helper()
	k, err := suppression.NewKey(bytes.Repeat([]byte{0x42}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func writeCSV(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "residents.csv")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func exec(t *testing.T, d *sqlx.DB, q string, args ...any) {
	t.Helper()
	if _, err := d.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func get[T any](t *testing.T, d *sqlx.DB, q string, args ...any) T {
	t.Helper()
	var v T
	if err := d.Get(&v, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// The resident at the heart of these tests: a name in Arabic script, an odd but valid
// address (plus-tag, apostrophe, mixed case), a mobile, a home; and a neighbour at the
// same door who must be left alone.
const header = "First name,Surname,E-mail address,Mobile,House number,Street,Postcode,Ward,Email consent,SMS consent,Post consent,Notes\r\n"
const residents = header +
	"رنا,الحسيني,Rana.O'Hara+Council@Example.ORG,07700 900461,14,Acre Lane,SW2 5SG,Millbrook,yes,yes,yes,walks the dog at 6\r\n" +
	"Tomasz,Nowak,tomasz@example.net,07700 900462,14,Acre Lane,SW2 5SG,Millbrook,yes,yes,yes,\r\n"

type fixture struct {
	d          *sqlx.DB
	rana, tom  int64
	ranaEmail  int64 // contact point ids
	ranaMobile int64
	campaign   int64
	run        int64
	emailMsg   int64
	smsMsg     int64
	pendingMsg int64
	postMsg    int64
	reply      int64
	stop       int64
}

// history builds a resident with a full history, through the real importer and
// consent ledger, and the rows sending produces as the dispatcher and webhooks write
// them: an e-bulletin delivered, a text delivered with Twilio's report, a leaflet
// delivered at their door, a reply, a second campaign still waiting to send.
func history(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	d := dbtest.New(t)
	f := fixture{d: d}
	cs := contact.NewStore(d, nil)
	if res, err := cs.Import(ctx, contact.ImportOptions{Path: writeCSV(t, residents), Actor: "cli:officer"}); err != nil {
		t.Fatalf("import: %v %v", err, res.Errors)
	}
	var err error
	if f.rana, err = cs.FindByEmail(ctx, "rana.o'hara+council@example.org"); err != nil {
		t.Fatal(err)
	}
	if f.tom, err = cs.FindByEmail(ctx, "tomasz@example.net"); err != nil {
		t.Fatal(err)
	}
	f.ranaEmail = get[int64](t, d, `SELECT id FROM contact_points WHERE contact_id = $1 AND kind = 'email'`, f.rana)
	f.ranaMobile = get[int64](t, d, `SELECT id FROM contact_points WHERE contact_id = $1 AND kind = 'phone'`, f.rana)
	// She changed her mind about texts on the preference centre.
	if err := cs.RecordConsent(ctx, f.ranaMobile, "general", "withdrawn", "web"); err != nil {
		t.Fatal(err)
	}
	if err := cs.RecordConsent(ctx, f.ranaMobile, "general", "granted", "web"); err != nil {
		t.Fatal(err)
	}
	f.campaign = get[int64](t, d, `INSERT INTO campaigns (name, topic_id, purpose, strategy, email_subject, email_body, sms_body, state)
		VALUES ('Bin collection changes', 1, 'marketing', 'all', 'Your bins from June', 'Hello {{first_name}}', 'Bins change in June', 'sending') RETURNING id`)
	f.run = get[int64](t, d, `INSERT INTO campaign_runs (campaign_id, scheduled_for) VALUES ($1, now() - interval '2 days') RETURNING id`, f.campaign)
	sent := time.Now().Add(-47 * time.Hour)
	f.emailMsg = get[int64](t, d, `INSERT INTO outbox (run_id, campaign_id, contact_id, contact_point_id, channel, state, attempt, handed_at, sent_at, provider_id)
		VALUES ($1, $2, $3, $4, 'email', 'sent', 1, $5, $5, 'outbox-1.crier@news.council.example') RETURNING id`, f.run, f.campaign, f.rana, f.ranaEmail, sent)
	f.smsMsg = get[int64](t, d, `INSERT INTO outbox (run_id, campaign_id, contact_id, contact_point_id, channel, state, attempt, handed_at, sent_at,
		provider_id, provider_status, provider_rank)
		VALUES ($1, $2, $3, $4, 'sms', 'delivered', 1, $5, $5, 'SM0a1b2c3d4e5f60718293a4b5c6d7e8f9', 'delivered', 4) RETURNING id`,
		f.run, f.campaign, f.rana, f.ranaMobile, sent)
	tomEmail := get[int64](t, d, `SELECT id FROM contact_points WHERE contact_id = $1 AND kind = 'email'`, f.tom)
	exec(t, d, `INSERT INTO outbox (run_id, campaign_id, contact_id, contact_point_id, channel, state, attempt, sent_at)
		VALUES ($1, $2, $3, $4, 'email', 'sent', 1, $5)`, f.run, f.campaign, f.tom, tomEmail, sent)
	postal := get[int64](t, d, `SELECT id FROM contact_points WHERE contact_id = $1 AND kind = 'postal'`, f.rana)
	f.postMsg = get[int64](t, d, `INSERT INTO outbox (run_id, campaign_id, contact_id, contact_point_id, channel, state, sent_at)
		VALUES ($1, $2, $3, $4, 'post', 'delivered', $5) RETURNING id`, f.run, f.campaign, f.rana, postal, sent)
	for _, e := range []struct {
		id          int64
		event, text string
	}{
		{f.emailMsg, "queued", ""}, {f.emailMsg, "sent", "250 2.0.0 Ok: queued as 4F2A1"},
		{f.emailMsg, "bounced", "550 5.1.1 <Rana.O'Hara+Council@example.org>: mailbox full, delivered on retry"},
		{f.smsMsg, "queued", ""}, {f.smsMsg, "sent", ""}, {f.smsMsg, "delivered", "Twilio: delivered"},
	} {
		exec(t, d, `INSERT INTO message_events (outbox_id, event, detail, at) VALUES ($1, $2, $3, $4)`, e.id, e.event, e.text, sent)
	}
	exec(t, d, `INSERT INTO provider_statuses (provider_id, status, rank, state, applied) VALUES
		('SM0a1b2c3d4e5f60718293a4b5c6d7e8f9', 'delivered', 4, 'delivered', true)`)
	// She answered the text; an officer replied.
	conv := get[int64](t, d, `INSERT INTO conversations (phone, contact_id, unread) VALUES ('+447700900461', $1, 0) RETURNING id`, f.rana)
	f.reply = get[int64](t, d, `INSERT INTO sms_messages (conversation_id, direction, provider_sid, body, campaign_id, outbox_id, tags, at)
		VALUES ($1, 'in', 'SMfedcba98765432100123456789abcdef', 'شكرا! The bins at 14 Acre Lane are never collected — Rana', $2, $3, '{issue raised}', $4) RETURNING id`,
		conv, f.campaign, f.smsMsg, sent.Add(time.Hour))
	exec(t, d, `INSERT INTO sms_messages (conversation_id, direction, provider_sid, body, sent_by, status, at)
		VALUES ($1, 'out', 'SM99999999999999999999999999999999', 'Thank you Rana, we will look into it.', 'officer@council.example', 'delivered', $2)`,
		conv, sent.Add(2*time.Hour))
	// A leaflet round walked past her door.
	pr := get[int64](t, d, `INSERT INTO print_runs (campaign_id, run_id, kind, format, round_size) VALUES ($1, $2, 'addressed', 'a4', 40) RETURNING id`, f.campaign, f.run)
	round := get[int64](t, d, `INSERT INTO rounds (print_run_id, name, sector, streets) VALUES ($1, 'SW2 5 – 1', 'SW2 5', '{Acre Lane}') RETURNING id`, pr)
	addr := get[int64](t, d, `SELECT address_id FROM contact_points WHERE id = $1`, postal)
	f.stop = get[int64](t, d, `INSERT INTO round_stops (round_id, seq, address_id, outbox_ids, state) VALUES ($1, 1, $2, $3, 'delivered') RETURNING id`,
		round, addr, "{"+itoa(f.postMsg)+"}")
	exec(t, d, `UPDATE addresses SET delivery_notes = 'رنا: side gate' WHERE id = $1`, addr)
	// A second campaign is still waiting to send her an e-bulletin.
	c2 := get[int64](t, d, `INSERT INTO campaigns (name, topic_id, purpose, state) VALUES ('Library hours', 1, 'marketing', 'sending') RETURNING id`)
	r2 := get[int64](t, d, `INSERT INTO campaign_runs (campaign_id, scheduled_for) VALUES ($1, now()) RETURNING id`, c2)
	f.pendingMsg = get[int64](t, d, `INSERT INTO outbox (run_id, campaign_id, contact_id, contact_point_id, channel) VALUES ($1, $2, $3, $4, 'email') RETURNING id`,
		r2, c2, f.rana, f.ranaEmail)
	// A sign-up she made on the web before the import, confirmed.
	exec(t, d, `INSERT INTO signups (token_hash, email, first_name, last_name, mobile, topic_ids, client_hash, expires_at, confirmed_at, contact_id)
		VALUES ('\x01', 'rana.o''hara+council@example.org', 'رنا', 'الحسيني', '+447700900461', '{1}', '\x02', now(), now(), $1)`, f.rana)
	return f
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestAccessExportHoldsEverything(t *testing.T) {
	f := history(t)
	ctx := context.Background()
	s := rights.NewStore(f.d, key(t), nil)
	for _, l := range []rights.Lookup{{ID: f.rana}, {Email: "  RANA.O'HARA+council@example.org"}, {Phone: "07700 900461"}, {Phone: "+44 7700 900461"}} {
		id, err := s.Find(ctx, l)
		if err != nil || id != f.rana {
			t.Fatalf("Find(%+v) = %d, %v; want %d", l, id, err, f.rana)
		}
	}
	if _, err := s.Find(ctx, rights.Lookup{Email: "nobody@example.org"}); !errors.Is(err, rights.ErrNotFound) {
		t.Fatalf("Find(nobody) = %v, want ErrNotFound", err)
	}
	x, err := s.Access(ctx, f.rana, officer)
	if err != nil {
		t.Fatal(err)
	}
	if x.Contact.FirstName != "رنا" || x.Contact.LastName != "الحسيني" || x.Contact.Ward != "Millbrook" {
		t.Errorf("contact = %+v", x.Contact)
	}
	if !strings.Contains(string(x.Contact.Attributes), "walks the dog at 6") {
		t.Errorf("attributes = %s, want the Notes column", x.Contact.Attributes)
	}
	if x.Household == nil || x.Household.Address.Street != "Acre Lane" || x.Household.Address.HouseNumber != "14" {
		t.Errorf("household = %+v", x.Household)
	}
	kinds := map[string]string{}
	for _, p := range x.ContactPoints {
		kinds[p.Kind] = p.Value
		if p.Kind == "postal" && (p.Address == nil || p.Address.Postcode != "SW2 5SG") {
			t.Errorf("postal point without its address: %+v", p)
		}
	}
	if kinds["email"] != "Rana.O'Hara+Council@example.org" || kinds["phone"] != "+447700900461" || len(kinds) != 3 {
		t.Errorf("contact points = %v", kinds)
	}
	// Import granted three consents; she withdrew and granted texts again.
	var sources []string
	for _, c := range x.ConsentEvents {
		sources = append(sources, c.Status+" "+c.Source)
	}
	if len(x.ConsentEvents) != 5 || !strings.Contains(strings.Join(sources, ";"), "withdrawn web") {
		t.Errorf("consent events = %v", sources)
	}
	if len(x.Signups) != 1 || x.Signups[0].Mobile != "+447700900461" {
		t.Errorf("signups = %+v", x.Signups)
	}
	byID := map[int64]rights.Message{}
	for _, m := range x.Messages {
		byID[m.ID] = m
	}
	if len(x.Messages) != 4 {
		t.Errorf("%d messages, want 4 (email, sms, post, pending)", len(x.Messages))
	}
	if m := byID[f.emailMsg]; m.EmailSubject != "Your bins from June" || len(m.Events) != 3 || m.Campaign != "Bin collection changes" {
		t.Errorf("email message = %+v", m)
	}
	if m := byID[f.smsMsg]; m.Delivery == nil || m.Delivery.Status != "delivered" || len(m.Events) != 3 {
		t.Errorf("sms message = %+v (delivery %+v)", m, m.Delivery)
	}
	if m := byID[f.pendingMsg]; m.State != "pending" {
		t.Errorf("pending message = %+v", m)
	}
	if len(x.Conversations) != 1 || len(x.Conversations[0].Texts) != 2 || !strings.Contains(x.Conversations[0].Texts[0].Body, "14 Acre Lane") {
		t.Errorf("conversations = %+v", x.Conversations)
	}
	if len(x.LeafletDeliveries) != 1 || x.LeafletDeliveries[0].StopID != f.stop || x.LeafletDeliveries[0].State != "delivered" {
		t.Errorf("leaflet deliveries = %+v", x.LeafletDeliveries)
	}
	// The JSON names are the documented ones.
	b, err := json.Marshal(x)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{`"format_version":1`, `"contact_points"`, `"consent_events"`, `"messages"`, `"provider_delivery"`,
		`"conversations"`, `"texts"`, `"leaflet_deliveries"`, `"audit_entries"`, `"signups"`, `"household"`} {
		if !bytes.Contains(b, []byte(name)) {
			t.Errorf("export JSON lacks %s", name)
		}
	}
	// The export is audited by id, without her personal data.
	entries, err := audit.List(ctx, f.d, audit.Filter{Action: audit.SubjectAccess})
	if err != nil || len(entries) != 1 || entries[0].SubjectID != itoa(f.rana) || entries[0].Actor != "cli:officer" {
		t.Fatalf("audit = %+v, %v", entries, err)
	}
	detail, _ := json.Marshal(entries[0].Detail)
	if bytes.Contains(detail, []byte("900461")) || bytes.Contains(detail, []byte("example.org")) {
		t.Errorf("audit detail holds personal data: %s", detail)
	}
	// A second export lists the first in the audit entries about her.
	x2, err := s.Access(ctx, f.rana, officer)
	if err != nil || len(x2.AuditEntries) != 1 || x2.AuditEntries[0].Action != audit.SubjectAccess {
		t.Fatalf("second export audit entries = %+v, %v", x2.AuditEntries, err)
	}
	if _, err := s.Access(ctx, 999999, officer); !errors.Is(err, rights.ErrNotFound) {
		t.Errorf("Access(missing) = %v", err)
	}
}

// needles are the ways her personal data could be written anywhere.
var needles = []string{"رنا", "الحسيني", "rana.o'hara", "council@example", "+447700900461", "7700900461", "07700 900461", "side gate", "walks the dog", "never collected"}

// leftovers scans every column of every row of every table (as the row's text) for the
// needles, and returns "table: needle" for each found.
func leftovers(t *testing.T, d *sqlx.DB) []string {
	t.Helper()
	var tables []string
	if err := d.Select(&tables, `SELECT quote_ident(table_name) FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, tb := range tables {
		for _, n := range needles {
			var hits int
			// bytea columns show as hex in a row's text: check their UTF-8 too.
			q := `SELECT count(*) FROM ` + tb + ` r WHERE strpos(lower(r::text), lower($1)) > 0`
			if err := d.Get(&hits, q, n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if hits > 0 {
				found = append(found, tb+": "+n)
			}
		}
	}
	var raw int
	if err := d.Get(&raw, `SELECT count(*) FROM sms_messages WHERE raw_body IS NOT NULL AND strpos(convert_from(raw_body, 'UTF8'), 'Acre') > 0`); err != nil {
		t.Fatal(err)
	}
	if raw > 0 {
		found = append(found, "sms_messages.raw_body")
	}
	return found
}

func outcomeTotals(t *testing.T, d *sqlx.DB, id int64) map[string]int {
	t.Helper()
	cs := campaign.NewStore(d, nil)
	c, err := cs.Get(context.Background(), itoa(id))
	if err != nil {
		t.Fatal(err)
	}
	outcomes, _, err := cs.Results(context.Background(), c, []string{"email", "sms", "post"})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, o := range outcomes {
		m[o.Channel+" "+o.State] += o.N
	}
	return m
}

func TestEraseLeavesNoTraceAndKeepsCounts(t *testing.T) {
	f := history(t)
	ctx := context.Background()
	if found := leftovers(t, f.d); len(found) == 0 {
		t.Fatal("the fixture holds none of the needles: the scan would prove nothing")
	}
	before := outcomeTotals(t, f.d, f.campaign)
	s := rights.NewStore(f.d, key(t), nil)

	if _, err := rights.NewStore(f.d, nil, nil).Erase(ctx, f.rana, "letter of 3 May", officer); !errors.Is(err, rights.ErrNoKey) {
		t.Fatalf("Erase without a key = %v", err)
	}
	// While a message to her is in a worker's hands, erasure waits.
	exec(t, f.d, `UPDATE outbox SET state = 'sending', locked_by = 'w1', lease_until = now() + interval '2 minutes' WHERE id = $1`, f.pendingMsg)
	if _, err := s.Erase(ctx, f.rana, "letter of 3 May", officer); !errors.Is(err, rights.ErrSending) {
		t.Fatalf("Erase while sending = %v, want ErrSending", err)
	}
	exec(t, f.d, `UPDATE outbox SET state = 'pending', locked_by = NULL, lease_until = NULL WHERE id = $1`, f.pendingMsg)

	plan, err := s.Preview(ctx, f.rana)
	if err != nil || plan.Name != "رنا الحسيني" || plan.MessagesKept != 4 || plan.PendingCancelled != 1 || plan.Texts != 2 || plan.Suppressions != 2 {
		t.Fatalf("Preview = %+v, %v", plan, err)
	}
	done, err := s.Erase(ctx, f.rana, "letter of 3 May", officer)
	if err != nil {
		t.Fatal(err)
	}
	if done.MessagesKept != 4 || done.PendingCancelled != 1 || done.Conversations != 1 || done.Signups != 1 || done.ConsentEvents != 5 {
		t.Errorf("Erase = %+v", done)
	}
	if found := leftovers(t, f.d); len(found) > 0 {
		t.Errorf("personal data left after erasure: %v", found)
	}
	// The neighbour and the door are untouched.
	if n := get[int](t, f.d, `SELECT count(*) FROM contact_points WHERE contact_id = $1`, f.tom); n != 3 {
		t.Errorf("neighbour has %d contact points, want 3", n)
	}
	// The campaign's totals add up as before (the e-bulletin, text and leaflet still
	// count); only her reply, which was hers, is gone.
	after := outcomeTotals(t, f.d, f.campaign)
	delete(before, "sms replied")
	if len(after) != len(before) {
		t.Errorf("outcomes before %v, after %v", before, after)
	}
	for k, v := range before {
		if after[k] != v {
			t.Errorf("outcome %s: %d before erasure, %d after", k, v, after[k])
		}
	}
	if st := get[string](t, f.d, `SELECT state FROM outbox WHERE id = $1`, f.pendingMsg); st != "cancelled" {
		t.Errorf("waiting message is %s, want cancelled", st)
	}
	if ids := get[string](t, f.d, `SELECT outbox_ids::text FROM round_stops WHERE id = $1`, f.stop); ids != "{"+itoa(f.postMsg)+"}" {
		t.Errorf("round stop's messages = %s", ids)
	}
	// The erasure is in the audit log by id and counts.
	entries, err := audit.List(ctx, f.d, audit.Filter{Action: audit.ContactErase})
	if err != nil || len(entries) != 1 || entries[0].SubjectID != itoa(f.rana) || entries[0].Detail["messages_anonymised"] != float64(4) {
		t.Fatalf("audit = %+v, %v", entries, err)
	}
	if _, err := s.Access(ctx, f.rana, officer); !errors.Is(err, rights.ErrNotFound) {
		t.Errorf("Access after erasure = %v", err)
	}

	// Re-importing her (another spelling of her email; her number in another format)
	// skips her rows, names the line, and imports the rest.
	cs := contact.NewStore(f.d, nil)
	body := header +
		"Rana,Al-Husseini,rana.o'hara+COUNCIL@EXAMPLE.org,,14,Acre Lane,SW2 5SG,Millbrook,yes,,,\r\n" +
		"Ada,Lovelace,ada@example.org,,3,Acre Lane,SW2 5SG,Millbrook,yes,,,\r\n" +
		"R.,Husseini,,+44 (0)7700 900461,14,Acre Lane,SW2 5SG,Millbrook,,yes,,\r\n"
	if _, err := cs.Import(ctx, contact.ImportOptions{Path: writeCSV(t, body)}); !errors.Is(err, suppression.ErrNoKey) {
		t.Fatalf("import without the key = %v, want ErrNoKey", err)
	}
	res, err := cs.Import(ctx, contact.ImportOptions{Path: writeCSV(t, body), Suppression: key(t)})
	if err != nil {
		t.Fatalf("import: %v %v", err, res.Errors)
	}
	var lines []string
	for _, e := range res.Suppressed {
		lines = append(lines, e.Error())
	}
	sort.Strings(lines)
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "residents.csv:2: this person asked to be erased on ") ||
		!strings.Contains(lines[0], "(their email") || !strings.HasPrefix(lines[1], "residents.csv:4: this person asked to be erased on ") ||
		!strings.HasSuffix(lines[1], "skipped") {
		t.Errorf("suppressed = %q", lines)
	}
	if res.ContactsCreated != 1 || res.Imported != 1 {
		t.Errorf("created %d, imported %d; want 1 (Ada)", res.ContactsCreated, res.Imported)
	}
	if found := leftovers(t, f.d); len(found) > 0 {
		t.Errorf("re-import brought her back: %v", found)
	}
	if n := get[int](t, f.d, `SELECT count(*) FROM contact_points WHERE value IN ('+447700900461') OR lower(value) LIKE 'rana%'`); n != 0 {
		t.Errorf("%d of her contact points re-imported", n)
	}
}

func TestRetentionRemovesOnlyOldWords(t *testing.T) {
	f := history(t)
	ctx := context.Background()
	s := rights.NewStore(f.d, key(t), nil)
	conv := get[int64](t, f.d, `SELECT id FROM conversations LIMIT 1`)
	fresh := get[int64](t, f.d, `INSERT INTO sms_messages (conversation_id, direction, body, at) VALUES ($1, 'in', 'Yes please', now() - interval '2 days') RETURNING id`, conv)
	old := get[int64](t, f.d, `INSERT INTO sms_messages (conversation_id, direction, body, raw_body, poll_answer, at)
		VALUES ($1, 'in', 'B '||chr(65533), '\x4220ff', 'b', now() - interval '200 days') RETURNING id`, conv)
	oldOut := get[int64](t, f.d, `INSERT INTO sms_messages (conversation_id, direction, body, sent_by, at) VALUES ($1, 'out', 'Noted, thanks', 'officer@council.example', now() - interval '200 days') RETURNING id`, conv)
	now := time.Now()

	p := rights.Policy{Replies: 90 * 24 * time.Hour}
	dry, err := s.Retention(ctx, p, now, true, true, officer)
	if err != nil || dry.Replies != 1 || dry.Bodies != 0 {
		t.Fatalf("dry run = %+v, %v", dry, err)
	}
	if b := get[string](t, f.d, `SELECT body FROM sms_messages WHERE id = $1`, old); b == "" {
		t.Fatal("a dry run removed words")
	}
	res, err := s.Retention(ctx, p, now, false, false, officer)
	if err != nil || res.Replies != 1 || res.Bodies != 0 {
		t.Fatalf("Retention = %+v, %v", res, err)
	}
	type row struct {
		Body    string  `db:"body"`
		Raw     []byte  `db:"raw_body"`
		Removed *string `db:"removed"`
		Poll    string  `db:"poll_answer"`
	}
	var r row
	if err := f.d.Get(&r, `SELECT body, raw_body, body_removed_at::text AS removed, poll_answer FROM sms_messages WHERE id = $1`, old); err != nil {
		t.Fatal(err)
	}
	if r.Body != "" || r.Raw != nil || r.Removed == nil || r.Poll != "b" {
		t.Errorf("old reply after retention = %+v", r)
	}
	for _, id := range []int64{fresh, f.reply, oldOut} { // f.reply is 47 hours old
		if b := get[string](t, f.d, `SELECT body FROM sms_messages WHERE id = $1`, id); b == "" {
			t.Errorf("text %d lost its words", id)
		}
	}
	// Officers' replies go by their own age.
	res, err = s.Retention(ctx, rights.Policy{Replies: 90 * 24 * time.Hour, Bodies: 30 * 24 * time.Hour}, now, false, true, officer)
	if err != nil || res.Replies != 0 || res.Bodies != 1 {
		t.Fatalf("second run = %+v, %v", res, err)
	}
	entries, err := audit.List(ctx, f.d, audit.Filter{Action: audit.Retention})
	if err != nil || len(entries) != 2 {
		t.Fatalf("retention audit entries = %d, %v (want one per run that removed something or ran by hand)", len(entries), err)
	}
	if n, err := s.Retention(ctx, rights.Policy{}, now, false, false, officer); err != nil || n.Replies+n.Bodies != 0 {
		t.Fatalf("off policy = %+v, %v", n, err)
	}
}

// Every column tying a row to a resident is covered by Access and Erase (rights.Covered):
// a new table with a foreign key to contacts, contact points, messages or conversations,
// or a column named like one, fails here until it is.
func TestEveryResidentReferenceIsCovered(t *testing.T) {
	d := dbtest.New(t)
	var refs []string
	err := d.Select(&refs, `
WITH parents(t) AS (VALUES ('contacts'), ('contact_points'), ('outbox'), ('conversations'), ('signups'), ('households'), ('addresses'), ('sms_messages')),
fks AS (
    SELECT c.conrelid::regclass::text || '.' || a.attname AS ref
      FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
     WHERE c.contype = 'f' AND c.confrelid::regclass::text IN (SELECT t FROM parents)),
ri AS (
    -- the statement-level checks (migration 00001): ri_check_children(column, parent)
    SELECT tg.tgrelid::regclass::text || '.' || split_part(encode(tg.tgargs, 'escape'), '\000', 1) AS ref
      FROM pg_trigger tg JOIN pg_proc p ON p.oid = tg.tgfoid
     WHERE p.proname = 'ri_check_children' AND split_part(encode(tg.tgargs, 'escape'), '\000', 2) IN (SELECT t FROM parents)
    UNION
    SELECT split_part(encode(tg.tgargs, 'escape'), '\000', 1) || '.' || split_part(encode(tg.tgargs, 'escape'), '\000', 2)
      FROM pg_trigger tg JOIN pg_proc p ON p.oid = tg.tgfoid
     WHERE p.proname = 'ri_parent_deleted' AND tg.tgrelid::regclass::text IN (SELECT t FROM parents)),
named AS (
    SELECT table_name || '.' || column_name FROM information_schema.columns
     WHERE table_schema = 'public' AND table_name IN (SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema = 'public')
       AND column_name IN ('contact_id', 'contact_point_id', 'outbox_id', 'outbox_ids', 'conversation_id', 'household_id', 'signup_id', 'address_id', 'phone', 'mobile', 'email'))
SELECT ref FROM fks UNION SELECT ref FROM ri UNION SELECT * FROM named ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) < 10 {
		t.Fatalf("found only %v: the schema query is broken", refs)
	}
	// Columns that look like references but are about officers, not residents.
	officers := map[string]bool{"users.email": true}
	for _, r := range refs {
		if _, ok := rights.Covered[r]; !ok && !officers[r] {
			t.Errorf("%s ties rows to a resident but rights.Covered does not say what Access and Erase do with it", r)
		}
	}
	for c := range rights.Covered {
		tb, col, _ := strings.Cut(c, ".")
		if n := get[int](t, d, `SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2`, tb, col); n != 1 {
			t.Errorf("rights.Covered names %s, which does not exist", c)
		}
	}
}

// The daily run removes old words straight away, and returns once cancelled.
func TestRunRetentionReturnsWhenCancelled(t *testing.T) {
	d := dbtest.New(t)
	exec(t, d, `INSERT INTO conversations (phone) VALUES ('+447700900777')`)
	exec(t, d, `INSERT INTO sms_messages (conversation_id, direction, body, at) SELECT id, 'in', 'old words', now() - interval '30 days' FROM conversations`)
	s := rights.NewStore(d, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- s.RunRetention(ctx, rights.Policy{Replies: 7 * 24 * time.Hour}, time.Hour, audit.Entry{Actor: "serve:test"})
	}()
	deadline := time.After(30 * time.Second)
	for {
		var left int
		if err := d.Get(&left, `SELECT count(*) FROM sms_messages WHERE body <> ''`); err != nil {
			t.Fatal(err)
		}
		if left == 0 {
			break
		}
		select {
		case <-deadline:
			t.Fatal("the first run did not remove the old words")
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("RunRetention = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunRetention did not return after cancellation")
	}
	if err := s.RunRetention(context.Background(), rights.Policy{}, time.Hour, officer); err != nil {
		t.Fatalf("off policy = %v", err)
	}
}
