package contact

import (
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"
)

// stageRow is one valid, normalised row, shaped as the import_rows staging table.
type stageRow struct {
	line                                  int
	firstName, lastName                   string
	email, emailKey                       string
	mobile                                string
	mobileType                            *string
	mobileFictional                       bool
	phone                                 string
	phoneType                             *string
	phoneFictional                        bool
	flat, houseNumber, street, town       string
	postcode, sector, ward                string
	uprn                                  string
	language                              string
	largePrint                            *bool
	accessibility, tags                   string
	attributes                            []byte
	deliveryNotes                         string
	doNotDeliver                          bool
	emailConsent, smsConsent, postConsent *bool
}

func (r *stageRow) values() []any {
	return []any{r.line, r.firstName, r.lastName, r.email, r.emailKey,
		r.mobile, r.mobileType, r.mobileFictional, r.phone, r.phoneType, r.phoneFictional,
		r.flat, r.houseNumber, r.street, r.town, r.postcode, r.sector, r.ward, r.uprn,
		r.language, r.largePrint, r.accessibility, r.tags, string(r.attributes), r.deliveryNotes, r.doNotDeliver,
		r.emailConsent, r.smsConsent, r.postConsent}
}

// normaliser turns raw CSV records into stage rows; it is safe for concurrent use.
type normaliser struct {
	file         string
	cols         []Column
	region       string
	addressLines bool // some column is an address line, read by ParseAddressLines
}

func newNormaliser(file string, cols []Column, region string) *normaliser {
	n := &normaliser{file: file, cols: cols, region: region}
	for _, c := range cols {
		n.addressLines = n.addressLines || addressLine(c.Field) > 0
	}
	return n
}

// AttrAddressLines is the contact attribute that keeps an address as the file wrote
// it, its lines joined by "\n", when the importer read it from address lines.
const AttrAddressLines = "address_lines"

var phoneTypes = map[PhoneType]*string{}

func init() {
	for _, t := range []PhoneType{PhoneMobile, PhoneLandline, PhoneUnknown} {
		s := string(t)
		phoneTypes[t] = &s
	}
}

