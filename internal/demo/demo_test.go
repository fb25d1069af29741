package demo

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

const wantHeader = "First name,Surname,Email,Mobile,Phone,Flat,House number,Street,Town,Postcode,Ward,Preferred language,Large print,Email consent,SMS consent,Post consent,Tags,Delivery notes"

var (
	postcodeRE = regexp.MustCompile(`^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][ABD-HJLNP-UW-Z]{2}$`)
	sectorRE   = regexp.MustCompile(`^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9]$`)
	emailRE    = regexp.MustCompile(`^[a-z][a-z._-]*[0-9]+@example\.(com|org|net)$`)
	mobileRE   = regexp.MustCompile(`^07700 900[0-9]{3}$`)
	landlineRE = regexp.MustCompile(`^020 7946 0[0-9]{3}$`)
)

// generate returns WriteCSV's output for opts.
func generate(t testing.TB, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteCSV(&buf, opts); err != nil {
		t.Fatalf("WriteCSV(%+v): %v", opts, err)
	}
	return buf.Bytes()
}

// parse reads data as CSV, header included, insisting every record has the
// header's number of fields.
func parse(t testing.TB, data []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("parse generated CSV: %v", err)
	}
	return recs
}

// normPhone undoes the messy phone spellings: "+44 7700 900123",
// "(07700) 900-123" and the rest all become "07700 900123"; landlines become
// "020 7946 0123".
func normPhone(s string) string {
	s = strings.NewReplacer(" ", "", "(", "", ")", "", "-", "").Replace(s)
	switch {
	case strings.HasPrefix(s, "+44"):
		s = "0" + s[3:]
	case strings.HasPrefix(s, "0044"):
		s = "0" + s[4:]
	}
	switch {
	case len(s) == 11 && strings.HasPrefix(s, "07"):
		return s[:5] + " " + s[5:]
	case len(s) == 11 && strings.HasPrefix(s, "020"):
		return s[:3] + " " + s[3:7] + " " + s[7:]
	}
	return s
}

// normPostcode undoes the messy postcode spellings.
func normPostcode(s string) string {
	s = strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	if len(s) < 5 {
		return s
	}
	return s[:len(s)-3] + " " + s[len(s)-3:]
}

// consent maps every spelling a file may use to yes (true) or no (false);
// the empty string is "not given".
var consent = map[string]bool{
	"Yes": true, "yes": true, "Y": true, "TRUE": true, "1": true,
	"No": false, "no": false, "N": false, "false": false, "0": false,
}

func TestWriteCSVDeterministic(t *testing.T) {
	tests := []struct {
		name  string
		a, b  Options
		equal bool
	}{
		{"same seed", Options{Rows: 3000, Seed: 1}, Options{Rows: 3000, Seed: 1}, true},
		{"same seed messy", Options{Rows: 3000, Seed: 9, Messy: true}, Options{Rows: 3000, Seed: 9, Messy: true}, true},
		{"negative seed", Options{Rows: 500, Seed: -5}, Options{Rows: 500, Seed: -5}, true},
		{"different seed", Options{Rows: 3000, Seed: 1}, Options{Rows: 3000, Seed: 2}, false},
		{"different seed messy", Options{Rows: 3000, Seed: 1, Messy: true}, Options{Rows: 3000, Seed: 2, Messy: true}, false},
		{"clean and messy", Options{Rows: 3000, Seed: 1}, Options{Rows: 3000, Seed: 1, Messy: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := generate(t, tt.a), generate(t, tt.b)
			if got := bytes.Equal(a, b); got != tt.equal {
				t.Errorf("outputs equal = %v, want %v", got, tt.equal)
			}
		})
	}
}

