package contact

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Field is a contact attribute a CSV column can feed.
type Field string

// The fields an import understands. A column mapped to FieldAttr+"name" lands in the
// contact's free attributes (jsonb) under "name"; FieldIgnore drops the column.
const (
	FieldFirstName     Field = "first_name"
	FieldLastName      Field = "last_name"
	FieldFullName      Field = "full_name"
	FieldEmail         Field = "email"
	FieldMobile        Field = "mobile"
	FieldPhone         Field = "phone"
	FieldFlat          Field = "flat"
	FieldHouseNumber   Field = "house_number"
	FieldStreet        Field = "street"
	FieldTown          Field = "town"
	FieldPostcode      Field = "postcode"
	FieldWard          Field = "ward"
	FieldLanguage      Field = "language"
	FieldLargePrint    Field = "large_print"
	FieldAccessibility Field = "accessibility"
	FieldEmailConsent  Field = "email_consent"
	FieldSMSConsent    Field = "sms_consent"
	FieldPostConsent   Field = "post_consent"
	FieldTags          Field = "tags"
	FieldDeliveryNotes Field = "delivery_notes"
	// FieldUPRN is the council gazetteer's Unique Property Reference Number: when a row
	// gives one, it is the key of the door (see migrations/00010_uprn.sql).
	FieldUPRN   Field = "uprn"
	FieldIgnore Field = "ignore"
	// Address lines hold a whole address as free text, read by ParseAddressLines into
	// flat, house number, street and town. A file with a house number or street column
	// of its own is read as before: its first address line is the street, its second
	// the town.
	FieldAddressLine1 Field = "address_line_1"
	FieldAddressLine2 Field = "address_line_2"
	FieldAddressLine3 Field = "address_line_3"
	FieldAddressLine4 Field = "address_line_4"
	FieldAttr         Field = "attr:"
)

// headerAliases maps a squashed header (lower case, letters and digits only) to its field.
// These are the spellings council spreadsheets actually use.
var headerAliases = map[string]Field{}

func init() {
	for f, names := range map[Field][]string{
		FieldFirstName:     {"firstname", "forename", "forenames", "givenname", "first", "christianname"},
		FieldLastName:      {"surname", "lastname", "familyname", "last"},
		FieldFullName:      {"name", "fullname", "residentname", "contactname"},
		FieldEmail:         {"email", "emailaddress", "mail", "emailaddr"},
		FieldMobile:        {"mobile", "mobilenumber", "mobileno", "mobilephone", "mobilephonenumber", "mob", "cell", "cellphone", "sms", "smsnumber", "textnumber"},
		FieldPhone:         {"phone", "phonenumber", "phoneno", "telephone", "telephonenumber", "tel", "telno", "landline", "homephone", "contactnumber"},
		FieldFlat:          {"flat", "flatnumber", "flatno", "unit", "apartment", "subbuilding"},
		FieldHouseNumber:   {"housenumber", "houseno", "number", "no", "housenameornumber", "housenumberorname", "buildingnumber", "house", "buildingname"},
		FieldStreet:        {"street", "streetname", "road"},
		FieldTown:          {"town", "city", "posttown", "locality"},
		FieldAddressLine1:  {"addressline1", "address1", "addr1", "address", "postaladdress", "fulladdress", "line1"},
		FieldAddressLine2:  {"addressline2", "address2", "addr2", "line2"},
		FieldAddressLine3:  {"addressline3", "address3", "addr3", "line3"},
		FieldAddressLine4:  {"addressline4", "address4", "addr4", "line4"},
		FieldPostcode:      {"postcode", "postalcode", "zip", "zipcode", "pcode"},
		FieldWard:          {"ward", "wardname", "electoralward"},
		FieldLanguage:      {"language", "preferredlanguage", "lang", "languagepreference"},
		FieldLargePrint:    {"largeprint", "needslargeprint", "largeprintrequired"},
		FieldAccessibility: {"accessibility", "accessibilityneeds", "accessneeds"},
		FieldEmailConsent:  {"emailconsent", "consentemail", "emailoptin", "emailok", "consenttoemail", "emailpermission"},
		FieldSMSConsent:    {"smsconsent", "textconsent", "mobileconsent", "smsoptin", "consentsms", "consenttosms", "textok", "smspermission"},
		FieldPostConsent:   {"postconsent", "postalconsent", "letterconsent", "consentpost", "consenttopost", "postoptin", "postpermission", "leafletconsent"},
		FieldTags:          {"tags", "tag", "groups", "labels"},
		FieldDeliveryNotes: {"deliverynotes", "deliveryinstructions", "deliverynote"},
		FieldUPRN:          {"uprn", "uprnnumber", "uniquepropertyreferencenumber", "propertyuprn"},
		// Columns of our own export that describe state the importer must not take from a
		// file (a bounce is recorded by sending, not by a spreadsheet; ids are ours to give).
		FieldIgnore: {"emailstatus", "mobilestatus", "crierid"},
	} {
		for _, n := range names {
			headerAliases[n] = f
		}
	}
}

