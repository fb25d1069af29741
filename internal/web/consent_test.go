package web_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/outbox"
)

// The consent defects of issue 11 on the real SMS path: twilio-go, the Twilio sandbox,
// the signed webhooks, the dispatcher and the outbox. Each of these failed before the
// consent ledger.

// rigConsent is the current status of number's consent for topic ("" for none).
func (r *smsRig) consent(t *testing.T, number, topic string) string {
	t.Helper()
	var st []string
	if err := r.db.Select(&st, `SELECT cc.status FROM current_consents cc
		JOIN contact_points cp ON cp.id = cc.contact_point_id JOIN topics t ON t.id = cc.topic_id
		WHERE cp.kind = 'phone' AND cp.value = $1 AND t.slug = $2`, number, topic); err != nil {
		t.Fatal(err)
	}
	if len(st) == 0 {
		return ""
	}
	return st[0]
}

func (r *smsRig) topic(t *testing.T, slug string) {
	t.Helper()
	if _, err := r.db.Exec(`INSERT INTO topics (slug, name) VALUES ($1, $1)`, slug); err != nil {
		t.Fatal(err)
	}
}

// webWithdrawal records, as the preference centre does, that number's resident turned
// topic off on the web.
func (r *smsRig) webWithdrawal(t *testing.T, number, topic string) {
	t.Helper()
	if _, err := r.db.Exec(`INSERT INTO consents (contact_point_id, topic_id, status, source, detail)
		SELECT cp.id, t.id, 'withdrawn', 'web', 'preference centre' FROM contact_points cp, topics t
		 WHERE cp.kind = 'phone' AND cp.value = $1 AND t.slug = $2`, number, topic); err != nil {
		t.Fatal(err)
	}
}