func TestWriteCSVHeaderAndRowCount(t *testing.T) {
	tests := []struct {
		name     string
		opts     Options
		wantLine string
	}{
		{"no rows", Options{}, wantHeader + "\n"},
		{"no rows messy", Options{Messy: true}, wantHeader + "\r\n"},
		{"one row", Options{Rows: 1, Seed: 3}, wantHeader + "\n"},
		{"some rows", Options{Rows: 777, Seed: 3}, wantHeader + "\n"},
		{"some rows messy", Options{Rows: 777, Seed: 3, Messy: true}, wantHeader + "\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := generate(t, tt.opts)
			if !bytes.HasPrefix(data, []byte(tt.wantLine)) {
				first, _, _ := bytes.Cut(data, []byte("\n"))
				t.Fatalf("first line = %q, want %q", first, tt.wantLine)
			}
			recs := parse(t, data)
			if got := len(recs) - 1; got != tt.opts.Rows {
				t.Errorf("got %d rows, want %d", got, tt.opts.Rows)
			}
			if !slices.Equal(recs[0], header[:]) {
				t.Errorf("header = %q, want %q", recs[0], header)
			}
		})
	}
}

// row names the columns of one record.
type row []string

func (r row) hasEmail() bool  { return r[colEmail] != "" }
func (r row) hasMobile() bool { return r[colMobile] != "" }
func (r row) hasPhone() bool  { return r[colPhone] != "" }
func (r row) address() string {
	return strings.Join([]string{r[colFlat], r[colNumber], r[colStreet], normPostcode(r[colPostcode])}, "|")
}

// mix is a file's make-up, in fractions of its rows.
type mix struct {
	emailOnly, mobileOnly, both, postOnly, landlineOnly float64
	landline                                            float64
	largePrint                                          float64
	emailYes, smsYes, postYes                           float64 // of those who can be reached that way
	tagged, noJunk                                      float64
	english                                             float64
}

func measure(rows []row) mix {
	var m mix
	var emails, mobiles float64
	for _, r := range rows {
		switch {
		case r.hasEmail() && r.hasMobile():
			m.both++
		case r.hasEmail():
			m.emailOnly++
		case r.hasMobile():
			m.mobileOnly++
		case r.hasPhone():
			m.landlineOnly++
		default:
			m.postOnly++
		}
		if r.hasPhone() {
			m.landline++
		}
		if consent[r[colLargePrint]] {
			m.largePrint++
		}
		if r.hasEmail() {
			emails++
			if consent[r[colEmailConsent]] {
				m.emailYes++
			}
		}
		if r.hasMobile() {
			mobiles++
			if consent[r[colSMSConsent]] {
				m.smsYes++
			}
		}
		if consent[r[colPostConsent]] {
			m.postYes++
		}
		if r[colTags] != "" {
			m.tagged++
		}
		if r[colNotes] == noteNoJunk {
			m.noJunk++
		}
		if r[colLanguage] == "en" {
			m.english++
		}
	}
	n := float64(len(rows))
	m.emailOnly /= n
	m.mobileOnly /= n
	m.both /= n
	m.postOnly /= n
	m.landlineOnly /= n
	m.landline /= n
	m.largePrint /= n
	m.emailYes /= emails
	m.smsYes /= mobiles
	m.postYes /= n
	m.tagged /= n
	m.noJunk /= n
	m.english /= n
	return m
}

func TestWriteCSVDemoMix(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want mix
	}{
		{
			name: "demo seed 1",
			opts: Options{Rows: 5000, Seed: 1},
			want: mix{emailOnly: .51, mobileOnly: .09, both: .09, postOnly: .26, landlineOnly: .05, landline: .15, largePrint: .08, emailYes: .85, smsYes: .80, postYes: .60, tagged: .14, noJunk: .03, english: .92},
		},
		{
			name: "demo seed 2026",
			opts: Options{Rows: 5000, Seed: 2026},
			want: mix{emailOnly: .51, mobileOnly: .09, both: .09, postOnly: .26, landlineOnly: .05, landline: .15, largePrint: .08, emailYes: .85, smsYes: .80, postYes: .60, tagged: .14, noJunk: .03, english: .92},
		},
		{
			name: "messy",
			opts: Options{Rows: 5000, Seed: 1, Messy: true},
			want: mix{emailOnly: .45, mobileOnly: .15, both: .15, postOnly: .20, landlineOnly: .05, landline: .16, largePrint: .08, emailYes: .85, smsYes: .80, postYes: .59, tagged: .14, noJunk: .03, english: .92},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := parse(t, generate(t, tt.opts))
			rows := make([]row, 0, len(recs)-1)
			for _, r := range recs[1:] {
				rows = append(rows, row(r))
			}
			got := measure(rows)
			t.Logf("measured %+v", got)
			checks := []struct {
				what      string
				got, want float64
				tolerance float64
			}{
				{"email only", got.emailOnly, tt.want.emailOnly, .03},
				{"mobile only", got.mobileOnly, tt.want.mobileOnly, .03},
				{"email and mobile", got.both, tt.want.both, .03},
				{"post only", got.postOnly, tt.want.postOnly, .03},
				{"landline only", got.landlineOnly, tt.want.landlineOnly, .02},
				{"any landline", got.landline, tt.want.landline, .03},
				{"large print", got.largePrint, tt.want.largePrint, .02},
				{"email consent", got.emailYes, tt.want.emailYes, .03},
				{"sms consent", got.smsYes, tt.want.smsYes, .04},
				{"post consent", got.postYes, tt.want.postYes, .03},
				{"tagged", got.tagged, tt.want.tagged, .02},
				{"no junk mail", got.noJunk, tt.want.noJunk, .015},
				{"english", got.english, tt.want.english, .03},
			}
			for _, c := range checks {
				if math.Abs(c.got-c.want) > c.tolerance {
					t.Errorf("%s: %.3f of rows, want %.3f ± %.3f", c.what, c.got, c.want, c.tolerance)
				}
			}
		})
	}
}

