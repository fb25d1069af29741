package campaign_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/reply"
)

func officerDoing(ctx context.Context, action string) context.Context {
	return audit.Within(ctx, audit.Entry{Actor: "jo@council.example", Action: action, SubjectType: "campaign"})
}

func auditEntries(t *testing.T, ctx context.Context, d sqlx.QueryerContext, action string) []audit.Entry {
	t.Helper()
	es, err := audit.List(ctx, d, audit.Filter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func newDraft(t *testing.T, ctx context.Context, cs *campaign.Store, name string) *campaign.Campaign {
	t.Helper()
	c := &campaign.Campaign{Name: name, Purpose: "service", Strategy: "best", ChannelOrder: []string{"email", "sms"},
		EmailSubject: "Your bin day", EmailBody: "Bins go out on Tuesday.", SMSBody: "Bins go out on Tuesday. Coming?",
		Poll: &reply.Poll{Question: "Coming?", Options: []reply.PollOption{{Key: "YES", Label: "Yes"}, {Key: "NO", Label: "No"}}}}
	if err := cs.Create(officerDoing(ctx, audit.CampaignCreate), c, "general", "jo"); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestUpdateChangesADraftOnce: a draft's content changes, with its audit entry in the
// same transaction; a second save from the copy read before the first is refused
// (StaleError, saying when it changed) and changes nothing; so are a scheduled
// campaign, a missing topic and content that does not validate.
func TestUpdateChangesADraftOnce(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	seedBorough(t, d, 50)
	cs := campaign.NewStore(d, nil)
	c := newDraft(t, ctx, cs, "Bin day")
	read, err := cs.Get(ctx, audit.ID(c.ID))
	if err != nil {
		t.Fatal(err)
	}
	version, ok := campaign.ParseVersion(read.Version())
	if !ok || !version.Equal(read.UpdatedAt) {
		t.Fatalf("version %q reads back as %v, want %v", read.Version(), version, read.UpdatedAt)
	}

	// Officer A saves.
	a := *read
	a.Name, a.EmailBody, a.ChannelOrder, a.Poll, a.SMSBody = "Bin day (new)", "Bins go out on **Wednesday**.", []string{"email"}, nil, ""
	if err := cs.Update(officerDoing(ctx, audit.CampaignUpdate), &a, "general", version); err != nil {
		t.Fatal(err)
	}
	got, err := cs.Get(ctx, audit.ID(c.ID))
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Bin day (new)" || got.EmailBody != "Bins go out on **Wednesday**." || got.Poll != nil ||
		len(got.Channels()) != 1 || got.State != campaign.Draft || !got.UpdatedAt.After(read.UpdatedAt) ||
		!got.UpdatedAt.Equal(a.UpdatedAt) || got.CreatedBy != "jo" {
		t.Fatalf("after the update: %+v", got)
	}
	if es := auditEntries(t, ctx, d, audit.CampaignUpdate); len(es) != 1 || es[0].SubjectID != audit.ID(c.ID) {
		t.Fatalf("audit after the update: %+v", es)
	}

	// Officer B, who read it before A saved, saves too: refused, and nothing changes.
	b := *read
	b.Name = "Bin day (B)"
	err = cs.Update(officerDoing(ctx, audit.CampaignUpdate), &b, "general", version)
	var stale *campaign.StaleError
	if !errors.As(err, &stale) || !errors.Is(err, campaign.ErrStale) || !stale.At.Equal(got.UpdatedAt) {
		t.Fatalf("stale save: %v; want a StaleError at %v", err, got.UpdatedAt)
	}
	if now, _ := cs.Get(ctx, audit.ID(c.ID)); now.Name != "Bin day (new)" {
		t.Fatalf("a stale save changed the name to %q", now.Name)
	}
	if es := auditEntries(t, ctx, d, audit.CampaignUpdate); len(es) != 1 {
		t.Fatalf("a refused save left an audit entry: %+v", es)
	}

	// From the new version, B's save goes through; two saves in a row each move the version on.
	b2 := *got
	b2.Name = "Bin day (B)"
	if err := cs.Update(officerDoing(ctx, audit.CampaignUpdate), &b2, "general", got.UpdatedAt); err != nil {
		t.Fatal(err)
	}
	b3 := b2
	if err := cs.Update(officerDoing(ctx, audit.CampaignUpdate), &b3, "general", b2.UpdatedAt); err != nil || !b3.UpdatedAt.After(b2.UpdatedAt) {
		t.Fatalf("a second save: %v, version %v after %v", err, b3.UpdatedAt, b2.UpdatedAt)
	}

	// Refusals that change nothing.
	bad := b3
	bad.Name = ""
	if err := cs.Update(ctx, &bad, "general", b3.UpdatedAt); !errors.Is(err, campaign.ErrInvalid) {
		t.Errorf("empty name: %v", err)
	}
	bad = b3
	if err := cs.Update(ctx, &bad, "no-such-topic", b3.UpdatedAt); !errors.Is(err, campaign.ErrInvalid) || !strings.Contains(err.Error(), "no-such-topic") {
		t.Errorf("missing topic: %v", err)
	}
	bad = b3
	bad.ID = 999999
	if err := cs.Update(ctx, &bad, "general", b3.UpdatedAt); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("missing campaign: %v", err)
	}
	// An entry that can't be written undoes the change.
	bad = b3
	bad.Name = "Not saved"
	if err := cs.Update(audit.Within(ctx, audit.Entry{Action: audit.CampaignUpdate}), &bad, "general", b3.UpdatedAt); err == nil {
		t.Error("saved although its audit entry could not be written")
	}

	// A scheduled campaign can't be changed.
	if err := cs.Schedule(ctx, c.ID, time.Now().Add(time.Hour), "jo", nil); err != nil {
		t.Fatal(err)
	}
	sched, _ := cs.Get(ctx, audit.ID(c.ID))
	edit := *sched
	edit.Name = "Changed after scheduling"
	if err := cs.Update(officerDoing(ctx, audit.CampaignUpdate), &edit, "general", sched.UpdatedAt); !errors.Is(err, campaign.ErrTransition) {
		t.Fatalf("updating a scheduled campaign: %v; want ErrTransition", err)
	}
	if now, _ := cs.Get(ctx, audit.ID(c.ID)); now.Name != "Bin day (B)" || now.State != campaign.Scheduled {
		t.Fatalf("after the refused update: %q, %s", now.Name, now.State)
	}
	if es := auditEntries(t, ctx, d, audit.CampaignUpdate); len(es) != 3 {
		t.Fatalf("%d campaign.update entries, want 3", len(es))
	}
}

// TestDuplicateCopiesContentNotSchedule: a copy of a scheduled campaign is a draft with
// the same content, named uniquely, with no send time, audited with both ids.
func TestDuplicateCopiesContentNotSchedule(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	seedBorough(t, d, 50)
	cs := campaign.NewStore(d, nil)
	c := newDraft(t, ctx, cs, "Bin day")
	if err := cs.Schedule(ctx, c.ID, time.Now().Add(time.Hour), "jo", nil); err != nil {
		t.Fatal(err)
	}
	orig, _ := cs.Get(ctx, audit.ID(c.ID))

	cp, err := cs.Duplicate(officerDoing(ctx, audit.CampaignCopy), c.ID, "sam")
	if err != nil {
		t.Fatal(err)
	}
	if cp.ID == c.ID || cp.Name != "Copy of Bin day" || cp.State != campaign.Draft || cp.SendAt != nil || cp.NextRunAt != nil ||
		cp.EmailBody != orig.EmailBody || cp.SMSBody != orig.SMSBody || cp.Poll == nil || cp.Poll.Question != "Coming?" ||
		strings.Join(cp.ChannelOrder, ",") != strings.Join(orig.ChannelOrder, ",") || cp.TopicID != orig.TopicID ||
		cp.Purpose != orig.Purpose || cp.CreatedBy != "sam" {
		t.Fatalf("copy: %+v\noriginal: %+v", cp, orig)
	}
	if h, _ := cs.History(ctx, cp.ID); len(h) != 0 {
		t.Errorf("the copy has the original's history: %+v", h)
	}
	es := auditEntries(t, ctx, d, audit.CampaignCopy)
	if len(es) != 1 || es[0].SubjectID != audit.ID(cp.ID) || es[0].Detail["copy_of"] != float64(c.ID) {
		t.Fatalf("audit: %+v", es)
	}

	// Copies get unique names.
	cp2, err := cs.Duplicate(ctx, c.ID, "sam")
	if err != nil || cp2.Name != "Copy of Bin day (2)" {
		t.Fatalf("second copy: %v, %+v", err, cp2)
	}
	// A long name stays within 200 characters, and unique.
	long := newDraft(t, ctx, cs, strings.Repeat("Ward ", 40)[:199])
	l1, err1 := cs.Duplicate(ctx, long.ID, "sam")
	l2, err2 := cs.Duplicate(ctx, long.ID, "sam")
	if err1 != nil || err2 != nil || utf8.RuneCountInString(l1.Name) > 200 || utf8.RuneCountInString(l2.Name) > 200 ||
		l1.Name == l2.Name || !strings.HasSuffix(l2.Name, "… (2)") {
		t.Fatalf("copies of a long name: %q, %q (%v, %v)", l1.Name, l2.Name, err1, err2)
	}
	if _, err := cs.Duplicate(ctx, 999999, "sam"); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("copy of a missing campaign: %v", err)
	}
}

// TestDeleteOnlyAnUnsentDraft: a draft goes, with its history, audited with its name; a
// scheduled campaign, and a draft that once had messages, stay.
func TestDeleteOnlyAnUnsentDraft(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	seedBorough(t, d, 50)
	cs := campaign.NewStore(d, nil)

	sched := newDraft(t, ctx, cs, "Scheduled one")
	if err := cs.Schedule(ctx, sched.ID, time.Now().Add(time.Hour), "jo", nil); err != nil {
		t.Fatal(err)
	}
	if ok, err := cs.Deletable(ctx, sched.ID); err != nil || ok {
		t.Errorf("a scheduled campaign deletable: %v %v", ok, err)
	}
	if _, err := cs.Delete(officerDoing(ctx, audit.CampaignDelete), sched.ID); !errors.Is(err, campaign.ErrTransition) {
		t.Errorf("deleting a scheduled campaign: %v", err)
	}

	// A draft that was sent once (a run started, then it went back to being a draft).
	sent := newDraft(t, ctx, cs, "Sent once")
	if err := cs.Schedule(ctx, sent.ID, time.Time{}, "jo", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.StartDue(ctx, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`UPDATE campaigns SET state = 'draft' WHERE id = $1`, sent.ID); err != nil {
		t.Fatal(err)
	}
	if ok, err := cs.Deletable(ctx, sent.ID); err != nil || ok {
		t.Errorf("a draft with messages deletable: %v %v", ok, err)
	}
	if _, err := cs.Delete(officerDoing(ctx, audit.CampaignDelete), sent.ID); !errors.Is(err, campaign.ErrHasMessages) {
		t.Errorf("deleting a draft with messages: %v", err)
	}

	draft := newDraft(t, ctx, cs, "Never sent")
	if err := cs.Schedule(ctx, draft.ID, time.Now().Add(time.Hour), "jo", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`UPDATE campaigns SET state = 'draft' WHERE id = $1`, draft.ID); err != nil {
		t.Fatal(err) // it has history now, which goes with it
	}
	if ok, err := cs.Deletable(ctx, draft.ID); err != nil || !ok {
		t.Fatalf("an unsent draft not deletable: %v %v", ok, err)
	}
	name, err := cs.Delete(officerDoing(ctx, audit.CampaignDelete), draft.ID)
	if err != nil || name != "Never sent" {
		t.Fatalf("delete: %q %v", name, err)
	}
	if _, err := cs.Get(ctx, audit.ID(draft.ID)); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	var left int
	if err := d.Get(&left, `SELECT count(*) FROM campaign_history WHERE campaign_id = $1`, draft.ID); err != nil || left != 0 {
		t.Errorf("history left: %d %v", left, err)
	}
	es := auditEntries(t, ctx, d, audit.CampaignDelete)
	if len(es) != 1 || es[0].SubjectID != audit.ID(draft.ID) || es[0].Detail["name"] != "Never sent" {
		t.Fatalf("audit: %+v", es)
	}
	if _, err := cs.Delete(ctx, draft.ID); !errors.Is(err, campaign.ErrNotFound) {
		t.Errorf("deleting it again: %v", err)
	}
	for _, id := range []int64{sched.ID, sent.ID} {
		if _, err := cs.Get(ctx, audit.ID(id)); err != nil {
			t.Errorf("campaign %d went: %v", id, err)
		}
	}
}

func TestDroppedHTML(t *testing.T) {
	cases := []struct {
		name, md string
		want     []campaign.HTMLLine
	}{
		{"none", "Dear {{first_name}},\n\nBins on **Tuesday**. See <https://example.org>.", nil},
		{"inline", "Hello\n\nBins on <b>Tuesday</b>.\n\nBye <br>", []campaign.HTMLLine{{3, "<b>"}, {5, "<br>"}}},
		{"block", "Hello\n\n<div class=\"x\">\nHidden text\n</div>\n\nAfter", []campaign.HTMLLine{{3, `<div class="x">`}, {4, "Hidden text"}, {5, "</div>"}}},
		{"comment", "Hello <!-- note -->\n\n<!--\nnote\n-->", nil},
		{"long", "<p>" + strings.Repeat("x", 100) + "</p>", []campaign.HTMLLine{{1, "<p>" + strings.Repeat("x", 56) + "…"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := campaign.DroppedHTML(tc.md)
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("%d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}
