package contact

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	const drama = "+447700900123"
	tests := []struct {
		name   string
		raw    string
		region string
		want   Phone
	}{
		{"national", "07700 900123", "GB", Phone{drama, PhoneMobile, true}},
		{"international", "+44 7700 900123", "GB", Phone{drama, PhoneMobile, true}},
		{"00 prefix", "0044 7700 900123", "GB", Phone{drama, PhoneMobile, true}},
		{"00 prefix spaced", "00 44 7700 900123", "GB", Phone{drama, PhoneMobile, true}},
		{"brackets and dash", "(07700) 900-123", "GB", Phone{drama, PhoneMobile, true}},
		{"dashes", "07700-900-123", "GB", Phone{drama, PhoneMobile, true}},
		{"dots", "07700.900.123", "GB", Phone{drama, PhoneMobile, true}},
		{"en dashes", "07700–900–123", "GB", Phone{drama, PhoneMobile, true}},
		{"bare 44 with space", " 447700900123", "GB", Phone{drama, PhoneMobile, true}},
		{"bare 44", "447700900123", "GB", Phone{drama, PhoneMobile, true}},
		{"bare 44 then 0", "4407700900123", "GB", Phone{drama, PhoneMobile, true}},
		{"(0) after country code", "+44 (0)7700 900123", "GB", Phone{drama, PhoneMobile, true}},
		{"0 after country code", "+44 07700 900123", "GB", Phone{drama, PhoneMobile, true}},
		{"leading 0 dropped by spreadsheet", "7700900123", "GB", Phone{drama, PhoneMobile, true}},
		{"excel junk around", "\u00a007700\u00a0900123\u200b\ufeff", "GB", Phone{drama, PhoneMobile, true}},
		{"full-width digits", "０７７００ ９００１２３", "GB", Phone{drama, PhoneMobile, true}},
		{"lower-case region", "07700 900123", "gb", Phone{drama, PhoneMobile, true}},
		{"no region with plus", "+44 7700 900123", "", Phone{drama, PhoneMobile, true}},
		{"UK number from US", "+44 7700 900123", "US", Phone{drama, PhoneMobile, true}},
		{"UK number via US exit code", "011 44 7700 900123", "US", Phone{drama, PhoneMobile, true}},
		{"E.164 in", drama, "GB", Phone{drama, PhoneMobile, true}},
		{"drama mobile low end", "07700 900000", "GB", Phone{"+447700900000", PhoneMobile, true}},
		{"drama mobile high end", "07700 900999", "GB", Phone{"+447700900999", PhoneMobile, true}},

		{"real mobile", "07911 123456", "GB", Phone{"+447911123456", PhoneMobile, false}},
		{"real mobile just below drama range", "07700 899999", "GB", Phone{"+447700899999", PhoneMobile, false}},
		{"Isle of Man mobile", "07624 123456", "GB", Phone{"+447624123456", PhoneMobile, false}},
		{"London drama, library thinks valid", "020 7946 0123", "GB", Phone{"+442079460123", PhoneLandline, true}},
		{"London drama high end", "020 7946 0999", "GB", Phone{"+442079460999", PhoneLandline, true}},
		{"London real", "020 7946 1000", "GB", Phone{"+442079461000", PhoneLandline, false}},
		{"fictional area", "01632 960123", "GB", Phone{"+441632960123", PhoneLandline, true}},
		{"Leeds drama", "0113 496 0000", "GB", Phone{"+441134960000", PhoneLandline, true}},
		{"Leeds just past drama", "0113 496 1000", "GB", Phone{"+441134961000", PhoneLandline, false}},
		{"Sheffield drama", "0114 496 0500", "GB", Phone{"+441144960500", PhoneLandline, true}},
		{"Nottingham drama", "0115 496 0500", "GB", Phone{"+441154960500", PhoneLandline, true}},
		{"Leicester drama", "0116 496 0500", "GB", Phone{"+441164960500", PhoneLandline, true}},
		{"Bristol drama", "0117 496 0500", "GB", Phone{"+441174960500", PhoneLandline, true}},
		{"Reading drama", "0118 496 0500", "GB", Phone{"+441184960500", PhoneLandline, true}},
		{"Birmingham drama", "0121 496 0500", "GB", Phone{"+441214960500", PhoneLandline, true}},
		{"Edinburgh drama", "0131 496 0500", "GB", Phone{"+441314960500", PhoneLandline, true}},
		{"Glasgow drama", "0141 496 0500", "GB", Phone{"+441414960500", PhoneLandline, true}},
		{"Liverpool drama", "0151 496 0500", "GB", Phone{"+441514960500", PhoneLandline, true}},
		{"Manchester drama", "0161 496 0999", "GB", Phone{"+441614960999", PhoneLandline, true}},
		{"Tyneside drama", "0191 498 0000", "GB", Phone{"+441914980000", PhoneLandline, true}},
		{"Tyneside real", "0191 498 1000", "GB", Phone{"+441914981000", PhoneLandline, false}},
		{"Northern Ireland drama low", "028 9649 6000", "GB", Phone{"+442896496000", PhoneLandline, true}},
		{"Northern Ireland drama high", "028 9649 6999", "GB", Phone{"+442896496999", PhoneLandline, true}},
		{"Northern Ireland real", "028 9649 5999", "GB", Phone{"+442896495999", PhoneLandline, false}},
		{"Cardiff drama", "029 2018 0000", "GB", Phone{"+442920180000", PhoneLandline, true}},
		{"freephone drama", "0808 157 0000", "GB", Phone{"+448081570000", PhoneUnknown, true}},
		{"freephone real", "0808 157 1000", "GB", Phone{"+448081571000", PhoneUnknown, false}},
		{"premium drama", "0909 879 0999", "GB", Phone{"+449098790999", PhoneUnknown, true}},
		{"UK-wide drama", "03069 990000", "GB", Phone{"+443069990000", PhoneUnknown, true}},
		{"UK-wide real", "0300 123 4567", "GB", Phone{"+443001234567", PhoneUnknown, false}},
		{"freephone", "0800 123 4567", "GB", Phone{"+448001234567", PhoneUnknown, false}},
		{"personal number", "070 1234 5678", "GB", Phone{"+447012345678", PhoneUnknown, false}},
		{"US fixed-or-mobile", "+1 212 555 0123", "GB", Phone{"+12125550123", PhoneUnknown, false}},
		{"French landline", "+33 (0)1 23 45 67 89", "GB", Phone{"+33123456789", PhoneLandline, false}},
		{"French mobile", "+33 6 12 34 56 78", "GB", Phone{"+33612345678", PhoneMobile, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePhone(tt.raw, tt.region)
			if err != nil {
				t.Fatalf("NormalizePhone(%q, %q): %v", tt.raw, tt.region, err)
			}
			if got != tt.want {
				t.Fatalf("NormalizePhone(%q, %q) = %+v, want %+v", tt.raw, tt.region, got, tt.want)
			}
			again, err := NormalizePhone(got.E164, tt.region)
			if err != nil || again != got {
				t.Fatalf("NormalizePhone(%q, %q) = %+v, %v; want it unchanged", got.E164, tt.region, again, err)
			}
		})
	}
}

