package contact

import (
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/unicode/norm"
)

// ErrInvalid is wrapped by every normalisation error (errors.Is(err, contact.ErrInvalid)).
var ErrInvalid = errors.New("invalid")

// invalidError is a value that could not be normalised. Its message is the reason alone,
// in plain words (`"0770" is too short for a UK phone number`), so it reads well after a
// place prefix such as InputError's; it wraps ErrInvalid and anything its message wrapped.
type invalidError struct{ err error }

func (e *invalidError) Error() string { return e.err.Error() }

func (e *invalidError) Unwrap() []error { return []error{ErrInvalid, e.err} }

// invalidf formats a reason like fmt.Errorf (so %w wraps) and returns it wrapping ErrInvalid.
func invalidf(format string, args ...any) error {
	return &invalidError{err: fmt.Errorf(format, args...)}
}

// normTrim removes surrounding white space, including the non-breaking spaces, zero-width
// spaces and byte order marks that spreadsheet exports leave behind.
func normTrim(s string) string {
	return strings.TrimFunc(s, isNormSpace)
}

// isNormSpace reports whether r is white space or an invisible zero-width character.
func isNormSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r':
		return true
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u180e':
		return true
	}
	return r >= utf8.RuneSelf && unicode.IsSpace(r)
}

// PhoneType is what kind of line a telephone number reaches.
type PhoneType string

// The phone types NormalizePhone reports.
const (
	// PhoneMobile is a mobile number.
	PhoneMobile PhoneType = "mobile"
	// PhoneLandline is a fixed-line number.
	PhoneLandline PhoneType = "landline"
	// PhoneUnknown is a valid number whose type can't be told (e.g. VoIP, fixed-or-mobile,
	// personal numbers, freephone, premium rate).
	PhoneUnknown PhoneType = "unknown"
)

// Phone is a normalised telephone number.
type Phone struct {
	E164      string // "+447700900123"
	Type      PhoneType
	Fictional bool // in an Ofcom drama/fictional range: safe for demos and tests, never a real person
}

// maxPhoneInput is the longest raw phone number (in bytes) NormalizePhone will look at.
const maxPhoneInput = 64

// ukFictional maps the first seven digits of a UK national significant number to the type
// of the Ofcom drama range it opens. Every range is 1,000 ten-digit numbers, so a number
// is fictional when it has ten digits and its first seven are listed here.
var ukFictional = map[string]PhoneType{
	"7700900": PhoneMobile,   // 07700 900000–900999
	"1134960": PhoneLandline, // 0113 496 0000–0999 Leeds
	"1144960": PhoneLandline, // 0114 496 0000–0999 Sheffield
	"1154960": PhoneLandline, // 0115 496 0000–0999 Nottingham
	"1164960": PhoneLandline, // 0116 496 0000–0999 Leicester
	"1174960": PhoneLandline, // 0117 496 0000–0999 Bristol
	"1184960": PhoneLandline, // 0118 496 0000–0999 Reading
	"1214960": PhoneLandline, // 0121 496 0000–0999 Birmingham
	"1314960": PhoneLandline, // 0131 496 0000–0999 Edinburgh
	"1414960": PhoneLandline, // 0141 496 0000–0999 Glasgow
	"1514960": PhoneLandline, // 0151 496 0000–0999 Liverpool
	"1614960": PhoneLandline, // 0161 496 0000–0999 Manchester
	"2079460": PhoneLandline, // 020 7946 0000–0999 London
	"1914980": PhoneLandline, // 0191 498 0000–0999 Tyneside
	"2896496": PhoneLandline, // 028 9649 6000–6999 Northern Ireland
	"2920180": PhoneLandline, // 029 2018 0000–0999 Cardiff
	"1632960": PhoneLandline, // 01632 960000–960999 no real area
	"8081570": PhoneUnknown,  // 0808 157 0000–0999 freephone
	"9098790": PhoneUnknown,  // 0909 879 0000–0999 premium rate
	"3069990": PhoneUnknown,  // 03069 990000–990999 UK-wide
}

