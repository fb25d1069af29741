package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/cli"
	"github.com/crierhq/crier/internal/config"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/sandbox"
)

const (
	twAccount = "AC0123456789abcdef0123456789abcdef"
	twToken   = "testtoken0123456789abcdef"
	twFrom    = "+447700900999"
)

// textResidents: five residents who can be texted and one with only a landline. The numbers are in Ofcom's drama range, which the Twilio
// sandbox delivers.
const textResidents = `First name,Surname,Mobile,Phone,House number,Street,Town,Postcode,Ward,SMS consent
Ada,Lovelace,07700 900101,,1,Acre Lane,London,SW2 1RW,Millbrook,Yes
Ben,Okafor,07700 900102,,2,Acre Lane,London,SW2 1RW,Millbrook,Yes
Cara,Jones,07700 900103,,3,Acre Lane,London,SW2 1RW,Millbrook,Yes
Dev,Patel,07700 900104,,4,Acre Lane,London,SW2 1RW,Millbrook,Yes
Siân,Huws,07700 900105,,5,Acre Lane,London,SW2 1RW,Millbrook,Yes
Lena,Landline,,020 7946 0123,6,Acre Lane,London,SW2 1RW,Millbrook,Yes
`

// binPoll is a campaign file with an SMS and a poll.
const binPoll = `---
name: Bin day poll
purpose: service
channels: [sms]
sms: "Hi {{first_name}}, we're changing bin day in Millbrook."
poll:
  question: Which day suits you for bin collection?
  options:
    - {key: "1", label: Tuesday, words: [Tue, Tues]}
    - {key: "2", label: Wednesday, words: [Wed]}
---
`

// crierCfg runs crier like crier does, with a configuration that doesn't depend on the
// environment: no Twilio account, no quiet hours, 4p a segment; edit changes it further.
func crierCfg(t *testing.T, dsn string, edit func(*config.Config), args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	app := &cli.App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Config: testConfig(t, dsn, edit)}
	code := app.Run(context.Background(), args)
	return run{code, out.String(), errb.String()}
}

func testConfig(t *testing.T, dsn string, edit func(*config.Config)) config.Config {
	cfg := config.Default()
	cfg.DatabaseURL, cfg.DataDir = dsn, dataDir(t)
	cfg.TwilioAccountSID, cfg.TwilioAuthToken, cfg.TwilioFrom, cfg.TwilioMessagingService, cfg.TwilioAPIURL = "", "", "", "", ""
	cfg.PublicURL, cfg.HTTPAddr = "", "127.0.0.1:0"
	cfg.OrgName, cfg.OrgAddress = config.DemoOrgName, config.DemoOrgAddress
	cfg.SMSPrice, cfg.SMSRate, cfg.QuietHours, cfg.LogLevel = 0.04, 100, "off", "warn"
	if edit != nil {
		edit(&cfg)
	}
	return cfg
}

// withTwilio points crier at the sandbox as at a real Twilio account. Texts sent through
// one go to real residents, so it comes with a council's public identity (withCouncil).
func withTwilio(tw *sandbox.TwilioServer) func(*config.Config) {
	return func(c *config.Config) {
		c.TwilioAccountSID, c.TwilioAuthToken, c.TwilioFrom, c.TwilioAPIURL = twAccount, twToken, twFrom, tw.URL()
		withCouncil(c)
	}
}

// withCouncil sets what crier needs before it sends or prints for real: a public https
// address (on a reserved domain, so nothing can call it) and the council's own name and
// address.
func withCouncil(c *config.Config) {
	c.PublicURL, c.OrgName, c.OrgAddress = "https://crier.council.example", "Millbrook Council", "Town Hall, High Street, Millbrook MB1 1AA"
}

func startTwilio(t *testing.T) *sandbox.TwilioServer {
	t.Helper()
	tw, err := sandbox.StartTwilio(t.Context(), sandbox.TwilioConfig{AccountSID: twAccount, AuthToken: twToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tw.Close() })
	return tw
}