func TestNormalizePhoneErrors(t *testing.T) {
	tests := []struct {
		name   string
		raw    string
		region string
		want   string
	}{
		{"empty", "", "GB", "phone number is empty"},
		{"only spaces", " \u00a0\u200b ", "GB", "phone number is empty"},
		{"too short", "0770", "GB", `"0770" is too short for a UK phone number`},
		{"words", "hello", "GB", `"hello" is not a phone number`},
		{"just a plus", "+", "GB", `"+" is not a phone number`},
		{"just punctuation", "()-", "GB", `"()-" is not a phone number`},
		{"not valid", "+44 20 1234", "GB", `"+44 20 1234" is not a valid number`},
		{"just past drama mobile range", "07700 901000", "GB", `"07700 901000" is not a valid number`},
		{"fictional area outside drama range", "01632 961000", "GB", `"01632 961000" is not a valid number`},
		{"too long for UK", "07700 9001234", "GB", `"07700 9001234" is too long for a UK phone number`},
		{"too long for France", "07700 900123", "FR", `"07700 900123" is too long for a +33 phone number`},
		{"extension", "07700 900123 ext 5", "GB", `"07700 900123 ext 5" contains 'e', which can't be part of a phone number`},
		{"vanity", "0800 FLOWERS", "GB", `"0800 FLOWERS" contains 'F', which can't be part of a phone number`},
		{"excel scientific", "4.47701E+11", "GB", `"4.47701E+11" contains 'E', which can't be part of a phone number`},
		{"plus in middle", "07700+900123", "GB", `"07700+900123" has a + that is not at the start`},
		{"two pluses", "++447700900123", "GB", `"++447700900123" has a + that is not at the start`},
		{"unknown country code", "+999 1234 5678", "GB", `"+999 1234 5678" has an unknown country code`},
		{"international prefix only", "0044", "GB", `"0044" is too short for a phone number`},
		{"unknown region", "07700 900123", "XX", `unknown default region "XX"`},
		{"no region", "07700 900123", "", `"07700 900123" has no country code and no default region was given`},
		{"absurdly long", strings.Repeat("0", 65), "GB", "phone number is too long (more than 64 characters)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePhone(tt.raw, tt.region)
			if err == nil {
				t.Fatalf("NormalizePhone(%q, %q) = %+v, want error %q", tt.raw, tt.region, got, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("NormalizePhone(%q, %q) error %v does not wrap ErrInvalid", tt.raw, tt.region, err)
			}
			if err.Error() != tt.want {
				t.Errorf("NormalizePhone(%q, %q) error = %q, want %q", tt.raw, tt.region, err, tt.want)
			}
		})
	}
}