// NormalizePhone parses raw in defaultRegion (ISO 3166 alpha-2, e.g. "GB").
//
// raw may carry spaces (ordinary, non-breaking or zero-width), dashes, dots, slashes and
// brackets, a leading + or international prefix (00 from the UK), and the "(0)" people write
// after a country code: "+44 (0)7700 900123". Letters are refused, so vanity numbers
// ("0800 FLOWERS") and extensions ("ext 5") are errors rather than being guessed at.
//
// Digits without a + that begin with the default region's country code are read as an
// international number when the rest is a complete national number: with "GB",
// "447700900123" is +44 7700 900123. This is how spreadsheets leave numbers once they have
// dropped the +, and it can't be mistaken for a UK national number, which has at most
// eleven digits counting the leading 0. Likewise "7700900123" (the leading 0 dropped) is
// read as 07700 900123.
//
// Numbers in Ofcom's ranges for drama (07700 900xxx, 01632 960xxx, 020 7946 0xxx and the
// rest) are accepted with Fictional set even though they are not valid for calling.
// Normalising the result's E164 again, in any known region or none, gives the same Phone.
func NormalizePhone(raw, defaultRegion string) (Phone, error) {
	return normalizePhone(raw, defaultRegion, true)
}

// normalizePhone is NormalizePhone; fast says whether the UK fast path may be taken, so
// tests can check it agrees with the general path.
func normalizePhone(raw, defaultRegion string, fast bool) (Phone, error) {
	if len(raw) > maxPhoneInput {
		return Phone{}, invalidf("phone number is too long (more than %d characters)", maxPhoneInput)
	}
	in := normTrim(raw)
	if in == "" {
		return Phone{}, invalidf("phone number is empty")
	}
	var buf [maxPhoneInput]byte
	compact, err := compactPhone(in, buf[:0])
	if err != nil {
		return Phone{}, err
	}
	region := strings.ToUpper(defaultRegion)
	if region != "" && phonenumbers.GetCountryCodeForRegion(region) == 0 {
		return Phone{}, invalidf("unknown default region %q", defaultRegion)
	}
	if compact[0] != '+' && region == "" {
		return Phone{}, invalidf("%q has no country code and no default region was given", in)
	}
	if fast && region == "GB" {
		if p, ok := fastUKPhone(compact); ok {
			return p, nil
		}
	}

	var num phonenumbers.PhoneNumber
	if err := phonenumbers.ParseToNumber(string(compact), region, &num); err != nil {
		switch {
		case errors.Is(err, phonenumbers.ErrInvalidCountryCode):
			return Phone{}, invalidf("%q has an unknown country code", in)
		case errors.Is(err, phonenumbers.ErrTooShortNSN), errors.Is(err, phonenumbers.ErrTooShortAfterIDD):
			return Phone{}, invalidf("%q is too short for a phone number", in)
		case errors.Is(err, phonenumbers.ErrNumTooLong):
			return Phone{}, invalidf("%q is too long for a phone number", in)
		default:
			return Phone{}, invalidf("%q is not a phone number", in)
		}
	}
	if num.GetExtension() != "" {
		// Unreachable while letters are refused, but an extension must never be dropped silently.
		return Phone{}, invalidf("%q has an extension, which is not supported", in)
	}

	cc := num.GetCountryCode()
	nsn := phonenumbers.GetNationalSignificantNumber(&num)
	if cc == 44 {
		if t, ok := ukFictionalType(nsn); ok {
			return Phone{E164: "+44" + nsn, Type: t, Fictional: true}, nil
		}
	}
	// GetNumberType is UNKNOWN exactly when IsValidNumber is false; asking once halves
	// the regular-expression work.
	if t := phonenumbers.GetNumberType(&num); t != phonenumbers.UNKNOWN {
		return Phone{E164: "+" + strconv.Itoa(int(cc)) + nsn, Type: phoneTypeOf(t)}, nil
	}

	where := "+" + strconv.Itoa(int(cc))
	check := &num
	if cc == 44 {
		where = "UK"
		if num.GetItalianLeadingZero() {
			// For "0770" the library keeps the 0 as part of the number because what is left
			// after it is too short; judge the length without it (UK numbers never start 0).
			check = &phonenumbers.PhoneNumber{CountryCode: num.CountryCode, NationalNumber: num.NationalNumber}
		}
	}
	switch phonenumbers.IsPossibleNumberWithReason(check) {
	case phonenumbers.TOO_SHORT:
		return Phone{}, invalidf("%q is too short for a %s phone number", in, where)
	case phonenumbers.TOO_LONG:
		return Phone{}, invalidf("%q is too long for a %s phone number", in, where)
	case phonenumbers.INVALID_COUNTRY_CODE:
		return Phone{}, invalidf("%q has an unknown country code", in)
	}
	return Phone{}, invalidf("%q is not a valid number", in)
}