// TestWriteCSVValues checks every row of clean and messy files is valid:
// whatever the spelling, each value normalises to something the importer
// accepts, and the clean demo is canonical throughout.
func TestWriteCSVValues(t *testing.T) {
	wards := Wards()
	wardOf := make(map[string]Ward)
	for _, w := range wards {
		wardOf[w.Name] = w
	}
	langs := []string{"en", "cy", "pl", "pa", "bn", "so", "pt"}
	notes := []string{"", noteNoJunk, noteDog, noteLetterbox, noteBuzzer, noteNoJunkLong, noteGate}

	tests := []struct {
		name string
		opts Options
		// uniqueMobiles: no mobile may repeat (clean files).
		uniqueMobiles bool
		// wholeHouseholds: each address holds one household of 1–4 people.
		wholeHouseholds bool
	}{
		{"demo", Options{Rows: 5000, Seed: 1}, true, true},
		{"demo other seed", Options{Rows: 5000, Seed: 77}, true, true},
		{"small demo", Options{Rows: 40, Seed: 5}, true, true},
		{"clean past 1000 mobiles", Options{Rows: 12000, Seed: 3}, true, false},
		{"messy", Options{Rows: 20000, Seed: 7, Messy: true}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := parse(t, generate(t, tt.opts))
			emails := make(map[string]bool)
			mobiles := make(map[string]bool)
			seenWards := make(map[string]bool)
			households := make(map[string]int) // address → residents
			var lastAddr string
			for i, rec := range recs[1:] {
				r := row(rec)
				line := i + 2
				for c, v := range r {
					if !utf8.ValidString(v) {
						t.Fatalf("line %d: column %q not UTF-8: %q", line, header[c], v)
					}
				}
				if r[colFirst] == "" || r[colSurname] == "" {
					t.Errorf("line %d: missing name: %q", line, r)
				}
				if e := r[colEmail]; e != "" {
					n := strings.ToLower(strings.TrimSpace(e))
					if !emailRE.MatchString(n) {
						t.Errorf("line %d: email %q not a reserved-domain address", line, e)
					}
					if !tt.opts.Messy && n != e {
						t.Errorf("line %d: clean email %q not canonical", line, e)
					}
					if emails[n] {
						t.Errorf("line %d: email %q repeats", line, e)
					}
					emails[n] = true
				}
				if m := r[colMobile]; m != "" {
					n := normPhone(m)
					if !mobileRE.MatchString(n) {
						t.Errorf("line %d: mobile %q outside 07700 900000–900999", line, m)
					}
					if !tt.opts.Messy && n != m {
						t.Errorf("line %d: clean mobile %q not canonical", line, m)
					}
					if tt.uniqueMobiles && mobiles[n] {
						t.Errorf("line %d: mobile %q repeats", line, m)
					}
					mobiles[n] = true
				}
				if p := r[colPhone]; p != "" {
					n := normPhone(p)
					if !landlineRE.MatchString(n) {
						t.Errorf("line %d: landline %q outside 020 7946 0000–0999", line, p)
					}
					if !tt.opts.Messy && n != p {
						t.Errorf("line %d: clean landline %q not canonical", line, p)
					}
				}
				pc := normPostcode(r[colPostcode])
				if !postcodeRE.MatchString(pc) {
					t.Errorf("line %d: postcode %q not a UK postcode", line, r[colPostcode])
				}
				if !tt.opts.Messy && pc != r[colPostcode] {
					t.Errorf("line %d: clean postcode %q not canonical", line, r[colPostcode])
				}
				w, ok := wardOf[r[colWard]]
				if !ok {
					t.Errorf("line %d: unknown ward %q", line, r[colWard])
				} else if !slices.ContainsFunc(w.Sectors, func(s string) bool { return strings.HasPrefix(pc, s) }) {
					t.Errorf("line %d: postcode %q not in ward %q's sectors %q", line, pc, w.Name, w.Sectors)
				}
				seenWards[r[colWard]] = true
				if r[colTown] != "London" || r[colStreet] == "" || r[colNumber] == "" {
					t.Errorf("line %d: incomplete address %q", line, r)
				}
				if !slices.Contains(langs, r[colLanguage]) {
					t.Errorf("line %d: preferred language %q", line, r[colLanguage])
				}
				for _, c := range []int{colLargePrint, colEmailConsent, colSMSConsent, colPostConsent} {
					v := r[c]
					if _, ok := consent[v]; v != "" && !ok {
						t.Errorf("line %d: %s = %q", line, header[c], v)
					}
					if !tt.opts.Messy && v != "" && v != "Yes" && v != "No" {
						t.Errorf("line %d: clean %s = %q, want Yes, No or empty", line, header[c], v)
					}
				}
				if (r[colEmailConsent] != "") != r.hasEmail() {
					t.Errorf("line %d: email consent %q with email %q", line, r[colEmailConsent], r[colEmail])
				}
				if (r[colSMSConsent] != "") != r.hasMobile() {
					t.Errorf("line %d: SMS consent %q with mobile %q", line, r[colSMSConsent], r[colMobile])
				}
				if r[colTags] != "" {
					for _, tag := range strings.Split(r[colTags], ";") {
						if !slices.Contains(tagNames[:], tag) {
							t.Errorf("line %d: unknown tag %q", line, tag)
						}
					}
				}
				if !slices.Contains(notes, r[colNotes]) {
					t.Errorf("line %d: delivery note %q", line, r[colNotes])
				}

				addr := r.address()
				if tt.wholeHouseholds && addr != lastAddr && households[addr] > 0 {
					t.Errorf("line %d: address %q given to a second household", line, addr)
				}
				households[addr]++
				lastAddr = addr
			}
			if len(seenWards) != len(wards) || len(wards) != 3 {
				t.Errorf("wards seen %v, want all of %v", seenWards, wards)
			}
			if tt.wholeHouseholds {
				for addr, n := range households {
					if n < 1 || n > 4 {
						t.Errorf("%d residents at %q, want 1–4", n, addr)
					}
				}
			}
		})
	}
}