// tempFile writes content to name in dir and returns its path.
func tempFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// importResidents loads textResidents with `crier contacts import`.
func importResidents(t *testing.T, dsn string) {
	t.Helper()
	r := crierCfg(t, dsn, nil, "contacts", "import", tempFile(t, t.TempDir(), "residents.csv", textResidents))
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "contacts: 6 created") {
		t.Fatalf("import: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// mustCrier runs crier and fails unless it exits 0.
func mustCrier(t *testing.T, dsn string, edit func(*config.Config), args ...string) string {
	t.Helper()
	r := crierCfg(t, dsn, edit, args...)
	if r.code != cli.ExitOK {
		t.Fatalf("crier %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// wantExit fails unless crier exits with code and stderr says every one of want.
func wantExit(t *testing.T, r run, code int, want ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}
}

var createdRe = regexp.MustCompile(`campaign (\d+) "`)

// createCampaign runs `crier campaign create` on content and returns the campaign's id
// and what crier said.
func createCampaign(t *testing.T, dsn, name, content string) (string, string) {
	t.Helper()
	out := mustCrier(t, dsn, nil, "campaign", "create", tempFile(t, t.TempDir(), name, content))
	m := createdRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("campaign create said:\n%s", out)
	}
	return m[1], out
}

// TestSMSCampaignFileSummaryAndChecks: `crier campaign create` reads an SMS with a poll
// and tells the officer its encoding, segments, reach and cost, warns about Unicode and
// long texts, and refuses a mistyped merge field or a poll option residents can't send.
func TestSMSCampaignFileSummaryAndChecks(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	importResidents(t, dsn)

	id, out := createCampaign(t, dsn, "bins.md", binPoll)
	// Measured for "Christopher": "Hi Christopher, we're changing bin day in Millbrook.
	// Reply 1 for Tuesday, 2 for Wednesday." Everyone but Lena, whose phone is a landline,
	// can be texted, each their own copy: 4 × 1 segment, and Siân's, whose â makes it
	// UCS-2, 2 segments; 6 × £0.04.
	for _, want := range []string{
		`"Bin day poll" created as a draft (channels: sms)`,
		"SMS: 90 characters, GSM-7, 1 segment(s) of 160 (for the sample resident, with a long name)\n" +
			"SMS: 5 texts: 4 in GSM-7 (1 segment each) and 1 in UCS-2 (20%, 2 segments), because some names have letters like â — 6 segments, about £0.24 at £0.0400 a segment.\n" +
			"SMS: The longest copy is 2 segments (83 characters in UCS-2): a name with â needs UCS-2.\n",
		"next: crier campaign send " + id,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("create lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "warning") {
		t.Errorf("a short GSM-7 text drew a warning:\n%s", out)
	}
	show := mustCrier(t, dsn, nil, "campaign", "show", id)
	if !strings.Contains(show, "SMS: Hi {{first_name}}, we're changing bin day in Millbrook. Reply 1 for Tuesday, 2 for Wednesday.\n") {
		t.Errorf("show lacks the SMS with the poll's prompt:\n%s", show)
	}

	// A curly apostrophe and an emoji make it Unicode: 70 a segment, and a warning that
	// names them and the fix.
	curly := strings.Replace(strings.Replace(binPoll, "Bin day poll", "Bin day poll (curly)", 1),
		"we're changing bin day in Millbrook.", "we’re changing bin day 🗑", 1)
	_, out = createCampaign(t, dsn, "curly.md", curly)
	for _, want := range []string{
		"SMS: 78 characters, UCS-2, 2 segment(s) of 67",
		"SMS: 5 texts, all in UCS-2 (2 segments each), because the text itself has characters outside the standard SMS alphabet — 10 segments, about £0.40 at £0.0400 a segment.",
		"SMS: The longest copy is 2 segments (71 characters in UCS-2): the text itself needs UCS-2.",
		"warning: This message will be sent as Unicode (UCS-2)",
		`Replace "’" (U+2019) with "'"`,
		`Remove "🗑" (U+1F5D1)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("curly create lacks %q:\n%s", want, out)
		}
	}

	long := "---\nname: Long text\npurpose: service\nchannels: [sms]\nsms: \"" +
		strings.Repeat("Bins go out by 7am on Tuesday. ", 20) + "\"\n---\n"
	_, out = createCampaign(t, dsn, "long.md", long)
	for _, want := range []string{
		"GSM-7, 5 segment(s) of 153",
		"SMS: 5 texts, all in GSM-7 (5 segments each) — 25 segments, about £1.00 at £0.0400 a segment.",
		"warning: This message is 5 segments long",
		"Consider shortening it to 3 segments or fewer",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("long create lacks %q:\n%s", want, out)
		}
	}

	// Nobody to text: crier says so and estimates from the sample resident's copy.
	mustCrier(t, dsn, nil, "segment", "create", "Nowhere", "--rules", `{"field": "ward", "op": "eq", "value": "Nowhere"}`)
	_, out = createCampaign(t, dsn, "nowhere.md", "---\nname: Nobody\npurpose: service\nchannels: [sms]\nsegment: Nowhere\nsms: Bin day is changing.\n---\n")
	if want := "SMS: 20 characters, GSM-7, 1 segment(s) of 160 (for the sample resident, with a long name)\n" +
		"SMS: nobody in this audience can get a text yet, so this is for the sample resident:\n" +
		"SMS: up to 0 residents can be reached by text; estimated cost up to £0.00 at £0.0400 a segment (sample resident)\n"; !strings.Contains(out, want) {
		t.Errorf("create for nobody lacks %q:\n%s", want, out)
	}

	// An SMS on a campaign that doesn't send by text costs nothing: crier says it won't go.
	_, out = createCampaign(t, dsn, "email.md", "---\nname: Email only\npurpose: service\nchannels: [email]\n"+
		"subject: Bin day\nsms: Bin day is changing.\n---\nYour bin day is changing to Tuesday.\n")
	if !strings.Contains(out, "SMS: not sent, because sms is not among the campaign's channels\n") || strings.Contains(out, "reached by text") {
		t.Errorf("email-only create:\n%s", out)
	}

	dir := t.TempDir()
	typo := strings.Replace(strings.Replace(binPoll, "{{first_name}}", "{{frist_name}}", 1), "Bin day poll", "Typo", 1)
	r := crierCfg(t, dsn, nil, "campaign", "create", tempFile(t, dir, "typo.md", typo))
	wantExit(t, r, cli.ExitData, `unknown merge field "frist_name"`, "did you mean first_name?")

	stop := strings.Replace(strings.Replace(binPoll, `{key: "2", label: Wednesday, words: [Wed]}`,
		`{key: STOP, label: No more texts}`, 1), "Bin day poll", "Stop poll", 1)
	r = crierCfg(t, dsn, nil, "campaign", "create", tempFile(t, dir, "stop.md", stop))
	wantExit(t, r, cli.ExitData, "stop.md", `poll option 2 ("No more texts"): key "STOP" is an opt-out keyword`)

	// Neither refused file left a campaign behind.
	list := mustCrier(t, dsn, nil, "campaign", "list")
	if strings.Contains(list, "Typo") || strings.Contains(list, "Stop poll") || strings.Count(list, "draft") != 5 {
		t.Errorf("campaign list:\n%s", list)
	}
}

// lockedBuffer is a bytes.Buffer the goroutines of `crier serve` may share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *lockedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *lockedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// sendByText sends campaign id as `crier campaign send` and `crier serve` do, through the
// Twilio sandbox, and waits until every text has left.
func sendByText(t *testing.T, dsn string, db *sqlx.DB, tw *sandbox.TwilioServer, id string, texts int) {
	t.Helper()
	mustCrier(t, dsn, withTwilio(tw), "campaign", "send", id)
	var out, errb lockedBuffer
	app := &cli.App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Config: testConfig(t, dsn, withTwilio(tw))}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- app.Run(ctx, []string{"serve"}) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := db.Get(&n, `SELECT count(*) FROM outbox WHERE campaign_id = $1 AND channel = 'sms' AND sent_at IS NOT NULL`, id); err != nil {
			t.Fatal(err)
		}
		if n == texts {
			break
		}
		select {
		case code := <-done:
			t.Fatalf("crier serve stopped (exit %d) with %d of %d texts sent:\n%s", code, n, texts, errb.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d texts sent after 10s:\n%s", n, texts, errb.String())
		}
	}
	stop()
	if code := <-done; code != cli.ExitOK {
		t.Fatalf("crier serve: exit %d:\n%s", code, errb.String())
	}
	if got := len(tw.Messages()); got != texts {
		t.Fatalf("the sandbox got %d texts, want %d", got, texts)
	}
}

// sqlxDB opens the test database for seeding what a resident's phone would send.
func sqlxDB(t *testing.T, dsn string) *sqlx.DB {
	t.Helper()
	db, err := sqlx.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// texter plays residents texting in, as Twilio's inbound webhook would hand them over.
type texter struct {
	t     *testing.T
	store *inbox.Store
	n     int
}

func (x *texter) text(from, body string) inbox.Received {
	x.t.Helper()
	x.n++
	r, err := x.store.Receive(x.t.Context(), inbox.Inbound{SID: fmt.Sprintf("SM%032x", x.n), From: from, To: twFrom, Body: body})
	if err != nil {
		x.t.Fatalf("receive %q from %s: %v", body, from, err)
	}
	return r
}

// convLine returns the line of out that contains who, failing if there isn't exactly one.
func convLine(t *testing.T, out, who string) string {
	t.Helper()
	var found []string
	for l := range strings.SplitSeq(out, "\n") {
		if strings.Contains(l, who) {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d lines name %q:\n%s", len(found), who, out)
	}
	return found[0]
}

// convRows counts the conversations a `replies list` printed.
func convRows(out string) int {
	if strings.TrimSpace(out) == "no conversations" {
		return 0
	}
	return strings.Count(strings.TrimSpace(out), "\n") // less the header
}

// TestRepliesInboxAndPollResults sends a poll by text, plays residents' replies (a clear
// answer, an unclear one, a likely opt-out and a number nobody knows), and works the
// officers' inbox from the command line: list and its filters, show (which marks texts
// read), tags, assignment, and the poll's tally.
func TestRepliesInboxAndPollResults(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	db := sqlxDB(t, dsn)
	tw := startTwilio(t)
	importResidents(t, dsn)
	id, _ := createCampaign(t, dsn, "bins.md", binPoll)
	sendByText(t, dsn, db, tw, id, 5)

	x := &texter{t: t, store: inbox.NewStore(db, inbox.Config{}, nil)}
	ada := x.text("+447700900101", "Tuesday please")
	ben := x.text("+447700900102", "maybe, depends on the week")
	cara := x.text("+447700900103", "please stop texting me")
	x.text("+447700900777", "Who is this?")
	unknown := x.text("+447700900777", "Hello??")
	if ada.PollAnswer != "1" || !ben.PollUnclear || !cara.LikelyOptOut || unknown.CampaignID != 0 || ada.CampaignID == 0 {
		t.Fatalf("seeding: ada %+v, ben %+v, cara %+v, unknown %+v", ada, ben, cara, unknown)
	}

	all := mustCrier(t, dsn, nil, "replies", "list")
	if convRows(all) != 4 || !strings.HasPrefix(all, "ID ") {
		t.Fatalf("replies list:\n%s", all)
	}
	for who, want := range map[string]*regexp.Regexp{
		"Ada Lovelace": regexp.MustCompile(fmt.Sprintf(`^%d +Ada Lovelace +1 .*Bin day poll +poll answer 1 +Tuesday please$`, ada.ConversationID)),
		"Ben Okafor":   regexp.MustCompile(fmt.Sprintf(`^%d +Ben Okafor +1 .*Bin day poll +unclear poll answer +maybe, depends on the week$`, ben.ConversationID)),
		"Cara Jones":   regexp.MustCompile(fmt.Sprintf(`^%d +Cara Jones +1 .*Bin day poll +likely opt-out +please stop texting me$`, cara.ConversationID)),
		// Two texts unread, no campaign, no flags.
		"+447700900777": regexp.MustCompile(fmt.Sprintf(`^%d +\+447700900777 \(unknown number\) +2 +\d+ \w+ \d\d:\d\d +Hello\?\?$`, unknown.ConversationID)),
	} {
		if l := convLine(t, all, who); !want.MatchString(l) {
			t.Errorf("list row %q does not match %s", l, want)
		}
	}

	flagged := mustCrier(t, dsn, nil, "replies", "list", "--flagged")
	if convRows(flagged) != 2 || !strings.Contains(flagged, "Ben Okafor") || !strings.Contains(flagged, "Cara Jones") {
		t.Errorf("--flagged:\n%s", flagged)
	}
	byCampaign := mustCrier(t, dsn, nil, "replies", "list", "--campaign", "Bin day poll")
	if convRows(byCampaign) != 3 || strings.Contains(byCampaign, "unknown number") {
		t.Errorf("--campaign:\n%s", byCampaign)
	}

	// Showing Ben's conversation prints the thread and marks it read.
	show := mustCrier(t, dsn, nil, "replies", "show", fmt.Sprint(ben.ConversationID))
	for _, want := range []string{
		fmt.Sprintf("conversation %d with Ben Okafor (+447700900102)\n", ben.ConversationID),
		fmt.Sprintf("#%d ", ben.MessageID),
		"←  maybe, depends on the week\n",
		"        [re: Bin day poll; unclear poll answer]\n",
	} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	unread := mustCrier(t, dsn, nil, "replies", "list", "--unread")
	if convRows(unread) != 3 || strings.Contains(unread, "Ben Okafor") {
		t.Errorf("--unread after show:\n%s", unread)
	}
	if flagged = mustCrier(t, dsn, nil, "replies", "list", "--flagged"); convRows(flagged) != 1 || !strings.Contains(flagged, "Cara Jones") {
		t.Errorf("--flagged after Ben's was read:\n%s", flagged)
	}
	if l := convLine(t, mustCrier(t, dsn, nil, "replies", "list"), "Ben Okafor"); !regexp.MustCompile(`Ben Okafor +0 `).MatchString(l) {
		t.Errorf("Ben's unread count after show: %q", l)
	}

	// Tags on Ada's text: added in order and once, then one removed.
	msg := fmt.Sprint(ada.MessageID)
	if out := mustCrier(t, dsn, nil, "replies", "tag", msg, "needs follow-up", "praise", "praise"); out != "text #"+msg+" tags: needs follow-up, praise\n" {
		t.Errorf("tag: %q", out)
	}
	if out := mustCrier(t, dsn, nil, "replies", "tag", msg, "praise", "--remove"); out != "text #"+msg+" tags: needs follow-up\n" {
		t.Errorf("tag --remove: %q", out)
	}
	show = mustCrier(t, dsn, nil, "replies", "show", fmt.Sprint(ada.ConversationID))
	if !strings.Contains(show, "[re: Bin day poll; poll answer 1; tags: needs follow-up]") {
		t.Errorf("Ada's thread:\n%s", show)
	}

	// Assignment.
	conv := fmt.Sprint(cara.ConversationID)
	if out := mustCrier(t, dsn, nil, "replies", "assign", conv, "Jo Bloggs"); out != "conversation "+conv+" assigned to Jo Bloggs\n" {
		t.Errorf("assign: %q", out)
	}
	mine := mustCrier(t, dsn, nil, "replies", "list", "--assigned", "Jo Bloggs")
	if convRows(mine) != 1 || !strings.Contains(convLine(t, mine, "Cara Jones"), "Jo Bloggs") {
		t.Errorf("--assigned:\n%s", mine)
	}
	if free := mustCrier(t, dsn, nil, "replies", "list", "--unassigned"); convRows(free) != 3 || strings.Contains(free, "Cara Jones") {
		t.Errorf("--unassigned:\n%s", free)
	}
	if show = mustCrier(t, dsn, nil, "replies", "show", conv); !strings.Contains(show, "(+447700900103), assigned to Jo Bloggs\n") ||
		!strings.Contains(show, "[re: Bin day poll; LIKELY OPT-OUT: check and record it if so]") {
		t.Errorf("Cara's thread:\n%s", show)
	}
	if out := mustCrier(t, dsn, nil, "replies", "assign", conv, ""); out != "conversation "+conv+" unassigned\n" {
		t.Errorf("unassign: %q", out)
	}
	if out := mustCrier(t, dsn, nil, "replies", "list", "--assigned", "Jo Bloggs"); out != "no conversations\n" {
		t.Errorf("--assigned after unassigning:\n%s", out)
	}

	// Nonsense ids are the input's fault.
	wantExit(t, crierCfg(t, dsn, nil, "replies", "show", "9999"), cli.ExitData, "conversation 9999: not found")
	wantExit(t, crierCfg(t, dsn, nil, "replies", "assign", "9999", "Jo Bloggs"), cli.ExitData, "conversation 9999: not found")
	wantExit(t, crierCfg(t, dsn, nil, "replies", "tag", "9999", "praise"), cli.ExitData, "text 9999 (a resident's text): not found")
	wantExit(t, crierCfg(t, dsn, nil, "replies", "show", "abc"), cli.ExitUsage, `"abc" is not a conversation or message number`)

	// The poll's tally: Ada for Tuesday; Ben unclear; Cara's "stop texting me" is no vote.
	res := mustCrier(t, dsn, nil, "poll", "results", "Bin day poll")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^campaign ` + id + ` "Bin day poll" — Which day suits you for bin collection\?$`),
		regexp.MustCompile(`(?m)^ *REPLY +ANSWER +RESIDENTS +SHARE *$`),
		regexp.MustCompile(`(?m)^ *1 +Tuesday +1 +100% *$`),
		regexp.MustCompile(`(?m)^ *2 +Wednesday +0 +0% *$`),
		regexp.MustCompile(`(?m)^1 resident answered clearly; 1 more replied unclearly \(see: crier replies list --campaign ` + id + `\)$`),
	} {
		if !want.MatchString(res) {
			t.Errorf("poll results do not match %s:\n%s", want, res)
		}
	}
	// The list it points to shows Ben's unclear answer, read or not.
	if l := convLine(t, mustCrier(t, dsn, nil, "replies", "list", "--campaign", id), "Ben Okafor"); !strings.Contains(l, "unclear poll answer") {
		t.Errorf("Ben's row in the list poll results point to: %q", l)
	}
	plain, _ := createCampaign(t, dsn, "plain.md", "---\nname: Road closure\npurpose: service\nchannels: [sms]\nsms: Acre Lane is closed on Sunday.\n---\n")
	wantExit(t, crierCfg(t, dsn, nil, "poll", "results", plain), cli.ExitData, "campaign "+plain+" has no poll")
	wantExit(t, crierCfg(t, dsn, nil, "poll", "results", "No such campaign"), cli.ExitData, "No such campaign")
}

// TestRepliesReplyBack: an officer texts a resident back through Twilio (the sandbox);
// without a Twilio account crier says which setting is missing, and nobody who texted
// STOP is texted again.
func TestRepliesReplyBack(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	db := sqlxDB(t, dsn)
	tw := startTwilio(t)
	importResidents(t, dsn)
	x := &texter{t: t, store: inbox.NewStore(db, inbox.Config{}, nil)}
	ada := x.text("+447700900101", "My bins weren't collected on Acre Lane")
	dev := x.text("+447700900104", "STOP")
	conv := fmt.Sprint(ada.ConversationID)

	r := crierCfg(t, dsn, nil, "replies", "reply", conv, "Thanks, we'll fix it")
	wantExit(t, r, cli.ExitFailure, "no SMS provider", "CRIER_TWILIO_ACCOUNT_SID")
	if len(tw.Messages()) != 0 {
		t.Fatal("a text left without a Twilio account")
	}

	out := mustCrier(t, dsn, withTwilio(tw), "replies", "reply", conv, "Thanks, we'll fix it")
	if !regexp.MustCompile(`^reply #\d+ sent \(20 characters, GSM-7, 1 segment\(s\)\)\n$`).MatchString(out) {
		t.Errorf("reply said %q", out)
	}
	msgs := tw.Messages()
	if len(msgs) != 1 || msgs[0].To != "+447700900101" || msgs[0].From != twFrom || msgs[0].Body != "Thanks, we'll fix it" {
		t.Fatalf("the sandbox got %+v", msgs)
	}
	show := mustCrier(t, dsn, nil, "replies", "show", conv)
	if !strings.Contains(show, "→  Thanks, we'll fix it\n") || !regexp.MustCompile(`\[by [^;]+; sent\]`).MatchString(show) {
		t.Errorf("the thread after the reply:\n%s", show)
	}

	// Dev texted STOP: nothing goes to him, and crier says why.
	r = crierCfg(t, dsn, withTwilio(tw), "replies", "reply", fmt.Sprint(dev.ConversationID), "Sorry to see you go")
	wantExit(t, r, cli.ExitData, "the resident texted STOP: no texts can go to them until they text START")
	wantExit(t, crierCfg(t, dsn, withTwilio(tw), "replies", "reply", "9999", "Hello"), cli.ExitData, "conversation 9999: not found")
	if n := len(tw.Messages()); n != 1 {
		t.Errorf("the sandbox got %d texts, want 1", n)
	}
}
