package contact_test

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"golang.org/x/text/encoding/charmap"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/demo"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func count(t *testing.T, d *sqlx.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := d.Get(&n, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

const header = "First name,Surname,E-mail address,Mobile,Phone number,House number,Street,Postcode,Ward,Email consent,SMS consent,Post consent\r\n"

func TestImportMergesAndKeepsConsentHistory(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)

	// A UTF-8 BOM, CRLF, a quoted field with a comma and a line break, mixed phone formats.
	body := "\ufeff" + header +
		"Zoë,Okafor,Zoe.Okafor@Example.org,07700 900123,,12,Acre Lane,sw2 5sg,Millbrook,Yes,y,1\r\n" +
		"Siân,Llewellyn,sian@example.org,,020 7946 0123,\"Flat 2, The Old Bakery\",\"Church\nRoad\",SE24 9HB,Harcourt,no,,TRUE\r\n" +
		"Arthur,Pike,,,,7,Water Lane,SE27 0AB,St Anne's,,,yes\r\n"
	p := writeFile(t, "residents.csv", body)
	res, err := s.Import(ctx, contact.ImportOptions{Path: p})
	if err != nil {
		t.Fatalf("import: %v (%v)", err, res.Errors)
	}
	if res.Rows != 3 || res.ContactsCreated != 3 || res.ContactsUpdated != 0 {
		t.Fatalf("rows=%d created=%d updated=%d, want 3/3/0", res.Rows, res.ContactsCreated, res.ContactsUpdated)
	}
	id, err := s.FindByEmail(ctx, "zoe.okafor@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if id2, err := s.FindByPhone(ctx, "+447700900123"); err != nil || id2 != id {
		t.Fatalf("mobile belongs to %d (%v), want %d", id2, err, id)
	}
	c, err := s.Get(ctx, id)
	if err != nil || c.FirstName != "Zoë" || c.Ward != "Millbrook" {
		t.Fatalf("contact = %+v, %v", c, err)
	}
	if got := count(t, d, `SELECT count(*) FROM addresses WHERE postcode = 'SW2 5SG' AND postcode_sector = 'SW2 5'`); got != 1 {
		t.Fatalf("normalised address rows = %d", got)
	}
	if got := count(t, d, `SELECT count(*) FROM addresses WHERE street = 'Church Road' AND house_number = 'Flat 2, The Old Bakery'`); got != 1 {
		t.Fatal("quoted field with comma and line break not imported as one value")
	}
	// Siân's "no" email consent with no prior grant records nothing; her landline gets no SMS consent.
	if got := count(t, d, `SELECT count(*) FROM consents`); got != 5 {
		t.Fatalf("consents = %d, want 5 (Zoë email+sms+post, Siân post, Arthur post)", got)
	}
	var src string
	if err := d.Get(&src, `SELECT c.source FROM consents c JOIN contact_points cp ON cp.id = c.contact_point_id
		WHERE cp.kind = 'email' AND lower(cp.value) = 'zoe.okafor@example.org'`); err != nil {
		t.Fatal(err)
	}
	if src != "import residents.csv row 2" {
		t.Fatalf("consent source = %q", src)
	}

	// Zoë withdraws by text; a re-import saying "yes" must not re-grant, and must not duplicate anyone.
	pts, err := s.Points(ctx, id, "general")
	if err != nil {
		t.Fatal(err)
	}
	var mobileID int64
	for _, pt := range pts {
		if pt.Kind == "phone" {
			mobileID = pt.ID
		}
	}
	if err := s.RecordConsent(ctx, mobileID, "general", "withdrawn", "SMS STOP"); err != nil {
		t.Fatal(err)
	}
	p2 := writeFile(t, "residents-v2.csv", header+
		"Zoe,Okafor,ZOE.OKAFOR@example.org,+44 7700 900123,,12,Acre Lane,SW2 5SG,Millbrook,yes,yes,yes\r\n"+
		"Arthur,Pike,,,,7,Water Lane,SE27 0AB,St Anne's,,,yes\r\n")
	res, err = s.Import(ctx, contact.ImportOptions{Path: p2})
	if err != nil {
		t.Fatal(err)
	}
	// Zoë's row spells her "Zoe" (an update); Arthur's row says nothing new (no update).
	if res.ContactsCreated != 0 || res.ContactsUpdated != 1 {
		t.Fatalf("re-import created=%d updated=%d, want 0/1", res.ContactsCreated, res.ContactsUpdated)
	}
	if res.WithdrawalsKept != 1 || res.ConsentsGranted != 0 {
		t.Fatalf("re-import granted=%d kept=%d, want 0 granted, 1 withdrawal kept", res.ConsentsGranted, res.WithdrawalsKept)
	}
	if got := count(t, d, `SELECT count(*) FROM contacts`); got != 3 {
		t.Fatalf("contacts after re-import = %d, want 3", got)
	}
	pts, _ = s.Points(ctx, id, "general")
	for _, pt := range pts {
		if pt.Kind == "phone" && pt.Consent != "withdrawn" {
			t.Fatalf("SMS consent after re-import = %q, want withdrawn", pt.Consent)
		}
	}
	hist, _ := s.ConsentHistory(ctx, mobileID)
	if len(hist) != 2 || hist[0].Status != "granted" || hist[1].Source != "SMS STOP" {
		t.Fatalf("history = %+v", hist)
	}
}

