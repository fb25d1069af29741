package campaign

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/crierhq/crier/internal/reply"
)

// fileFront is the front matter of a campaign file.
type fileFront struct {
	Name         string      `yaml:"name"`
	Topic        string      `yaml:"topic"`
	Purpose      string      `yaml:"purpose"`
	Strategy     string      `yaml:"strategy"`
	Channels     []string    `yaml:"channels"`
	Segment      string      `yaml:"segment"`
	Languages    []string    `yaml:"languages"`
	Bilingual    bool        `yaml:"bilingual"`
	Subject      langText    `yaml:"subject"`
	SMS          langText    `yaml:"sms"`
	LeafletTitle langText    `yaml:"leaflet_title"`
	LeafletBody  langText    `yaml:"leaflet_body"`
	SenderName   string      `yaml:"sender_name"`
	SenderEmail  string      `yaml:"sender_email"`
	ReplyTo      string      `yaml:"reply_to"`
	Urgent       bool        `yaml:"urgent"`
	SendAt       string      `yaml:"send_at"`    // "2026-12-01 09:00", London time
	Recurrence   string      `yaml:"recurrence"` // cron, London time
	Poll         *reply.Poll `yaml:"poll"`
}

// Definition is a campaign read from a reviewable file, plus the names it refers to.
type Definition struct {
	Campaign Campaign
	Topic    string // topic slug
	Segment  string // segment name or id; "" = everyone
	// Lines are where the campaign's texts are in the file, so that a problem found in
	// one of them later (a merge field) can name the file's line, not the text's.
	Lines FileLines
	// langLines are the lines of each language's texts, for a file in several languages.
	langLines map[string]FileLines
}

// FileLines are the file lines (1-based) where the texts of a campaign file start; 0 for a
// text the file does not hold. For a text in the front matter it is the line its value
// starts on (the line after "|" for a block).
type FileLines struct {
	Body         int // the Markdown's first line that is not blank: its line 1
	Subject      int
	SMS          int
	LeafletTitle int
	LeafletBody  int // the Markdown's first line when the leaflet prints the Markdown
}

// LinesFor returns the lines of language code's texts: Lines for a file in one language.
func (d *Definition) LinesFor(code string) FileLines {
	if v, ok := d.langLines[code]; ok {
		return v
	}
	return d.Lines
}

// checkText refuses bytes PostgreSQL can't store as text (NUL, or bytes that are not
// UTF-8), naming the first one's line and column so the officer can find it.
func checkText(data []byte) error {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return fmt.Errorf("%d:%d: byte 0x%02x is not UTF-8: save the file as UTF-8 (in most editors: Save as, Encoding UTF-8)", line, col, data[i])
		case r == 0:
			return fmt.Errorf("%d:%d: the file holds a NUL byte, which can't be stored: remove it", line, col)
		case r == '\n':
			line, col = line+1, 0
		}
		i += size
		col++
	}
	return nil
}

// Line returns the file line of line n (1-based) of start's text; 0 if start is 0.
func (l FileLines) Line(start, n int) int {
	if start == 0 {
		return 0
	}
	return start + max(n, 1) - 1
}

