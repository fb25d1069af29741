package campaign_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/segment"
)

// TestScheduleRefusesAnEmptyAudience: a campaign nobody in whose audience can be reached
// on its channels is refused when scheduled, with the count per channel and why; it
// used to be scheduled, run with no messages and complete.
func TestScheduleRefusesAnEmptyAudience(t *testing.T) {
	ctx := context.Background()
	d := dbtest.New(t)
	cs := campaign.NewStore(d, nil)
	ss := segment.NewStore(d)

	newCampaign := func(name, purpose string, channels []string, seg *segment.Segment) *campaign.Campaign {
		t.Helper()
		c := &campaign.Campaign{Name: name, Purpose: purpose, ChannelOrder: channels,
			EmailSubject: "Castle news", EmailBody: "News from the castle.", SMSBody: "News from the castle.",
			LeafletTitle: "Castle news", LeafletBody: "News from the castle."}
		if seg != nil {
			c.SegmentID = &seg.ID
		}
		if err := cs.Create(ctx, c, "general", "officer@example.org"); err != nil {
			t.Fatal(err)
		}
		return c
	}
	newSegment := func(name, ward string) *segment.Segment {
		t.Helper()
		seg, err := ss.Create(ctx, name, "", segment.Rule{Field: "ward", Op: "eq", Value: ward}, "officer@example.org")
		if err != nil {
			t.Fatal(err)
		}
		return seg
	}

	// Nobody imported yet: everyone is nobody.
	early := newCampaign("Too early", "service", []string{"email", "sms", "post"}, nil)
	err := cs.Schedule(ctx, early.ID, time.Time{}, "officer", nil)
	want := `the audience (everyone) reaches 0 residents: 0 by email, 0 by text, 0 on paper — nothing to send (there are no residents yet: import them first)`
	if err == nil || err.Error() != want {
		t.Fatalf("with no residents: %v\nwant %s", err, want)
	}

	if _, err := contact.NewStore(d, nil).Import(ctx, contact.ImportOptions{Path: "testdata/castle.csv", Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	bob, err := ss.Create(ctx, "Bob", "", segment.Rule{Field: "first_name", Op: "eq", Value: "Bob"}, "officer@example.org")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, purpose string
		channels      []string
		seg           *segment.Segment
		want          string // "" = scheduled
	}{
		{"misspelt ward", "service", []string{"email", "sms", "post"}, newSegment("Castel ward", "Castel"),
			`segment "Castel ward" reaches 0 residents: 0 by email, 0 by text, 0 on paper — nothing to send (no resident matches its rules)`},
		{"nobody agreed", "marketing", []string{"email", "sms"}, newSegment("Castleton ward", "Castleton"),
			`segment "Castleton ward" reaches 0 residents: 0 by email, 0 by text, 0 on paper (not one of the campaign's channels) — nothing to send ` +
				`(1 resident matches, but none can be reached by email or by text for a marketing message about general; no consent for post (marketing): 1)`},
		{"reached by text and post, sent by email", "service", []string{"email"}, bob,
			`segment "Bob" reaches 0 residents: 0 by email, 1 by text (not one of the campaign's channels), 1 on paper (not one of the campaign's channels) — nothing to send ` +
				`(1 resident matches, but none can be reached by email for a service message about general)`},
		{"reached by email", "service", []string{"email"}, newSegment("Castle ward", "Castle"), ""},
		{"everyone", "service", []string{"email"}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCampaign("Castle news: "+tc.name, tc.purpose, tc.channels, tc.seg)
			err := cs.Schedule(ctx, c.ID, time.Time{}, "officer", nil)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Schedule = %v, want it scheduled", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("Schedule = %v\nwant          %s", err, tc.want)
			}
			var ae *campaign.AudienceError
			if !errors.Is(err, campaign.ErrEmptyAudience) || !errors.Is(err, campaign.ErrInvalid) || !errors.As(err, &ae) {
				t.Errorf("the error is not an ErrEmptyAudience and ErrInvalid: %#v", err)
			}
			got, err := cs.Get(ctx, c.Name)
			if err != nil || got.State != campaign.Draft || got.NextRunAt != nil {
				t.Errorf("after the refusal: %v, %+v; want a draft with no run time", err, got)
			}
			if strings.Contains(tc.want, "Lovelace") {
				t.Error("the message names a resident")
			}
		})
	}
}