func TestImportRejectsWholeFileAndNamesEveryBadRow(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)

	var b strings.Builder
	b.WriteString(header)
	for i := 0; i < 10000; i++ {
		if i == 7340 {
			b.WriteString("Bad,Row,bad@example.org,0770,,1,High Street,SW2 1RW,Millbrook,maybe,,\r\n")
			continue
		}
		fmt.Fprintf(&b, "Person,%d,p%d@example.org,,,%d,High Street,SW2 1RW,Millbrook,yes,,\r\n", i, i, i%200+1)
	}
	p := writeFile(t, "big.csv", b.String())
	res, err := s.Import(ctx, contact.ImportOptions{Path: p})
	if !errors.Is(err, contact.ErrRejected) {
		t.Fatalf("err = %v, want ErrRejected", err)
	}
	if res.Rows != 10000 || res.Rejected != 1 || len(res.Errors) != 2 {
		t.Fatalf("rows=%d rejected=%d errors=%v", res.Rows, res.Rejected, res.Errors)
	}
	e := res.Errors[0]
	if e.Line != 7342 || e.Field != "Mobile" || e.Col != 4 || !errors.Is(e, contact.ErrInvalid) {
		t.Fatalf("first error = %+v (%v)", e, e)
	}
	if !strings.HasPrefix(e.Error(), "big.csv:7342:4 (Mobile): ") {
		t.Fatalf("message = %q", e.Error())
	}
	if res.Errors[1].Field != "Email consent" || !strings.Contains(res.Errors[1].Error(), `"maybe"`) {
		t.Fatalf("second error = %v", res.Errors[1])
	}
	for _, tbl := range []string{"contacts", "contact_points", "addresses", "consents"} {
		if got := count(t, d, "SELECT count(*) FROM "+tbl); got != 0 {
			t.Fatalf("%s has %d rows after a rejected import", tbl, got)
		}
	}
	if got := count(t, d, `SELECT count(*) FROM imports WHERE status = 'rejected' AND rows_rejected = 1`); got != 1 {
		t.Fatal("rejected import not in the audit trail")
	}

	// --dry-run --skip-invalid says what would happen and writes nothing: no rejects file.
	rej := filepath.Join(t.TempDir(), "rejects.csv")
	res, err = s.Import(ctx, contact.ImportOptions{Path: p, SkipInvalid: true, DryRun: true, RejectsPath: rej})
	if err != nil || res.Rejected != 1 || res.RejectsPath != "" {
		t.Fatalf("dry run with --skip-invalid: %+v, %v", res, err)
	}
	if _, err := os.Stat(rej); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a dry run wrote the rejects file (%v)", err)
	}
	if _, err := os.Stat(strings.TrimSuffix(p, ".csv") + ".rejects.csv"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a dry run wrote the default rejects file (%v)", err)
	}

	// --skip-invalid imports the rest and writes the reject with its reason.
	res, err = s.Import(ctx, contact.ImportOptions{Path: p, SkipInvalid: true, RejectsPath: rej})
	if err != nil {
		t.Fatal(err)
	}
	if res.ContactsCreated != 9999 {
		t.Fatalf("created %d, want 9999", res.ContactsCreated)
	}
	f, _ := os.Open(rej)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("rejects file: %v %v", recs, err)
	}
	last := recs[1][len(recs[1])-2:]
	if last[0] != "7342" || !strings.Contains(last[1], "Mobile:") || !strings.Contains(last[1], "Email consent:") {
		t.Fatalf("reject row = %v", recs[1])
	}
}