// TestWriteCSVMessyVariety checks the messy file really is messy.
func TestWriteCSVMessyVariety(t *testing.T) {
	data := generate(t, Options{Rows: 20000, Seed: 11, Messy: true})
	if n := bytes.Count(data, []byte("\n")); n != bytes.Count(data, []byte("\r\n")) {
		t.Errorf("%d line feeds without a carriage return; want CRLF throughout", n-bytes.Count(data, []byte("\r\n")))
	}
	recs := parse(t, data)
	seen := make(map[string]bool)
	for _, r := range recs[1:] {
		for _, m := range []string{r[colMobile], r[colPhone]} {
			switch {
			case m == "":
			case strings.HasPrefix(m, "+44 "):
				seen["phone +44"] = true
			case strings.HasPrefix(m, "0044 "):
				seen["phone 0044"] = true
			case strings.HasPrefix(m, "("):
				seen["phone brackets"] = true
			case !strings.Contains(m, " "):
				seen["phone compact"] = true
			default:
				seen["phone canonical"] = true
			}
		}
		pc := r[colPostcode]
		switch {
		case strings.HasPrefix(pc, " "):
			seen["postcode padded"] = true
		case pc == strings.ToLower(pc):
			seen["postcode lower"] = true
		case !strings.Contains(pc, " "):
			seen["postcode tight"] = true
		}
		e := r[colEmail]
		switch {
		case e == "":
		case strings.TrimSpace(e) != e:
			seen["email spaces"] = true
		case strings.ToLower(e) != e:
			seen["email case"] = true
		}
		for _, c := range []int{colEmailConsent, colSMSConsent, colPostConsent, colLargePrint} {
			if r[c] != "" {
				seen["consent "+r[c]] = true
			}
		}
		if strings.Contains(r[colNotes], "\n") {
			seen["note line break"] = true
		}
		if strings.Contains(r[colFlat], ",") {
			seen["flat comma"] = true
		}
		if r[colSurname] == strings.ToUpper(r[colSurname]) && r[colSurname] != strings.ToLower(r[colSurname]) {
			seen["surname capitals"] = true
		}
	}
	want := []string{
		"phone +44", "phone 0044", "phone brackets", "phone compact", "phone canonical",
		"postcode padded", "postcode lower", "postcode tight",
		"email spaces", "email case", "note line break", "flat comma", "surname capitals",
	}
	for s := range consent {
		want = append(want, "consent "+s)
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("no %s in 20,000 messy rows", w)
		}
	}
}

