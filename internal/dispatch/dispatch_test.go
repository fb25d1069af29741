package dispatch_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/demo"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/outbox"
	"github.com/crierhq/crier/internal/sandbox"
	"github.com/crierhq/crier/internal/sms"
	"github.com/crierhq/crier/internal/web"
)

type rig struct {
	db       *sqlx.DB
	dsn      string
	smtp     *sandbox.SMTPServer
	sender   *email.SMTPSender
	composer *email.Composer
	campaign *campaign.Store
	web      *httptest.Server
}

func newRig(t *testing.T, residents int, extraCSV string) *rig {
	t.Helper()
	return newRigSMTP(t, residents, extraCSV, sandbox.SMTPConfig{Addr: "127.0.0.1:0"})
}

// newRigSMTP is newRig with the sandbox SMTP server configured by smtpCfg.
func newRigSMTP(t *testing.T, residents int, extraCSV string, smtpCfg sandbox.SMTPConfig) *rig {
	t.Helper()
	ctx := context.Background()
	_, dsn := dbtest.NewURL(t)
	d, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if _, err := demo.Seed(ctx, d, demo.Options{Rows: residents, Seed: 5}, extraCSV); err != nil {
		t.Fatal(err)
	}
	srv, err := sandbox.StartSMTP(ctx, smtpCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	host, port, _ := strings.Cut(srv.Addr(), ":")
	var portN int
	fmt.Sscan(port, &portN)
	sender, err := email.NewSMTPSender(email.SMTPConfig{Host: host, Port: portN, TLS: email.TLSNone, Connections: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sender.Close() })
	signer, _ := email.NewSigner(bytes.Repeat([]byte("k"), 32))
	r := &rig{db: d, dsn: dsn, smtp: srv, sender: sender, campaign: campaign.NewStore(d, nil)}
	// The web server answers the links in the e-bulletins; its URL goes into them.
	var handler http.Handler
	r.web = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) { handler.ServeHTTP(w, q) }))
	t.Cleanup(r.web.Close)
	r.composer = email.NewComposer(d, email.ComposerConfig{PublicURL: r.web.URL, FromName: "Millbrook Council",
		FromAddress: "news@council.example", ListDomain: "news.council.example",
		Branding: email.Branding{OrgName: "Millbrook Council", FooterAddress: "Town Hall, High Street"}, Signer: signer})
	ws, err := web.New(web.Config{DB: d, Signer: signer, Composer: r.composer, Branding: email.Branding{OrgName: "Millbrook Council"}})
	if err != nil {
		t.Fatal(err)
	}
	handler = ws.Handler()
	return r
}

func (r *rig) dispatcher(instance string, scheduling bool) *dispatch.Dispatcher {
	return dispatch.New(dispatch.Config{Instance: instance, Poll: 50 * time.Millisecond, Lease: 20 * time.Second,
		NoScheduling: !scheduling,
		Channels: map[dispatch.Channel]dispatch.ChannelConfig{
			dispatch.Email: {Sender: r.sender, Composer: r.composer, Workers: 4, Batch: 50},
		}}, outbox.NewStore(r.db), r.campaign)
}

func (r *rig) start(t *testing.T, c *campaign.Campaign) {
	t.Helper()
	ctx := context.Background()
	if err := r.campaign.Create(ctx, c, "general", "officer"); err != nil {
		t.Fatal(err)
	}
	if err := r.campaign.Schedule(ctx, c.ID, time.Time{}, "officer", nil); err != nil {
		t.Fatal(err)
	}
}

// poll calls cond every 50 ms until it holds, failing the test after within.
func poll(t *testing.T, within time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("gave up after %s: %s", within, state)
		case <-tick.C:
		}
	}
}

// waitState polls until the campaign reaches state (the scheduler completes runs).
func (r *rig) waitState(t *testing.T, id int64, want campaign.State, within time.Duration) {
	t.Helper()
	poll(t, within, func() (bool, string) {
		c, err := r.campaign.Get(context.Background(), fmt.Sprint(id))
		if err != nil {
			t.Fatal(err)
		}
		st, _ := r.campaign.Status(context.Background(), id)
		return c.State == want, fmt.Sprintf("campaign %d is %s, want %s; status %+v", id, c.State, want, st)
	})
}

