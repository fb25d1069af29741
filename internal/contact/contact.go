// Package contact holds residents and the ways to reach them: contacts, contact points
// (email, phone, postal address), households, consent history, normalisation, and CSV
// import and export.
package contact

import (
	"errors"
	"fmt"
	"time"
)

// ErrNotFound is returned when a contact does not exist.
var ErrNotFound = errors.New("not found")

// Contact is one resident.
type Contact struct {
	ID                 int64     `db:"id"`
	FirstName          string    `db:"first_name"`
	LastName           string    `db:"last_name"`
	PreferredLanguage  string    `db:"preferred_language"`
	LargePrint         bool      `db:"large_print"`
	Ward               string    `db:"ward"`
	HouseholdID        *int64    `db:"household_id"`
	CreatedAt          time.Time `db:"created_at"`
	UpdatedAt          time.Time `db:"updated_at"`
	Tags               []string  `db:"-"`
	AttributesJSON     []byte    `db:"attributes"`
	AccessibilityNeeds []string  `db:"-"`
}

// LogValue keeps personal data out of logs: a contact logs as its ID only.
func (c Contact) LogValue() string { return fmt.Sprintf("contact#%d", c.ID) }

// Point is one way to reach a contact.
type Point struct {
	ID        int64   `db:"id"`
	ContactID int64   `db:"contact_id"`
	Kind      string  `db:"kind"`  // email, phone, postal
	Value     string  `db:"value"` // email address, E.164 number, or '' for postal
	AddressID *int64  `db:"address_id"`
	PhoneType *string `db:"phone_type"`
	Fictional bool    `db:"fictional"`
	Status    string  `db:"status"`
	// Consent is the current consent state for the topic asked about ('' when none).
	Consent string `db:"consent"`
}

// ConsentRecord is one entry of a contact point's consent history.
type ConsentRecord struct {
	ID         int64     `db:"id"`
	PointID    int64     `db:"contact_point_id"`
	Topic      string    `db:"topic"`   // "" for a decision about every topic (STOP, START, unsubscribe from everything)
	Keyword    string    `db:"keyword"` // "stop" or "start" for those keywords, else ""
	Status     string    `db:"status"`
	Source     string    `db:"source"`
	RecordedAt time.Time `db:"recorded_at"`
}

// InputError is a problem with one value of an input file, named by place:
// "residents.csv:14:3 (Mobile): "0770" is too short for a UK phone number".
type InputError struct {
	File  string
	Line  int    // 1-based line in the file; the header is line 1
	Col   int    // 1-based column; 0 when the problem is the whole row
	Field string // the column header as written in the file
	Value string
	Err   error
}

func (e *InputError) Error() string {
	place := fmt.Sprintf("%s:%d", e.File, e.Line)
	if e.Col > 0 {
		place += fmt.Sprintf(":%d", e.Col)
	}
	if e.Field != "" {
		place += " (" + Shorten(e.Field, 60) + ")"
	}
	return place + ": " + e.Err.Error()
}

// Shorten returns s cut to at most n characters, with an ellipsis where it was cut: a
// header or cell can be 64 KB (MaxFieldBytes), which no message or page should repeat.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for i := range s {
		if n == 0 {
			return s[:i] + "…"
		}
		n--
	}
	return s
}

// Unwrap lets errors.Is(err, contact.ErrInvalid) see through the place.
func (e *InputError) Unwrap() error { return e.Err }