// compactPhone appends to dst the digits of in, with a leading + if it has one, dropping
// separators. It refuses anything else. A "(0)" after a country code is kept as a 0, which
// the library strips as the trunk prefix ("+4407700900123" is +44 7700 900123).
func compactPhone(in string, dst []byte) ([]byte, error) {
	digits := 0
	for _, r := range in {
		switch {
		case r >= '0' && r <= '9':
			dst = append(dst, byte(r))
			digits++
		case r >= '０' && r <= '９': // full-width digits
			dst = append(dst, byte(r-'０'+'0'))
			digits++
		case r == '+' || r == '＋':
			if len(dst) > 0 {
				if !hasPhoneDigit(in) {
					return nil, invalidf("%q is not a phone number", in)
				}
				return nil, invalidf("%q has a + that is not at the start", in)
			}
			dst = append(dst, '+')
		case r == '(' || r == ')' || r == '-' || r == '.' || r == '/' || r == '\u2212' ||
			isNormSpace(r) || unicode.Is(unicode.Pd, r):
			// separator
		default:
			if !hasPhoneDigit(in) {
				return nil, invalidf("%q is not a phone number", in)
			}
			return nil, invalidf("%q contains %q, which can't be part of a phone number", in, r)
		}
	}
	if digits == 0 {
		return nil, invalidf("%q is not a phone number", in)
	}
	return dst, nil
}

func hasPhoneDigit(s string) bool {
	for _, r := range s {
		if (r >= '0' && r <= '9') || (r >= '０' && r <= '９') {
			return true
		}
	}
	return false
}

// fastUKPhone handles the shapes nearly every number in a UK import takes, for the region
// GB, without the library's parser and with the +44 metadata compiled once (the library
// rebuilds and looks up its long patterns on every call, which costs ten times more). A
// national significant number of nine or ten digits, not starting 0, written as 0N…,
// +44N…, 0044N… or 44N…, or a bare ten-digit N… not starting 4 (where the parser would look
// for a country code): the parser gives the same number for each of these shapes, and
// TestNormalizePhoneFastPath and FuzzNormalizePhone hold it to that. It reports ok only for
// a fictional or valid number; any other input goes the general way, which also explains
// what is wrong.
func fastUKPhone(compact []byte) (Phone, bool) {
	var nsn []byte
	switch {
	case compact[0] == '+':
		if len(compact) < 3 || string(compact[1:3]) != "44" {
			return Phone{}, false
		}
		nsn = compact[3:]
	case len(compact) >= 4 && string(compact[:4]) == "0044":
		nsn = compact[4:]
	case compact[0] == '0':
		nsn = compact[1:]
	case len(compact) >= 11 && string(compact[:2]) == "44":
		nsn = compact[2:]
	case len(compact) == 10 && compact[0] != '4':
		nsn = compact
	default:
		return Phone{}, false
	}
	if len(nsn) < 9 || len(nsn) > 10 || nsn[0] == '0' {
		return Phone{}, false
	}
	e164 := "+44" + string(nsn)
	if t, ok := ukFictionalType(e164[3:]); ok {
		return Phone{E164: e164, Type: t, Fictional: true}, true
	}
	meta := ukMetadata()
	if meta == nil {
		return Phone{}, false
	}
	t := meta.numberType(e164[3:])
	if t == phonenumbers.UNKNOWN {
		return Phone{}, false
	}
	return Phone{E164: e164, Type: phoneTypeOf(t)}, true
}

