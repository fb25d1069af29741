package printrun_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/leaflet"
	"github.com/crierhq/crier/internal/printrun"
)

// residents: people reached only on paper on two streets of one sector and one of
// another, with flats, a large-print reader, a door marked do-not-deliver and one resident
// with an email (whose best channel is email, so no leaflet).
const residents = `First name,Surname,Email,Flat,House number,Street,Town,Postcode,Ward,Large print,Delivery notes,Post consent
Ada,Lovelace,,,1,Acre Lane,London,SW2 1RW,Millbrook,,,Yes
Ben,Okafor,,,2,Acre Lane,London,SW2 1RW,Millbrook,,,Yes
Cara,Jones,,,3,Acre Lane,London,SW2 1RW,Millbrook,yes,,Yes
Dai,Llŷr,,,4,Acre Lane,London,SW2 1RW,Millbrook,,Letterbox at side,Yes
Efa,Ŵyn,,Flat 2,5,Acre Lane,London,SW2 1RW,Millbrook,,,Yes
Fay,Brown,,Flat 10,5,Acre Lane,London,SW2 1RW,Millbrook,,,Yes
Gus,Green,,Flat 1,5,Acre Lane,London,SW2 1RW,Millbrook,,,Yes
Hal,Hughes,,,6,Acre Lane,London,SW2 1RW,Millbrook,,Do not deliver - dog,Yes
Ivy,Islam,,,12A,Acre Lane,London,SW2 1RW,Millbrook,,,Yes
Jo,Khan,,,7,Brixton Hill,London,SW2 1AA,Millbrook,,,Yes
Kit,Lewis,kit@example.org,,9,Brixton Hill,London,SW2 1AA,Millbrook,,,Yes
Lee,Murphy,,,2,Coldharbour Lane,London,SW9 8AB,Millbrook,,,Yes
`

type rig struct {
	db  *sqlx.DB
	cs  *campaign.Store
	out string
}

func needPoppler(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"pdftotext", "pdfinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is missing: install poppler-utils (.ci/run does)", tool)
			}
			t.Skipf("%s is missing: install poppler-utils", tool)
		}
	}
}