// ParseFile reads a campaign written as Markdown with YAML front matter:
//
//	---
//	name: Bin collection changes
//	purpose: service
//	channels: [email, sms, post]
//	segment: Millbrook
//	subject: Your bin day is changing, {{first_name}}
//	sms: "Hi {{first_name}}, your bin day changes to Tuesday from 6 January."
//	send_at: 2026-12-01 09:00
//	---
//	# Your bin day is changing
//	...
//
// The Markdown is the e-bulletin's body (and the leaflet's, unless leaflet_body is
// given). Errors name the file and, for YAML, the line.
func ParseFile(name string, data []byte) (*Definition, error) {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	if err := checkText(data); err != nil {
		return nil, fmt.Errorf("%s:%w", name, err)
	}
	text := string(data)
	if !strings.HasPrefix(text, "---\n") {
		return nil, fmt.Errorf("%s:1: a campaign file starts with front matter between --- lines (name, purpose, channels, ...)", name)
	}
	end := strings.Index(text[4:], "\n---")
	if end < 0 {
		return nil, fmt.Errorf("%s: the front matter has no closing --- line", name)
	}
	front, body := text[4:4+end], strings.TrimPrefix(text[4+end+4:], "\n")
	var f fileFront
	dec := yaml.NewDecoder(strings.NewReader(front))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		// yaml counts lines within the front matter, which starts on line 2 of the file.
		return nil, fmt.Errorf("%s: front matter: %w", name, &shiftedError{err: err, by: 1})
	}
	d := &Definition{Topic: f.Topic, Segment: f.Segment}
	bodyStart := 1 + strings.Count(text[:len(text)-len(body)], "\n") // the file line body starts on
	at := frontLines(front)
	c := &d.Campaign
	c.Name, c.Purpose, c.Strategy, c.ChannelOrder = f.Name, f.Purpose, f.Strategy, f.Channels
	if err := f.languages(name, front); err != nil {
		return nil, err
	}
	bodies, err := splitLanguages(name, body, bodyStart, f.Languages)
	if err != nil {
		return nil, err
	}
	langs := f.Languages
	if len(langs) == 0 {
		langs = []string{""}
	}
	for _, code := range langs {
		b := bodies[code]
		cn := Content{EmailSubject: f.Subject.in(code), EmailBody: strings.TrimSpace(b.text), SMSBody: f.SMS.in(code),
			LeafletTitle: f.LeafletTitle.in(code), LeafletBody: f.LeafletBody.in(code)}
		l := FileLines{Body: b.line, Subject: f.Subject.lineOf(code, at["subject"]), SMS: f.SMS.lineOf(code, at["sms"]),
			LeafletTitle: f.LeafletTitle.lineOf(code, at["leaflet_title"]), LeafletBody: f.LeafletBody.lineOf(code, at["leaflet_body"])}
		if cn.LeafletBody == "" && cn.LeafletTitle != "" {
			cn.LeafletBody, l.LeafletBody = cn.EmailBody, l.Body
		}
		if len(f.Channels) > 0 && !slices.Contains(f.Channels, "email") && cn.EmailSubject == "" {
			cn.EmailBody, l.Body = "", 0 // a campaign without e-bulletins: the Markdown is the leaflet's
		}
		if code == langs[0] {
			c.EmailSubject, c.EmailBody, c.SMSBody, c.LeafletTitle, c.LeafletBody =
				cn.EmailSubject, cn.EmailBody, cn.SMSBody, cn.LeafletTitle, cn.LeafletBody
			d.Lines = l
		}
		if len(langs) > 1 {
			if code != langs[0] {
				if c.Variants == nil {
					c.Variants = map[string]Content{}
				}
				c.Variants[code] = cn
			}
			if d.langLines == nil {
				d.langLines = map[string]FileLines{}
			}
			d.langLines[code] = l
		}
	}
	if err := checkListedChannels(name, at["channels"], f.Channels, c); err != nil {
		return nil, err
	}
	c.Languages, c.Bilingual = f.Languages, f.Bilingual
	c.SenderName, c.SenderEmail, c.ReplyTo, c.Urgent, c.Poll = f.SenderName, f.SenderEmail, f.ReplyTo, f.Urgent, f.Poll
	if c.Strategy == "" {
		c.Strategy = "best"
	}
	if len(c.ChannelOrder) == 0 {
		c.ChannelOrder = []string{"email", "sms", "post"}
	}
	c.ScheduleKind = "once"
	if f.Recurrence != "" {
		c.ScheduleKind, c.Recurrence = "recurring", f.Recurrence
	}
	if f.SendAt != "" {
		t, err := ParseLocal(f.SendAt)
		if err != nil {
			return nil, fmt.Errorf("%s: send_at: %w", name, err)
		}
		c.SendAt = &t
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return d, nil
}

// checkListedChannels refuses a file whose channels: list names a channel it has no
// content for: the officer asked for texts or leaflets, and dropping them silently would
// leave residents without (see Campaign.Channels).
func checkListedChannels(name string, line int, listed []string, c *Campaign) error {
	var errs []error
	for _, ch := range listed {
		var missing string
		switch {
		case ch == "email" && strings.TrimSpace(c.EmailSubject) == "":
			missing = "no subject: — add subject: \"…\" to the front matter"
		case ch == "email" && strings.TrimSpace(c.EmailBody) == "":
			missing = "no body for the e-bulletin — write it below the front matter"
		case ch == "sms" && strings.TrimSpace(c.SMSBody) == "":
			missing = "no sms: text — add sms: \"…\" to the front matter"
		case ch == "post" && strings.TrimSpace(c.LeafletBody) == "":
			missing = "no leaflet — add leaflet_title: (the leaflet then carries the body) or leaflet_body:"
		default:
			continue
		}
		errs = append(errs, fmt.Errorf("channels lists %s, but the file has %s, or take %s out of channels", ch, missing, ch))
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s:%d: %w: %w", name, line, ErrInvalid, errors.Join(errs...))
}

// ParseLocal reads a date and time as written in the UK ("2026-12-01 09:00"), in London
// time, DST-correct.
func ParseLocal(s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02 15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, strings.TrimSpace(s), London); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time like 2026-12-01 09:00 (London time)", s)
}

// frontLines returns the file line where the value of each top-level key of the front
// matter starts. The front matter starts on line 2 of the file.
func frontLines(front string) map[string]int {
	out := map[string]int{}
	var doc yaml.Node
	if yaml.Unmarshal([]byte(front), &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return out // decoded already, so not reached
	}
	m := doc.Content[0].Content
	for i := 0; i+1 < len(m); i += 2 {
		v := m[i+1]
		line := v.Line + 1
		if v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
			line++ // the text starts on the line after "|" or ">"
		}
		out[m[i].Value] = line
	}
	return out
}

// shiftedError is a yaml error with its "line N"s moved by lines, so that they count
// from the top of the file; it unwraps to the original.
type shiftedError struct {
	err error
	by  int
}

var yamlLineRE = regexp.MustCompile(`\bline (\d+)\b`)

func (e *shiftedError) Error() string {
	return yamlLineRE.ReplaceAllStringFunc(e.err.Error(), func(m string) string {
		n, _ := strconv.Atoi(strings.TrimPrefix(m, "line "))
		return "line " + strconv.Itoa(n+e.by)
	})
}

func (e *shiftedError) Unwrap() error { return e.err }