func TestNormalizePostcode(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want Postcode
	}{
		{"canonical", "SW2 1RW", Postcode{"SW2 1RW", "SW2 1", "SW2"}},
		{"lower case, no space", "sw21rw", Postcode{"SW2 1RW", "SW2 1", "SW2"}},
		{"extra spaces", " SW2  1RW ", Postcode{"SW2 1RW", "SW2 1", "SW2"}},
		{"space in the wrong place", "SW21 RW", Postcode{"SW2 1RW", "SW2 1", "SW2"}},
		{"spaced out", "s w 2 1 r w", Postcode{"SW2 1RW", "SW2 1", "SW2"}},
		{"excel junk", "\u00a0SW2\u00a01RW\u200b\ufeff", Postcode{"SW2 1RW", "SW2 1", "SW2"}},
		{"tab", "SW2\t1RW", Postcode{"SW2 1RW", "SW2 1", "SW2"}},
		{"AA9A", "ec1a1bb", Postcode{"EC1A 1BB", "EC1A 1", "EC1A"}},
		{"A9A", "W1A 0AX", Postcode{"W1A 0AX", "W1A 0", "W1A"}},
		{"A9A with C", "n1c 4aa", Postcode{"N1C 4AA", "N1C 4", "N1C"}},
		{"A9", "M1 1AE", Postcode{"M1 1AE", "M1 1", "M1"}},
		{"A99", "B33 8TH", Postcode{"B33 8TH", "B33 8", "B33"}},
		{"AA9", "CR2 6XH", Postcode{"CR2 6XH", "CR2 6", "CR2"}},
		{"AA99", "DN55 1PT", Postcode{"DN55 1PT", "DN55 1", "DN55"}},
		{"GIR", "gir0aa", Postcode{"GIR 0AA", "GIR 0", "GIR"}},
		{"GIR spaced", " GIR 0AA ", Postcode{"GIR 0AA", "GIR 0", "GIR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePostcode(tt.raw)
			if err != nil {
				t.Fatalf("NormalizePostcode(%q): %v", tt.raw, err)
			}
			if got != tt.want {
				t.Fatalf("NormalizePostcode(%q) = %+v, want %+v", tt.raw, got, tt.want)
			}
			again, err := NormalizePostcode(got.Code)
			if err != nil || again != got {
				t.Fatalf("NormalizePostcode(%q) = %+v, %v; want it unchanged", got.Code, again, err)
			}
		})
	}
}

