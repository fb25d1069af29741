package cli_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/cli"
	"github.com/crierhq/crier/internal/config"
	"github.com/crierhq/crier/internal/db/dbtest"
)

type run struct {
	code           int
	stdout, stderr string
}

var dataDirs = map[string]string{}

// dataDir gives each test one data directory (link key, demo mail) for all its commands.
func dataDir(t *testing.T) string {
	if d, ok := dataDirs[t.Name()]; ok {
		return d
	}
	d := t.TempDir()
	dataDirs[t.Name()] = d
	return d
}

func crier(t *testing.T, dsn string, args ...string) run {
	t.Helper()
	var out, errb bytes.Buffer
	cfg := config.Default()
	cfg.DatabaseURL = dsn
	cfg.DataDir = dataDir(t)
	app := &cli.App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Config: cfg}
	code := app.Run(context.Background(), args)
	return run{code, out.String(), errb.String()}
}

func TestImportExportRoundTrip(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "council.csv")
	os.WriteFile(bad, []byte("Forename,Surname,Email,Mobile,Postcode,Street,SMS consent\n"+
		"Ada,\"=HYPERLINK(\"\"http://x\"\")\",ada@example.org,07700 900001,SW2 1RW,Acre Lane,yes\n"+
		"Bob,Stone,bob@,07700 900002,SW2 1RW,Acre Lane,yes\n"+
		"Cy,Jones,cy@example.org,07700 900003,XX1,Acre Lane,perhaps\n"), 0o600)

	r := crier(t, dsn, "contacts", "import", bad)
	if r.code != cli.ExitData {
		t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, cli.ExitData, r.stderr)
	}
	for _, want := range []string{
		`council.csv:3:3 (Email): "bob@" has no domain`,
		`council.csv:4:5 (Postcode)`,
		`council.csv:4:7 (SMS consent): "perhaps" must be yes or no`,
		"2 of 3 rows are invalid, so nothing was imported",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}

	r = crier(t, dsn, "contacts", "import", bad, "--skip-invalid", "--rejects", filepath.Join(dir, "rejects.csv"))
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "contacts: 1 created") || !strings.Contains(r.stdout, "2 rows skipped") {
		t.Fatalf("skip-invalid: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	out := filepath.Join(dir, "export.csv")
	r = crier(t, dsn, "contacts", "export", "--out", out)
	if r.code != cli.ExitOK {
		t.Fatalf("export: exit %d: %s", r.code, r.stderr)
	}
	b, _ := os.ReadFile(out)
	body, bom := bytes.CutPrefix(b, []byte("\ufeff"))
	if !bom {
		t.Errorf("export has no byte-order mark: starts %q", b[:min(len(b), 12)])
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("export = %v, %v", recs, err)
	}
	row := map[string]string{}
	for i, h := range recs[0] {
		row[h] = recs[1][i]
	}
	if row["Surname"] != `'=HYPERLINK("http://x")` {
		t.Errorf("formula not neutralised: %q", row["Surname"])
	}
	if row["Mobile"] != "07700 900001" || row["SMS consent"] != "yes" || row["Postcode"] != "SW2 1RW" {
		t.Errorf("export row = %v", row)
	}

	// The export re-imports onto the same person: nothing new, the surname back as written.
	// ("updated" counts the people something changed for: here nobody.)
	r = crier(t, dsn, "contacts", "import", out)
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "contacts: 0 created, 0 updated") {
		t.Fatalf("re-import of export: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	// --no-bom, to standard output.
	r = crier(t, dsn, "contacts", "export", "--no-bom")
	if r.code != cli.ExitOK || !strings.HasPrefix(r.stdout, `"Crier ID","First name",`) || !strings.Contains(r.stdout, `"'=HYPERLINK(""http://x"")"`) {
		t.Fatalf("export --no-bom: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestUsageAndMigrate(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	if r := crier(t, dsn, "nonsense"); r.code != cli.ExitUsage || !strings.Contains(r.stderr, `unknown command "nonsense"`) {
		t.Fatalf("unknown command: %+v", r)
	}
	if r := crier(t, dsn, "contacts", "import"); r.code != cli.ExitUsage {
		t.Fatalf("import without file: %+v", r)
	}
	if r := crier(t, dsn, "contacts", "import", "x.csv", "--map", "Tel=telephone"); r.code != cli.ExitUsage || !strings.Contains(r.stderr, `unknown field "telephone"`) {
		t.Fatalf("bad --map: %+v", r)
	}
	// An argument that isn't UTF-8 (a Latin-1 terminal) is refused before it reaches the
	// database, naming the argument and the byte.
	if r := crier(t, dsn, "replies", "tag", "1", "caf\xe9"); r.code != cli.ExitUsage ||
		!strings.Contains(r.stderr, "argument 4") || !strings.Contains(r.stderr, "byte 0xe9 at position 4") {
		t.Fatalf("argument in Latin-1: %+v", r)
	}
	r := crier(t, dsn, "migrate", "status")
	if r.code != cli.ExitOK || !strings.Contains(r.stdout, "00001_init.sql") || regexp.MustCompile(`(?m)\spending$`).MatchString(r.stdout) {
		t.Fatalf("migrate status: %+v", r)
	}
	if r := crier(t, dsn, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "crier ") {
		t.Fatalf("version: %+v", r)
	}
	if r := crier(t, "postgres://u:sekrit@127.0.0.1:1/x?sslmode=disable", "migrate", "up"); r.code != cli.ExitFailure ||
		strings.Contains(r.stderr, "sekrit") || !strings.Contains(r.stderr, "xxxxx") {
		t.Fatalf("unreachable database: %+v", r)
	}
}

func TestDemoIsIdempotent(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	first := crier(t, dsn, "demo")
	if first.code != 0 || !strings.Contains(first.stdout, "5000 residents (5000 new, 0 already there)") {
		t.Fatalf("demo: %+v", first)
	}
	for _, ward := range []string{"Millbrook", "St Anne's", "Harcourt"} {
		if !strings.Contains(first.stdout, ward) {
			t.Errorf("demo summary lacks ward %s", ward)
		}
	}
	second := crier(t, dsn, "demo")
	if second.code != 0 || !strings.Contains(second.stdout, "(0 new, 5000 already there)") {
		t.Fatalf("second demo: %+v", second)
	}
	// The reach table is the same both times, and the demo e-bulletin went out once.
	tbl := func(s string) string { return s[strings.Index(s, "Ward"):strings.Index(s, "Email and Text")] }
	if !strings.Contains(first.stdout, "e-bulletins arrived at the sandbox SMTP server") ||
		!strings.Contains(second.stdout, "is completed already") {
		t.Errorf("demo e-bulletin: first run:\n%s\nsecond run:\n%s", first.stdout, second.stdout)
	}
	mails, _ := filepath.Glob(filepath.Join(dataDir(t), "sandbox-mail", "*.eml"))
	if len(mails) < 500 {
		t.Errorf("%d demo e-bulletins written", len(mails))
	}
	// The leaflet goes on paper to those the e-bulletin and the poll could not reach:
	// nobody is emailed or texted twice, now or when crier serve sends what waits.
	d, err := sqlx.Connect("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var byChannel []struct {
		Channel string `db:"channel"`
		N       int    `db:"n"`
	}
	if err := d.Select(&byChannel, `SELECT o.channel, count(*) AS n FROM outbox o JOIN campaigns c ON c.id = o.campaign_id
		WHERE c.name = 'Bin day leaflet (demo)' GROUP BY o.channel`); err != nil {
		t.Fatal(err)
	}
	if len(byChannel) != 1 || byChannel[0].Channel != "post" || byChannel[0].N == 0 {
		t.Errorf("the demo leaflet's messages by channel: %+v, want leaflets only", byChannel)
	}
	var twice int
	if err := d.Get(&twice, `SELECT count(*) FROM (SELECT o.contact_id FROM outbox o WHERE o.channel = 'email'
		GROUP BY o.contact_id HAVING count(*) > 1) x`); err != nil {
		t.Fatal(err)
	}
	if twice != 0 {
		t.Errorf("%d residents get more than one demo e-bulletin", twice)
	}
	// The e-bulletin is in English and Welsh: those who read Welsh got it in Welsh, the
	// rest in English, and the demo said how many of each.
	var langs struct {
		Cy    int `db:"cy"`
		Wrong int `db:"wrong"`
	}
	if err := d.Get(&langs, `SELECT count(*) FILTER (WHERE o.lang = 'cy') AS cy,
		count(*) FILTER (WHERE o.lang <> CASE WHEN ct.preferred_language = 'cy' THEN 'cy' ELSE 'en' END) AS wrong
		FROM outbox o JOIN campaigns c ON c.id = o.campaign_id JOIN contacts ct ON ct.id = o.contact_id
		WHERE c.name = 'Bin collection day is changing (demo)' AND o.state <> 'suppressed'`); err != nil {
		t.Fatal(err)
	}
	welsh := 0
	for _, m := range mails {
		if b, _ := os.ReadFile(m); strings.Contains(string(b), `<html lang=3D"cy"`) || strings.Contains(string(b), `<html lang="cy"`) {
			welsh++
		}
	}
	if langs.Cy == 0 || langs.Wrong != 0 || welsh != langs.Cy || !strings.Contains(first.stdout, "Welsh (cy): "+strconv.Itoa(langs.Cy)+" residents") {
		t.Errorf("demo e-bulletin languages: %+v, %d Welsh e-bulletins written\n%s", langs, welsh, first.stdout)
	}
	// The demo's texts changed who can be texted, and nothing else: the resident who
	// texted STOP, and the two numbers the sandbox refused as invalid (21211) and not a
	// mobile (21614), drop out of Millbrook's Text column.
	want := strings.Replace(tbl(first.stdout), "1690    869   249", "1690    869   246", 1)
	want = strings.Replace(want, "5000   2548   697", "5000   2548   694", 1)
	if tbl(second.stdout) != want {
		t.Fatalf("reach changed unexpectedly:\n%s\n%s", first.stdout, second.stdout)
	}
	// The poll went out once, residents answered on the sandbox phone through the
	// signed webhook, and crier acknowledged the clear answers.
	for _, w := range []string{"texts reached the sandbox phone", "Reply 1 for Tuesday, 2 for Wednesday.",
		`" 1."  → crier answers "Thank you. We've counted your answer: Tuesday."`, "Poll so far: Tuesday 1, Wednesday 1; 1 unclear."} {
		if !strings.Contains(first.stdout, w) {
			t.Errorf("demo output lacks %q", w)
		}
	}
	if !strings.Contains(second.stdout, `"Bin day poll (demo)" is sending already`) {
		t.Errorf("second run resent the poll:\n%s", second.stdout)
	}
	// One officer and one volunteer login, printed both times (the passwords are random
	// and kept in the data directory), and the paper audience printed in rounds, the first
	// assigned to the volunteer.
	logins := regexp.MustCompile(`(?m)^  (officer|volunteer) +\S+@crier\.example  password: \S{20}$`)
	if n := len(logins.FindAllString(first.stdout, -1)); n != 2 || logins.FindString(first.stdout) != logins.FindString(second.stdout) {
		t.Errorf("demo logins: %d in the first run\n%s\nsecond:\n%s", n, first.stdout, second.stdout)
	}
	if !regexp.MustCompile(`Printed \d+ leaflets for Millbrook's residents on paper in \d+ delivery rounds`).MatchString(first.stdout) ||
		!strings.Contains(first.stdout, "is assigned to Val Volunteer") || !strings.Contains(second.stdout, `"Bin day leaflet (demo)" is sending already`) {
		t.Errorf("demo leaflets:\n%s\nsecond:\n%s", first.stdout, second.stdout)
	}
}

// startDemo runs `crier demo --rows 300 --serve` on a fresh database (at dsn) at a free
// address, with set adjusting the configuration; it returns the address, the command's
// streams, its exit code when it ends, and the cancel that stops it (Ctrl-C).
func startDemo(t *testing.T, set func(*config.Config)) (addr, dsn string, out, errb *bytes.Buffer, done chan int, cancel context.CancelFunc) {
	t.Helper()
	_, dsn = dbtest.NewURL(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	ln.Close()
	out, errb = &bytes.Buffer{}, &bytes.Buffer{}
	cfg := config.Default()
	cfg.DatabaseURL, cfg.DataDir, cfg.HTTPAddr = dsn, t.TempDir(), addr
	if set != nil {
		set(&cfg)
	}
	app := &cli.App{Stdin: strings.NewReader(""), Stdout: out, Stderr: errb, Config: cfg}
	ctx, cancel := context.WithCancel(t.Context())
	done = make(chan int, 1)
	go func() { done <- app.Run(ctx, []string{"demo", "--rows", "300", "--serve"}) }()
	return addr, dsn, out, errb, done, cancel
}

// At a terminal (or with --serve) the demo goes on to serve the web app with both
// sandboxes, so the printed sign-in URL works at once, and sign-up can send its
// confirmation emails; Ctrl-C stops it cleanly.
func TestDemoServes(t *testing.T) {
	addr, _, out, errb, done, cancel := startDemo(t, nil)
	defer cancel()

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		code, body := get("/signup")
		if code == http.StatusOK && strings.Contains(body, "Sign up for updates") {
			break
		}
		select {
		case c := <-done:
			t.Fatalf("demo ended (exit %d) before serving:\n%s\n%s", c, out.String(), errb.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("the demo never served /signup (last answer %d):\n%s", code, errb.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if code, body := get("/login"); code != http.StatusOK || !strings.Contains(body, "Sign in") {
		t.Errorf("login page while the demo serves: %d", code)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("demo after Ctrl-C: exit %d\n%s", code, errb.String())
	}
	if want := "The demo is running at http://" + addr + "/login"; !strings.Contains(out.String(), want) {
		t.Errorf("demo output lacks %q:\n%s", want, out.String())
	}
}

func TestImportShowsProgressBarOnTerminal(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	var b strings.Builder
	b.WriteString("Email,Postcode,Street\n")
	for i := range 3000 {
		b.WriteString("p" + strings.Repeat("x", i%7) + "@example.org," + "SW2 1RW,Acre Lane\n")
	}
	p := filepath.Join(t.TempDir(), "people.csv")
	os.WriteFile(p, []byte(b.String()), 0o600)
	var out, errb bytes.Buffer
	cfg := config.Default()
	cfg.DatabaseURL = dsn
	cfg.DataDir = t.TempDir()
	app := &cli.App{Stdout: &out, Stderr: &errb, Config: cfg, IsTerminal: true}
	if code := app.Run(context.Background(), []string{"contacts", "import", p}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "importing "+p) || !strings.Contains(errb.String(), "100%") {
		t.Fatalf("no progress bar on the terminal:\n%q", errb.String())
	}
}

// TestRealSendsNeedPublicIdentity: outside the demo and --sandbox, crier refuses to send
// or print until what residents receive would be true — links and QR codes on a public
// https address, the council's own name and address — and names everything still to set.
// Nothing leaves meanwhile; `serve --sandbox` still runs on the demo's identity.
func TestRealSendsNeedPublicIdentity(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	tw := startTwilio(t)
	const all = "set CRIER_PUBLIC_URL (an https:// address residents can reach), CRIER_ORG_NAME, CRIER_ORG_ADDRESS\n"
	demoTwilio := func(c *config.Config) {
		withTwilio(tw)(c)
		c.PublicURL, c.OrgName, c.OrgAddress = "", config.DemoOrgName, config.DemoOrgAddress
	}
	council := func(edit func(*config.Config)) func(*config.Config) {
		return func(c *config.Config) { withCouncil(c); edit(c) }
	}
	tests := []struct {
		name string
		edit func(*config.Config)
		args []string
		want string // the end of stderr
	}{
		{"serve", nil, []string{"serve"}, "crier: serve: refusing to send real messages: " + all},
		{"serve with a real Twilio account", demoTwilio, []string{"serve"}, "crier: serve: refusing to send real messages: " + all},
		{"serve with a real SMTP server", func(c *config.Config) { c.SMTPURL = "smtp://mail.council.example:587" },
			[]string{"serve"}, "crier: serve: refusing to send real messages: " + all},
		{"serve on loopback", council(func(c *config.Config) { c.PublicURL = "https://localhost:8443" }), []string{"serve"},
			`crier: serve: refusing to send real messages: set CRIER_PUBLIC_URL (an https:// address residents can reach; "https://localhost:8443" is this machine only)` + "\n"},
		{"serve over http", council(func(c *config.Config) { c.PublicURL = "http://crier.council.example" }), []string{"serve"},
			`crier: serve: refusing to send real messages: set CRIER_PUBLIC_URL (an https:// address residents can reach; "http://crier.council.example" is not https)` + "\n"},
		{"leaflets print", nil, []string{"leaflets", "print", "1"}, "crier: leaflets print: refusing to print leaflets: " + all},
		{"leaflets print with the demo address", council(func(c *config.Config) { c.OrgAddress = config.DemoOrgAddress }),
			[]string{"leaflets", "print", "1"}, "crier: leaflets print: refusing to print leaflets: set CRIER_ORG_ADDRESS\n"},
		{"replies reply", demoTwilio, []string{"replies", "reply", "1", "Hello"}, "crier: replies reply: refusing to send real messages: " + all},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A command that doesn't refuse would serve until stopped: stop it after a while.
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			var out, errb lockedBuffer
			app := &cli.App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Config: testConfig(t, dsn, tc.edit)}
			r := run{app.Run(ctx, tc.args), out.String(), errb.String()}
			if r.code != cli.ExitFailure || !strings.HasSuffix(r.stderr, tc.want) {
				t.Errorf("exit %d, want %d; stderr:\n%s\nwant it to end:\n%s", r.code, cli.ExitFailure, r.stderr, tc.want)
			}
		})
	}
	if n := len(tw.Messages()); n != 0 {
		t.Errorf("%d texts left while crier refused", n)
	}

	// The sandbox is not a real send: it serves on the demo's identity.
	var out, errb lockedBuffer
	app := &cli.App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Config: testConfig(t, dsn, nil)}
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	done := make(chan int, 1)
	go func() { done <- app.Run(ctx, []string{"serve", "--sandbox"}) }()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(errb.String(), "serving on http://") {
		select {
		case code := <-done:
			t.Fatalf("serve --sandbox ended (exit %d):\n%s", code, errb.String())
		case <-deadline:
			t.Fatalf("serve --sandbox never served:\n%s", errb.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	// A container's HEALTHCHECK asks the server it runs beside.
	addr := regexp.MustCompile(`serving on http://(\S+)`).FindStringSubmatch(errb.String())[1]
	if r := crier(t, dsn, "healthcheck", "--http", addr); r.code != cli.ExitOK || !strings.Contains(r.stdout, `"status":"ok"`) {
		t.Errorf("healthcheck of the running server: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	stop()
	if code := <-done; code != cli.ExitOK {
		t.Fatalf("serve --sandbox: exit %d\n%s", code, errb.String())
	}
	if r := crier(t, dsn, "healthcheck", "--http", addr); r.code == cli.ExitOK || !strings.Contains(r.stderr, "not serving at http://"+addr+"/readyz") {
		t.Errorf("healthcheck with nothing serving: exit %d, %q", r.code, r.stderr)
	}
}