// ukNumberDesc is one number type's description from the library's metadata, with its
// pattern compiled once.
type ukNumberDesc struct {
	lengths []int32        // possible lengths; empty means any
	re      *regexp.Regexp // anchored pattern; nil matches nothing
}

func (d ukNumberDesc) matches(nsn string) bool {
	if d.re == nil {
		return false
	}
	if len(d.lengths) > 0 && !slices.Contains(d.lengths, int32(len(nsn))) {
		return false
	}
	return d.re.MatchString(nsn)
}

// ukRegionMeta is the metadata of one region sharing country code 44.
type ukRegionMeta struct {
	leading *regexp.Regexp // leading digits that claim a number for the region; nil when none
	general ukNumberDesc
	// types in the order the library tests them, before fixed line and mobile
	types                 [8]ukNumberDesc
	typeIDs               [8]phonenumbers.PhoneNumberType
	fixed, mobile         ukNumberDesc
	sameMobileAndFixedPat bool
}

// ukMeta is the library's metadata for +44 (GB and the Crown dependencies), compiled.
type ukMeta struct{ regions []ukRegionMeta }

// ukMetadata compiles the library's +44 metadata once. It is nil if anything about the
// metadata is unexpected, which turns the fast path off.
var ukMetadata = sync.OnceValue(func() *ukMeta {
	coll, err := phonenumbers.MetadataCollection()
	if err != nil {
		return nil
	}
	byID := map[string]*phonenumbers.PhoneMetadata{}
	for _, m := range coll.GetMetadata() {
		byID[m.GetId()] = m
	}
	compile := func(pattern string, anchorEnd bool) (*regexp.Regexp, bool) {
		if pattern == "" {
			return nil, true
		}
		end := ""
		if anchorEnd {
			end = "$"
		}
		re, err := regexp.Compile("^(?:" + pattern + ")" + end)
		return re, err == nil
	}
	desc := func(d *phonenumbers.PhoneNumberDesc) (ukNumberDesc, bool) {
		re, ok := compile(d.GetNationalNumberPattern(), true)
		return ukNumberDesc{lengths: d.GetPossibleLength(), re: re}, ok
	}
	var meta ukMeta
	for _, id := range phonenumbers.GetRegionCodesForCountryCode(44) {
		m := byID[id]
		if m == nil || m.GetCountryCode() != 44 {
			return nil
		}
		var r ukRegionMeta
		ok := true
		var okOne bool
		r.leading, okOne = compile(m.GetLeadingDigits(), false)
		ok = ok && okOne
		r.general, okOne = desc(m.GetGeneralDesc())
		ok = ok && okOne
		for i, td := range []struct {
			d *phonenumbers.PhoneNumberDesc
			t phonenumbers.PhoneNumberType
		}{
			{m.GetPremiumRate(), phonenumbers.PREMIUM_RATE},
			{m.GetTollFree(), phonenumbers.TOLL_FREE},
			{m.GetSharedCost(), phonenumbers.SHARED_COST},
			{m.GetVoip(), phonenumbers.VOIP},
			{m.GetPersonalNumber(), phonenumbers.PERSONAL_NUMBER},
			{m.GetPager(), phonenumbers.PAGER},
			{m.GetUan(), phonenumbers.UAN},
			{m.GetVoicemail(), phonenumbers.VOICEMAIL},
		} {
			r.types[i], okOne = desc(td.d)
			r.typeIDs[i] = td.t
			ok = ok && okOne
		}
		r.fixed, okOne = desc(m.GetFixedLine())
		ok = ok && okOne
		r.mobile, okOne = desc(m.GetMobile())
		ok = ok && okOne
		r.sameMobileAndFixedPat = m.GetSameMobileAndFixedLinePattern()
		if !ok {
			return nil
		}
		meta.regions = append(meta.regions, r)
	}
	if len(meta.regions) == 0 {
		return nil
	}
	return &meta
})