func bulletin(name string) *campaign.Campaign {
	return &campaign.Campaign{Name: name, Purpose: "service", ChannelOrder: []string{"email"},
		EmailSubject: "{{first_name}}, your bin day is changing",
		EmailBody:    "# Bin day\n\nDear {{first_name}},\n\nFrom January we collect on **Tuesdays** in {{ward}}."}
}

type parsed struct {
	header      mail.Header
	text, html  string
	outboxID    string
	unsubscribe string
}

func parseMessage(t *testing.T, data []byte) parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	p := parsed{header: m.Header}
	_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type: %v", err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(part)
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			p.text = string(b)
		case "text/html":
			p.html = string(b)
		}
	}
	p.outboxID = m.Header.Get("Message-Id")
	lu := m.Header.Get("List-Unsubscribe")
	if i, j := strings.Index(lu, "<http"), strings.Index(lu, ">"); i >= 0 && j > i {
		p.unsubscribe = lu[i+1 : j]
	}
	return p
}

// TestCampaignSendsEveryEBulletinOnceAndUnsubscribeWorks sends a campaign to a ward of a
// real borough through the outbox, go-mail and a real SMTP server, with two crier
// instances sharing the work, and checks what arrived.
func TestCampaignSendsEveryEBulletinOnceAndUnsubscribeWorks(t *testing.T) {
	r := newRig(t, 3000, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i, d := range []*dispatch.Dispatcher{r.dispatcher("one", true), r.dispatcher("two", false)} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := d.Run(ctx); err != nil {
				t.Errorf("dispatcher %d: %v", i, err)
			}
		}()
	}
	c := bulletin("Bin day")
	r.start(t, c)
	r.waitState(t, c.ID, campaign.Completed, 60*time.Second)
	cancel()
	wg.Wait()

	var sent, lockedBy int
	r.db.Get(&sent, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state = 'sent'`, c.ID)
	r.db.Get(&lockedBy, `SELECT count(DISTINCT split_part(locked_by, '/', 1)) FROM outbox WHERE campaign_id = $1 AND state = 'sent'`, c.ID)
	msgs := r.smtp.Messages()
	if len(msgs) != sent || sent < 1000 {
		t.Fatalf("%d messages arrived, %d recorded sent", len(msgs), sent)
	}
	if lockedBy != 2 {
		t.Errorf("work was done by %d instance(s), want both", lockedBy)
	}
	seen := map[string]bool{}
	var first parsed
	for i, m := range msgs {
		p := parseMessage(t, m.Data)
		if seen[p.outboxID] {
			t.Fatalf("message %s arrived twice", p.outboxID)
		}
		seen[p.outboxID] = true
		if i == 0 {
			first = p
		}
	}
	if !strings.HasPrefix(first.outboxID, "<outbox-") {
		t.Errorf("Message-ID %q is not derived from the outbox id", first.outboxID)
	}
	h := first.header
	if h.Get("List-Unsubscribe-Post") != "List-Unsubscribe=One-Click" ||
		!strings.Contains(h.Get("List-Id"), "general.news.council.example") || h.Get("Date") == "" {
		t.Errorf("headers: %v", h)
	}
	// RFC 8058: the one-click URL alone. Crier has no unsubscribe mailbox, so a mailto
	// would send residents' requests nowhere.
	if lu := h.Get("List-Unsubscribe"); first.unsubscribe == "" || lu != "<"+first.unsubscribe+">" ||
		!strings.HasPrefix(first.unsubscribe, r.web.URL+"/u/") {
		t.Errorf("List-Unsubscribe %q, want only <%s/u/…>", lu, r.web.URL)
	}
	to, _ := mail.ParseAddress(h.Get("To"))
	var firstName, ward string
	if err := r.db.QueryRow(`SELECT c.first_name, c.ward FROM contacts c JOIN contact_points cp ON cp.contact_id = c.id
		WHERE cp.kind = 'email' AND lower(cp.value) = lower($1)`, to.Address).Scan(&firstName, &ward); err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	subject, _ := dec.DecodeHeader(h.Get("Subject"))
	if subject != firstName+", your bin day is changing" {
		t.Errorf("subject %q not personalised for %q", subject, firstName)
	}
	if !strings.Contains(first.text, "Dear "+firstName) || !strings.Contains(first.text, ward) || !strings.Contains(first.html, "<strong>Tuesdays</strong>") {
		t.Errorf("body not personalised or not both parts:\ntext: %.300s\nhtml: %.300s", first.text, first.html)
	}

	if !strings.Contains(first.text, "This is a service message from Millbrook Council") {
		t.Errorf("a service notice's footer must say so:\n%s", first.text)
	}

	// "View in your browser" shows this resident's own copy.
	view := regexp.MustCompile(`href="(http://[^"]+/b/[^"]+)"`).FindStringSubmatch(first.html)
	if view == nil {
		t.Fatal("no view-in-browser link in the HTML part")
	}
	resp, err := http.Get(html.UnescapeString(view[1]))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "Dear "+html.EscapeString(firstName)) {
		t.Fatalf("view in browser: %d\n%.400s", resp.StatusCode, page)
	}

	// Unsubscribe: a GET (what link scanners do) changes nothing; the one-click POST records it.
	if first.unsubscribe == "" {
		t.Fatal("no https unsubscribe URL")
	}
	consents := func() (n int) {
		r.db.Get(&n, `SELECT count(*) FROM consents WHERE source = 'web' AND detail = 'one-click unsubscribe from the email'`)
		return n
	}
	resp, err = http.Get(first.unsubscribe)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET unsubscribe: %v %v", resp, err)
	}
	resp.Body.Close()
	if consents() != 0 {
		t.Fatal("a GET unsubscribed somebody")
	}
	resp, err = http.Post(first.unsubscribe, "application/x-www-form-urlencoded", strings.NewReader(url.Values{"List-Unsubscribe": {"One-Click"}}.Encode()))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST unsubscribe: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, _ = http.Post(first.unsubscribe, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	resp.Body.Close()
	if consents() != 1 {
		t.Fatalf("unsubscribe recorded %d withdrawals, want exactly 1", consents())
	}
	// The preferences link lists the topic, its email box now unticked.
	prefs := regexp.MustCompile(`https?://\S+/p/\S+`).FindString(first.text)
	if prefs == "" {
		t.Fatal("no preferences link in the text part")
	}
	resp, err = http.Get(prefs)
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	unticked := regexp.MustCompile(`name="on" value="[0-9:]+">\s*<label for="[^"]+">By email to`)
	if resp.StatusCode != 200 || !strings.Contains(string(page), "General news") || !unticked.Match(page) {
		t.Fatalf("preferences page: %d\n%s", resp.StatusCode, page)
	}

	forged := first.unsubscribe[:len(first.unsubscribe)-3] + "xyz"
	resp, _ = http.Post(forged, "application/x-www-form-urlencoded", strings.NewReader("List-Unsubscribe=One-Click"))
	resp.Body.Close()
	if resp.StatusCode != 404 || consents() != 1 {
		t.Fatalf("forged token: status %d, %d withdrawals", resp.StatusCode, consents())
	}

	// The next campaign on the topic leaves that person out, with the reason recorded.
	next := bulletin("Bin day reminder")
	r.start(t, next)
	if _, err := r.campaign.StartDue(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	var reason string
	r.db.Get(&reason, `SELECT o.state || ': ' || o.reason FROM outbox o JOIN contact_points cp ON cp.id = o.contact_point_id
		WHERE o.campaign_id = $1 AND lower(cp.value) = lower($2)`, next.ID, to.Address)
	if reason != "suppressed: consent withdrawn" {
		t.Fatalf("after unsubscribing, the next campaign says %q", reason)
	}
}

// TestProviderFaultsNeverLoseOrRepeat: a bounced address is marked and not retried, a
// 4xx is retried until delivered, a connection lost after a message's final dot leaves
// that message unknown (the relay may have it: never sent again), and nothing arrives
// twice.
func TestProviderFaultsNeverLoseOrRepeat(t *testing.T) {
	extra := "Bounce,Me,bounce-me@example.org,,,,12,Acre Lane,London,SW2 1RW,Millbrook,en,,Yes,,,,\r\n" +
		"Later,Please,later@example.org,,,,14,Acre Lane,London,SW2 1RW,Millbrook,en,,Yes,,,,\r\n"
	r := newRig(t, 300, extra)
	r.smtp.FailRecipient("bounce-me@", 550, "5.1.1", "no such user")
	r.smtp.FailRecipient("later@", 451, "4.7.1", "try again later")
	r.smtp.DropNextConnections(1)
	r.smtp.AcceptThenDropNextConnections(1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	d := r.dispatcher("solo", true)
	go func() { defer close(done); d.Run(ctx) }()
	c := bulletin("Faults")
	r.start(t, c)

	// Wait until only the deferred retries are left, then let them through.
	poll(t, 30*time.Second, func() (bool, string) {
		var open, retried int
		r.db.Get(&open, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state IN ('pending', 'sending')`, c.ID)
		r.db.Get(&retried, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state = 'pending' AND attempt >= 1`, c.ID)
		return open > 0 && open == retried, fmt.Sprintf("%d open, %d waiting to retry", open, retried)
	})
	var later struct {
		State  string `db:"state"`
		Reason string `db:"reason"`
	}
	r.db.Get(&later, `SELECT o.state, o.reason FROM outbox o JOIN contact_points cp ON cp.id = o.contact_point_id
		WHERE o.campaign_id = $1 AND cp.value = 'later@example.org'`, c.ID)
	if later.State != "pending" || !strings.Contains(later.Reason, "451") {
		t.Fatalf("4xx row: %+v", later)
	}
	r.smtp.ClearFailures()
	r.db.MustExec(`UPDATE outbox SET run_at = now() WHERE campaign_id = $1 AND state = 'pending'`, c.ID)
	r.waitState(t, c.ID, campaign.Completed, 30*time.Second)
	cancel()
	<-done

	var bounced struct {
		State, Reason, PointStatus string
	}
	r.db.QueryRow(`SELECT o.state, o.reason, cp.status FROM outbox o JOIN contact_points cp ON cp.id = o.contact_point_id
		WHERE o.campaign_id = $1 AND cp.value = 'bounce-me@example.org'`, c.ID).Scan(&bounced.State, &bounced.Reason, &bounced.PointStatus)
	if bounced.State != "bounced" || bounced.PointStatus != "bounced" || !strings.Contains(bounced.Reason, "550") ||
		strings.Contains(bounced.Reason, "bounce-me") {
		t.Fatalf("bounced row: %+v (the reason must not quote the address)", bounced)
	}
	var sent int
	r.db.Get(&sent, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state = 'sent'`, c.ID)
	msgs := r.smtp.Messages()
	ids := map[string]int{}
	for _, m := range msgs {
		ids[parseMessage(t, m.Data).outboxID]++
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("%s arrived %d times", id, n)
		}
	}
	var unknown []string
	r.db.Select(&unknown, `SELECT reason FROM outbox WHERE campaign_id = $1 AND state = 'unknown'`, c.ID)
	if len(unknown) != 2 || !strings.Contains(unknown[0], "no reply after the message was sent") {
		t.Fatalf("unknown after the two dropped connections: %q, want 2 with their reason", unknown)
	}
	// One of the two dropped messages reached the relay, which kept it.
	if len(ids) != sent+1 {
		t.Fatalf("%d distinct messages arrived, %d recorded sent and one unknown kept by the relay", len(ids), sent)
	}
}

// TestPauseAndCancelMidSend pauses a run while it is sending (sending stops within a
// batch, on every worker), resumes it, then cancels a second run mid-send: what was not
// sent is recorded as cancelled and never sent afterwards.
func TestPauseAndCancelMidSend(t *testing.T) {
	r := newRig(t, 3000, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	d := dispatch.New(dispatch.Config{Instance: "solo", Poll: 50 * time.Millisecond, Lease: 20 * time.Second,
		Channels: map[dispatch.Channel]dispatch.ChannelConfig{
			dispatch.Email: {Sender: r.sender, Composer: r.composer, Workers: 2, Batch: 20, Rate: 400},
		}}, outbox.NewStore(r.db), r.campaign)
	go func() { defer close(done); d.Run(ctx) }()

	c := bulletin("Pause me")
	r.start(t, c)
	poll(t, 30*time.Second, func() (bool, string) { return r.smtp.Count() >= 200, "200 sent" })
	if err := r.campaign.Pause(context.Background(), c.ID, "officer"); err != nil {
		t.Fatal(err)
	}
	// In-flight batches finish; after that nothing more leaves.
	var settled int64
	poll(t, 10*time.Second, func() (bool, string) {
		var sending int
		r.db.Get(&sending, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state = 'sending'`, c.ID)
		settled = r.smtp.Count()
		return sending == 0, fmt.Sprintf("%d still sending", sending)
	})
	time.Sleep(500 * time.Millisecond) // several poll intervals: a paused run must stay quiet
	if n := r.smtp.Count(); n != settled {
		t.Fatalf("%d messages left after pausing (had %d)", n-settled, settled)
	}
	if err := r.campaign.Resume(context.Background(), c.ID, "officer"); err != nil {
		t.Fatal(err)
	}
	r.waitState(t, c.ID, campaign.Completed, 60*time.Second)

	c2 := bulletin("Cancel me")
	r.start(t, c2)
	before := r.smtp.Count()
	poll(t, 30*time.Second, func() (bool, string) { return r.smtp.Count() >= before+100, "100 more sent" })
	if err := r.campaign.Cancel(context.Background(), c2.ID, "officer"); err != nil {
		t.Fatal(err)
	}
	poll(t, 10*time.Second, func() (bool, string) {
		var open int
		r.db.Get(&open, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state IN ('sending', 'pending')`, c2.ID)
		return open == 0, fmt.Sprintf("%d open", open)
	})
	cancel()
	<-done
	var sent, cancelled int
	r.db.Get(&sent, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state = 'sent'`, c2.ID)
	r.db.Get(&cancelled, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state = 'cancelled'`, c2.ID)
	if cancelled == 0 || int64(sent) != r.smtp.Count()-before {
		t.Fatalf("cancel mid-send: %d sent (%d arrived), %d cancelled", sent, r.smtp.Count()-before, cancelled)
	}
}

// TestSlowRelayNeverLooksLikeADeadWorker sends through a relay that takes a quarter of a
// second per message, with a 2-second lease and batches that take longer than the lease
// to send, while the rescuer runs (issue 13, defect 1). Workers renew their leases while
// they send, so the rescuer never takes a live worker's rows: every message arrives
// once and is recorded sent, and none is unknown.
func TestSlowRelayNeverLooksLikeADeadWorker(t *testing.T) {
	r := newRigSMTP(t, 120, "", sandbox.SMTPConfig{Addr: "127.0.0.1:0", Delay: 250 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := dispatch.New(dispatch.Config{Instance: "slow", Poll: 50 * time.Millisecond, Lease: 2 * time.Second,
		Channels: map[dispatch.Channel]dispatch.ChannelConfig{
			// 2 workers × 12 rows, one connection each at 0.25 s: 3 s a batch, longer than the lease.
			dispatch.Email: {Sender: r.sender, Composer: r.composer, Workers: 2, Batch: 12},
		}}, outbox.NewStore(r.db), r.campaign)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	c := bulletin("Slow relay")
	r.start(t, c)
	r.waitState(t, c.ID, campaign.Completed, 90*time.Second)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	states := map[string]int{}
	rows, err := r.db.Query(`SELECT state, count(*) FROM outbox WHERE state <> 'suppressed' GROUP BY state`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		states[s] = n
	}
	rows.Close()
	if len(states) != 1 || states["sent"] < 30 {
		t.Fatalf("outbox states %v: every message must be recorded sent (and the test needs ≥ 30)", states)
	}
	var rescued int
	r.db.Get(&rescued, `SELECT count(*) FROM message_events WHERE event IN ('unknown', 'requeued')`)
	if rescued != 0 {
		t.Errorf("the rescuer took %d rows from a live worker", rescued)
	}
	arrived := map[string]int{}
	for _, m := range r.smtp.Messages() {
		arrived[parseMessage(t, m.Data).outboxID]++
	}
	for id, n := range arrived {
		if n > 1 {
			t.Errorf("%s arrived %d times", id, n)
		}
	}
	if len(arrived) != states["sent"] {
		t.Errorf("%d distinct messages arrived, %d recorded sent", len(arrived), states["sent"])
	}
}

// probe is a real sender with a look at the outbox at the moment each message is handed
// over: how many of the process's messages are handed and not yet settled, and whether
// this one's mark was committed first.
type probe struct {
	dispatch.Sender
	db       *sqlx.DB
	instance string

	mu        sync.Mutex
	maxHanded int
	unmarked  []int64 // sent without a committed "handed" mark
	sends     int
}

func (p *probe) Send(ctx context.Context, m dispatch.Message) (dispatch.Receipt, error) {
	var seen struct {
		Handed int  `db:"handed"`
		Marked bool `db:"marked"`
	}
	if err := p.db.GetContext(ctx, &seen, `SELECT count(*) AS handed, coalesce(bool_or(id = $2), false) AS marked
		FROM outbox WHERE state = 'sending' AND handed_at IS NOT NULL AND split_part(locked_by, '/', 1) = $1`,
		p.instance, m.OutboxID); err != nil {
		return dispatch.Receipt{}, err
	}
	p.mu.Lock()
	p.maxHanded = max(p.maxHanded, seen.Handed)
	if !seen.Marked {
		p.unmarked = append(p.unmarked, m.OutboxID)
	}
	p.sends++
	p.mu.Unlock()
	return p.Sender.Send(ctx, m)
}

// TestHandedNeverExceedsInFlight sends an e-bulletin and a text campaign through real
// senders (go-mail to the SMTP sandbox, twilio-go to the Twilio sandbox) with more
// workers than messages allowed in flight, and looks at the outbox as each message is
// handed over (issue 13, defect 2): every message is marked handed in a committed
// transaction before it goes, and the process never has more messages handed and
// unsettled than it may have in flight (a crash leaves no more unknown than that).
func TestHandedNeverExceedsInFlight(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ch       dispatch.Channel
		workers  int
		inFlight int
	}{
		{"email: fewer connections than workers", dispatch.Email, 6, 2},
		{"sms: requests in flight", dispatch.SMS, 3, 0}, // 0: one per worker
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRigSMTP(t, 400, "", sandbox.SMTPConfig{Addr: "127.0.0.1:0", Delay: 2 * time.Millisecond})
			p := &probe{db: r.db, instance: "probe"}
			cc := dispatch.ChannelConfig{Workers: tc.workers, Batch: 20, InFlight: tc.inFlight}
			c := bulletin("In flight")
			bound := tc.inFlight
			if tc.ch == dispatch.Email {
				p.Sender, cc.Composer = r.sender, r.composer
			} else {
				tw, err := sandbox.StartTwilio(context.Background(), sandbox.TwilioConfig{AccountSID: twAccount, AuthToken: twToken})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { tw.Close() })
				s, err := sms.NewTwilioSender(sms.TwilioConfig{AccountSID: twAccount, AuthToken: twToken,
					From: "+447700900999", APIURL: tw.URL()}, nil)
				if err != nil {
					t.Fatal(err)
				}
				p.Sender, cc.Composer = s, sms.NewComposer(r.db)
				c.ChannelOrder, c.SMSBody = []string{"sms"}, "Hi {{first_name}}, bin day moves to Tuesday."
				bound = tc.workers
			}
			cc.Sender = p
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			d := dispatch.New(dispatch.Config{Instance: "probe", Poll: 50 * time.Millisecond, Lease: 20 * time.Second,
				Channels: map[dispatch.Channel]dispatch.ChannelConfig{tc.ch: cc}}, outbox.NewStore(r.db), r.campaign)
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			r.start(t, c)
			r.waitState(t, c.ID, campaign.Completed, 60*time.Second)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			var sent int
			r.db.Get(&sent, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND state = 'sent'`, c.ID)
			if p.sends < 50 || sent != p.sends {
				t.Fatalf("%d sends, %d recorded sent: the test needs ≥ 50, all recorded", p.sends, sent)
			}
			if len(p.unmarked) > 0 {
				t.Errorf("%d messages went to the provider without a committed handed mark, e.g. outbox %d", len(p.unmarked), p.unmarked[0])
			}
			if p.maxHanded > bound {
				t.Errorf("up to %d messages handed and unsettled at once; at most %d may be in flight", p.maxHanded, bound)
			}
			t.Logf("%d sends; at most %d handed and unsettled at once (bound %d)", p.sends, p.maxHanded, bound)
		})
	}
}

const (
	twAccount = "AC00000000000000000000000000000000"
	twToken   = "sandbox0auth0token0not0a0secret0"
)
