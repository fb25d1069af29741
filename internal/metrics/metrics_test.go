package metrics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/demo"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/metrics"
	"github.com/crierhq/crier/internal/outbox"
	"github.com/crierhq/crier/internal/sandbox"
	"github.com/crierhq/crier/internal/sms"
	"github.com/crierhq/crier/internal/web"
)

const (
	token     = "scrape-token-for-tests"
	twAccount = "AC00000000000000000000000000000000"
	twToken   = "sandbox0auth0token0not0a0secret0"
)

// syncBuffer is a log sink the workers, the web server and the sandboxes share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// scrape GETs /metrics with the token and parses the exposition.
func scrape(t *testing.T, url string) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url+metrics.Path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, body.String())
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body.Bytes()))
	if err != nil {
		t.Fatalf("parse the exposition: %v\n%s", err, body.String())
	}
	return fams, body.String()
}

// value is the value of the metric of family name whose labels include want (nil: the
// sum over every such metric; a histogram's count).
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	var sum float64
	found := false
next:
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum, found
}

func must(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	v, ok := value(fams, name, labels)
	if !ok {
		t.Fatalf("no %s%v in the scrape", name, labels)
	}
	return v
}

func count(t *testing.T, d *sqlx.DB, q string, args ...any) float64 {
	t.Helper()
	var n float64
	if err := d.Get(&n, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestMetricsAfterARealSend sends an e-bulletin and a text to a small borough through the
// real outbox, dispatcher, go-mail and twilio-go to the sandboxes (one address bounces,
// some numbers are the Twilio sandbox's failures), with Twilio's status callbacks coming
// back through the real signed webhook, then scrapes /metrics as Prometheus would and
// checks each value against the database. Everything logs as JSON into one buffer, which
// must parse line by line and name no resident.
func TestMetricsAfterARealSend(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	// One address the relay refuses, and the Twilio sandbox's magic numbers: invalid,
	// not a mobile, opted out at Twilio, unreachable (a failed delivery report), a
	// server error.
	extra := "Bounce,Me,bounce-me@example.org,,,,12,Acre Lane,London,SW2 1RW,Millbrook,en,,Yes,,,,\r\n"
	for i, n := range []string{"900001", "900002", "900003", "900004", "900007"} {
		extra += fmt.Sprintf("Magic,Number%c,,07700 %s,,,%d,Acre Lane,London,SW2 1RW,Millbrook,en,,,Yes,,,\r\n", 'A'+i, n, 20+i)
	}
	if _, err := demo.Seed(ctx, d, demo.Options{Rows: 200, Seed: 5}, extra); err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	mailbox, err := sandbox.StartSMTP(ctx, sandbox.SMTPConfig{Addr: "127.0.0.1:0", Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mailbox.Close() })
	mailbox.FailRecipient("bounce-me@", 550, "5.1.1", "no such user")
	host, port, _ := net.SplitHostPort(mailbox.Addr())
	portN, _ := strconv.Atoi(port)
	mailer, err := email.NewSMTPSender(email.SMTPConfig{Host: host, Port: portN, TLS: email.TLSNone, Connections: 2}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mailer.Close() })

	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	phone, err := sandbox.StartTwilio(ctx, sandbox.TwilioConfig{AccountSID: twAccount, AuthToken: twToken, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { phone.Close() })
	texter, err := sms.NewTwilioSender(sms.TwilioConfig{AccountSID: twAccount, AuthToken: twToken, From: "+447700900999",
		StatusCallback: base + web.StatusPath, APIURL: phone.URL()}, log)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := email.NewSigner(bytes.Repeat([]byte("m"), 32))
	brand := email.Branding{OrgName: "Millbrook Council", FooterAddress: "Town Hall, 1 High Street, London SW2 1RW", WebsiteURL: base}
	composer := email.NewComposer(d, email.ComposerConfig{PublicURL: base, FromName: "Millbrook Council",
		FromAddress: "news@millbrook.example", ListDomain: "news.millbrook.example", Branding: brand, Signer: signer})
	ib := inbox.NewStore(d, inbox.Config{OrgName: "Millbrook Council"}, texter)
	ob := outbox.NewStore(d)
	m := metrics.New(d, metrics.Config{Token: token})
	ws, err := web.New(web.Config{DB: d, Signer: signer, Composer: composer, Branding: brand, Logger: log,
		Twilio: &web.TwilioHooks{AuthToken: twToken, PublicURL: base, Inbox: ib, Outbox: ob, OnStatus: m.DeliveryReport}})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = m.Wrap(ws.Handler())
	srv.Start()
	t.Cleanup(srv.Close)

	// Before anything is sent: every channel's counters are there, at 0.
	fams, _ := scrape(t, base)
	if v := must(t, fams, "crier_messages_total", map[string]string{"channel": "sms", "outcome": "sent"}); v != 0 {
		t.Fatalf("sms sent before sending: %v", v)
	}

	dctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	disp := dispatch.New(dispatch.Config{Instance: "metrics", Poll: 50 * time.Millisecond, Lease: 20 * time.Second, Logger: log,
		Observer: m,
		Channels: map[dispatch.Channel]dispatch.ChannelConfig{
			dispatch.Email: {Sender: mailer, Composer: composer, Workers: 2, Batch: 20},
			dispatch.SMS:   {Sender: texter, Composer: sms.NewComposer(d), Workers: 2, Batch: 20},
		}}, ob, campaign.NewStore(d, log))
	go func() { done <- disp.Run(dctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("dispatcher: %v", err)
			}
		}
	}
	t.Cleanup(stop)

	cs := campaign.NewStore(d, log)
	c := &campaign.Campaign{Name: "Bin day", Purpose: "service", Strategy: "all", ChannelOrder: []string{"email", "sms"},
		EmailSubject: "{{first_name}}, your bin day is changing",
		EmailBody:    "# Bin day\n\nDear {{first_name}},\n\nFrom January we collect on **Tuesdays** in {{ward}}.",
		SMSBody:      "Hi {{first_name}}, your bin day changes to Tuesday in January."}
	if err := cs.Create(ctx, c, "general", "officer"); err != nil {
		t.Fatal(err)
	}
	if err := cs.Schedule(ctx, c.ID, time.Time{}, "officer", nil); err != nil {
		t.Fatal(err)
	}
	// Every message tried once: nothing is due that has not been tried, and nothing is
	// in flight. (Retries wait for their backoff, 24 s at least.)
	deadline := time.Now().Add(60 * time.Second)
	for {
		untried := count(t, d, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND channel IN ('email', 'sms')
			AND (state = 'sending' OR (state = 'pending' AND attempt = 0))`, c.ID)
		total := count(t, d, `SELECT count(*) FROM outbox WHERE campaign_id = $1`, c.ID)
		if untried == 0 && total > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v of %v messages still untried after 60s", untried, total)
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()
	phone.Close() // waits for its status callbacks to be answered

	fams, body := scrape(t, base)

	// Messages by channel and outcome, against what the outbox recorded.
	emailSent := count(t, d, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND channel = 'email' AND state = 'sent'`, c.ID)
	if emailSent < 50 {
		t.Fatalf("only %v e-bulletins sent: the borough is too small for the test", emailSent)
	}
	for _, tc := range []struct {
		channel, outcome string
		want             float64
	}{
		{"email", "sent", emailSent},
		{"email", "bounced", 1},
		{"sms", "sent", count(t, d, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND channel = 'sms' AND provider_id IS NOT NULL`, c.ID)},
		{"sms", "bounced", count(t, d, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND channel = 'sms' AND reason LIKE 'permanent failure (%'`, c.ID)},
		{"sms", "opted_out", count(t, d, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND channel = 'sms' AND reason LIKE '%(21610)%'`, c.ID)},
	} {
		if got := must(t, fams, "crier_messages_total", map[string]string{"channel": tc.channel, "outcome": tc.outcome}); got != tc.want {
			t.Errorf("crier_messages_total{channel=%q,outcome=%q} = %v, want %v", tc.channel, tc.outcome, got, tc.want)
		}
	}
	if got := must(t, fams, "crier_messages_total", map[string]string{"channel": "sms", "outcome": "sent"}); got < 10 {
		t.Errorf("only %v texts sent", got)
	}

	// Provider errors by code: each code's count is the outbox rows that carry it.
	var reasons []struct {
		Channel string `db:"channel"`
		Reason  string `db:"reason"`
	}
	if err := d.Select(&reasons, `SELECT channel, reason FROM outbox WHERE campaign_id = $1 AND reason ~ '^[a-z ]+ \(' `, c.ID); err != nil {
		t.Fatal(err)
	}
	codeRe := regexp.MustCompile(`^[a-z ]+ \(([0-9A-Za-z.]+)\)`)
	wantCodes := map[[2]string]float64{}
	for _, r := range reasons {
		if m := codeRe.FindStringSubmatch(r.Reason); m != nil {
			wantCodes[[2]string{r.Channel, m[1]}]++
		}
	}
	if wantCodes[[2]string{"sms", "21211"}] == 0 || len(wantCodes) < 3 {
		t.Fatalf("the sandbox's failures did not happen: %v", wantCodes)
	}
	if wantCodes[[2]string{"sms", "30003"}] == 0 {
		t.Fatalf("no failed delivery report (30003): %v", wantCodes)
	}
	for k, want := range wantCodes {
		got := must(t, fams, "crier_provider_errors_total", map[string]string{"channel": k[0], "code": k[1]})
		// A temporary failure retried meanwhile counts again (its reason is the latest).
		if got != want && !(k[0] == "sms" && (k[1] == "20500" || k[1] == "21611") && got >= want) {
			t.Errorf("crier_provider_errors_total{channel=%q,code=%q} = %v, want %v", k[0], k[1], got, want)
		}
	}
	if v := must(t, fams, "crier_provider_errors_total", map[string]string{"channel": "sms", "code": "21211", "class": "permanent"}); v < 1 {
		t.Errorf("21211 not counted as permanent: %v", v)
	}

	// Webhook latency: every status callback the sandbox sent was answered and timed.
	callbacks := must(t, fams, "crier_webhook_duration_seconds", map[string]string{"webhook": "sms_status"})
	accepted := must(t, fams, "crier_messages_total", map[string]string{"channel": "sms", "outcome": "sent"})
	if ok, _ := value(fams, "crier_webhook_duration_seconds", map[string]string{"webhook": "sms_status", "code": "204"}); callbacks < accepted || ok != callbacks {
		t.Errorf("%v status callbacks timed (%v answered 204) for %v accepted texts", callbacks, ok, accepted)
	}

	// Delivery reports: every stored status callback, by status.
	if got, want := must(t, fams, "crier_delivery_reports_total", nil), callbacks; got != want {
		t.Errorf("crier_delivery_reports_total = %v, want one per status callback answered, %v", got, want)
	}
	if got := must(t, fams, "crier_delivery_reports_total", map[string]string{"status": "delivered"}); got != accepted-1 {
		// Every accepted text is delivered but 900004's (undelivered, 30003).
		t.Errorf("crier_delivery_reports_total{status=delivered} = %v, want %v", got, accepted-1)
	}

	// Channel health: both providers answered.
	for _, ch := range []string{"email", "sms"} {
		if v := must(t, fams, "crier_channel_up", map[string]string{"channel": ch}); v != 1 {
			t.Errorf("crier_channel_up{channel=%q} = %v, want 1", ch, v)
		}
	}
	// Imports: the seed's rows, through the real importer.
	if got, want := must(t, fams, "crier_import_rows_total", map[string]string{"result": "read"}),
		count(t, d, `SELECT sum(rows_total) FROM imports`); got != want || got < 200 {
		t.Errorf("crier_import_rows_total{result=read} = %v, want %v", got, want)
	}
	if got := must(t, fams, "crier_import_contacts_total", map[string]string{"change": "created"}); got < 200 {
		t.Errorf("crier_import_contacts_total{change=created} = %v", got)
	}

	// Nothing personal in the exposition.
	if strings.Contains(body, "@") || regexp.MustCompile(`\+?44 ?7700|07700`).MatchString(body) {
		t.Errorf("the exposition holds an email address or a phone number:\n%s", body)
	}

	// Outbox depth and age: the retries wait for their backoff, so nothing is due; make
	// them due ten minutes ago and take the channel down.
	if v := must(t, fams, "crier_outbox_pending", map[string]string{"channel": "sms"}); v != 0 {
		t.Errorf("crier_outbox_pending{sms} = %v before the retries are due", v)
	}
	d.MustExec(`UPDATE outbox SET run_at = now() - interval '10 minutes' WHERE campaign_id = $1 AND state = 'pending'`, c.ID)
	if _, err := ob.RecordHealth(ctx, "sms", outbox.Down, "connection refused", "metrics"); err != nil {
		t.Fatal(err)
	}
	fams, _ = scrape(t, base)
	pending := count(t, d, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND channel = 'sms' AND state = 'pending'`, c.ID)
	if got := must(t, fams, "crier_outbox_pending", map[string]string{"channel": "sms"}); got != pending || pending == 0 {
		t.Errorf("crier_outbox_pending{sms} = %v, want %v", got, pending)
	}
	if got := must(t, fams, "crier_outbox_oldest_pending_seconds", map[string]string{"channel": "sms"}); got < 600 || got > 900 {
		t.Errorf("crier_outbox_oldest_pending_seconds{sms} = %v, want about 600", got)
	}
	if got := must(t, fams, "crier_outbox_pending", map[string]string{"channel": "email"}); got != 0 {
		t.Errorf("crier_outbox_pending{email} = %v, want 0", got)
	}
	if v := must(t, fams, "crier_channel_up", map[string]string{"channel": "sms"}); v != 0 {
		t.Errorf("crier_channel_up{sms} = %v after it went down", v)
	}
	// A paused campaign's messages are not waiting on a channel.
	d.MustExec(`UPDATE campaign_runs SET state = 'paused' WHERE campaign_id = $1`, c.ID)
	fams, _ = scrape(t, base)
	if got := must(t, fams, "crier_outbox_pending", map[string]string{"channel": "sms"}); got != 0 {
		t.Errorf("crier_outbox_pending{sms} = %v for a paused campaign", got)
	}
	if v := must(t, fams, "crier_metrics_query_errors_total", nil); v != 0 {
		t.Errorf("%v scrape queries failed", v)
	}

	checkLogs(t, d, logs.String())
}

// checkLogs requires every line to be a JSON object with time, level and msg, and no
// line to hold a resident's email address, phone number or name.
func checkLogs(t *testing.T, d *sqlx.DB, logs string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(logs, "\n"), "\n")
	if len(lines) < 3 {
		t.Fatalf("only %d log lines:\n%s", len(lines), logs)
	}
	for i, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line %d is not JSON: %v\n%s", i+1, err, l)
		}
		for _, k := range []string{"time", "level", "msg"} {
			if _, ok := rec[k]; !ok {
				t.Errorf("log line %d has no %q: %s", i+1, k, l)
			}
		}
	}
	var points []string
	if err := d.Select(&points, `SELECT value FROM contact_points WHERE kind IN ('email', 'mobile', 'phone')`); err != nil {
		t.Fatal(err)
	}
	var names []string
	if err := d.Select(&names, `SELECT last_name FROM contacts WHERE length(last_name) > 4`); err != nil {
		t.Fatal(err)
	}
	if len(points) < 100 || len(names) < 20 {
		t.Fatalf("%d contact points and %d names to look for", len(points), len(names))
	}
	for _, p := range append(points, names...) {
		national := p
		if strings.HasPrefix(p, "+44") {
			national = "0" + p[3:]
		}
		for _, v := range []string{p, national, strings.TrimPrefix(p, "+")} {
			if strings.Contains(logs, v) {
				t.Fatalf("the logs hold %q", v)
			}
		}
	}
	t.Logf("%d JSON log lines, none naming a resident", len(lines))
}

func TestMetricsEndpointNeedsTheToken(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "app") })
	for _, tc := range []struct {
		name, configured, auth string
		want                   int
	}{
		{"no token configured: off", "", "Bearer anything", 404},
		{"no token configured, none sent", "", "", 404},
		{"no credentials", token, "", 401},
		{"wrong token", token, "Bearer not-the-token", 401},
		{"token as basic auth", token, "Basic " + token, 401},
		{"prefix of the token", token, "Bearer " + token[:5], 401},
		{"right token", token, "Bearer " + token, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := metrics.New(nil, metrics.Config{Token: tc.configured}).Wrap(next)
			req := httptest.NewRequest("GET", "/metrics", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.want, rec.Body)
			}
			if tc.want == 401 && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without WWW-Authenticate: Bearer")
			}
			if tc.want == 200 && !strings.Contains(rec.Body.String(), "crier_messages_total") {
				t.Errorf("the scrape lacks crier_messages_total:\n%s", rec.Body)
			}
		})
	}
	// Other paths go to the app untouched.
	rec := httptest.NewRecorder()
	metrics.New(nil, metrics.Config{Token: token}).Wrap(next).ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Body.String() != "app" {
		t.Errorf("/healthz went elsewhere: %q", rec.Body)
	}
}

// The webhook paths the metrics time are internal/web's.
func TestWebhookPathsAreWebs(t *testing.T) {
	m := metrics.New(nil, metrics.Config{Token: token})
	h := m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(403) }))
	for _, p := range []string{web.InboundPath, web.StatusPath} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", p, strings.NewReader("")))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/signup", strings.NewReader("")))
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		by[f.GetName()] = f
	}
	for hook, want := range map[string]float64{"sms_inbound": 1, "sms_status": 1} {
		if got, _ := value(by, "crier_webhook_duration_seconds", map[string]string{"webhook": hook, "code": "403"}); got != want {
			t.Errorf("%s timed %v times, want %v", hook, got, want)
		}
	}
	if got, _ := value(by, "crier_webhook_duration_seconds", nil); got != 2 {
		t.Errorf("%v requests timed, want the 2 webhooks only", got)
	}
}
