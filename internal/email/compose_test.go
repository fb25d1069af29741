package email_test

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/outbox"
)

// A new e-bulletin's preference link is issued now; "view in browser" shows the copy as
// it was sent, with the link issued then, so an old or forwarded e-bulletin can't be
// used to get a fresh one.
func TestPreferenceLinksCarryTheirIssueDay(t *testing.T) {
	d := dbtest.New(t)
	signer, err := email.NewSigner(bytes.Repeat([]byte("s"), 32))
	if err != nil {
		t.Fatal(err)
	}
	var topicID, campaignID, runID, contactID, pointID, outboxID int64
	d.Get(&topicID, `SELECT id FROM topics WHERE slug = 'general'`)
	d.Get(&campaignID, `INSERT INTO campaigns (name, topic_id, purpose, email_subject, email_body)
		VALUES ('Bins', $1, 'marketing', 'Bin day', 'Your bin day is changing.') RETURNING id`, topicID)
	d.Get(&runID, `INSERT INTO campaign_runs (campaign_id, scheduled_for) VALUES ($1, now()) RETURNING id`, campaignID)
	d.Get(&contactID, `INSERT INTO contacts (first_name) VALUES ('Ada') RETURNING id`)
	d.Get(&pointID, `INSERT INTO contact_points (contact_id, kind, value) VALUES ($1, 'email', 'ada@example.org') RETURNING id`, contactID)
	sent := time.Now().AddDate(0, 0, -200)
	if err := d.Get(&outboxID, `INSERT INTO outbox (run_id, campaign_id, contact_id, contact_point_id, channel, state, sent_at)
		VALUES ($1, $2, $3, $4, 'email', 'sent', $5) RETURNING id`, runID, campaignID, contactID, pointID, sent); err != nil {
		t.Fatal(err)
	}
	c := email.NewComposer(d, email.ComposerConfig{PublicURL: "https://crier.example", FromAddress: "news@crier.example",
		ListDomain: "crier.example", Signer: signer})
	prefs := regexp.MustCompile(`https://crier\.example/p/([^\s"<>)\]]+)`)
	issued := func(what, text string) time.Time {
		t.Helper()
		m := prefs.FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("%s: no preference link in\n%s", what, text)
		}
		id, at, err := signer.VerifyPreferences(m[1])
		if err != nil || id != contactID {
			t.Fatalf("%s: token %q names contact %d (%v), want %d", what, m[1], id, err, contactID)
		}
		return at
	}
	day := func(t time.Time) string { return t.UTC().Format(time.DateOnly) }

	msgs, _, err := c.Compose(t.Context(), []outbox.Item{{ID: outboxID, RunID: runID, CampaignID: campaignID, ContactID: contactID,
		ContactPointID: pointID, Channel: "email", To: "ada@example.org"}})
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Compose = %d messages, %v", len(msgs), err)
	}
	if got := issued("new e-bulletin", msgs[0].Text); day(got) != day(time.Now()) {
		t.Errorf("a new e-bulletin's preference link was issued %s, want today", day(got))
	}
	out, err := c.RenderOne(t.Context(), outboxID)
	if err != nil {
		t.Fatal(err)
	}
	if got := issued("view in browser", out.HTML); day(got) != day(sent) {
		t.Errorf("view in browser's preference link was issued %s, want the day it was sent, %s", day(got), day(sent))
	}
}