func squash(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ParseField checks a field name given on the command line (--map HEADER=field).
func ParseField(s string) (Field, error) {
	f := Field(strings.TrimSpace(strings.ToLower(s)))
	if strings.HasPrefix(string(f), string(FieldAttr)) {
		if len(f) == len(FieldAttr) {
			return "", fmt.Errorf("field %q needs an attribute name after attr:", s)
		}
		return f, nil
	}
	for _, known := range allFields {
		if f == known {
			return f, nil
		}
	}
	names := make([]string, 0, len(allFields))
	for _, k := range allFields {
		names = append(names, string(k))
	}
	return "", fmt.Errorf("unknown field %q: use one of %s, or attr:NAME", s, strings.Join(names, ", "))
}

var allFields = []Field{FieldFirstName, FieldLastName, FieldFullName, FieldEmail, FieldMobile, FieldPhone,
	FieldFlat, FieldHouseNumber, FieldStreet, FieldTown, FieldPostcode, FieldWard, FieldLanguage,
	FieldLargePrint, FieldAccessibility, FieldEmailConsent, FieldSMSConsent, FieldPostConsent,
	FieldTags, FieldDeliveryNotes, FieldUPRN, FieldIgnore, FieldAddressLine1, FieldAddressLine2, FieldAddressLine3,
	FieldAddressLine4}

// addressLine is the number of the address line field f names, or 0.
func addressLine(f Field) int {
	switch f {
	case FieldAddressLine1:
		return 1
	case FieldAddressLine2:
		return 2
	case FieldAddressLine3:
		return 3
	case FieldAddressLine4:
		return 4
	}
	return 0
}

// Column is one header of the file and the field it feeds.
type Column struct {
	Index  int
	Header string
	Field  Field
}

// MapHeader decides which field each column feeds: overrides (keyed by the header as
// written, compared case-insensitively) first, then a header "attr:KEY" (as an export
// writes for a key that could be mistaken for a field), then the usual spellings; anything
// else becomes a free attribute named after the header. Two columns feeding the same field
// is an error naming both.
//
// "Address line 1", "Address 1", "Addr1" or a lone "Address" column (and lines 2 to 4)
// feed the address parser, unless the file has a house number or street column of its
// own: then, as files with such columns always were, address line 1 is the street,
// address line 2 the town (each only if the file has no such column) and any further
// lines are free attributes.
func MapHeader(header []string, overrides map[string]Field) ([]Column, error) {
	cols := make([]Column, len(header))
	seen := map[Field]string{}
	used := map[string]bool{}
	// Does the file say where the house number or street is? Then it is read as before.
	ownColumns := false
	for _, h := range header {
		f, ok := lookupOverride(overrides, strings.TrimSpace(h))
		if !ok {
			f = headerAliases[squash(h)]
		}
		ownColumns = ownColumns || f == FieldHouseNumber || f == FieldStreet
	}
	for i, h := range header {
		h = strings.TrimSpace(h)
		col := Column{Index: i, Header: h}
		if f, ok := lookupOverride(overrides, h); ok {
			col.Field = f
			used[strings.ToLower(h)] = true
		} else if key, ok := strings.CutPrefix(h, string(FieldAttr)); ok && strings.TrimSpace(key) != "" {
			col.Field = FieldAttr + Field(key) // an export's "attr:KEY" column: the key verbatim
		} else if f, ok := headerAliases[squash(h)]; ok {
			col.Field = f
			if n := addressLine(f); n > 0 && ownColumns {
				col.Field = legacyAddressField(n, header, overrides, h)
			}
		} else if squash(h) == "" {
			col.Field = FieldIgnore
		} else {
			col.Field = FieldAttr + Field(attrKey(h))
		}
		if col.Field != FieldIgnore {
			if prev, dup := seen[col.Field]; dup {
				return nil, fmt.Errorf("columns %q and %q both map to %s: use --map %q=ignore (or another field) for one of them", prev, h, col.Field, h)
			}
			seen[col.Field] = h
		}
		cols[i] = col
	}
	for k := range overrides {
		if !used[strings.ToLower(strings.TrimSpace(k))] {
			return nil, fmt.Errorf("--map names column %q, which is not in the header", k)
		}
	}
	return cols, nil
}

// legacyAddressField is what address line n of a file with its own house number or
// street column feeds: line 1 the street and line 2 the town, unless another column
// (by its spelling or by --map) does; otherwise a free attribute.
func legacyAddressField(n int, header []string, overrides map[string]Field, h string) Field {
	target := map[int]Field{1: FieldStreet, 2: FieldTown}[n]
	if target == "" {
		return FieldAttr + Field(attrKey(h))
	}
	for _, other := range header {
		other = strings.TrimSpace(other)
		f, ok := lookupOverride(overrides, other)
		if !ok {
			f = headerAliases[squash(other)]
		}
		if f == target {
			return FieldAttr + Field(attrKey(h))
		}
	}
	return target
}

func lookupOverride(overrides map[string]Field, h string) (Field, bool) {
	for k, f := range overrides {
		if strings.EqualFold(strings.TrimSpace(k), h) {
			return f, true
		}
	}
	return "", false
}

func attrKey(h string) string {
	var b strings.Builder
	lastUnderscore := false
	for _, r := range strings.ToLower(h) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			b.WriteRune(r)
			lastUnderscore = false
		} else if !lastUnderscore && b.Len() > 0 {
			b.WriteByte('_')
			lastUnderscore = true
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

// Encoding is a text encoding an import file may use.
type Encoding string

// The encodings an import reads. Auto picks UTF-8 when every byte of the file is valid
// UTF-8 (with or without a BOM) and Windows-1252 otherwise — what Excel writes for
// "CSV (Comma delimited)" on a UK Windows machine.
const (
	EncodingAuto        Encoding = "auto"
	EncodingUTF8        Encoding = "utf-8"
	EncodingWindows1252 Encoding = "windows-1252"
)

// ParseEncoding reads an --encoding value.
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.ReplaceAll(s, "_", "-")) {
	case "", "auto":
		return EncodingAuto, nil
	case "utf-8", "utf8":
		return EncodingUTF8, nil
	case "windows-1252", "cp1252", "latin1", "latin-1", "iso-8859-1":
		return EncodingWindows1252, nil
	}
	return "", fmt.Errorf("unknown encoding %q: use auto, utf-8 or windows-1252", s)
}