// marketing sends a marketing text about topic to everyone and waits for it to settle.
func (r *smsRig) marketing(t *testing.T, topic string, settled int) map[string][2]string {
	t.Helper()
	c := &campaign.Campaign{Name: "Roadworks news", Purpose: "marketing", ChannelOrder: []string{"sms"},
		SMSBody: "Mill Lane reopens on Monday."}
	if err := r.campaigns.Create(t.Context(), c, topic, "officer"); err != nil {
		t.Fatal(err)
	}
	if err := r.campaigns.Schedule(t.Context(), c.ID, time.Time{}, "officer", nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the marketing campaign", r.settled(t, c.ID, settled))
	return r.states(t, c.ID)
}

// Defect 1: a START grants nothing the resident never granted.
func TestStartGrantsNothingNeverGiven(t *testing.T) {
	r := newSMSRig(t)
	r.topic(t, "roadworks") // Ben gave SMS consent for general news only
	const ben = "+447700900102"
	r.text(t, ben, "STOP")
	if got := r.consent(t, ben, "general"); got != "withdrawn" {
		t.Fatalf("after STOP, general news: %q", got)
	}
	if got := r.consent(t, ben, "roadworks"); got != "withdrawn" {
		t.Fatalf("after STOP, roadworks (never granted): %q, want withdrawn while the STOP stands", got)
	}
	r.text(t, ben, "START")
	if got := r.consent(t, ben, "general"); got != "granted" {
		t.Errorf("after START, general news: %q, want granted again", got)
	}
	if got := r.consent(t, ben, "roadworks"); got != "" {
		t.Errorf("after START, roadworks: %q, want nothing on record, as before the STOP", got)
	}
	// So marketing about roadworks passes him by: it reaches nobody, as nobody granted
	// it, and is refused when scheduled (before, a run suppressed every text).
	c := &campaign.Campaign{Name: "Roadworks news", Purpose: "marketing", ChannelOrder: []string{"sms"},
		SMSBody: "Mill Lane reopens on Monday."}
	if err := r.campaigns.Create(t.Context(), c, "roadworks", "officer"); err != nil {
		t.Fatal(err)
	}
	err := r.campaigns.Schedule(t.Context(), c.ID, time.Time{}, "officer", nil)
	if !errors.Is(err, campaign.ErrEmptyAudience) || !strings.Contains(err.Error(), "0 by text") ||
		!strings.Contains(err.Error(), "no consent for SMS (marketing)") {
		t.Errorf("marketing about roadworks after Ben's STOP, START: %v; want it refused, reaching nobody by text", err)
	}
}

// Defect 2: START after an opt-out the provider reported (21610 on a send, or an
// opted-out status callback) doesn't re-grant a topic withdrawn on the web.
func TestStartAfterProviderOptOutKeepsWebWithdrawals(t *testing.T) {
	r := newSMSRig(t)
	r.topic(t, "roadworks")
	const olly, ada = "+447700900003", "+447700900101" // Olly: the sandbox answers 21610
	for _, n := range []string{olly, ada} {
		if _, err := r.db.Exec(`INSERT INTO consents (contact_point_id, topic_id, status, source)
			SELECT cp.id, t.id, 'granted', 'test: import' FROM contact_points cp, topics t
			 WHERE cp.kind = 'phone' AND cp.value = $1 AND t.slug = 'roadworks'`, n); err != nil {
			t.Fatal(err)
		}
		r.webWithdrawal(t, n, "roadworks")
	}
	c := r.send(t, "Bin day", "Bin day moves to Tuesday.", nil, false)
	waitFor(t, "the campaign", r.settled(t, c.ID, 11))
	if got := r.states(t, c.ID)[olly]; got[0] != "failed" {
		t.Fatalf("Olly's text: %v, want failed with 21610", got)
	}
	if got := r.consent(t, olly, "general"); got != "withdrawn" {
		t.Fatalf("after 21610, Olly's general news: %q", got)
	}
	// Ada's delivered text comes back as opted out in a status callback.
	var sid string
	if err := r.db.Get(&sid, `SELECT o.provider_id FROM outbox o JOIN contact_points cp ON cp.id = o.contact_point_id
		WHERE o.campaign_id = $1 AND cp.value = $2`, c.ID, ada); err != nil {
		t.Fatal(err)
	}
	if _, err := r.outbox.RecordProviderStatus(t.Context(), outbox.ProviderStatus{ProviderID: sid, Status: "failed", Rank: 9,
		State: "failed", Reason: "21610: the recipient replied STOP to this sender", ErrorCode: 21610, PointStatus: "opted_out"}); err != nil {
		t.Fatal(err)
	}
	if got := r.consent(t, ada, "general"); got != "withdrawn" {
		t.Fatalf("after the opted-out callback, Ada's general news: %q", got)
	}
	for _, n := range []string{olly, ada} {
		r.text(t, n, "START")
		if got := r.consent(t, n, "general"); got != "granted" {
			t.Errorf("%s after START: general news %q, want granted again", n, got)
		}
		if got := r.consent(t, n, "roadworks"); got != "withdrawn" {
			t.Errorf("%s after START: roadworks %q, want still withdrawn (turned off on the web)", n, got)
		}
	}
}

// Defect 3: an officer's reply the provider refuses records what the refusal says of the
// number: 21610 is the resident's STOP, 21211 an invalid number.
func TestRefusedReplyRecordsOptOutAndInvalidNumber(t *testing.T) {
	r := newSMSRig(t)
	const olly, ivan = "+447700900003", "+447700900001" // the sandbox answers 21610 and 21211
	for _, n := range []string{olly, ivan} {
		r.text(t, n, "What time is the meeting?")
	}
	convs := map[string]int64{}
	for _, n := range []string{olly, ivan} {
		var id int64
		if err := r.db.Get(&id, `SELECT id FROM conversations WHERE phone = $1`, n); err != nil {
			t.Fatal(err)
		}
		convs[n] = id
	}
	if _, err := r.inbox.Reply(t.Context(), convs[olly], "officer.jo", "7pm at the library"); !errors.Is(err, dispatch.ErrOptedOut) {
		t.Fatalf("reply to Olly: %v, want the provider's opt-out", err)
	}
	if got := r.consent(t, olly, "general"); got != "withdrawn" {
		t.Errorf("after a refused reply (21610), Olly's general news: %q, want withdrawn", got)
	}
	if n := r.count(t, `SELECT count(*) FROM contact_points WHERE value = $1 AND status = 'opted_out'`, olly); n != 1 {
		t.Errorf("after 21610 Olly's number is not marked opted out")
	}
	if _, err := r.inbox.Reply(t.Context(), convs[ivan], "officer.jo", "7pm at the library"); !errors.Is(err, dispatch.ErrPermanent) {
		t.Fatalf("reply to Ivan: %v, want a permanent failure", err)
	}
	if n := r.count(t, `SELECT count(*) FROM contact_points WHERE value = $1 AND status = 'invalid'`, ivan); n != 1 {
		t.Errorf("after 21211 Ivan's number is not marked invalid")
	}
	// Neither number is texted by the next campaign.
	c := r.send(t, "Meeting moved", "The meeting moves to 8pm.", nil, false)
	waitFor(t, "the campaign", r.settled(t, c.ID, 11))
	states := r.states(t, c.ID)
	if states[olly][0] != "suppressed" || states[ivan][0] != "suppressed" {
		t.Errorf("the next campaign to Olly: %v, to Ivan: %v; want both suppressed", states[olly], states[ivan])
	}
}
