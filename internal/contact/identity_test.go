package contact_test

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// The residents on record before each import.
const identityOnRecord = "First name,Surname,Email,Mobile\r\n" +
	"Andrew,Kavanagh,andrew@example.org,07700 900229\r\n" +
	"Bea,Nowak,bea@example.org,07700 900555\r\n"

// A council's file in which some rows would merge into, or rename, the wrong person.
const identityFile = "First name,Surname,Email,Mobile\r\n" +
	"Renée,O'Brien,renee@example.net,07700 900229\r\n" + // 2: Andrew's mobile, another name, a new email
	"Andrew,Kavanagh,andrew.k@example.org,07700 900229\r\n" + // 3: Andrew's new email: fine
	"Andrew,Kavanagh,andrew@example.org,07700 900555\r\n" + // 4: Andrew's email, Bea's mobile
	"Jo,Bloggs,jo@example.org,07700 900300\r\n" + // 5 and 6: one email, two people
	"Joanne,Smith,JO@example.org,\r\n" +
	"Zoë,Adebayo,zoe@example.org,07700 900301\r\n" // 7: new and fine

func identityWorld(t *testing.T) (*sqlx.DB, *contact.Store, string) {
	t.Helper()
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)
	if _, err := s.Import(context.Background(), contact.ImportOptions{Path: writeFile(t, "on-record.csv", identityOnRecord)}); err != nil {
		t.Fatal(err)
	}
	return d, s, writeFile(t, "council.csv", identityFile)
}

func names(t *testing.T, d *sqlx.DB) string {
	t.Helper()
	var n []string
	if err := d.Select(&n, `SELECT c.first_name || ' ' || c.last_name || ':' || coalesce(string_agg(cp.value, ',' ORDER BY cp.value), '')
		FROM contacts c LEFT JOIN contact_points cp ON cp.contact_id = c.id GROUP BY c.id ORDER BY c.id`); err != nil {
		t.Fatal(err)
	}
	return strings.Join(n, "; ")
}

func TestImportReportsWhoIsWhoConflicts(t *testing.T) {
	ctx := context.Background()
	d, s, path := identityWorld(t)
	before := names(t, d)

	res, err := s.Import(ctx, contact.ImportOptions{Path: path})
	if !errors.Is(err, contact.ErrRejected) {
		t.Fatalf("err = %v, want the file rejected for its conflicts", err)
	}
	var got []string
	for _, e := range res.Errors {
		if !errors.Is(e, contact.ErrConflict) {
			t.Errorf("not a conflict: %v", e)
		}
		got = append(got, e.Error())
	}
	want := []string{
		`council.csv:2:4 (Mobile): conflict: "+447700900229" is resident #1's (Andrew Kavanagh); this row has another name and a new email, so it looks like someone else`,
		`council.csv:4:4 (Mobile): conflict: "+447700900555" is resident #2's (Bea Nowak), but this row's email is another resident's`,
		`council.csv:5:3 (Email): conflict: "jo@example.org" is also on line 6 under another name`,
		`council.csv:6:3 (Email): conflict: "JO@example.org" is also on line 5 under another name`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("conflicts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if after := names(t, d); after != before {
		t.Fatalf("a rejected import changed who is who:\n%s\nwas\n%s", after, before)
	}

	// A dry run lists the same and writes nothing.
	res, err = s.Import(ctx, contact.ImportOptions{Path: path, DryRun: true})
	if !errors.Is(err, contact.ErrRejected) || len(res.Errors) != 4 {
		t.Fatalf("dry run: %v, %d errors", err, len(res.Errors))
	}

	// Skipping them imports the rest; nobody is renamed or given someone else's number.
	res, err = s.Import(ctx, contact.ImportOptions{Path: path, Conflicts: contact.ConflictsSkip})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Conflicts) != 4 || res.Imported != 2 {
		t.Fatalf("skip: %d conflicts listed, %d rows imported; want 4 and 2", len(res.Conflicts), res.Imported)
	}
	want2 := "Andrew Kavanagh:+447700900229,andrew.k@example.org,andrew@example.org; Bea Nowak:+447700900555,bea@example.org; " +
		"Zoë Adebayo:+447700900301,zoe@example.org"
	if after := names(t, d); after != want2 {
		t.Fatalf("after skipping the conflicts:\n%s\nwant\n%s", after, want2)
	}
}