// row validates and normalises one record. Every problem in the row is reported, each
// naming its line, column and header.
func (n *normaliser) row(line int, rec []string) (stageRow, []*InputError) {
	r := stageRow{line: line, attributes: []byte("{}")}
	var errs []*InputError
	if len(rec) != len(n.cols) {
		return r, []*InputError{{File: n.file, Line: line,
			Err: invalidf("the row has %d fields but the header has %d (a stray comma, or an unclosed quote on an earlier line?)", len(rec), len(n.cols))}}
	}
	bad := func(c Column, v string, err error) {
		errs = append(errs, &InputError{File: n.file, Line: line, Col: c.Index + 1, Field: c.Header, Value: v, Err: err})
	}
	var attrs map[string]string
	var fullName string
	var lines [4]string
	var original string
	for _, c := range n.cols {
		raw := rec[c.Index]
		if !storableCell(raw) {
			if c.Field != FieldIgnore {
				bad(c, strings.ToValidUTF8(strings.ReplaceAll(raw, "\x00", "\\0"), "\uFFFD"), invalidf("the cell holds a NUL byte or bytes that are not UTF-8, which can't be stored: remove them, or give the file's encoding with --encoding"))
			}
			continue
		}
		v := cleanCell(raw)
		switch c.Field {
		case FieldIgnore:
		case FieldAddressLine1, FieldAddressLine2, FieldAddressLine3, FieldAddressLine4:
			// Raw: cleanCell would fold a multi-line cell's line breaks into spaces.
			lines[addressLine(c.Field)-1] = raw
		case FieldFirstName:
			r.firstName = v
		case FieldLastName:
			r.lastName = v
		case FieldFullName:
			fullName = v
		case FieldEmail:
			if v == "" {
				continue
			}
			e, err := NormalizeEmail(v)
			if err != nil {
				bad(c, raw, err)
				continue
			}
			r.email, r.emailKey = e, strings.ToLower(e)
		case FieldMobile, FieldPhone:
			if v == "" {
				continue
			}
			p, err := NormalizePhone(v, n.region)
			if err != nil {
				bad(c, raw, err)
				continue
			}
			if c.Field == FieldMobile {
				r.mobile, r.mobileType, r.mobileFictional = p.E164, phoneTypes[p.Type], p.Fictional
			} else {
				r.phone, r.phoneType, r.phoneFictional = p.E164, phoneTypes[p.Type], p.Fictional
			}
		case FieldFlat:
			r.flat = v
		case FieldHouseNumber:
			r.houseNumber = v
		case FieldStreet:
			r.street = v
		case FieldTown:
			r.town = v
		case FieldPostcode:
			if v == "" {
				continue
			}
			pc, err := NormalizePostcode(v)
			if err != nil {
				bad(c, raw, err)
				continue
			}
			r.postcode, r.sector = pc.Code, pc.Sector
		case FieldWard:
			r.ward = v
		case FieldUPRN:
			if v == "" {
				continue
			}
			u, err := NormalizeUPRN(v)
			if err != nil {
				bad(c, raw, err)
				continue
			}
			r.uprn = u
		case FieldLanguage:
			if v == "" {
				continue
			}
			lang, err := parseLanguage(v)
			if err != nil {
				bad(c, raw, err)
				continue
			}
			r.language = lang
		case FieldLargePrint, FieldEmailConsent, FieldSMSConsent, FieldPostConsent:
			b, err := parseYesNo(v)
			if err != nil {
				bad(c, raw, err)
				continue
			}
			switch c.Field {
			case FieldLargePrint:
				r.largePrint = b
			case FieldEmailConsent:
				r.emailConsent = b
			case FieldSMSConsent:
				r.smsConsent = b
			case FieldPostConsent:
				r.postConsent = b
			}
		case FieldAccessibility:
			r.accessibility = joinList(v, true)
		case FieldTags:
			r.tags = joinList(v, false)
		case FieldDeliveryNotes:
			r.deliveryNotes = v
			l := strings.ToLower(v)
			r.doNotDeliver = strings.Contains(l, "do not deliver") || strings.Contains(l, "don't deliver")
		default:
			if key, ok := strings.CutPrefix(string(c.Field), string(FieldAttr)); ok && v != "" {
				// A free attribute keeps its line breaks (a Notes cell, or the
				// address lines an export writes back): only its ends are trimmed.
				v = cleanText(raw)
				if attrs == nil {
					attrs = map[string]string{}
				}
				attrs[key] = v
			}
		}
	}
	if fullName != "" && r.firstName == "" && r.lastName == "" {
		if i := strings.LastIndexByte(fullName, ' '); i > 0 {
			r.firstName, r.lastName = fullName[:i], fullName[i+1:]
		} else {
			r.lastName = fullName
		}
	}
	if n.addressLines {
		if a := ParseAddressLines(lines[:]); a.Original != "" {
			flat, number, street, town := a.door()
			// Columns of the file's own (Flat, Town; a house number or street only
			// when --map sends a column to an address line as well) win over what
			// the lines say.
			if r.flat == "" {
				r.flat = flat
			}
			if r.town == "" {
				r.town = town
			}
			if r.houseNumber == "" && r.street == "" {
				r.houseNumber, r.street = number, street
			}
			original = a.Original
		}
	}
	if r.mobile != "" && r.mobile == r.phone {
		r.phone, r.phoneType, r.phoneFictional = "", nil, false
	}
	hasAddress := r.street != "" || r.postcode != "" || r.houseNumber != "" || r.flat != ""
	if hasAddress && len(errs) == 0 {
		switch {
		case r.street == "" && r.postcode != "":
			errs = append(errs, n.rowError(line, FieldStreet, "a postal address needs a street as well as the postcode %s", r.postcode))
		case r.postcode == "" && r.street != "":
			errs = append(errs, n.rowError(line, FieldPostcode, "a postal address needs a postcode as well as the street"))
		case r.street == "":
			errs = append(errs, n.rowError(line, FieldStreet, "a postal address needs a street and a postcode"))
		}
	}
	if r.uprn != "" && !hasAddress && len(errs) == 0 {
		errs = append(errs, n.rowError(line, FieldUPRN, "UPRN %s needs the address as well (at least the street and postcode): leaflets print the address, not the UPRN", r.uprn))
	}
	if len(errs) == 0 && r.emailKey == "" && r.mobile == "" && r.phone == "" && !hasAddress {
		errs = append(errs, &InputError{File: n.file, Line: line,
			Err: invalidf("the row has no email address, phone number or postal address, so this person can't be reached")})
	}
	if original != "" && attrs == nil {
		// The usual case for a file of address lines, written by hand: a map and
		// json.Marshal would double the cost of normalising the row.
		b := make([]byte, 0, len(`{"":""}`)+len(AttrAddressLines)+len(original)+8)
		b = appendJSONString(append(appendJSONString(append(b, '{'), AttrAddressLines), ':'), original)
		r.attributes = append(b, '}')
	} else if original != "" {
		attrs[AttrAddressLines] = original
	}
	if attrs != nil {
		b, err := json.Marshal(attrs)
		if err != nil {
			errs = append(errs, &InputError{File: n.file, Line: line, Err: err})
		}
		r.attributes = b
	}
	return r, errs
}

