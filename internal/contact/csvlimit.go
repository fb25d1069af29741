package contact

import (
	"bytes"
	"encoding/csv"
	"io"
)

// The longest field and row an import reads. encoding/csv has no limit of its own: it
// holds a whole line, then a whole record, in memory (several copies of it), so one stray
// quote in a 200 MB file — which joins every line after it into one field — or a file
// that is one 60 MB line took the server to about 1 GB. The longest real field is an
// address or delivery note of a few hundred bytes, so 64 KB is a hundred times that; a
// row of 1 MB fits hundreds of such columns. Nothing real comes near either.
const (
	MaxFieldBytes  = 64 << 10
	MaxRecordBytes = 1 << 20
)

// NewCSVReader returns a CSV reader over r (UTF-8 text) that stops, with an *InputError
// naming the line, at a field longer than MaxFieldBytes or a row longer than
// MaxRecordBytes, before encoding/csv has read it into memory.
func NewCSVReader(file string, r io.Reader) *csv.Reader {
	cr := csv.NewReader(&limitReader{r: r, file: file, line: 1, recLine: 1, field: 1})
	cr.FieldsPerRecord = -1
	return cr
}

// limitReader follows the CSV quoting of what it passes on (a quote toggles "inside
// quotes", so a doubled quote toggles twice) to know where each field and row begins,
// and counts their bytes. It runs ahead of the csv.Reader reading it, so it hands over
// every byte before the one that crosses a limit and only then returns the error: every
// complete row before the long one is read as usual.
type limitReader struct {
	r    io.Reader
	file string

	line    int // the line of the next byte
	recLine int // the line the current row starts on
	field   int // the current field's number in its row, from 1
	recN    int
	fieldN  int
	quoted  bool
	err     error
}

const csvSpecials = "\",\n"

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	n, err := l.r.Read(p)
	for i := 0; i < n; {
		run := bytes.IndexAny(p[i:n], csvSpecials)
		if run < 0 {
			run = n - i
		}
		l.recN += run
		l.fieldN += run
		if l.over() {
			return l.stop(i)
		}
		i += run
		if i == n {
			break
		}
		l.recN++
		l.fieldN++
		switch p[i] {
		case '"':
			l.quoted = !l.quoted
		case ',':
			if !l.quoted {
				l.field++
				l.fieldN = 0
			}
		case '\n':
			l.line++
			if !l.quoted {
				l.recLine, l.field, l.recN, l.fieldN = l.line, 1, 0, 0
			}
		}
		if l.over() {
			return l.stop(i)
		}
		i++
	}
	return n, err
}

func (l *limitReader) over() bool { return l.fieldN > MaxFieldBytes || l.recN > MaxRecordBytes }

// stop records why the file can't be read on and hands over the n bytes before the
// long field (all of them in the row it is in, so the rows before it are complete).
func (l *limitReader) stop(n int) (int, error) {
	const hint = `: a stray quote (") may have joined many lines into one field, so nothing was imported`
	if l.fieldN > MaxFieldBytes {
		l.err = &InputError{File: l.file, Line: l.recLine, Col: l.field,
			Err: invalidf("this field is over %d KB long%s", MaxFieldBytes>>10, hint)}
	} else {
		l.err = &InputError{File: l.file, Line: l.recLine,
			Err: invalidf("this line is over %d MB long%s", MaxRecordBytes>>20, hint)}
	}
	if n == 0 {
		return 0, l.err
	}
	return n, nil
}