func TestImportConflictsAsNewPeople(t *testing.T) {
	ctx := context.Background()
	d, s, path := identityWorld(t)
	res, err := s.Import(ctx, contact.ImportOptions{Path: path, Conflicts: contact.ConflictsNew})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Conflicts) != 4 {
		t.Fatalf("%d conflicts listed, want 4", len(res.Conflicts))
	}
	// Renée is her own person (without Andrew's mobile); line 4 updates Andrew by his
	// email without taking Bea's mobile; the one email on two rows goes to the later one.
	got := names(t, d)
	for _, w := range []string{
		"Andrew Kavanagh:+447700900229,andrew.k@example.org,andrew@example.org",
		"Bea Nowak:+447700900555,bea@example.org",
		"Renée O'Brien:renee@example.net",
		"Zoë Adebayo:+447700900301,zoe@example.org",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in\n%s", w, got)
		}
	}
}

// A dry run lists every merge that would change a resident on record.
func TestDryRunListsChangesToResidentsOnRecord(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)
	onRecord := "First name,Surname,Email,Mobile,House number,Street,Postcode\r\n" +
		"Andrew,Kavanagh,andrew@example.org,07700 900229,14,Mill Lane,SW2 1RW\r\n" +
		"Bea,Nowak,bea@example.org,,3,Acre Lane,SW2 1RW\r\n"
	if _, err := s.Import(ctx, contact.ImportOptions{Path: writeFile(t, "on-record.csv", onRecord)}); err != nil {
		t.Fatal(err)
	}
	file := "First name,Surname,Email,Mobile,House number,Street,Postcode\r\n" +
		"Andrew,Kavanagh,andrew.k@example.org,07700 900229,14,Mill Lane,SW2 1RW\r\n" + // another email
		"Bea,Nowak-Smith,bea@example.org,,5,Acre Lane,SW2 1RW\r\n" + // married, moved two doors
		"Cy,Huws,cy@example.org,,1,Acre Lane,SW2 1RW\r\n" // new: not a change to anyone
	before := names(t, d)
	res, err := s.Import(ctx, contact.ImportOptions{Path: writeFile(t, "changes.csv", file), DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range res.Changes {
		got = append(got, c.String())
	}
	want := []string{
		`line 2: resident #1 gets another email address, "andrew.k@example.org"`,
		`line 3: resident #2 moves from "3 Acre Lane, SW2 1RW" to "5 Acre Lane, SW2 1RW"`,
		`line 3: resident #2 is renamed from "Bea Nowak" to "Bea Nowak-Smith"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("changes:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if after := names(t, d); after != before {
		t.Fatal("a dry run changed residents")
	}
}

// TestImportLandlineIsTheHousehold: a family's home phone is on each member's row. A
// new email beside it is a new person, not a conflict and not a merge; a row with only
// the landline still finds the resident on record; and re-importing the file changes
// nothing.
func TestImportLandlineIsTheHousehold(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)
	first := writeFile(t, "family.csv", "First name,Surname,Email,Phone\r\n"+
		"Gwen,Price,gwen@example.org,029 2018 0001\r\n")
	if _, err := s.Import(ctx, contact.ImportOptions{Path: first}); err != nil {
		t.Fatal(err)
	}
	second := writeFile(t, "family2.csv", "First name,Surname,Email,Phone\r\n"+
		"Gwen,Price,gwen@example.org,029 2018 0001\r\n"+
		"Huw,Price,huw@example.org,029 2018 0001\r\n"+ // a new email beside the family's phone
		"Gwen,Price,,029 2018 0001\r\n") // only the phone: Gwen
	for range 2 {
		res, err := s.Import(ctx, contact.ImportOptions{Path: second})
		if err != nil {
			t.Fatalf("import: %v (%v)", err, res.Errors)
		}
	}
	if got, want := names(t, d), "Gwen Price:+442920180001,gwen@example.org; Huw Price:huw@example.org"; got != want {
		t.Errorf("residents = %q, want %q", got, want)
	}
}

// Rows left out for their conflicts are in the rejects file with their reasons, as the
// council wrote them, beside the invalid ones: under --skip-invalid and --conflicts skip.
func TestSkippedConflictsAreInTheRejectsFile(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts contact.ImportOptions
		want []string // line numbers in the rejects file
	}{
		{"skip invalid", contact.ImportOptions{SkipInvalid: true}, []string{"2", "4", "5", "6", "8"}},
		{"conflicts skip", contact.ImportOptions{Conflicts: contact.ConflictsSkip}, []string{"2", "4", "5", "6"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, s, _ := identityWorld(t)
			file := identityFile
			if tc.opts.SkipInvalid {
				file += "Huw,Bevan,not-an-email,\r\n" // 8: invalid
			}
			path := writeFile(t, "council.csv", file)
			opts := tc.opts
			opts.Path = path
			opts.RejectsPath = filepath.Join(t.TempDir(), "rejects.csv")
			res, err := s.Import(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.RejectsPath != opts.RejectsPath {
				t.Fatalf("rejects written to %q, want %q", res.RejectsPath, opts.RejectsPath)
			}
			f, err := os.Open(opts.RejectsPath)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			recs, err := csv.NewReader(f).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, r := range recs[1:] {
				lines = append(lines, r[len(r)-2])
				if !strings.Contains(r[len(r)-1], "conflict") && r[len(r)-2] != "8" {
					t.Errorf("line %s's reason %q does not say conflict", r[len(r)-2], r[len(r)-1])
				}
			}
			if strings.Join(lines, ",") != strings.Join(tc.want, ",") {
				t.Errorf("rejects file lines %q, want %q", lines, tc.want)
			}
			if recs[1][0] != "Renée" || recs[1][2] != "renee@example.net" {
				t.Errorf("line 2 written as %q, want the cells as the file had them", recs[1])
			}
		})
	}
}

// A cell with a NUL byte, or bytes that are not UTF-8 in a file read as UTF-8, is an
// invalid row naming its line and column (PostgreSQL can't store it), never a failed import.
func TestImportRefusesCellsPostgresCannotStore(t *testing.T) {
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)
	path := writeFile(t, "nul.csv", "First name,Surname,Email\r\n"+
		"Gwen,Pr\x00ice,gwen@example.org\r\n"+
		"Huw,Price,huw@example.org\r\n")
	res, err := s.Import(context.Background(), contact.ImportOptions{Path: path})
	if !errors.Is(err, contact.ErrRejected) || len(res.Errors) != 1 {
		t.Fatalf("err %v, errors %v; want the file rejected for one cell", err, res.Errors)
	}
	if e := res.Errors[0]; e.Line != 2 || e.Col != 2 || !strings.Contains(e.Error(), "NUL byte") {
		t.Errorf("error %v (line %d, column %d), want line 2, column 2, naming the NUL byte", e, e.Line, e.Col)
	}
	bad := writeFile(t, "latin1.csv", "First name,Surname,Email\r\nRen\xe9e,O'Brien,renee@example.org\r\n")
	res, err = s.Import(context.Background(), contact.ImportOptions{Path: bad, Encoding: contact.EncodingUTF8})
	if !errors.Is(err, contact.ErrRejected) || len(res.Errors) != 1 || res.Errors[0].Col != 1 {
		t.Fatalf("Latin-1 read as UTF-8: err %v, errors %v; want column 1 refused", err, res.Errors)
	}
	if n := count(t, d, `SELECT count(*) FROM contacts`); n != 0 {
		t.Errorf("%d contacts written", n)
	}
}
