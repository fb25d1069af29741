package cli_test

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/cli"
	"github.com/crierhq/crier/internal/db/dbtest"
)

const paperResidents = `First name,Surname,House number,Street,Town,Postcode,Ward,Large print,Delivery notes
Ada,Lovelace,1,Acre Lane,London,SW2 1RW,Millbrook,,
Ben,Okafor,2,Acre Lane,London,SW2 1RW,Millbrook,,Letterbox at side
Cara,Jones,3,Acre Lane,London,SW2 1RW,Millbrook,yes,
Dai,Llŷr,4,Acre Lane,London,SW2 1RW,Millbrook,,
Efa,Ŵyn,5,Acre Lane,London,SW2 1RW,Millbrook,,Do not deliver
`

const binLeaflet = `---
name: Bin day leaflet
purpose: service
channels: [post]
leaflet_title: Your bin day is changing
---
From January we collect bins in Millbrook on a **Tuesday**.
`

// TestLeafletsPrintAndRounds: the officer prints a campaign's leaflets, a volunteer
// takes the round and reports it, and the campaign's status shows paper delivered.
func TestLeafletsPrintAndRounds(t *testing.T) {
	if _, err := exec.LookPath("pdftoppm"); err != nil && os.Getenv("CI") != "true" {
		t.Skip("poppler-utils is not installed")
	}
	_, dsn := dbtest.NewURL(t)
	// Printing for real needs the council's public identity (the demo's is refused).
	t.Setenv("CRIER_PUBLIC_URL", "https://crier.council.example")
	t.Setenv("CRIER_ORG_NAME", "Millbrook Council")
	t.Setenv("CRIER_ORG_ADDRESS", "Town Hall, High Street, Millbrook MB1 1AA")
	dir := t.TempDir()
	csvPath, mdPath := filepath.Join(dir, "paper.csv"), filepath.Join(dir, "bins.md")
	os.WriteFile(csvPath, []byte(paperResidents), 0o600)
	os.WriteFile(mdPath, []byte(binLeaflet), 0o600)
	for _, args := range [][]string{{"contacts", "import", csvPath}, {"campaign", "create", mdPath}} {
		if r := crier(t, dsn, args...); r.code != 0 {
			t.Fatalf("%v: %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	// Before it is sent there is nothing to print.
	if r := crier(t, dsn, "leaflets", "print", "Bin day leaflet", "--out", dir); r.code != cli.ExitData || !strings.Contains(r.stderr, "has not been sent yet") {
		t.Fatalf("print before sending: %d %s", r.code, r.stderr)
	}
	if r := crier(t, dsn, "campaign", "send", "Bin day leaflet"); r.code != 0 {
		t.Fatalf("send: %s", r.stderr)
	}
	// The scheduler starts the run (a one-off `crier serve` tick would do the same).
	if r := crier(t, dsn, "campaign", "status", "Bin day leaflet"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	// Watching says what it waits for: crier serve to start the run, then, with only
	// leaflets left, it ends and says how to print them rather than wait for ever.
	watch := func(wait time.Duration) (int, string) {
		var out, errb bytes.Buffer
		app := &cli.App{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Config: testConfig(t, dsn, nil)}
		ctx, cancel := context.WithTimeout(t.Context(), wait)
		defer cancel()
		return app.Run(ctx, []string{"campaign", "status", "Bin day leaflet", "--watch"}), errb.String()
	}
	if code, errOut := watch(2 * time.Second); code == 0 || !strings.Contains(errOut, "Waiting for crier serve to start the campaign") ||
		strings.Count(errOut, "Waiting for crier serve") != 1 {
		t.Errorf("status --watch before the run started: %d\n%s", code, errOut)
	}
	pool := sqlx.MustConnect("postgres", dsn)
	defer pool.Close()
	if _, err := campaign.NewStore(pool, nil).StartDue(t.Context(), time.Now()); err != nil { // as crier serve's scheduler would
		t.Fatal(err)
	}
	if code, errOut := watch(time.Minute); code != 0 || !regexp.MustCompile(`\d+ leaflets wait to be printed: crier leaflets print \d+`).MatchString(errOut) {
		t.Errorf("status --watch with only leaflets left: %d\n%s", code, errOut)
	}
	// The council's logo (CRIER_LOGO_FILE) goes on every leaflet, embedded once.
	logo := filepath.Join(dir, "logo.png")
	img := image.NewRGBA(image.Rect(0, 0, 120, 40))
	for i := range img.Pix {
		img.Pix[i] = 0x30
	}
	var lb bytes.Buffer
	png.Encode(&lb, img)
	os.WriteFile(logo, lb.Bytes(), 0o600)
	t.Setenv("CRIER_LOGO_FILE", logo)
	r := crier(t, dsn, "leaflets", "print", "Bin day leaflet", "--format", "a5", "--out", dir, "--preview")
	if r.code == cli.ExitData && strings.Contains(r.stderr, "no post messages waiting") {
		t.Fatalf("the run was not started: %s", r.stderr)
	}
	if r.code != 0 {
		t.Fatalf("print: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "4 leaflets in 1 round; 1 door not to deliver to") ||
		!strings.Contains(r.stdout, "round-001-leaflets.pdf") || !strings.Contains(r.stdout, "round-001-large-print.pdf") ||
		!strings.Contains(r.stdout, "round-001-round-sheet.pdf") {
		t.Fatalf("print output:\n%s", r.stdout)
	}
	leafletsPDF := regexp.MustCompile(`files in (\S+):`).FindStringSubmatch(r.stdout)[1] + "/round-001-leaflets.pdf"
	if ad, err := sqlx.Open("postgres", dsn); err == nil {
		var printed int
		ad.Get(&printed, `SELECT count(*) FROM audit_log WHERE action = 'leaflets.print' AND actor LIKE 'cli:%' AND detail->>'leaflets' = '4'`)
		ad.Close()
		if printed != 1 {
			t.Errorf("leaflets printed: %d audit entries, want 1", printed)
		}
	}
	// pdfimages lists each use of an image; the object IDs say how many are embedded: the
	// logo and the QR code, once each, used on every leaflet.
	out, err := exec.Command("pdfimages", "-list", leafletsPDF).Output()
	objects, uses := map[string]bool{}, 0
	for _, line := range strings.Split(string(out), "\n")[2:] {
		if f := strings.Fields(line); len(f) > 11 {
			objects[f[10]], uses = true, uses+1
		}
	}
	if err != nil || len(objects) != 2 || uses != 2*3 { // 3 standard leaflets (the 4th is large print)
		t.Errorf("images in the leaflets (%v): %d objects, %d uses\n%s", err, len(objects), uses, out)
	}
	// What residents read is the council's: its name and address, its public web address.
	text, err := exec.Command("pdftotext", leafletsPDF, "-").Output()
	for _, want := range []string{"Millbrook Council", "Town Hall", "Millbrook MB1 1AA", "https://crier.council.example/c/"} {
		if err != nil || !strings.Contains(string(text), want) {
			t.Errorf("the leaflets lack %q (%v):\n%s", want, err, text)
		}
	}
	m := regexp.MustCompile(`preview of page 1: (\S+)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no preview:\n%s", r.stdout)
	}
	data, _ := os.ReadFile(m[1])
	if img, err := png.Decode(bytes.NewReader(data)); err != nil || img.Bounds().Dx() < 100 {
		t.Fatalf("preview is not a PNG of a page: %v", err)
	}

	r = crier(t, dsn, "rounds", "list")
	if r.code != 0 || !regexp.MustCompile(`1\s+SW2 1 · Acre Lane\s+Bin day leaflet\s+4\s+0\s+0\s+4\s+open`).MatchString(r.stdout) {
		t.Fatalf("rounds list:\n%s%s", r.stdout, r.stderr)
	}
	// Only a volunteer's account can take a round.
	if r := crier(t, dsn, "rounds", "assign", "1", "Sam Volunteer"); r.code != cli.ExitData || !strings.Contains(r.stderr, "crier user add EMAIL --role volunteer") {
		t.Fatalf("a round given to a name with no account: %d %s", r.code, r.stderr)
	}
	if r := crierIn(t, dsn, "three random words here\n", "user", "add", "sam@volunteers.example", "--name", "Sam Volunteer", "--role", "volunteer", "--password-stdin"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := crier(t, dsn, "rounds", "assign", "1", "Sam Volunteer"); r.code != 0 || !strings.Contains(r.stdout, "round 1 assigned to Sam Volunteer") {
		t.Fatal(r.stderr)
	}
	if r := crier(t, dsn, "rounds", "delivered", "1", "--doors", "2", "--failed"); r.code != cli.ExitData || !strings.Contains(r.stderr, "say why") {
		t.Fatalf("failed without a reason: %d %s", r.code, r.stderr)
	}
	if r := crier(t, dsn, "rounds", "delivered", "1", "--doors", "2", "--failed", "--reason", "gate locked"); r.code != 0 || !strings.Contains(r.stdout, "1 door recorded as not delivered") {
		t.Fatalf("not delivered: %d %s%s", r.code, r.stdout, r.stderr)
	}
	if r := crier(t, dsn, "rounds", "delivered", "1"); r.code != 0 || !strings.Contains(r.stdout, "3 doors recorded as delivered") {
		t.Fatalf("delivered: %d %s%s", r.code, r.stdout, r.stderr)
	}
	r = crier(t, dsn, "rounds", "show", "1")
	for _, want := range []string{"1 Acre Lane", "delivered", "not delivered", "gate locked", "5 Acre Lane", "skipped", "Do not deliver"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("rounds show lacks %q:\n%s", want, r.stdout)
		}
	}
	sheet := filepath.Join(dir, "sheet.pdf")
	if r := crier(t, dsn, "rounds", "sheet", "1", "--out", sheet); r.code != 0 {
		t.Fatalf("sheet: %s", r.stderr)
	}
	if out, err := exec.Command("pdftotext", "-layout", sheet, "-").Output(); err != nil ||
		!strings.Contains(string(out), "Sam Volunteer") || !strings.Contains(string(out), "gate locked") {
		t.Errorf("reprinted round sheet (%v):\n%s", err, out)
	}
	r = crier(t, dsn, "campaign", "status", "Bin day leaflet")
	for _, re := range []string{`post\s+delivered\s+3`, `post\s+failed\s+1\s+could not deliver: gate locked`, `post\s+suppressed\s+1\s+not delivered by hand: Do not deliver`} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("campaign status lacks %s:\n%s", re, r.stdout)
		}
	}
	if r := crier(t, dsn, "rounds", "list"); !regexp.MustCompile(`Sam Volunteer\s+done`).MatchString(r.stdout) {
		t.Errorf("rounds list after delivery:\n%s", r.stdout)
	}
}