func TestImportWindows1252AndDryRun(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)
	text := "Forename,Surname,Email,Postcode,Street,Email consent\r\nRenée,O’Brien,renee@example.com,SE24 9HB,Dulwich Road,Y\r\n"
	enc, err := charmap.Windows1252.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, "excel.csv", enc)
	res, err := s.Import(ctx, contact.ImportOptions{Path: p, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Encoding != contact.EncodingWindows1252 || res.ContactsCreated != 1 {
		t.Fatalf("dry run: encoding=%s created=%d", res.Encoding, res.ContactsCreated)
	}
	if got := count(t, d, `SELECT count(*) FROM contacts`) + count(t, d, `SELECT count(*) FROM imports`); got != 0 {
		t.Fatal("dry run wrote something")
	}
	if _, err := s.Import(ctx, contact.ImportOptions{Path: p}); err != nil {
		t.Fatal(err)
	}
	var name string
	if err := d.Get(&name, `SELECT first_name || ' ' || last_name FROM contacts`); err != nil || name != "Renée O’Brien" {
		t.Fatalf("name = %q, %v", name, err)
	}
}

// BenchmarkImport imports a messy 20,000-row council file end to end (the first round
// creates everyone, later rounds match them all). `crier bench import` runs the
// million-row version and prints the table kept in docs/benchmarks.md.
func BenchmarkImport(b *testing.B) {
	d := dbtest.New(b)
	s := contact.NewStore(d, nil)
	path := filepath.Join(b.TempDir(), "messy.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	const rows = 20000
	if err := demo.WriteCSV(f, demo.Options{Rows: rows, Seed: 7, Messy: true}); err != nil {
		b.Fatal(err)
	}
	f.Close()
	ctx := context.Background()
	n := 0
	for b.Loop() {
		res, err := s.Import(ctx, contact.ImportOptions{Path: path})
		if err != nil {
			b.Fatal(err)
		}
		n += res.Rows
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkImportAddressLines is BenchmarkImport with each address written as a
// council's free-text lines ("Flat 2, 14 Acre Lane" in Address line 1, the town in
// Address line 2), so every row goes through ParseAddressLines.
func BenchmarkImportAddressLines(b *testing.B) {
	d := dbtest.New(b)
	s := contact.NewStore(d, nil)
	var buf strings.Builder
	const rows = 20000
	if err := demo.WriteCSV(&buf, demo.Options{Rows: rows, Seed: 7, Messy: true}); err != nil {
		b.Fatal(err)
	}
	recs, err := csv.NewReader(strings.NewReader(buf.String())).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	path := filepath.Join(b.TempDir(), "messy-lines.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := csv.NewWriter(f)
	for i, r := range recs {
		line1, line2 := "Address line 1", "Address line 2"
		if i > 0 {
			line1 = strings.TrimSpace(r[col["House number"]] + " " + r[col["Street"]])
			if r[col["Flat"]] != "" {
				line1 = r[col["Flat"]] + ", " + line1
			}
			line2 = r[col["Town"]]
		}
		r[col["Flat"]], r[col["House number"]] = line1, line2
		r = slices.Delete(r, col["Street"], col["Town"]+1)
		if err := w.Write(r); err != nil {
			b.Fatal(err)
		}
	}
	w.Flush()
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	n := 0
	for b.Loop() {
		res, err := s.Import(ctx, contact.ImportOptions{Path: path})
		if err != nil {
			b.Fatal(err)
		}
		n += res.Rows
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

// TestImportsPage: the imports list sorts by its keys both ways, filters by outcome and
// text, pages with a total, and refuses a sort key or outcome it doesn't offer.
func TestImportsPage(t *testing.T) {
	d := dbtest.New(t)
	st := contact.NewStore(d, nil)
	ctx := t.Context()
	for i, name := range []string{"b-ward.csv", "a-ward.csv", "c-ward.csv"} {
		p := filepath.Join(t.TempDir(), name)
		rows := "Email\n"
		for j := 0; j <= i; j++ {
			rows += fmt.Sprintf("r%d-%d@example.org\n", i, j)
		}
		if err := os.WriteFile(p, []byte(rows), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Import(ctx, contact.ImportOptions{Path: p, Actor: "jo@council.example"}); err != nil {
			t.Fatal(err)
		}
	}
	files := func(q contact.ImportsQuery) (string, int) {
		t.Helper()
		rows, total, err := st.ImportsPage(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range rows {
			names = append(names, r.File)
		}
		return strings.Join(names, " "), total
	}
	for _, c := range []struct {
		q     contact.ImportsQuery
		want  string
		total int
	}{
		{contact.ImportsQuery{Desc: true, Limit: 10}, "c-ward.csv a-ward.csv b-ward.csv", 3},
		{contact.ImportsQuery{Sort: "file", Limit: 10}, "a-ward.csv b-ward.csv c-ward.csv", 3},
		{contact.ImportsQuery{Sort: "rows", Desc: true, Limit: 10}, "c-ward.csv a-ward.csv b-ward.csv", 3},
		{contact.ImportsQuery{Sort: "file", Limit: 2, Offset: 2}, "c-ward.csv", 3},
		{contact.ImportsQuery{Text: "A-WARD", Limit: 10}, "a-ward.csv", 1},
		{contact.ImportsQuery{Text: "%", Limit: 10}, "", 0},
		{contact.ImportsQuery{Status: "failed", Limit: 10}, "", 0},
	} {
		if got, total := files(c.q); got != c.want || total != c.total {
			t.Errorf("%+v: %q of %d, want %q of %d", c.q, got, total, c.want, c.total)
		}
	}
	for _, q := range []contact.ImportsQuery{{Sort: "file_name; DROP TABLE imports", Limit: 1}, {Status: "nonsense", Limit: 1}} {
		if _, _, err := st.ImportsPage(ctx, q); !errors.Is(err, contact.ErrUnknownSort) {
			t.Errorf("%+v: %v, want ErrUnknownSort", q, err)
		}
	}
}