func newRig(t *testing.T) *rig {
	t.Helper()
	needPoppler(t)
	d := dbtest.New(t)
	p := filepath.Join(t.TempDir(), "residents.csv")
	if err := os.WriteFile(p, []byte(residents), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := contact.NewStore(d, nil).Import(t.Context(), contact.ImportOptions{Path: p, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	return &rig{db: d, cs: campaign.NewStore(d, nil), out: t.TempDir()}
}

// sent creates a campaign by email first, then post, and starts its run, so its post
// audience waits in the outbox for printing.
func (r *rig) sent(t *testing.T) *campaign.Campaign {
	t.Helper()
	ctx := t.Context()
	c := &campaign.Campaign{Name: "Bin day", Purpose: "service", Strategy: "best", ChannelOrder: []string{"email", "post"},
		EmailSubject: "Bin day", EmailBody: "Your bin day is changing.",
		LeafletTitle: "Your bin day is changing", LeafletBody: "From January we collect on a **Tuesday**.\n\n- Bins out by 7am\n- Same bins"}
	if err := r.cs.Create(ctx, c, "general", "officer"); err != nil {
		t.Fatal(err)
	}
	if err := r.cs.Schedule(ctx, c.ID, time.Time{}, "officer", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.cs.StartDue(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	return c
}

func pdftotext(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext %s: %v", path, err)
	}
	return string(out)
}

// pdfPage is the text of page n of the PDF at path.
func pdfPage(t *testing.T, path string, n int) string {
	t.Helper()
	p := strconv.Itoa(n)
	out, err := exec.Command("pdftotext", "-layout", "-f", p, "-l", p, path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext page %d of %s: %v", n, path, err)
	}
	return string(out)
}

// inOrder checks that each of want appears in text, in this order.
func inOrder(t *testing.T, what, text string, want ...string) {
	t.Helper()
	at := 0
	for _, w := range want {
		i := strings.Index(text[at:], w)
		if i < 0 {
			t.Errorf("%s: %q missing or out of order (after position %d)", what, w, at)
			return
		}
		at += i + len(w)
	}
}

func (r *rig) postStates(t *testing.T, id int64) map[string]int {
	t.Helper()
	counts, err := r.cs.Status(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]int{}
	for _, c := range counts {
		if c.Channel == "post" {
			m[c.State+"|"+c.Reason] += c.N
		}
	}
	return m
}

// TestPrintRunAndDeliveries prints a campaign's post audience and walks the rounds: the
// leaflets carry each resident's address in walking order (odd side up, even side down,
// flats together), large print goes to the resident who needs it, the do-not-deliver
// door is on the sheet but gets no leaflet, and volunteers' reports settle the post
// messages so campaign status shows paper next to email.
func TestPrintRunAndDeliveries(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	c := r.sent(t)
	// A folder left by an earlier database (reset, or the demo's) holds run 1's name already.
	stale := filepath.Join(r.out, "print-run-1")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "kept.pdf"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := printrun.NewStore(r.db).Print(ctx, printrun.Request{CampaignID: c.ID, Format: leaflet.A5, RoundSize: 6,
		OutDir: r.out, Actor: "officer", Content: leaflet.Content{OrgName: "Millbrook Council", Contact: "Town Hall",
			CallToAction: "Tell us at crier.example/bins", QRURL: "https://crier.example/c/1"}})
	if err != nil {
		t.Fatal(err)
	}
	// 11 doors on paper (Kit has email): Hal's is do-not-deliver; Cara's is large print.
	if res.Leaflets != 10 || res.Skipped != 1 {
		t.Fatalf("print run: %+v", res)
	}
	if res.Dir != stale+"-2" {
		t.Fatalf("print run went to %s, want %s-2 beside the earlier folder", res.Dir, stale)
	}
	if b, err := os.ReadFile(filepath.Join(stale, "kept.pdf")); err != nil || string(b) != "old" {
		t.Fatalf("the earlier folder was touched: %q, %v", b, err)
	}
	var sheets, std, large []string
	for _, f := range res.Files {
		switch {
		case strings.HasSuffix(f, "-round-sheet.pdf"):
			sheets = append(sheets, f)
		case strings.HasSuffix(f, "-large-print.pdf"):
			large = append(large, f)
		case strings.HasSuffix(f, "-leaflets.pdf"):
			std = append(std, f)
		}
	}
	if len(sheets) != res.Rounds || len(large) != 1 || len(std) != res.Rounds {
		t.Fatalf("files: %v", res.Files)
	}
	var leaflets string
	for _, f := range std {
		leaflets += pdftotext(t, f)
	}
	// Acre Lane's odd side ascending, then its even side descending; the three flats of
	// number 5 together in natural order; Welsh letters intact.
	inOrder(t, "walk order", leaflets, "1 Acre Lane", "Flat 1", "Flat 2", "Flat 10", "12A Acre Lane", "4 Acre Lane", "2 Acre Lane")
	for _, want := range []string{"Dai Llŷr", "Efa Ŵyn", "Your bin day is changing", "Tuesday", "Bins out by 7am", "crier.example/bins"} {
		if !strings.Contains(leaflets, want) {
			t.Errorf("leaflets lack %q", want)
		}
	}
	if strings.Contains(leaflets, "6 Acre Lane") || strings.Contains(leaflets, "Cara") || strings.Contains(leaflets, "Kit") {
		t.Error("a leaflet for the do-not-deliver door, the large-print reader or the email resident is in the standard bundle")
	}
	if lp := pdftotext(t, large[0]); !strings.Contains(lp, "3 Acre Lane") || !strings.Contains(lp, "Cara Jones") {
		t.Errorf("large-print bundle:\n%s", lp)
	}
	var sheetText string
	for _, f := range sheets {
		sheetText += pdftotext(t, f)
	}
	for _, want := range []string{"6 Acre Lane", "Do not deliver", "Letterbox at side", "LARGE PRINT"} {
		if !strings.Contains(sheetText, want) {
			t.Errorf("round sheets lack %q", want)
		}
	}
	// Sectors are never mixed: Coldharbour Lane (SW9 8) has its own round.
	list, err := printrun.NewStore(r.db).Rounds(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != res.Rounds {
		t.Fatalf("%d rounds listed, %d printed", len(list), res.Rounds)
	}
	for _, rd := range list {
		if strings.Contains(strings.Join(rd.Streets, ","), "Coldharbour Lane") && len(rd.Streets) != 1 {
			t.Errorf("round %q mixes sectors: %v", rd.Name, rd.Streets)
		}
	}
	got := r.postStates(t, c.ID)
	suppressed := 0
	for k, v := range got {
		if strings.HasPrefix(k, "suppressed|not delivered by hand") {
			suppressed += v
		}
	}
	if got["sent|"] != 10 || suppressed != 1 {
		t.Fatalf("after printing, post messages: %v", got)
	}

	// A volunteer takes the first round, can't get into one door, delivers the rest.
	st := printrun.NewStore(r.db)
	first := list[0]
	for _, rd := range list {
		if rd.Doors-rd.Skipped > first.Doors-first.Skipped {
			first = rd
		}
	}
	// Rounds go to volunteers' accounts only: a name nobody can sign in as, an officer
	// and a disabled volunteer are refused, each saying what to do instead.
	as := auth.NewStore(r.db)
	if _, err := as.Add(ctx, "sam@volunteers.example", "Sam Volunteer", "volunteer", "three random words here"); err != nil {
		t.Fatal(err)
	}
	if _, err := as.Add(ctx, "olu@council.example", "Olu Officer", "officer", "three random words here"); err != nil {
		t.Fatal(err)
	}
	gone, err := as.Add(ctx, "kim@volunteers.example", "Kim Volunteer", "volunteer", "three random words here")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := as.SetDisabled(ctx, gone.Email, true, nil); err != nil {
		t.Fatal(err)
	}
	for who, want := range map[string]string{
		"Sam Okoro":              "crier user add EMAIL --role volunteer",
		"Olu Officer":            "not a volunteer's",
		"kim@volunteers.example": "is disabled",
	} {
		if err := st.Assign(ctx, first.ID, who); !errors.Is(err, printrun.ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("assign to %q: %v; want ErrInvalid saying %q", who, err, want)
		}
	}
	if err := st.Assign(ctx, first.ID, "sam volunteer"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Deliver(ctx, printrun.Delivery{RoundID: first.ID, Seqs: []int{1}, Failed: true}); err == nil {
		t.Error("a failed delivery without a reason was accepted")
	}
	if _, err := st.Deliver(ctx, printrun.Delivery{RoundID: first.ID, Seqs: []int{99}}); err == nil {
		t.Error("a door that is not on the round was accepted")
	}
	stops, err := st.Stops(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	door := 0
	for _, s := range stops {
		if s.State == "pending" {
			door = s.Seq
			break
		}
	}
	if n, err := st.Deliver(ctx, printrun.Delivery{RoundID: first.ID, Seqs: []int{door}, Failed: true, Reason: "gate locked"}); err != nil || n != 1 {
		t.Fatalf("could not deliver: %d %v", n, err)
	}
	n, err := st.Deliver(ctx, printrun.Delivery{RoundID: first.ID})
	if err != nil {
		t.Fatal(err)
	}
	// One resident per door here, so each door is one post message.
	got = r.postStates(t, c.ID)
	if got["failed|could not deliver: gate locked"] != 1 || got["delivered|"] != n || n == 0 {
		t.Errorf("after the round: %v (delivered %d doors)", got, n)
	}
	rounds, _ := st.Rounds(ctx, c.ID)
	for _, rd := range rounds {
		if rd.ID == first.ID && (rd.State != "done" || rd.Volunteer != "Sam Volunteer" || rd.Pending != 0 || rd.NotDelivered != 1) {
			t.Errorf("round after delivery: %+v", rd)
		}
	}
	// Events tell the story of one message: queued, printed, delivered.
	var events string
	if err := r.db.Get(&events, `SELECT string_agg(e.event, ',' ORDER BY e.id) FROM message_events e
		JOIN outbox o ON o.id = e.outbox_id WHERE o.state = 'delivered' AND o.campaign_id = $1
		GROUP BY o.id LIMIT 1`, c.ID); err != nil {
		t.Fatal(err)
	}
	if events != "queued,printed,delivered" {
		t.Errorf("events of a delivered leaflet: %s", events)
	}

	// A round sheet printed again (here Cara's, after the first) still says which door
	// gets the large-print leaflet, and gives the town as the first sheet did.
	for _, rd := range rounds {
		sheet, err := st.Sheet(ctx, rd.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, stop := range sheet.Stops {
			if !strings.Contains(stop.Address, ", London, SW") {
				t.Errorf("re-printed sheet: address %q has no town", stop.Address)
			}
			if strings.HasPrefix(stop.Address, "3 Acre Lane") && !strings.Contains(stop.Notes, "LARGE PRINT") {
				t.Errorf("re-printed sheet: Cara's door %q lost its LARGE PRINT note (%q)", stop.Address, stop.Notes)
			}
		}
	}

	// Printing again finds nothing left to print.
	if _, err := printrun.NewStore(r.db).Print(ctx, printrun.Request{CampaignID: c.ID, Format: leaflet.A5, OutDir: r.out}); err == nil {
		t.Error("a second print run printed the same messages again")
	}
}

// TestUnaddressedDropHonoursNoJunkMail: a drop to every household in a sector prints
// unaddressed leaflets and skips doors that said no junk mail.
func TestUnaddressedDropHonoursNoJunkMail(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	if _, err := r.db.Exec(`UPDATE addresses SET delivery_notes = 'No junk mail' WHERE house_number = '7'`); err != nil {
		t.Fatal(err)
	}
	c := r.sent(t)
	res, err := printrun.NewStore(r.db).Print(ctx, printrun.Request{CampaignID: c.ID, Format: leaflet.A4, RoundSize: 50,
		OutDir: r.out, Sectors: []string{"SW2 1"}})
	if err != nil {
		t.Fatal(err)
	}
	// SW2 1 has 10 addresses (5 Acre Lane's flats are three doors), one do-not-deliver, one no junk mail.
	if res.Skipped != 2 || res.Leaflets != 9 {
		t.Fatalf("drop: %+v", res)
	}
	text := pdftotext(t, res.Files[0])
	if strings.Contains(text, "Ada Lovelace") {
		t.Error("an unaddressed leaflet carries a name")
	}
	// The campaign's own post messages are untouched by a drop.
	if got := r.postStates(t, c.ID); got["pending|"] != 11 {
		t.Errorf("post messages after a drop: %v", got)
	}
}
