package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/cli"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// TestCampaignCommandsSayWhatTheyDid walks the campaign commands an officer types, with
// the mistakes officers make: each command's --help shows only its own flags; a file
// asking for channels it has no text for is refused, naming what to add; a send time in
// the past is refused with what to do instead; rescheduling says how; pause, resume and
// cancel say what they did; a misspelt campaign name gets a did-you-mean.
func TestCampaignCommandsSayWhatTheyDid(t *testing.T) {
	_, dsn := dbtest.NewURL(t)
	dir := t.TempDir()

	if r := crier(t, dsn, "--version"); r.code != 0 || !strings.HasPrefix(r.stdout, "crier ") {
		t.Errorf("--version: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := crier(t, dsn, "help"); !strings.Contains(r.stdout, "CRIER_SMTP_URL") || !strings.Contains(r.stdout, "CRIER_TWILIO_ACCOUNT_SID") {
		t.Errorf("the top-level help does not list the SMTP and Twilio settings:\n%s", r.stdout)
	}
	r := crier(t, dsn, "campaign", "status", "--help")
	if r.code != 0 || !strings.Contains(r.stderr, "-watch") || strings.Contains(r.stderr, "-at ") {
		t.Errorf("campaign status --help shows another command's flags (or not its own):\n%s", r.stderr)
	}
	if r := crier(t, dsn, "campaign", "shedule", "1"); r.code != cli.ExitUsage || !strings.Contains(r.stderr, `did you mean "schedule"`) {
		t.Errorf("a misspelt command: %d\n%s", r.code, r.stderr)
	}

	csv := filepath.Join(dir, "people.csv")
	os.WriteFile(csv, []byte("First name,Surname,Email,Mobile,Ward\nAda,Lovelace,ada@example.org,07700 900123,Castle\n"), 0o600)
	if r := crier(t, dsn, "contacts", "import", csv); r.code != 0 {
		t.Fatalf("import: %d\n%s", r.code, r.stderr)
	}
	// The campaign file example (docs/campaigns.md): three channels, content for one.
	file := filepath.Join(dir, "bins.md")
	os.WriteFile(file, []byte("---\nname: Bin collection changes\npurpose: service\nchannels: [email, sms, post]\n"+
		"subject: \"{{first_name}}, your bin day is changing\"\n---\n# Your bin day is changing\n\nFrom January we collect on a Tuesday.\n"), 0o600)
	r = crier(t, dsn, "campaign", "create", file)
	if r.code != cli.ExitData || !strings.Contains(r.stderr, "bins.md:4") || !strings.Contains(r.stderr, "channels lists sms, but the file has no sms: text") ||
		!strings.Contains(r.stderr, "channels lists post, but the file has no leaflet") {
		t.Fatalf("channels without content: %d\n%s", r.code, r.stderr)
	}
	past := time.Now().AddDate(0, -1, 0).In(campaign.London).Format("2006-01-02 15:04")
	os.WriteFile(file, []byte("---\nname: Bin collection changes\npurpose: service\nchannels: [email, sms]\n"+
		"subject: \"{{first_name}}, your bin day is changing\"\nsms: \"Your bin day changes to Tuesday.\"\nsend_at: "+past+"\n---\n# Your bin day is changing\n\nFrom January we collect on a Tuesday.\n"), 0o600)
	r = crier(t, dsn, "campaign", "create", file)
	if r.code != 0 || !strings.Contains(r.stdout, "(channels: email, sms)") || !strings.Contains(r.stderr, "is in the past") {
		t.Fatalf("create with a past send_at: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := crier(t, dsn, "campaign", "schedule", "Bin collection changes"); r.code != cli.ExitUsage || !strings.Contains(r.stderr, "is in the past") ||
		!strings.Contains(r.stderr, "crier campaign send") {
		t.Errorf("scheduling at a past send_at: %d\n%s", r.code, r.stderr)
	}
	if r := crier(t, dsn, "campaign", "schedule", "1", "--at", past); r.code != cli.ExitUsage || !strings.Contains(r.stderr, "is in the past") {
		t.Errorf("--at in the past: %d\n%s", r.code, r.stderr)
	}
	future := time.Now().AddDate(0, 0, 7).In(campaign.London).Format("2006-01-02") + " 09:00"
	if r := crier(t, dsn, "campaign", "schedule", "1", "--at", future); r.code != 0 || !strings.Contains(r.stdout, "scheduled for") {
		t.Fatalf("schedule next week: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = crier(t, dsn, "campaign", "schedule", "1", "--at", future)
	if r.code != cli.ExitData || !strings.Contains(r.stderr, "already scheduled for 09:00") || !strings.Contains(r.stderr, "crier campaign pause 1, then crier campaign schedule 1") {
		t.Errorf("rescheduling: %d\n%s", r.code, r.stderr)
	}
	for _, step := range []struct{ cmd, says string }{
		{"pause", "paused: nothing more is sent until crier campaign resume 1"},
		{"resume", "resumed"},
		{"cancel", "cancelled: nothing more is sent"},
	} {
		// A paused campaign resumes to scheduled; schedule it again is not needed.
		if r := crier(t, dsn, "campaign", step.cmd, "1"); r.code != 0 || !strings.Contains(r.stdout, step.says) {
			t.Errorf("campaign %s: %d %q %q", step.cmd, r.code, r.stdout, r.stderr)
		}
	}
	if r := crier(t, dsn, "poll", "results", "bin collection change"); r.code != cli.ExitData || !strings.Contains(r.stderr, `did you mean "Bin collection changes"`) {
		t.Errorf("poll results with a misspelt name: %d\n%s", r.code, r.stderr)
	}
}