// numberType gives what phonenumbers.GetNumberType gives for +44 nsn, by the same steps:
// find the region the number belongs to, then test its number types in the library's order.
// It saves the library rebuilding and looking up its (long) patterns on every call.
func (m *ukMeta) numberType(nsn string) phonenumbers.PhoneNumberType {
	for i := range m.regions {
		r := &m.regions[i]
		if r.leading != nil {
			if r.leading.MatchString(nsn) {
				return r.numberType(nsn)
			}
			continue
		}
		if t := r.numberType(nsn); t != phonenumbers.UNKNOWN {
			return t
		}
	}
	return phonenumbers.UNKNOWN
}

func (r *ukRegionMeta) numberType(nsn string) phonenumbers.PhoneNumberType {
	if !r.general.matches(nsn) {
		return phonenumbers.UNKNOWN
	}
	for i, d := range r.types {
		if d.matches(nsn) {
			return r.typeIDs[i]
		}
	}
	if r.fixed.matches(nsn) {
		if r.sameMobileAndFixedPat || r.mobile.matches(nsn) {
			return phonenumbers.FIXED_LINE_OR_MOBILE
		}
		return phonenumbers.FIXED_LINE
	}
	if !r.sameMobileAndFixedPat && r.mobile.matches(nsn) {
		return phonenumbers.MOBILE
	}
	return phonenumbers.UNKNOWN
}

// ukFictionalType reports whether the UK national significant number nsn is in one of
// Ofcom's drama ranges, and the type of that range.
func ukFictionalType(nsn string) (PhoneType, bool) {
	if len(nsn) != 10 {
		return "", false
	}
	t, ok := ukFictional[nsn[:7]]
	return t, ok
}

// phoneTypeOf maps the library's number type onto ours.
func phoneTypeOf(t phonenumbers.PhoneNumberType) PhoneType {
	switch t {
	case phonenumbers.MOBILE:
		return PhoneMobile
	case phonenumbers.FIXED_LINE:
		return PhoneLandline
	default:
		return PhoneUnknown
	}
}

// Postcode is a normalised UK postcode.
type Postcode struct {
	Code     string // "SW2 1RW"
	Sector   string // "SW2 1"
	District string // "SW2"
}

// maxPostcodeInput is the longest raw postcode (in bytes) NormalizePostcode will look at.
const maxPostcodeInput = 64