func TestNormalizePostcodeErrors(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"empty", "", "postcode is empty"},
		{"only spaces", " \u00a0 ", "postcode is empty"},
		{"outward only", "SW2", `"SW2" is missing the inward part (e.g. "1RW")`},
		{"AA99 outward only", "sw21", `"sw21" is missing the inward part (e.g. "1RW")`},
		{"outward only, bad first letter", "QW2", `"QW2": the first letter can't be Q, V or X`},
		{"inward not 9AA", "SW21 RWX", `"SW21 RWX" is not a UK postcode`},
		{"too long", "SW2 1RWW", `"SW2 1RWW" is not a UK postcode`},
		{"too short", "SW2 1R", `"SW2 1R" is not a UK postcode`},
		{"digits", "12345", `"12345" is not a UK postcode`},
		{"one letter", "S", `"S" is not a UK postcode`},
		{"bad outward shape", "SWW2 1RW", `"SWW2 1RW" is not a UK postcode`},
		{"inward C", "SW2 1RC", `"SW2 1RC": the last two letters can't include C, I, K, M, O or V`},
		{"inward I", "sw2 1ir", `"sw2 1ir": the last two letters can't include C, I, K, M, O or V`},
		{"first Q", "QW2 1RW", `"QW2 1RW": the first letter can't be Q, V or X`},
		{"first V", "V1 1AA", `"V1 1AA": the first letter can't be Q, V or X`},
		{"first X", "X1 1AA", `"X1 1AA": the first letter can't be Q, V or X`},
		{"second I", "SI2 1RW", `"SI2 1RW": the second letter can't be I, J or Z`},
		{"second J", "SJ2 1RW", `"SJ2 1RW": the second letter can't be I, J or Z`},
		{"second Z", "SZ21 1RW", `"SZ21 1RW": the second letter can't be I, J or Z`},
		{"A9A third letter", "W1L 1AA", `"W1L 1AA": a letter after the district number must be one of A, B, C, D, E, F, G, H, J, K, P, S, T, U or W`},
		{"AA9A fourth letter", "EC1C 1BB", `"EC1C 1BB": a letter after the district number must be one of A, B, E, H, M, N, P, R, V, W, X or Y`},
		{"BFPO", "BFPO 1234", `"BFPO 1234" is a British Forces (BFPO) number, not a UK postcode`},
		{"BFPO lower", "bfpo123", `"bfpo123" is a British Forces (BFPO) number, not a UK postcode`},
		{"hyphen", "SW2-1RW", `"SW2-1RW" is not a UK postcode: it contains '-'`},
		{"absurdly long", strings.Repeat("A", 65), "postcode is too long (more than 64 characters)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePostcode(tt.raw)
			if err == nil {
				t.Fatalf("NormalizePostcode(%q) = %+v, want error %q", tt.raw, got, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("NormalizePostcode(%q) error %v does not wrap ErrInvalid", tt.raw, err)
			}
			if err.Error() != tt.want {
				t.Errorf("NormalizePostcode(%q) error = %q, want %q", tt.raw, err, tt.want)
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"plain", "bob@example.com", "bob@example.com"},
		{"domain lower-cased, local kept", "  Bob.Smith@Example.COM  ", "Bob.Smith@example.com"},
		{"excel junk", "\u00a0bob@example.com\u200b\ufeff\r\n", "bob@example.com"},
		{"specials in local part", "o'brien+news_letter@example.co.uk", "o'brien+news_letter@example.co.uk"},
		{"hyphen in domain", "bob@sub-domain.example.com", "bob@sub-domain.example.com"},
		{"digits in domain", "bob@123.example.com", "bob@123.example.com"},
		{"IDN", "bob@münchen.de", "bob@münchen.de"},
		{"IDN upper case", "bob@MÜNCHEN.DE", "bob@münchen.de"},
		{"IDN decomposed", "bob@mu\u0308nchen.de", "bob@münchen.de"},
		{"IDN with marks", "info@भारत.भारत", "info@भारत.भारत"},
		{"punycode", "bob@xn--mnchen-3ya.de", "bob@xn--mnchen-3ya.de"},
		{"longest local part", strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 64) + "@example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeEmail(tt.raw)
			if err != nil {
				t.Fatalf("NormalizeEmail(%q): %v", tt.raw, err)
			}
			if got != tt.want {
				t.Fatalf("NormalizeEmail(%q) = %q, want %q", tt.raw, got, tt.want)
			}
			again, err := NormalizeEmail(got)
			if err != nil || again != got {
				t.Fatalf("NormalizeEmail(%q) = %q, %v; want it unchanged", got, again, err)
			}
		})
	}
}

