package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/cli"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// TestScheduleRefusesDoorsTheLeafletCannotPrint: a campaign with leaflets is refused
// when scheduled if any door of its post audience has a name or address the leaflet
// font cannot print, listing every one; so is leaflet text the font cannot print.
func TestScheduleRefusesDoorsTheLeafletCannotPrint(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	dir := t.TempDir()
	residents := "First name,Surname,House number,Street,Town,Postcode,Ward\n" +
		"Ada,Lovelace,1,Acre Lane,London,SW2 1RW,Millbrook\n" +
		"Dai,Llŷr,4,Acre Lane,London,SW2 1RW,Millbrook\n" +
		"محمد,علي,8,Acre Lane,London,SW2 1RW,Millbrook\n"
	csvPath, mdPath, badPath := filepath.Join(dir, "paper.csv"), filepath.Join(dir, "bins.md"), filepath.Join(dir, "emoji.md")
	os.WriteFile(csvPath, []byte(residents), 0o600)
	os.WriteFile(mdPath, []byte(binLeaflet), 0o600)
	os.WriteFile(badPath, []byte(strings.Replace(strings.Replace(binLeaflet, "Bin day leaflet", "Emoji leaflet", 1),
		"on a **Tuesday**.", "on a **Tuesday** 🗑️.", 1)), 0o600)
	for _, args := range [][]string{{"contacts", "import", csvPath}, {"campaign", "create", mdPath}} {
		if r := crier(t, dsn, args...); r.code != 0 {
			t.Fatalf("%v: %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	// Leaflet text the font cannot print is refused when the campaign is created,
	// naming the character, long before anything is scheduled.
	r := crier(t, dsn, "campaign", "create", badPath)
	if r.code != cli.ExitData || !strings.Contains(r.stderr, "cannot print") || !strings.Contains(r.stderr, "U+1F5D1") {
		t.Fatalf("leaflet text with an emoji: %d\n%s", r.code, r.stderr)
	}
	if r := crier(t, dsn, "campaign", "list"); strings.Contains(r.stdout, "Emoji leaflet") {
		t.Errorf("a refused campaign was stored:\n%s", r.stdout)
	}
	r = crier(t, dsn, "campaign", "send", "Bin day leaflet")
	if r.code != cli.ExitData || !strings.Contains(r.stderr, "1 doors have characters the leaflet font cannot print") ||
		!strings.Contains(r.stderr, "8 Acre Lane, London, SW2 1RW: the name has") {
		t.Fatalf("send with a name in Arabic script: %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "Llŷr") || strings.Contains(r.stderr, "4 Acre Lane") {
		t.Errorf("a Welsh name is reported as unprintable:\n%s", r.stderr)
	}
	if r := crier(t, dsn, "campaign", "list"); !strings.Contains(r.stdout, "draft") || strings.Contains(r.stdout, "scheduled") {
		t.Errorf("a refused campaign is no longer a draft:\n%s", r.stdout)
	}
}
