package contact_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// TestImportUPRNIsTheDoorKey imports a gazetteer-shaped file (written by hand): the UPRN
// is the door, however each row spells the address, padded or not; two UPRNs are two
// doors even where the address text is the same; a later file without UPRNs lands on
// the same doors; the export carries the UPRN and importing it changes nothing.
func TestImportUPRNIsTheDoorKey(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)

	res := importFixture(t, s, "council-uprn.csv")
	if res.ContactsCreated != 5 {
		t.Fatalf("created %d contacts, want 5", res.ContactsCreated)
	}
	var uprns []string
	if err := d.Select(&uprns, `SELECT uprn FROM addresses ORDER BY uprn`); err != nil {
		t.Fatal(err)
	}
	if want := []string{"100023001401", "100023001402", "100023001500", "100023001501"}; !slices.Equal(uprns, want) {
		t.Fatalf("doors by UPRN = %q, want %q", uprns, want)
	}
	// Rahel and Dawit wrote their flat two ways (and Rahel's UPRN with leading zeros):
	// one door, one household.
	household := func(first string) int64 {
		t.Helper()
		var h int64
		if err := d.Get(&h, `SELECT household_id FROM contacts WHERE first_name = $1`, first); err != nil {
			t.Fatalf("%s: %v", first, err)
		}
		return h
	}
	if household("Rahel") != household("Dawit") {
		t.Error("Rahel and Dawit share UPRN 100023001401 but not a household")
	}
	if household("Morag") == household("Hamish") {
		t.Error("UPRNs 100023001500 and 100023001501 are two doors, but Morag and Hamish share one")
	}
	var door storedDoor
	if err := d.Get(&door, `SELECT flat, house_number, street, town, postcode FROM addresses WHERE uprn = '100023001500'`); err != nil {
		t.Fatal(err)
	}
	if door.HouseNumber != "Tŷ Gwyn" || door.Street != "Heol yr Eglwys" {
		t.Errorf("UPRN 100023001500 is %v, want the house Tŷ Gwyn on Heol yr Eglwys", door)
	}

	// Again: nothing changes.
	res = importFixture(t, s, "council-uprn.csv")
	if res.ContactsCreated != 0 || res.ContactsUpdated != 0 {
		t.Errorf("re-import created %d and updated %d, want 0 and 0", res.ContactsCreated, res.ContactsUpdated)
	}

	// A file from another system, without UPRNs: a new resident of Flat 5 joins that door.
	other := filepath.Join(t.TempDir(), "housing.csv")
	if err := os.WriteFile(other, []byte("Name,Address,Postcode,Mobile\r\n"+
		"Cerys Parry,\"Flat 5, Marlowe Court, 9 Brook Road, Swansea\",SA1 1AA,07700 900109\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Import(ctx, contact.ImportOptions{Path: other}); err != nil {
		t.Fatal(err)
	}
	if household("Cerys") != household("Eleri") {
		t.Error("Cerys (no UPRN, same address) did not join Eleri's door, UPRN 100023001402")
	}
	if n := count(t, d, `SELECT count(*) FROM addresses`); n != 4 {
		t.Errorf("%d doors after the file without UPRNs, want 4", n)
	}

	// The export carries the UPRN, and importing it changes nothing.
	var buf bytes.Buffer
	if _, err := s.Export(ctx, &buf, contact.ExportOptions{NoBOM: true}); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(recs[0], "UPRN")
	if col < 0 {
		t.Fatalf("export header %q has no UPRN", recs[0])
	}
	var got []string
	for _, r := range recs[1:] {
		got = append(got, r[col])
	}
	slices.Sort(got)
	if want := []string{"100023001401", "100023001401", "100023001402", "100023001402", "100023001500", "100023001501"}; !slices.Equal(got, want) {
		t.Errorf("exported UPRNs %q, want %q", got, want)
	}
	exported := filepath.Join(t.TempDir(), "export.csv")
	if err := os.WriteFile(exported, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err = s.Import(ctx, contact.ImportOptions{Path: exported})
	if err != nil {
		t.Fatal(err)
	}
	if res.ContactsCreated != 0 || res.ContactsUpdated != 0 || count(t, d, `SELECT count(*) FROM addresses`) != 4 {
		t.Errorf("re-importing the export created %d, updated %d; %d doors", res.ContactsCreated, res.ContactsUpdated,
			count(t, d, `SELECT count(*) FROM addresses`))
	}
}

// TestImportBadUPRN: a UPRN Excel rounded, one with a letter, and one without an address
// are refused, each naming its line and the UPRN column; nothing is written.
func TestImportBadUPRN(t *testing.T) {
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)
	res, err := s.Import(context.Background(), contact.ImportOptions{Path: filepath.Join("testdata", "council-uprn-bad.csv")})
	if !errors.Is(err, contact.ErrRejected) {
		t.Fatalf("err = %v, want ErrRejected", err)
	}
	want := map[int]string{3: "scientific notation", 4: "not a UPRN", 5: "needs the address"}
	for _, e := range res.Errors {
		frag, ok := want[e.Line]
		if !ok {
			t.Errorf("unexpected error on line %d: %v", e.Line, e)
			continue
		}
		if e.Field != "UPRN" || !strings.Contains(e.Error(), frag) {
			t.Errorf("line %d: %v (column %q), want %q in the UPRN column", e.Line, e, e.Field, frag)
		}
		delete(want, e.Line)
	}
	for line, frag := range want {
		t.Errorf("line %d: no error, want %q", line, frag)
	}
	if n := count(t, d, `SELECT count(*) FROM contacts`); n != 0 {
		t.Errorf("%d contacts written from a rejected file", n)
	}
}
