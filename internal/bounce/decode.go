package bounce

import (
	"encoding/base64"
	"io"
	"mime/quotedprintable"
)

func newQPReader(r io.Reader) io.Reader { return quotedprintable.NewReader(r) }

// newBase64Reader decodes base64 whose lines end in CRLF or LF.
func newBase64Reader(r io.Reader) io.Reader {
	return base64.NewDecoder(base64.StdEncoding, stripNewlines{r})
}

type stripNewlines struct{ r io.Reader }

func (s stripNewlines) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	j := 0
	for _, b := range p[:n] {
		if b != '\r' && b != '\n' && b != ' ' && b != '\t' {
			p[j] = b
			j++
		}
	}
	if j == 0 && n > 0 && err == nil {
		return s.Read(p)
	}
	return j, err
}