func TestNormalizeEmailErrors(t *testing.T) {
	long := strings.Repeat("a", 60)
	tests := []struct {
		name string
		raw  string
		want string
	}{
		{"empty", "", "email address is empty"},
		{"only spaces", " \u00a0\u200b", "email address is empty"},
		{"no domain", "bob@", `"bob@" has no domain`},
		{"no @", "bob.example.com", `"bob.example.com" has no @`},
		{"display name", "Bob <bob@x.com>", `"Bob <bob@x.com>" has a display name or brackets; give just the address, like bob@example.com`},
		{"angle brackets", "<bob@x.com>", `"<bob@x.com>" has a display name or brackets; give just the address, like bob@example.com`},
		{"nothing before @", "@example.com", `"@example.com" has nothing before the @`},
		{"two @", "a@b@example.com", `"a@b@example.com" has more than one @`},
		{"space inside", "bob smith@example.com", `"bob smith@example.com" contains a space`},
		{"nbsp inside", "bob@example\u00a0.com", `"bob@example\u00a0.com" contains a space`},
		{"no dot in domain", "bob@localhost", `"bob@localhost": the domain "localhost" has no dot`},
		{"leading hyphen", "bob@-x.com", `"bob@-x.com": a part of the domain can't start or end with a hyphen`},
		{"trailing hyphen", "bob@x-.com", `"bob@x-.com": a part of the domain can't start or end with a hyphen`},
		{"double dot in domain", "bob@x..com", `"bob@x..com": the domain "x..com" has an empty part (a dot at the start or end, or two together)`},
		{"trailing dot", "bob@x.com.", `"bob@x.com.": the domain "x.com." has an empty part (a dot at the start or end, or two together)`},
		{"underscore in domain", "bob@x_y.com", `"bob@x_y.com": the domain can't contain '_'`},
		{"IP address", "bob@1.2.3.4", `"bob@1.2.3.4": the domain can't end in a number`},
		{"IP literal", "bob@[1.2.3.4]", `"bob@[1.2.3.4]": the domain can't contain '['`},
		{"leading dot", ".bob@x.com", `".bob@x.com": the part before the @ can't start or end with a dot or have two dots together`},
		{"trailing dot in local", "bob.@x.com", `"bob.@x.com": the part before the @ can't start or end with a dot or have two dots together`},
		{"double dot in local", "bob..smith@x.com", `"bob..smith@x.com": the part before the @ can't start or end with a dot or have two dots together`},
		{"quoted local", `"bob"@x.com`, `"\"bob\"@x.com": the part before the @ can't contain '"'`},
		{"comma", "bob,smith@x.com", `"bob,smith@x.com": the part before the @ can't contain ','`},
		{"non-ASCII local", "bób@x.com", `"bób@x.com": the part before the @ can't contain 'ó'`},
		{"local too long", strings.Repeat("a", 65) + "@x.com", `"` + strings.Repeat("a", 65) + `@x.com": the part before the @ is longer than 64 characters`},
		{"label too long", "bob@" + strings.Repeat("a", 64) + ".com", `"bob@` + strings.Repeat("a", 64) + `.com": the domain has a part longer than 63 characters`},
		{"address too long", "bob@" + long + "." + long + "." + long + "." + long + "." + long + ".com", `"bob@` + long + "." + long + "." + long + "." + long + "." + long + `.com" is longer than 254 characters`},
		{"absurdly long", strings.Repeat("a", 1025), "email address is too long (at most 254 characters)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeEmail(tt.raw)
			if err == nil {
				t.Fatalf("NormalizeEmail(%q) = %q, want error %q", tt.raw, got, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("NormalizeEmail(%q) error %v does not wrap ErrInvalid", tt.raw, err)
			}
			if err.Error() != tt.want {
				t.Errorf("NormalizeEmail(%q) error = %q, want %q", tt.raw, err, tt.want)
			}
		})
	}
}

