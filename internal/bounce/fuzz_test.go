package bounce_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/bounce"
)

// addressLike is anything that still reads as an address: a word character either side of "@".
var addressLike = regexp.MustCompile(`\w@\w`)

// FuzzParseMail: whatever arrives in the mailbox, ParseMail returns events that are
// well formed (a known kind, the mailbox's sources, a reference) or an error, never
// panics, and gives the same answer twice (idempotence rests on stable references).
func FuzzParseMail(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.eml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\nA: b\r\n\r\nAction: failed\r\n--x--\r\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		evs, err := bounce.ParseMail(raw)
		again, err2 := bounce.ParseMail(raw)
		if (err == nil) != (err2 == nil) || len(evs) != len(again) {
			t.Fatalf("not deterministic: %v %v / %v %v", evs, err, again, err2)
		}
		if err != nil && !errors.Is(err, bounce.ErrNotReport) {
			t.Fatalf("error %v is not ErrNotReport", err)
		}
		for i, e := range evs {
			if e.Kind != bounce.Hard && e.Kind != bounce.Soft && e.Kind != bounce.Complaint {
				t.Errorf("kind %q", e.Kind)
			}
			if e.Source != bounce.SourceDSN && e.Source != bounce.SourceARF {
				t.Errorf("source %q", e.Source)
			}
			if strings.TrimSpace(e.Ref) == "" || e.Ref != again[i].Ref {
				t.Errorf("ref %q / %q", e.Ref, again[i].Ref)
			}
			if s := bounce.Scrub(e.Diagnostic); addressLike.MatchString(s) {
				t.Errorf("Scrub kept an address: %q", s)
			}
		}
	})
}
