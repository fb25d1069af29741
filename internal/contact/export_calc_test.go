package contact_test

import (
	"archive/zip"
	"context"
	"encoding/xml"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// The tests open the export in LibreOffice (soffice --headless). Without it they skip,
// except under CI, where a missing soffice is a failure.
func needSoffice(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"soffice", "libreoffice"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("soffice (libreoffice-calc-nogui) is required under CI")
	}
	t.Skip("soffice (libreoffice-calc-nogui) not installed")
	return ""
}

// openInCalc opens csvPath the way LibreOffice Calc does (CSV filter options: comma,
// double quote, UTF-8, from line 1, then extra) with the LibreOffice user profile in
// directory profile, and returns the sheet as saved to xlsx:
// each cell's text and whether it holds a formula.
func openInCalc(t *testing.T, soffice, profile, csvPath, extra string) map[string]calcCell {
	t.Helper()
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, soffice, "-env:UserInstallation=file://"+profile,
		"--headless", "--infilter=CSV:44,34,76,1"+extra, "--convert-to", "xlsx", "--outdir", out, csvPath)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, b)
	}
	zr, err := zip.OpenReader(filepath.Join(out, strings.TrimSuffix(filepath.Base(csvPath), ".csv")+".xlsx"))
	if err != nil {
		t.Fatalf("soffice wrote no xlsx: %v", err)
	}
	defer zr.Close()
	read := func(name string, v any) {
		t.Helper()
		f, err := zr.Open(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		if err := xml.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	var sst struct {
		SI []struct {
			T string   `xml:"t"`
			R []string `xml:"r>t"`
		} `xml:"si"`
	}
	read("xl/sharedStrings.xml", &sst)
	var sheet struct {
		C []struct {
			R string  `xml:"r,attr"`
			T string  `xml:"t,attr"`
			F *string `xml:"f"`
			V string  `xml:"v"`
		} `xml:"sheetData>row>c"`
	}
	read("xl/worksheets/sheet1.xml", &sheet)
	cells := map[string]calcCell{}
	for _, c := range sheet.C {
		cell := calcCell{text: c.V, number: c.T == "n" || c.T == "", formula: c.F != nil}
		if c.T == "s" {
			i, _ := strconv.Atoi(c.V)
			cell.text = sst.SI[i].T + strings.Join(sst.SI[i].R, "")
		}
		cells[c.R] = cell
	}
	return cells
}

type calcCell struct {
	text            string
	number, formula bool
}

// cellName is the A1 name of column col (0-based) in row (1-based).
func cellName(col, row int) string {
	name := ""
	for col++; col > 0; col = (col - 1) / 26 {
		name = string(rune('A'+(col-1)%26)) + name
	}
	return name + strconv.Itoa(row)
}

// Opening the export in LibreOffice runs no formula and keeps phone numbers, postcodes and
// names as written. Leading zeros of an all-digit cell ("007") survive only with "Format
// quoted field as text" ticked: Calc, like Excel, reads an unmarked 007 as the number 7.
func TestExportOpensSafelyInLibreOffice(t *testing.T) {
	soffice := needSoffice(t)
	ctx := context.Background()
	d := dbtest.New(t)
	s := contact.NewStore(d, nil)
	if res, err := s.Import(ctx, contact.ImportOptions{Path: writeFile(t, "residents.csv", councilFile)}); err != nil {
		t.Fatalf("import: %v (%v)", err, res.Errors)
	}
	path := filepath.Join(t.TempDir(), "export.csv")
	header, rows := exportRows(t, exportFile(t, s, path))
	profile := t.TempDir() // one for both runs: the first run creates it, slowly

	for _, tc := range []struct {
		name, options string
		asText        bool // every cell comes back exactly as exported
	}{
		{"plain open", "", false},
		{"quoted fields as text", ",,0,true", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cells := openInCalc(t, soffice, profile, path, tc.options)
			if got := cells["A1"].text; got != header[0] {
				t.Errorf("A1 = %q, want %q (the byte-order mark read as UTF-8 and dropped)", got, header[0])
			}
			for c := range cells {
				if cells[c].formula {
					t.Errorf("%s became a formula: %q", c, cells[c].text)
				}
			}
			for i, row := range rows {
				for col, h := range header {
					name, v := cellName(col, i+2), row[h]
					got := cells[name]
					switch {
					case v == "":
					case tc.asText || !isDigits(v):
						if got.text != v || got.number {
							t.Errorf("%s (%s) = %+v, want the text %q", name, h, got, v)
						}
					default: // digits: Calc reads a number, dropping leading zeros
						n, _ := strconv.Atoi(v)
						if got.text != strconv.Itoa(n) {
							t.Errorf("%s (%s) = %+v, want the number %d", name, h, got, n)
						}
					}
				}
			}
		})
	}
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
