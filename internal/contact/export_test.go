package contact_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// councilFile is a council's spreadsheet as they have them: accents and Arabic, free
// columns (Notes, Ref) a spreadsheet could take for formulas or numbers, numbers written
// every which way.
const councilFile = "Forename,Surname,E-mail address,Mobile,Telephone,House number,Street,Town,Postcode,Ward,Email consent,SMS consent,Post consent,Tags,Notes,Ref\r\n" +
	"Renée,O'Brien,renee.obrien@example.org,07700 900229,020 7946 0123,12,Acre Lane,London,SW2 5SG,Millbrook,yes,yes,yes,tenant;over 65,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",007\r\n" +
	"Siân,Llewellyn,sian@example.org,+44 7700 900123,,\"Flat 2, The Old Bakery\",Church Road,London,SE24 9HB,Harcourt,no,,yes,volunteer,-5 tonnes,0042\r\n" +
	"Zoë,Okafor,,(07700) 900-456,,7,Water Lane,London,SE27 0AB,St Anne's,,yes,,,+44 not a phone,\r\n" +
	"محمد,Rahman,mohammed@example.org,+33 6 12 34 56 78,,,,,,,yes,,,,@home,1234\r\n" +
	"Arthur,\"=cmd|' /C calc'!A0\",arthur@example.org,,01632 960123,3,Water Lane,London,SE27 0AB,St Anne's,,,no,,,\r\n"

// snapshot is everything an import may change, as text. contacts.updated_at is left out:
// merge.sql's UPDATE touches every matched contact (and the import counts them as
// updated) even when no value changes.
func snapshot(t *testing.T, d *sqlx.DB) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT to_jsonb(c) - 'updated_at' FROM contacts c ORDER BY id`,
		`SELECT to_jsonb(p) FROM contact_points p ORDER BY id`,
		`SELECT to_jsonb(a) FROM addresses a ORDER BY id`,
		`SELECT to_jsonb(h) FROM households h ORDER BY id`,
		`SELECT to_jsonb(c) FROM consents c ORDER BY id`,
	} {
		var rows []string
		if err := d.Select(&rows, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		b.WriteString(strings.Join(rows, "\n") + "\n--\n")
	}
	return b.String()
}

func exportFile(t *testing.T, s *contact.Store, path string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := s.Export(context.Background(), &buf, contact.ExportOptions{}); err != nil {
		t.Fatalf("export: %v", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// exportRows reads an export as header → cell maps, checking its byte-order mark.
func exportRows(t *testing.T, b []byte) (header []string, rows []map[string]string) {
	t.Helper()
	body, ok := bytes.CutPrefix(b, []byte("\ufeff"))
	if !ok {
		t.Fatalf("export has no UTF-8 byte-order mark: %q", b[:min(len(b), 20)])
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		rows = append(rows, m)
	}
	return recs[0], rows
}

func TestExportRoundTripChangesNothing(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)
	dir := t.TempDir()

	res, err := s.Import(ctx, contact.ImportOptions{Path: writeFile(t, "residents.csv", councilFile)})
	if err != nil {
		t.Fatalf("import: %v (%v)", err, res.Errors)
	}
	if res.ContactsCreated != 5 {
		t.Fatalf("created %d, want 5", res.ContactsCreated)
	}
	before := snapshot(t, d)

	first := exportFile(t, s, filepath.Join(dir, "export.csv"))
	header, rows := exportRows(t, first)
	if got := strings.Join(header[len(contact.ExportHeader):], ","); got != "notes,ref" {
		t.Errorf("attribute columns = %q, want notes,ref", got)
	}
	want := []map[string]string{
		{"First name": "Renée", "Surname": "O'Brien", "Mobile": "07700 900229", "Phone": "020 7946 0123",
			"Postcode": "SW2 5SG", "Tags": "tenant;over 65", "notes": `'=HYPERLINK("http://evil.example","click")`, "ref": "007"},
		{"First name": "Siân", "Mobile": "07700 900123", "House number": "Flat 2, The Old Bakery", "notes": "'-5 tonnes", "ref": "0042"},
		{"First name": "Zoë", "Mobile": "07700 900456", "notes": "'+44 not a phone", "ref": ""},
		{"First name": "محمد", "Mobile": "0033 6 12 34 56 78", "notes": "'@home", "ref": "1234"},
		{"First name": "Arthur", "Surname": `'=cmd|' /C calc'!A0`, "Phone": "01632 960123", "Mobile": ""},
	}
	if len(rows) != len(want) {
		t.Fatalf("export has %d rows, want %d", len(rows), len(want))
	}
	byName := map[string]map[string]string{}
	for _, r := range rows {
		byName[r["First name"]] = r
	}
	for _, w := range want {
		got := byName[w["First name"]]
		for k, v := range w {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q", w["First name"], k, got[k], v)
			}
		}
	}

	// Import the export: the database is as it was, and exporting again gives the same file.
	res, err = s.Import(ctx, contact.ImportOptions{Path: filepath.Join(dir, "export.csv")})
	if err != nil {
		t.Fatalf("re-import: %v (%v)", err, res.Errors)
	}
	if res.ContactsCreated != 0 || res.ConsentsGranted != 0 || res.ConsentsWithdrawn != 0 {
		t.Errorf("re-import created %d, granted %d, withdrew %d; want nothing", res.ContactsCreated, res.ConsentsGranted, res.ConsentsWithdrawn)
	}
	if after := snapshot(t, d); after != before {
		t.Errorf("re-importing the export changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if again := exportFile(t, s, filepath.Join(dir, "again.csv")); !bytes.Equal(again, first) {
		t.Errorf("second export differs:\n%s\n%s", first, again)
	}
}

// An attribute whose name the importer would take for one of its fields goes out as
// "attr:NAME" and comes back to the same attribute.
func TestExportAttributeNamedLikeAField(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)
	p := writeFile(t, "in.csv", "Email,Tel (day),Council tax ref\r\nann@example.org,07700 900777,CT-0099\r\n")
	if res, err := s.Import(ctx, contact.ImportOptions{Path: p, Map: map[string]contact.Field{"Tel (day)": "attr:phone"}}); err != nil {
		t.Fatalf("import: %v (%v)", err, res.Errors)
	}
	before := snapshot(t, d)
	out := filepath.Join(t.TempDir(), "export.csv")
	header, rows := exportRows(t, exportFile(t, s, out))
	if got := strings.Join(header[len(contact.ExportHeader):], ","); got != "council_tax_ref,attr:phone" {
		t.Errorf("attribute columns = %q", got)
	}
	if rows[0]["attr:phone"] != "07700 900777" || rows[0]["Mobile"] != "" || rows[0]["council_tax_ref"] != "CT-0099" {
		t.Errorf("row = %v", rows[0])
	}
	if res, err := s.Import(ctx, contact.ImportOptions{Path: out}); err != nil {
		t.Fatalf("re-import: %v (%v)", err, res.Errors)
	}
	if after := snapshot(t, d); after != before {
		t.Errorf("re-import changed the database:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestExportWithoutBOM(t *testing.T) {
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)
	var buf bytes.Buffer
	if _, err := s.Export(context.Background(), &buf, contact.ExportOptions{NoBOM: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), `"Crier ID",`) {
		t.Errorf("export starts %q", buf.String()[:min(buf.Len(), 20)])
	}
}