func TestNormalizeInvalidfWraps(t *testing.T) {
	cause := errors.New("cause")
	tests := []struct {
		name      string
		err       error
		want      string
		wrapCause bool
	}{
		{"plain", invalidf("%q is bad", "x"), `"x" is bad`, false},
		{"with %w", invalidf("reading: %w", cause), "reading: cause", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err.Error() != tt.want {
				t.Errorf("Error() = %q, want %q", tt.err, tt.want)
			}
			if !errors.Is(tt.err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", tt.err)
			}
			if errors.Is(tt.err, cause) != tt.wrapCause {
				t.Errorf("errors.Is(%v, cause) = %v, want %v", tt.err, !tt.wrapCause, tt.wrapCause)
			}
		})
	}
}

// TestNormalizePhoneFastPath checks that the UK fast path gives what the general path
// (the library's parser and validation) gives, for every third three-digit start of a
// national number (every 17th with -short), nine and ten digits long, written in each of
// the shapes the fast path takes and a few it must refuse.
func TestNormalizePhoneFastPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	step, fast := 3, 0
	if testing.Short() {
		step = 17
	}
	for prefix := 0; prefix < 1000; prefix += step {
		nsn := fmt.Sprintf("%03d%07d", prefix, rng.IntN(10_000_000))
		if prefix%10 == 0 {
			nsn = ukDramaPrefixes[prefix/10%len(ukDramaPrefixes)] + nsn[7:]
		}
		short := nsn[:9]
		for _, raw := range []string{
			"0" + nsn, "+44" + nsn, "0044" + nsn, "44" + nsn, nsn,
			"0" + short, "+44" + short, "0044" + short, "44" + short, short,
			"+44" + nsn + "1", "0" + nsn[:8], "+4" + nsn,
		} {
			got, err := normalizePhone(raw, "GB", true)
			want, wantErr := normalizePhone(raw, "GB", false)
			if got != want || fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Fatalf("%q: fast path gave %+v, %v; general path %+v, %v", raw, got, err, want, wantErr)
			}
			if err == nil {
				fast++
			}
		}
	}
	if fast < 1000/step {
		t.Errorf("only %d numbers were valid; the test is not exercising the fast path", fast)
	}
}

// ukDramaPrefixes lists the keys of ukFictional in a fixed order.
var ukDramaPrefixes = slices.Sorted(maps.Keys(ukFictional))

// BenchmarkNormalizePhone measures the import's hot path. "uk" is UK numbers as councils
// type them, which take the fast path; "general" is numbers that need the library's parser
// (the last of them invalid, for the cost of explaining why).
func BenchmarkNormalizePhone(b *testing.B) {
	for _, bm := range []struct {
		name   string
		inputs []string
	}{
		{"uk", []string{"07400 123456", "+44 7911 123456", "(0113) 234 5678", "020 8123 4567", "447812345678", "0800 123 4567", "07700 900123"}},
		{"general", []string{"+33 (0)1 23 45 67 89", "+1 212 555 0123", "011 44 7700 900123", "0113 496 00000"}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				_, _ = NormalizePhone(bm.inputs[i%len(bm.inputs)], "GB")
				i++
			}
		})
	}
}