// NormalizePostcode checks raw against the format of UK postcodes and returns it in
// capitals with one space before the inward code: " sw21rw " gives "SW2 1RW". Spaces may
// be missing, doubled or misplaced. It checks the format only, not that the postcode
// exists. The non-geographic GIR 0AA is accepted; BFPO numbers are not postcodes and are
// refused.
func NormalizePostcode(raw string) (Postcode, error) {
	if len(raw) > maxPostcodeInput {
		return Postcode{}, invalidf("postcode is too long (more than %d characters)", maxPostcodeInput)
	}
	in := normTrim(raw)
	if in == "" {
		return Postcode{}, invalidf("postcode is empty")
	}
	var buf [maxPostcodeInput]byte
	c := buf[:0]
	for _, r := range in {
		switch {
		case r >= 'a' && r <= 'z':
			c = append(c, byte(r-'a'+'A'))
		case (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'):
			c = append(c, byte(r))
		case isNormSpace(r):
		default:
			return Postcode{}, invalidf("%q is not a UK postcode: it contains %q", in, r)
		}
	}
	if len(c) >= 4 && string(c[:4]) == "BFPO" {
		return Postcode{}, invalidf("%q is a British Forces (BFPO) number, not a UK postcode", in)
	}
	if string(c) == "GIR0AA" {
		return Postcode{Code: "GIR 0AA", Sector: "GIR 0", District: "GIR"}, nil
	}
	if len(c) <= 4 && outwardShape(c) != "" {
		if err := outwardLetters(in, c); err != nil {
			return Postcode{}, err
		}
		return Postcode{}, invalidf("%q is missing the inward part (e.g. \"1RW\")", in)
	}
	if len(c) < 5 || len(c) > 7 {
		return Postcode{}, invalidf("%q is not a UK postcode", in)
	}
	out, inward := c[:len(c)-3], c[len(c)-3:]
	if outwardShape(out) == "" ||
		!isASCIIDigit(inward[0]) || !isASCIIUpper(inward[1]) || !isASCIIUpper(inward[2]) {
		return Postcode{}, invalidf("%q is not a UK postcode", in)
	}
	if err := outwardLetters(in, out); err != nil {
		return Postcode{}, err
	}
	if strings.IndexByte("CIKMOV", inward[1]) >= 0 || strings.IndexByte("CIKMOV", inward[2]) >= 0 {
		return Postcode{}, invalidf("%q: the last two letters can't include C, I, K, M, O or V", in)
	}
	code := string(out) + " " + string(inward)
	return Postcode{Code: code, Sector: code[:len(out)+2], District: code[:len(out)]}, nil
}

// outwardShape returns the shape of an outward code ("A9", "A99", "AA9", "AA99", "A9A" or
// "AA9A", A a capital letter and 9 a digit), or "" when it has none of them.
func outwardShape(out []byte) string {
	var shape [4]byte
	if len(out) < 2 || len(out) > 4 {
		return ""
	}
	for i, b := range out {
		switch {
		case isASCIIUpper(b):
			shape[i] = 'A'
		case isASCIIDigit(b):
			shape[i] = '9'
		default:
			return ""
		}
	}
	switch s := string(shape[:len(out)]); s {
	case "A9", "A99", "AA9", "AA99", "A9A", "AA9A":
		return s
	}
	return ""
}

// outwardLetters checks the letter rules of a well-shaped outward code; in is the input
// to name in the error.
func outwardLetters(in string, out []byte) error {
	shape := outwardShape(out)
	if strings.IndexByte("QVX", out[0]) >= 0 {
		return invalidf("%q: the first letter can't be Q, V or X", in)
	}
	if shape[1] == 'A' && strings.IndexByte("IJZ", out[1]) >= 0 {
		return invalidf("%q: the second letter can't be I, J or Z", in)
	}
	switch shape {
	case "A9A":
		if strings.IndexByte("ABCDEFGHJKPSTUW", out[2]) < 0 {
			return invalidf("%q: a letter after the district number must be one of A, B, C, D, E, F, G, H, J, K, P, S, T, U or W", in)
		}
	case "AA9A":
		if strings.IndexByte("ABEHMNPRVWXY", out[3]) < 0 {
			return invalidf("%q: a letter after the district number must be one of A, B, E, H, M, N, P, R, V, W, X or Y", in)
		}
	}
	return nil
}

func isASCIIDigit(b byte) bool { return b >= '0' && b <= '9' }

func isASCIIUpper(b byte) bool { return b >= 'A' && b <= 'Z' }

// Limits on email addresses, in bytes (RFC 5321 section 4.5.3.1).
const (
	maxEmail      = 254
	maxEmailLocal = 64
	maxEmailLabel = 63
	// maxEmailInput bounds the raw input looked at, leaving room for surrounding space.
	maxEmailInput = 1024
)

// NormalizeEmail trims, validates and returns the address with the domain lower-cased
// (keep the local part's case as given; matching is case-insensitive elsewhere via lower()).
//
// Only a bare address is accepted: no display name ("Bob <bob@x.com>"), comments, quoted
// local parts or IP-address domains. The local part is ASCII (letters, digits and
// !#$%&'*+-/=?^_`{|}~, with single dots between them); the domain needs at least one dot and
// its labels are letters (any script), digits and inner hyphens, and it is put in Unicode
// normal form C. Lengths are checked in bytes: 64 for the local part, 63 for each label of
// the domain and 254 for the whole address.
func NormalizeEmail(raw string) (string, error) {
	if len(raw) > maxEmailInput {
		return "", invalidf("email address is too long (at most %d characters)", maxEmail)
	}
	in := normTrim(raw)
	if in == "" {
		return "", invalidf("email address is empty")
	}
	if strings.ContainsAny(in, "<>") {
		return "", invalidf("%q has a display name or brackets; give just the address, like bob@example.com", in)
	}
	if strings.IndexFunc(in, isNormSpace) >= 0 {
		return "", invalidf("%q contains a space", in)
	}
	at := strings.IndexByte(in, '@')
	switch {
	case at < 0:
		return "", invalidf("%q has no @", in)
	case strings.IndexByte(in[at+1:], '@') >= 0:
		return "", invalidf("%q has more than one @", in)
	}
	local, domain := in[:at], in[at+1:]
	if local == "" {
		return "", invalidf("%q has nothing before the @", in)
	}
	if domain == "" {
		return "", invalidf("%q has no domain", in)
	}
	if len(local) > maxEmailLocal {
		return "", invalidf("%q: the part before the @ is longer than %d characters", in, maxEmailLocal)
	}
	if err := checkEmailLocal(in, local); err != nil {
		return "", err
	}
	domain = emailDomain(domain)
	if err := checkEmailDomain(in, domain); err != nil {
		return "", err
	}
	addr := local + "@" + domain
	if len(addr) > maxEmail {
		return "", invalidf("%q is longer than %d characters", in, maxEmail)
	}
	if a, err := mail.ParseAddress(addr); err != nil || a.Name != "" || a.Address != addr {
		return "", invalidf("%q is not a valid email address", in)
	}
	return addr, nil
}

// emailDomain lower-cases domain and, when it is not ASCII, puts it in normal form C.
func emailDomain(domain string) string {
	for i := 0; i < len(domain); i++ {
		if domain[i] >= utf8.RuneSelf {
			return norm.NFC.String(strings.ToLower(domain))
		}
	}
	return strings.ToLower(domain)
}

func checkEmailLocal(in, local string) error {
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return invalidf("%q: the part before the @ can't start or end with a dot or have two dots together", in)
	}
	for _, r := range local {
		if r < utf8.RuneSelf && (isASCIIDigit(byte(r)) || isASCIIUpper(byte(r)) || (r >= 'a' && r <= 'z') ||
			strings.IndexByte(".!#$%&'*+-/=?^_`{|}~", byte(r)) >= 0) {
			continue
		}
		return invalidf("%q: the part before the @ can't contain %q", in, r)
	}
	return nil
}