// appendJSONString appends s to b as a JSON string; invalid UTF-8 becomes U+FFFD, as
// json.Marshal writes it.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// rowError names the column of field f when the file has one.
func (n *normaliser) rowError(line int, f Field, format string, args ...any) *InputError {
	e := &InputError{File: n.file, Line: line, Err: invalidf(format, args...)}
	for _, c := range n.cols {
		if c.Field == f || (e.Col == 0 && f == FieldStreet && c.Field == FieldAddressLine1) {
			e.Col, e.Field = c.Index+1, c.Header
		}
	}
	return e
}

// storableCell says whether PostgreSQL can store s as text: valid UTF-8, no NUL byte.
func storableCell(s string) bool {
	return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s)
}

// cleanCell trims the spaces, non-breaking spaces and zero-width characters spreadsheets
// leave around values, and folds runs of white space to one space.
func cleanCell(s string) string {
	s = trimCell(s)
	if !strings.ContainsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == '\t' || r == '\u00a0' }) &&
		!strings.Contains(s, "  ") {
		return s
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\u00a0", " ")), " ")
}

// cleanText is cleanCell for free text that may span lines: the ends are trimmed and
// line breaks written as CRLF or CR become LF; spaces inside are kept as written.
func cleanText(s string) string {
	if strings.ContainsRune(s, '\r') {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
	}
	return trimCell(s)
}

// trimCell trims a cell's ends and undoes Neutralise: a cell we exported as '=...,
// '-... or ”=... reads back as written.
func trimCell(s string) string {
	if s == "" {
		return s
	}
	s = strings.TrimFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == '\u200b' || r == '\ufeff' || r == '\u00a0'
	})
	if u := strings.TrimLeft(s, "'"); len(u) < len(s) && u != "" && strings.ContainsRune(formulaStarts, rune(u[0])) {
		s = s[1:]
	}
	return s
}

// parseYesNo reads a consent or flag cell; empty means "not stated" (nil).
func parseYesNo(v string) (*bool, error) {
	t, f := true, false
	switch strings.ToLower(v) {
	case "":
		return nil, nil
	case "yes", "y", "true", "t", "1", "x", "✓", "opt in", "opted in":
		return &t, nil
	case "no", "n", "false", "f", "0", "opt out", "opted out":
		return &f, nil
	}
	return nil, invalidf("%q must be yes or no (yes/no, y/n, true/false or 1/0), or left empty", v)
}

var languageNames = map[string]string{
	"english": "en", "welsh": "cy", "cymraeg": "cy", "polish": "pl", "polski": "pl",
	"punjabi": "pa", "bengali": "bn", "bangla": "bn", "somali": "so", "portuguese": "pt",
	"urdu": "ur", "gujarati": "gu", "arabic": "ar", "turkish": "tr", "romanian": "ro",
	"spanish": "es", "french": "fr", "tamil": "ta", "chinese": "zh", "mandarin": "zh",
	"cantonese": "yue", "lithuanian": "lt", "russian": "ru", "ukrainian": "uk", "irish": "ga",
	"scottish gaelic": "gd", "gaelic": "gd", "bsl": "bfi", "british sign language": "bfi",
}

// parseLanguage accepts a language name or an ISO 639 code ("Welsh", "cy", "en-GB").
func parseLanguage(v string) (string, error) {
	l := strings.ToLower(v)
	if code, ok := languageNames[l]; ok {
		return code, nil
	}
	base, _, _ := strings.Cut(strings.ReplaceAll(l, "_", "-"), "-")
	if len(base) >= 2 && len(base) <= 3 && strings.IndexFunc(base, func(r rune) bool { return r < 'a' || r > 'z' }) < 0 {
		return base, nil
	}
	return "", invalidf("%q is not a language we know: use a name such as Welsh or a code such as cy", v)
}

// joinList splits a cell holding a list ("a; b, c") into ';'-joined, de-duplicated items.
func joinList(v string, lower bool) string {
	if v == "" {
		return ""
	}
	parts := strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' || r == '|' })
	seen := map[string]bool{}
	out := parts[:0]
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if lower {
			p = strings.ToLower(p)
		}
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	return strings.Join(out, ";")
}

// describeByLine groups errs by line and describes each line's problems.
func describeByLine(errs []*InputError) map[int]string {
	by := map[int][]*InputError{}
	for _, e := range errs {
		by[e.Line] = append(by[e.Line], e)
	}
	out := make(map[int]string, len(by))
	for line, es := range by {
		out[line] = describe(es)
	}
	return out
}

// describe joins a row's problems for the rejects file.
func describe(errs []*InputError) string {
	parts := make([]string, len(errs))
	for i, e := range errs {
		if e.Field != "" {
			parts[i] = e.Field + ": " + e.Err.Error()
		} else {
			parts[i] = e.Err.Error()
		}
	}
	return strings.Join(parts, "; ")
}
