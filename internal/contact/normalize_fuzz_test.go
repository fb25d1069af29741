package contact

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzRegions are the default regions FuzzNormalizePhone picks from.
var fuzzRegions = []string{"GB", "gb", "", "US", "FR", "IE", "JE", "IT", "DE", "XX"}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{
		"07700 900123", "+44 7700 900123", "0044 7700 900123", "(07700) 900-123", "07700-900-123",
		" 447700900123", "4407700900123", "+44 (0)7700 900123", "7700900123", "07911 123456",
		"020 7946 0123", "01632 960123", "0113 496 0000", "028 9649 6999", "0808 157 0000",
		"0909 879 0999", "03069 990000", "0800 123 4567", "+1 212 555 0123", "+33 (0)1 23 45 67 89",
		"011 44 7700 900123", "０７７００ ９００１２３", "\u00a007700\u200b900123\ufeff",
		"0770", "hello", "+44 20 1234", "", "+", "0044", "07700+900123", "07700 900123 ext 5",
		"+999 1234 5678", "07700 9001234", "4.47701E+11", "+4400000", "00", "+0", "+882 1234",
		"+39 06 1234 5678", "+390612345678", "0", "44", "4412345678", "+44 0770",
		"07700 900123 / 07700 900124", "\xd007700900123", "01697 73123", "+44 169773123", "44169773123",
	} {
		for i := range fuzzRegions {
			f.Add(s, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, raw string, r uint8) {
		region := fuzzRegions[int(r)%len(fuzzRegions)]
		p, err := NormalizePhone(raw, region)
		slow, slowErr := normalizePhone(raw, region, false)
		if p != slow || (err == nil) != (slowErr == nil) || (err != nil && err.Error() != slowErr.Error()) {
			t.Fatalf("NormalizePhone(%q, %q): fast path gave %+v, %v; general path %+v, %v", raw, region, p, err, slow, slowErr)
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("NormalizePhone(%q, %q) error %v does not wrap ErrInvalid", raw, region, err)
			}
			if p != (Phone{}) {
				t.Fatalf("NormalizePhone(%q, %q) = %+v with error %v", raw, region, p, err)
			}
			return
		}
		if len(p.E164) < 3 || len(p.E164) > 20 || p.E164[0] != '+' || strings.Trim(p.E164[1:], "0123456789") != "" {
			t.Fatalf("NormalizePhone(%q, %q).E164 = %q, not E.164", raw, region, p.E164)
		}
		switch p.Type {
		case PhoneMobile, PhoneLandline, PhoneUnknown:
		default:
			t.Fatalf("NormalizePhone(%q, %q).Type = %q", raw, region, p.Type)
		}
		if p.Fictional && !strings.HasPrefix(p.E164, "+44") {
			t.Fatalf("NormalizePhone(%q, %q) = %+v: fictional outside the UK", raw, region, p)
		}
		for _, rg := range []string{region, "GB", ""} {
			again, err := NormalizePhone(p.E164, rg)
			if err != nil || again != p {
				t.Fatalf("NormalizePhone(%q, %q) = %+v; normalising %q in %q again gave %+v, %v", raw, region, p, p.E164, rg, again, err)
			}
		}
	})
}

// canonicalPostcode is the UK postcode format NormalizePostcode promises, written out
// independently of its hand-rolled checks.
var canonicalPostcode = regexp.MustCompile(`^(?:GIR 0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][ABCDEFGHJKPSTUW]|[A-HK-Y][0-9][ABEHMNPRVWXY]) [0-9][ABD-HJLNP-UW-Z]{2})$`)

func FuzzNormalizePostcode(f *testing.F) {
	for _, s := range []string{
		"SW2 1RW", "sw21rw", " SW2  1RW ", "SW21 RW", "ec1a1bb", "W1A 0AX", "N1C 4AA", "M1 1AE",
		"B33 8TH", "CR2 6XH", "DN55 1PT", "gir0aa", "\u00a0SW2\u00a01RW\u200b",
		"", "SW2", "QW2", "SW21 RWX", "SW2 1RWW", "SW2 1R", "12345", "SW2 1RC", "QW2 1RW", "SI2 1RW",
		"W1L 1AA", "EC1C 1BB", "BFPO 1234", "SW2-1RW", "GIR 0AB", "ſw2 1rw", "K", "bfpo", "\xd0SW2 1RW",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := NormalizePostcode(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("NormalizePostcode(%q) error %v does not wrap ErrInvalid", raw, err)
			}
			if p != (Postcode{}) {
				t.Fatalf("NormalizePostcode(%q) = %+v with error %v", raw, p, err)
			}
			return
		}
		if !canonicalPostcode.MatchString(p.Code) {
			t.Fatalf("NormalizePostcode(%q).Code = %q, not a canonical postcode", raw, p.Code)
		}
		if !strings.HasPrefix(p.Code, p.Sector) || len(p.Sector) != len(p.Code)-2 {
			t.Fatalf("NormalizePostcode(%q) = %+v: bad sector", raw, p)
		}
		if p.Sector != p.District+" "+p.Code[len(p.District)+1:len(p.District)+2] {
			t.Fatalf("NormalizePostcode(%q) = %+v: bad district", raw, p)
		}
		again, err := NormalizePostcode(p.Code)
		if err != nil || again != p {
			t.Fatalf("NormalizePostcode(%q) = %+v; normalising %q again gave %+v, %v", raw, p, p.Code, again, err)
		}
	})
}

func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"bob@example.com", "  Bob.Smith@Example.COM  ", "\u00a0bob@example.com\u200b\ufeff",
		"o'brien+news@example.co.uk", "bob@münchen.de", "bob@MÜNCHEN.DE", "bob@mu\u0308nchen.de",
		"info@भारत.भारत", "bob@xn--mnchen-3ya.de", "bob@İSTANBUL.com", "bob@\u212aelvin.com",
		"", "bob@", "bob.example.com", "Bob <bob@x.com>", "@x.com", "a@b@c.com", "bob smith@x.com",
		"bob@localhost", "bob@-x.com", "bob@x..com", "bob@x.com.", "bob@1.2.3.4", "bob@[1.2.3.4]",
		".bob@x.com", "bob..smith@x.com", `"bob"@x.com`, "bób@x.com", "bob@x_y.com",
		strings.Repeat("a", 65) + "@x.com", "Bob <bob@k\xd0\xd0.com>", "a@b\xd0.com", "a@b.c\u0308",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		e, err := NormalizeEmail(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("NormalizeEmail(%q) error %v does not wrap ErrInvalid", raw, err)
			}
			if e != "" {
				t.Fatalf("NormalizeEmail(%q) = %q with error %v", raw, e, err)
			}
			return
		}
		if normTrim(e) != e || strings.TrimSpace(e) != e {
			t.Fatalf("NormalizeEmail(%q) = %q has surrounding space", raw, e)
		}
		if strings.Count(e, "@") != 1 {
			t.Fatalf("NormalizeEmail(%q) = %q: want exactly one @", raw, e)
		}
		if len(e) > 254 || !utf8.ValidString(e) {
			t.Fatalf("NormalizeEmail(%q) = %q: too long or not UTF-8", raw, e)
		}
		local := e[:strings.IndexByte(e, '@')]
		if !strings.Contains(raw, local+"@") {
			t.Fatalf("NormalizeEmail(%q) = %q: local part changed", raw, e)
		}
		again, err := NormalizeEmail(e)
		if err != nil || again != e {
			t.Fatalf("NormalizeEmail(%q) = %q; normalising it again gave %q, %v", raw, e, again, err)
		}
	})
}
