package contact_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// TestCSVReaderStopsAtLongFields: a field over 64 KB or a row over 1 MB stops the reader
// with the line (and column) it starts on, after the rows before it were read as usual;
// fields and rows just under the limits, quoted line breaks and doubled quotes included,
// read as before.
func TestCSVReaderStopsAtLongFields(t *testing.T) {
	under := strings.Repeat("x", contact.MaxFieldBytes-2)
	for _, tc := range []struct {
		name, in string
		rows     int // read before the error
		line     int
		col      int
		want     string
	}{
		{"under the limits", "a,b\n\"" + under + "\",\"say \"\"hi\"\"\nthere\"\n" + strings.Repeat(under+",", 15) + "x\nc,d\n", 4, 0, 0, ""},
		{"a long field", "a,b\nc,d\ne," + strings.Repeat("y", contact.MaxFieldBytes+1) + "\nf,g\n", 2, 3, 2, "big.csv:3:2: this field is over 64 KB long"},
		{"a long row", "a,b\n" + strings.Repeat(under+",", 17) + "\n", 1, 2, 0, "big.csv:2: this line is over 1 MB long"},
		{"a stray quote", "a,b\nc,\"d\n" + strings.Repeat("e,f\n", 50000), 1, 2, 2, "big.csv:2:2: this field is over 64 KB long: a stray quote (\") may have joined many lines into one field"},
		{"one long header", strings.Repeat("h", 60<<20), 0, 1, 1, "big.csv:1:1: this field is over 64 KB long"},
	} {
		cr := contact.NewCSVReader("big.csv", strings.NewReader(tc.in))
		rows := 0
		var err error
		for {
			if _, err = cr.Read(); err != nil {
				break
			}
			rows++
		}
		var ie *contact.InputError
		if tc.want == "" {
			if err != io.EOF || rows != tc.rows {
				t.Errorf("%s: %d rows, then %v", tc.name, rows, err)
			}
			continue
		}
		if !errors.As(err, &ie) || ie.Line != tc.line || ie.Col != tc.col || !strings.HasPrefix(err.Error(), tc.want) || rows != tc.rows {
			t.Errorf("%s: %d rows, then %v (%+v), want %d rows, then %s", tc.name, rows, err, ie, tc.rows, tc.want)
		}
		if !errors.Is(err, contact.ErrInvalid) {
			t.Errorf("%s: %v is not ErrInvalid", tc.name, err)
		}
	}
}

// TestImportRefusesLongLines: a 60 MB file of one line, and a file with a stray quote
// early on, are refused with the line named and nothing written (the audit row says so).
func TestImportRefusesLongLines(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)
	dir := t.TempDir()
	oneLine := filepath.Join(dir, "one-line.csv")
	var line strings.Builder // 60 MB of distinct column names
	for i := 0; line.Len() < 60<<20; i++ {
		fmt.Fprintf(&line, "Column %d,", i)
	}
	if err := os.WriteFile(oneLine, []byte(line.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	var stray strings.Builder
	stray.WriteString("First name,Surname,Email\nAda,Lovelace,ada@example.org\nGrace,\"Hopper,grace@example.org\n")
	for i := range 100000 {
		stray.WriteString("Person,Number" + strings.Repeat("x", i%7) + ",p@example.org\n")
	}
	strayPath := filepath.Join(dir, "stray.csv")
	if err := os.WriteFile(strayPath, []byte(stray.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{oneLine, "one-line.csv:1: this line is over 1 MB long: a stray quote"},
		{strayPath, "stray.csv:3:2: this field is over 64 KB long: a stray quote (\") may have joined many lines into one field, so nothing was imported"},
	} {
		before := count(t, d, `SELECT count(*) FROM contacts`)
		res, err := s.Import(ctx, contact.ImportOptions{Path: tc.path, Actor: "test"})
		var ie *contact.InputError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an InputError %s", tc.path, err, tc.want)
		}
		if res != nil && len(res.Columns) > 0 {
			for _, c := range res.Columns {
				if len(c.Header) > contact.MaxFieldBytes {
					t.Errorf("%s: a column header of %d bytes", tc.path, len(c.Header))
				}
			}
		}
		if n := count(t, d, `SELECT count(*) FROM contacts`); n != before {
			t.Errorf("%s: %d contacts written", tc.path, n-before)
		}
	}
	if n := count(t, d, `SELECT count(*) FROM imports WHERE status = 'completed'`); n != 0 {
		t.Errorf("%d imports recorded as completed", n)
	}
}
