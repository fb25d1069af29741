package web

// The uploaded CSV before it is imported: its name, where it is kept, what is wrong
// with it in the officer's words.

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/crierhq/crier/internal/contact"
)

// importProblemChars bounds one problem as the report shows it (and keeps it): a
// problem can quote a cell of up to 64 KB.
const importProblemChars = 300

// importProblems writes the bad rows as `crier contacts import` does: one line per
// problem, "file:line:column (Header): reason", in file order, under a count.
func importProblems(errs []*contact.InputError, word string) ([]string, string) {
	errs = slices.Clone(errs)
	slices.SortStableFunc(errs, func(a, b *contact.InputError) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = contact.Shorten(e.Error(), importProblemChars)
	}
	note := fmt.Sprintf("1 problem (%s rows)", word)
	if len(errs) != 1 {
		note = fmt.Sprintf("%d problems (%s rows)", len(errs), word)
	}
	return out, note
}

// importFileName is the file name the browser gave, reduced to a plain base name (it
// names the file in the report, the audit trail and consent sources).
func importFileName(raw string) string {
	if i := strings.LastIndexAny(raw, `/\`); i >= 0 {
		raw = raw[i+1:]
	}
	raw = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, raw)
	raw = strings.TrimSpace(raw)
	if utf8.RuneCountInString(raw) > 100 {
		raw = string([]rune(raw)[:100])
	}
	if raw == "" || raw == "." || raw == ".." {
		return "upload.csv"
	}
	return raw
}

// importSave writes the upload src to path.
func importSave(path string, src io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("save upload: %w", err)
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return fmt.Errorf("save upload: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save upload: %w", err)
	}
	return nil
}

// importCheck looks at the file's first line before it is imported and returns, in
// words for the officer, what makes the whole file unusable ("" when nothing does): it
// is empty, a workbook rather than CSV, its header is not CSV, two columns hold the same
// field, or no column can reach anybody. (The importer refuses the same files, but its
// messages suggest command-line flags, and it can't tell them apart from failures.)
func importCheck(path, name string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("check upload: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	head, err := br.Peek(8)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("check upload: %w", err)
	}
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0}) {
		return name + " is a spreadsheet workbook, not a CSV file. In your spreadsheet choose Save As, pick “CSV UTF-8 (Comma delimited)” and import that file.", nil
	}
	if bytes.HasPrefix(head, []byte("\xEF\xBB\xBF")) {
		_, _ = br.Discard(3)
	}
	cr := contact.NewCSVReader(name, br) // bounded: the first line may be the whole file
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return name + " is empty. Its first line must name the columns, for example: First name, Surname, Email, Mobile, Street, Postcode.", nil
	}
	var tooLong *contact.InputError
	if errors.As(err, &tooLong) {
		what := fmt.Sprintf("is over %d MB long", contact.MaxRecordBytes>>20)
		if tooLong.Col > 0 {
			what = fmt.Sprintf("has a column name over %d KB long", contact.MaxFieldBytes>>10)
		}
		return fmt.Sprintf("The first line of %s, which names the columns, %s. A stray quote (\") may have joined many lines into one, or this is not a CSV file. Nothing was imported.", name, what), nil
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("The first line of %s, which names the columns, is not valid CSV (line %d, column %d: %v).", name, pe.StartLine, pe.Column, pe.Err), nil
	}
	if err != nil {
		return "", fmt.Errorf("check upload: %w", err)
	}
	for i, h := range header {
		if !utf8.ValidString(h) { // the importer reads such a file as Windows-1252
			if dec, err := charmap.Windows1252.NewDecoder().String(h); err == nil {
				header[i] = dec
			}
		}
	}
	cols, err := contact.MapHeader(header, nil)
	if err != nil {
		seen := map[contact.Field]string{}
		for _, h := range header {
			one, err := contact.MapHeader([]string{h}, nil)
			if err != nil || one[0].Field == contact.FieldIgnore {
				continue
			}
			h = strings.TrimSpace(h)
			if prev, dup := seen[one[0].Field]; dup {
				return fmt.Sprintf("The columns %q and %q of %s would both be read as %s. Rename or remove one of them and import again.",
					prev, h, name, importFieldWords(one[0].Field)), nil
			}
			seen[one[0].Field] = h
		}
		return fmt.Sprintf("The columns of %s can't be read: %v.", name, err), nil
	}
	for _, c := range cols {
		switch c.Field {
		case contact.FieldEmail, contact.FieldMobile, contact.FieldPhone, contact.FieldStreet,
			contact.FieldAddressLine1, contact.FieldAddressLine2, contact.FieldAddressLine3, contact.FieldAddressLine4:
			return "", nil
		}
	}
	return fmt.Sprintf("No column of %s holds an email address, a phone number, a street or an address, so nobody in it could be reached. "+
		"Check the first line: columns are recognised by names such as Email, Mobile, Phone, Address line 1, Street and Postcode.", name), nil
}

// importFieldWords names a field for officers.
func importFieldWords(f contact.Field) string {
	if a, ok := strings.CutPrefix(string(f), string(contact.FieldAttr)); ok {
		return "the extra detail “" + a + "”"
	}
	return strings.ReplaceAll(string(f), "_", " ")
}
