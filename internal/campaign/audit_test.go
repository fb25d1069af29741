package campaign_test

import (
	"context"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/db/dbtest"
)

// TestAuditEntriesCommitWithTheChange: a campaign change and its audit entry commit
// together. The new campaign's id is filled in, a change the store refuses leaves no
// entry, and an entry that can't be written undoes the change.
func TestAuditEntriesCommitWithTheChange(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	seedBorough(t, d, 50)
	cs := campaign.NewStore(d, nil)
	officer := func(action string) context.Context {
		return audit.Within(ctx, audit.Entry{Actor: "jo@council.example", Action: action, SubjectType: "campaign"})
	}
	entries := func() []audit.Entry {
		t.Helper()
		es, err := audit.List(ctx, d, audit.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		return es
	}

	c := &campaign.Campaign{Name: "Bin day", Purpose: "service", Strategy: "best", ChannelOrder: []string{"email"},
		EmailSubject: "Your bin day", EmailBody: "Bins go out on Tuesday."}
	if err := cs.Create(officer(audit.CampaignCreate), c, "general", "jo"); err != nil {
		t.Fatal(err)
	}
	if es := entries(); len(es) != 1 || es[0].Action != audit.CampaignCreate || es[0].SubjectID != audit.ID(c.ID) {
		t.Fatalf("after create: %+v; want one campaign.create naming campaign %d", es, c.ID)
	}

	// Resuming a draft is refused: no entry.
	if err := cs.Resume(officer(audit.CampaignResume), c.ID, "jo"); err == nil {
		t.Fatal("a draft was resumed")
	}
	if es := entries(); len(es) != 1 {
		t.Fatalf("a refused resume left an entry: %+v", es)
	}

	// An entry that can't be written (no actor) undoes the schedule it records.
	bad := audit.Within(ctx, audit.Entry{Action: audit.CampaignSched})
	if err := cs.Schedule(bad, c.ID, time.Time{}, "jo", nil); err == nil {
		t.Fatal("scheduled although its audit entry could not be written")
	}
	if got, _ := cs.Get(ctx, audit.ID(c.ID)); got.State != campaign.Draft {
		t.Fatalf("state %s after a failed audit entry; want draft", got.State)
	}

	if err := cs.Schedule(officer(audit.CampaignSched), c.ID, time.Time{}, "jo", nil); err != nil {
		t.Fatal(err)
	}
	es := entries()
	if len(es) != 2 || es[0].Action != audit.CampaignSched || es[0].Detail["at"] == nil {
		t.Fatalf("after schedule: %+v; want campaign.schedule with when it is due", es)
	}
	if err := cs.Cancel(officer(audit.CampaignCancel), c.ID, "jo"); err != nil {
		t.Fatal(err)
	}
	if es := entries(); len(es) != 3 || es[0].Action != audit.CampaignCancel {
		t.Fatalf("after cancel: %+v", es)
	}
}