func TestWards(t *testing.T) {
	wards := Wards()
	if len(wards) != 3 {
		t.Fatalf("got %d wards, want 3", len(wards))
	}
	sectors := make(map[string]bool)
	for _, w := range wards {
		if w.Name == "" {
			t.Errorf("ward with no name: %+v", w)
		}
		if n := len(w.Sectors); n < 2 || n > 3 {
			t.Errorf("ward %q has %d sectors, want 2–3", w.Name, n)
		}
		for _, s := range w.Sectors {
			if !sectorRE.MatchString(s) {
				t.Errorf("ward %q: sector %q not a postcode sector", w.Name, s)
			}
			if sectors[s] {
				t.Errorf("sector %q in two wards", s)
			}
			sectors[s] = true
		}
	}
	wards[0].Name = "changed"
	wards[0].Sectors[0] = "changed"
	if again := Wards(); again[0].Name == "changed" || again[0].Sectors[0] == "changed" {
		t.Errorf("changing Wards' result changed the package's wards")
	}
}

// TestWorld checks the fixed tables the generator draws from.
func TestWorld(t *testing.T) {
	w := theWorld()
	for _, ws := range w.wards {
		if n := len(ws.streets); n < 8 || n > 15 {
			t.Errorf("ward %q has %d streets, want 8–15", ws.name, n)
		}
		for _, s := range ws.streets {
			if s.houses < 1 || s.houses > 3*houseNumbersPerPostcode {
				t.Errorf("%s runs to %d, want 1–%d so it has 1–3 postcodes", s.name, s.houses, 3*houseNumbersPerPostcode)
			}
			for _, b := range s.buildings {
				if b.number < 1 || b.number > s.houses || b.flats < 1 {
					t.Errorf("%s: building %+v outside the street", s.name, b)
				}
			}
		}
	}
	pcs := make(map[string]bool)
	for _, v := range w.postcodes {
		if !postcodeRE.MatchString(v[postcodeCanonical]) {
			t.Errorf("postcode %q not a UK postcode", v[postcodeCanonical])
		}
		if pcs[v[postcodeCanonical]] {
			t.Errorf("postcode %q given to two streets", v[postcodeCanonical])
		}
		pcs[v[postcodeCanonical]] = true
		for _, s := range v {
			if normPostcode(s) != v[postcodeCanonical] {
				t.Errorf("spelling %q of %q does not normalise back", s, v[postcodeCanonical])
			}
		}
	}
	// Enough letterboxes that a 5,000-row demo never doubles households up.
	if len(w.addrs) < 3000 {
		t.Errorf("only %d addresses", len(w.addrs))
	}
	asciiName := regexp.MustCompile(`^[a-z][a-z-]*$`)
	for _, g := range w.groups {
		var all []nameForm
		all = append(all, g.male...)
		all = append(all, g.female...)
		for _, s := range g.surnames {
			all = append(all, s[0], s[1])
		}
		for _, n := range all {
			if !asciiName.MatchString(n.fold) {
				t.Errorf("name %q folds to %q, want lower-case ASCII letters", n.text, n.fold)
			}
		}
	}
	for i, m := range w.mobiles {
		for f, s := range m {
			if normPhone(s) != m[formatCanonical] {
				t.Errorf("mobile %d format %d: %q does not normalise to %q", i, f, s, m[formatCanonical])
			}
		}
	}
	for i, l := range w.landlines {
		for f, s := range l {
			if normPhone(s) != l[formatCanonical] {
				t.Errorf("landline %d format %d: %q does not normalise to %q", i, f, s, l[formatCanonical])
			}
		}
	}
}

