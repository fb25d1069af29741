package printrun_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/leaflet"
	"github.com/crierhq/crier/internal/printrun"
)

// TestPrintRunRefusesDoorsItCannotPrint: names and addresses in scripts the leaflet font
// cannot print (Arabic, Urdu, Bengali, Chinese) are never printed as "?": the print run
// refuses, lists every such door with its characters, and prints nothing. Welsh and
// Polish letters print.
func TestPrintRunRefusesDoorsItCannotPrint(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	more := "First name,Surname,House number,Street,Town,Postcode,Ward,Post consent,Delivery notes\n" +
		"محمد,علي,8,Acre Lane,London,SW2 1RW,Millbrook,Yes,\n" + // a name in Arabic script
		"Łucja,Dŵr-Nowak,10,Acre Lane,London,SW2 1RW,Millbrook,Yes,\n" + // prints
		"Wei,Chen,3,شارع الملك,London,SW2 1AA,Millbrook,Yes,\n" + // an address line in Arabic
		"Rahim,Uddin,11,Brixton Hill,London,SW2 1AA,Millbrook,Yes,দরজা পাশে\n" + // notes in Bengali
		"明,李,13,Brixton Hill,London,SW2 1AA,Millbrook,Yes,\n" // a name in Chinese
	p := filepath.Join(t.TempDir(), "more.csv")
	if err := os.WriteFile(p, []byte(more), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := contact.NewStore(r.db, nil).Import(ctx, contact.ImportOptions{Path: p, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	c := r.sent(t)
	_, err := printrun.NewStore(r.db).Print(ctx, printrun.Request{CampaignID: c.ID, Format: leaflet.A5, RoundSize: 6,
		OutDir: r.out, Actor: "officer", Content: leaflet.Content{OrgName: "Millbrook Council", Contact: "Town Hall"}})
	var ue *printrun.UnprintableError
	if !errors.As(err, &ue) || !errors.Is(err, printrun.ErrUnprintable) {
		t.Fatalf("err = %v, want the doors it cannot print", err)
	}
	var got []string
	for _, d := range ue.Doors {
		got = append(got, d.Address+" | "+d.What+" | "+d.Chars)
	}
	want := []string{
		"8 Acre Lane, London, SW2 1RW | name | محدعلي",
		"3 شارع الملك, London, SW2 1AA | address | شارعلمك",
		"11 Brixton Hill, London, SW2 1AA | delivery notes | দরজাপশে",
		"13 Brixton Hill, London, SW2 1AA | name | 明李",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("doors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(err.Error(), "4 doors have characters the leaflet font cannot print") {
		t.Errorf("message: %v", err)
	}
	// Nothing printed, and the post messages still wait.
	entries, _ := os.ReadDir(r.out)
	for _, e := range entries {
		t.Errorf("left in the output folder: %s", e.Name())
	}
	if n := r.postStates(t, c.ID)["pending|"]; n == 0 {
		t.Errorf("post messages no longer wait to be printed: %v", r.postStates(t, c.ID))
	}
}