// sourceFile is an opened import file: its detected encoding, size and SHA-256.
type sourceFile struct {
	f        *os.File
	size     int64
	sha256   string
	encoding Encoding
}

// openSource opens path and reads it once to hash it and, for EncodingAuto, to check
// whether it is valid UTF-8. The file must be seekable (a regular file).
func openSource(path string, enc Encoding) (*sourceFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	h := sha256.New()
	v := utf8Validator{}
	buf := make([]byte, 256<<10)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			if enc == EncodingAuto {
				v.Write(buf[:n])
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			f.Close()
			return nil, err
		}
	}
	if enc == EncodingAuto {
		enc = EncodingUTF8
		if !v.Valid() {
			enc = EncodingWindows1252
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return &sourceFile{f: f, size: st.Size(), sha256: hex.EncodeToString(h.Sum(nil)), encoding: enc}, nil
}

// reader returns the file's text as UTF-8 without a byte-order mark, counting the raw
// bytes consumed into *done for progress reporting.
func (s *sourceFile) reader(done *countingReader) io.Reader {
	done.r = s.f
	br := bufio.NewReaderSize(done, 256<<10)
	if s.encoding == EncodingWindows1252 {
		return charmap.Windows1252.NewDecoder().Reader(br)
	}
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte{0xEF, 0xBB, 0xBF}) {
		_, _ = br.Discard(3)
	}
	return br
}

// records reads the file again from the start and returns the records that begin on
// the given lines, each with its problem.
func (s *sourceFile) records(problems map[int]string) ([]rawRecord, error) {
	if len(problems) == 0 {
		return nil, nil
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	cr := NewCSVReader("", s.reader(&countingReader{}))
	var out []rawRecord
	for first := true; len(out) < len(problems); first = false {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		if p, ok := problems[line]; ok && !first {
			out = append(out, rawRecord{line: line, fields: rec, problem: p})
		}
	}
	return out, nil
}

// countingReader counts bytes read so progress can be told against the file size.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// utf8Validator checks a byte stream in chunks, carrying a rune split across chunks.
type utf8Validator struct {
	carry   []byte
	invalid bool
}

func (v *utf8Validator) Write(p []byte) {
	if v.invalid {
		return
	}
	if len(v.carry) > 0 {
		need := 4 - len(v.carry)
		if need > len(p) {
			need = len(p)
		}
		joined := append(append([]byte{}, v.carry...), p[:need]...)
		r, size := utf8.DecodeRune(joined)
		if r == utf8.RuneError && size <= 1 {
			if utf8.FullRune(joined) {
				v.invalid = true
				return
			}
			v.carry = joined
			return
		}
		p = p[size-len(v.carry):]
		v.carry = nil
	}
	// Hold back an incomplete rune at the end of the chunk.
	tail := 0
	for i := len(p) - 1; i >= 0 && i >= len(p)-3; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				tail = len(p) - i
			}
			break
		}
	}
	if !utf8.Valid(p[:len(p)-tail]) {
		v.invalid = true
		return
	}
	if tail > 0 {
		v.carry = append([]byte{}, p[len(p)-tail:]...)
	}
}

func (v *utf8Validator) Valid() bool { return !v.invalid && len(v.carry) == 0 }

// sortInputErrors orders problems by line then column, as a person reads the file.
func sortInputErrors(errs []*InputError) {
	sort.Slice(errs, func(i, j int) bool {
		if errs[i].Line != errs[j].Line {
			return errs[i].Line < errs[j].Line
		}
		return errs[i].Col < errs[j].Col
	})
}
