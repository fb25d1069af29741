package contact

import (
	"context"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"
)

// FuzzReadCSV feeds arbitrary files through the importer's reading half (encoding
// detection, header mapping, parallel normalisation) and checks what it promises: it
// never panics; every row is either staged or rejected with at least one reason naming a
// line after the header; staged rows hold only normalised values (normalising again
// changes nothing); and the staged text is valid UTF-8 whatever the input bytes were.
func FuzzReadCSV(f *testing.F) {
	f.Add([]byte("Email,Mobile,Postcode,Street,Email consent\r\nann@example.org,07700 900123,sw2 1rw,Acre Lane,Y\r\n"))
	f.Add([]byte("\xef\xbb\xbfFirst name,Surname,E-mail address\nZo\xc3\xab,O'Brien,zoe@example.org\n"))
	f.Add([]byte("Forename,Email\nRen\xe9e,renee@example.com\n")) // Windows-1252
	f.Add([]byte("Email,Phone number\n\"a@b.co\",\"(07700) 900-123\"\nbad,0770\n"))
	f.Add([]byte("Street,Postcode,Flat\n\"Church\nRoad\",SE24 9HB,\"Flat 2, The Old Bakery\"\n"))
	f.Add([]byte("Email,Email\nx@y.z,x@y.z\n"))
	f.Add([]byte("Email\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "fuzz.csv")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := openSource(path, EncodingAuto)
		if err != nil {
			t.Fatal(err)
		}
		defer src.f.Close()
		if (src.encoding == EncodingUTF8) != utf8.Valid(data) {
			t.Fatalf("encoding %s for utf8.Valid=%v", src.encoding, utf8.Valid(data))
		}
		cr := csv.NewReader(src.reader(&countingReader{}))
		cr.FieldsPerRecord = -1
		header, err := cr.Read()
		if err != nil {
			return
		}
		cols, err := MapHeader(header, nil)
		if err != nil {
			return
		}
		nz := newNormaliser("fuzz.csv", cols, "GB")
		var staged, rejected, reasons int
		err = scan(context.Background(), cr, nz, func(int) {}, func(b stagedBatch) {
			staged += len(b.rows)
			rejected += len(b.rejects)
			reasons += len(b.errs)
			for _, e := range b.errs {
				if e.Line < 2 || !errors.Is(e, ErrInvalid) {
					t.Fatalf("bad reason %+v", e)
				}
			}
			for _, r := range b.rows {
				checkStaged(t, r)
			}
		})
		var ie *InputError
		if err != nil && !errors.As(err, &ie) {
			t.Fatalf("scan: %v", err)
		}
		if reasons < rejected {
			t.Fatalf("%d rejected rows but only %d reasons", rejected, reasons)
		}
	})
}

func checkStaged(t *testing.T, r stageRow) {
	t.Helper()
	for _, s := range []string{r.firstName, r.lastName, r.email, r.street, r.town, r.ward, r.deliveryNotes, r.tags} {
		if !utf8.ValidString(s) {
			t.Fatalf("staged text %q is not UTF-8", s)
		}
	}
	if r.email != "" {
		if e, err := NormalizeEmail(r.email); err != nil || e != r.email {
			t.Fatalf("email %q re-normalises to %q, %v", r.email, e, err)
		}
	}
	for _, p := range []string{r.mobile, r.phone} {
		if p == "" {
			continue
		}
		if n, err := NormalizePhone(p, "GB"); err != nil || n.E164 != p {
			t.Fatalf("phone %q re-normalises to %+v, %v", p, n, err)
		}
	}
	if r.postcode != "" {
		if pc, err := NormalizePostcode(r.postcode); err != nil || pc.Code != r.postcode || pc.Sector != r.sector {
			t.Fatalf("postcode %q/%q re-normalises to %+v, %v", r.postcode, r.sector, pc, err)
		}
	}
	if (r.street == "") != (r.postcode == "") {
		t.Fatalf("half an address staged: street %q postcode %q", r.street, r.postcode)
	}
	if r.emailKey == "" && r.mobile == "" && r.phone == "" && r.street == "" {
		t.Fatal("staged a row with no way to reach the person")
	}
}

// FuzzUTF8Validator checks that validating a file in chunks, split anywhere, agrees with
// validating it whole: a rune split across two reads must not fool encoding detection.
func FuzzUTF8Validator(f *testing.F) {
	f.Add([]byte("Zo\xc3\xab \xe2\x80\x99 \xf0\x9f\x98\x80"), 3)
	f.Add([]byte("Ren\xe9e"), 2)
	f.Add([]byte("\xf0\x9f\x98"), 1)
	f.Fuzz(func(t *testing.T, data []byte, chunk int) {
		if chunk <= 0 {
			chunk = 1
		}
		v := utf8Validator{}
		for b := data; len(b) > 0; {
			n := min(chunk, len(b))
			v.Write(b[:n])
			b = b[n:]
		}
		if v.Valid() != utf8.Valid(data) {
			t.Fatalf("chunked %v, whole %v for %q in chunks of %d", v.Valid(), utf8.Valid(data), data, chunk)
		}
	})
}