func checkEmailDomain(in, domain string) error {
	if !strings.Contains(domain, ".") {
		return invalidf("%q: the domain %q has no dot", in, domain)
	}
	labels := strings.Split(domain, ".")
	for _, l := range labels {
		if l == "" {
			return invalidf("%q: the domain %q has an empty part (a dot at the start or end, or two together)", in, domain)
		}
		if len(l) > maxEmailLabel {
			return invalidf("%q: the domain has a part longer than %d characters", in, maxEmailLabel)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return invalidf("%q: a part of the domain can't start or end with a hyphen", in)
		}
		for i, r := range l {
			switch {
			case r == '-', unicode.IsLetter(r), unicode.IsDigit(r):
			case i > 0 && unicode.IsMark(r):
			default:
				return invalidf("%q: the domain can't contain %q", in, r)
			}
		}
	}
	tld := labels[len(labels)-1]
	if strings.IndexFunc(tld, func(r rune) bool { return !unicode.IsDigit(r) }) < 0 {
		return invalidf("%q: the domain can't end in a number", in)
	}
	return nil
}

// NormalizeUPRN checks a Unique Property Reference Number, the council gazetteer's key
// for a property: a whole number of up to 12 digits. It comes back without the leading
// zeros some systems pad it with, so "000010012345" and "10012345" name one door.
func NormalizeUPRN(raw string) (string, error) {
	s := normTrim(raw)
	if s == "" {
		return "", invalidf("UPRN is empty")
	}
	if strings.ContainsAny(s, "eE") && strings.ContainsAny(s, ".+") {
		return "", invalidf("%q looks like a UPRN a spreadsheet turned into a rounded number (scientific notation): format the UPRN column as text and export again", s)
	}
	if i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		return "", invalidf("%q is not a UPRN: a UPRN is a whole number of up to 12 digits", s)
	}
	u := strings.TrimLeft(s, "0")
	if u == "" {
		return "", invalidf("%q is not a UPRN: UPRNs start at 1", s)
	}
	if len(u) > 12 {
		return "", invalidf("%q is not a UPRN: a UPRN has at most 12 digits", s)
	}
	return u, nil
}