func TestFoldASCII(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Zoë", "zoe"},
		{"Siân", "sian"},
		{"O'Brien", "obrien"},
		{"Nuñez", "nunez"},
		{"Łukasz", "lukasz"},
		{"Ó Briain", "obriain"},
		{"Harding-Lowe", "harding-lowe"},
		{"Yılmaz", "yilmaz"},
		{"Şahin", "sahin"},
		{"Gonçalves", "goncalves"},
		{"da Costa", "dacosta"},
	}
	for _, tt := range tests {
		if got := foldASCII(tt.in); got != tt.want {
			t.Errorf("foldASCII(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

var errBroken = errors.New("broken pipe")

// failingWriter accepts limit bytes, then fails.
type failingWriter struct{ limit int }

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		n := w.limit
		w.limit = 0
		return n, errBroken
	}
	w.limit -= len(p)
	return len(p), nil
}

func TestWriteCSVErrors(t *testing.T) {
	tests := []struct {
		name    string
		w       io.Writer
		opts    Options
		wantErr error // nil: any error will do
	}{
		{"negative rows", io.Discard, Options{Rows: -1}, nil},
		{"writer fails at once", &failingWriter{}, Options{Rows: 0}, errBroken},
		{"writer fails mid-file", &failingWriter{limit: 100 << 10}, Options{Rows: 10000, Seed: 1}, errBroken},
		{"writer fails mid-file messy", &failingWriter{limit: 100 << 10}, Options{Rows: 10000, Seed: 1, Messy: true}, errBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteCSV(tt.w, tt.opts)
			if err == nil {
				t.Fatal("WriteCSV succeeded, want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %v does not wrap %v", err, tt.wantErr)
			}
		})
	}
}

// heapSampler is a writer that records the live heap, after a collection,
// when the bytes written pass each mark.
type heapSampler struct {
	n     int
	marks []int
	heap  []uint64
}

func (h *heapSampler) Write(p []byte) (int, error) {
	h.n += len(p)
	if len(h.marks) > 0 && h.n >= h.marks[0] {
		h.marks = h.marks[1:]
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.heap = append(h.heap, ms.HeapAlloc)
	}
	return len(p), nil
}

// TestWriteCSVFlatMemory checks WriteCSV streams: the live heap late in a
// large file is no bigger than early on.
func TestWriteCSVFlatMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 250,000 rows")
	}
	h := &heapSampler{marks: []int{2 << 20, 25 << 20}}
	if err := WriteCSV(h, Options{Rows: 250000, Seed: 1, Messy: true}); err != nil {
		t.Fatal(err)
	}
	if len(h.heap) != 2 {
		t.Fatalf("wrote only %d bytes", h.n)
	}
	if grew := int64(h.heap[1]) - int64(h.heap[0]); grew > 1<<20 {
		t.Errorf("live heap grew by %d bytes between 2 MiB and 25 MiB of output", grew)
	}
}

// countingWriter counts the bytes written to it.
type countingWriter int64

func (c *countingWriter) Write(p []byte) (int, error) {
	*c += countingWriter(len(p))
	return len(p), nil
}

func BenchmarkWriteCSV(b *testing.B) {
	benchmarks := []Options{
		{Rows: 5000, Seed: 1},
		{Rows: 1000000, Seed: 1, Messy: true},
	}
	for _, opts := range benchmarks {
		name := fmt.Sprintf("rows=%d/messy=%v", opts.Rows, opts.Messy)
		b.Run(name, func(b *testing.B) {
			var size countingWriter
			if err := WriteCSV(&size, opts); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if err := WriteCSV(io.Discard, opts); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(opts.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
