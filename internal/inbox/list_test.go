package inbox_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/inbox"
)

// TestListSortFilterAndPage: the replies list sorts by each key both ways, filters by
// unread, assignment and campaign, pages, counts what its filters find, and refuses a
// sort key it doesn't know.
func TestListSortFilterAndPage(t *testing.T) {
	ctx := t.Context()
	d := dbtest.New(t)
	cs := campaign.NewStore(d, nil)
	var camps []int64
	for _, name := range []string{"Bin day", "Road works"} {
		c := &campaign.Campaign{Name: name, Purpose: "service", ChannelOrder: []string{"sms"}, SMSBody: "A text."}
		if err := cs.Create(ctx, c, "general", "jo"); err != nil {
			t.Fatal(err)
		}
		camps = append(camps, c.ID)
	}
	var ada int64
	if err := d.Get(&ada, `INSERT INTO contacts (first_name, last_name) VALUES ('Ada', 'Lovelace') RETURNING id`); err != nil {
		t.Fatal(err)
	}
	conv := func(phone string, contactID any, assigned string, texts ...string) int64 {
		t.Helper()
		var id int64
		if err := d.Get(&id, `INSERT INTO conversations (phone, contact_id, assigned_to) VALUES ($1, $2, $3) RETURNING id`,
			phone, contactID, assigned); err != nil {
			t.Fatal(err)
		}
		for _, tx := range texts {
			// "at|campaign|read": minutes ago, the campaign's index or -, read or not.
			var ago, camp, read string
			fmt.Sscanf(strings.ReplaceAll(tx, "|", " "), "%s %s %s", &ago, &camp, &read)
			var campID any
			if camp != "-" {
				campID = camps[camp[0]-'0']
			}
			if _, err := d.Exec(`INSERT INTO sms_messages (conversation_id, direction, body, campaign_id, at, read_at)
				VALUES ($1, 'in', 'text', $2, now() - ($3 || ' minutes')::interval, CASE WHEN $4 = 'read' THEN now() END)`,
				id, campID, ago, read); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := d.Exec(`UPDATE conversations SET last_message_at = (SELECT max(at) FROM sms_messages WHERE conversation_id = $1) WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	a := conv("+447700900001", ada, "Jo", "30|0|read", "20|0|unread") // Ada: 1 unread, Bin day
	b := conv("+447700900002", nil, "", "10|1|unread", "5|1|unread")  // unknown: 2 unread, Road works
	c := conv("+447700900003", nil, "Sam", "60|-|read")               // unknown: read, no campaign
	s := inbox.NewStore(d, inbox.Config{}, nil)
	list := func(f inbox.Filter) (string, int) {
		t.Helper()
		convs, err := s.List(ctx, f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		n, err := s.Count(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range convs {
			out = append(out, fmt.Sprint(c.ID))
		}
		return strings.Join(out, ","), n
	}
	ids := func(ids ...int64) string {
		var out []string
		for _, i := range ids {
			out = append(out, fmt.Sprint(i))
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct {
		f     inbox.Filter
		want  string
		total int
	}{
		{inbox.Filter{}, ids(b, a, c), 3}, // latest first
		{inbox.Filter{Sort: "received"}, ids(c, a, b), 3},
		{inbox.Filter{Sort: "from"}, ids(a, b, c), 3}, // unknown numbers last
		{inbox.Filter{Sort: "from", Desc: true}, ids(a, c, b), 3},
		{inbox.Filter{Sort: "unread", Desc: true}, ids(b, a, c), 3},
		{inbox.Filter{Sort: "unread"}, ids(c, a, b), 3},
		{inbox.Filter{Sort: "campaign"}, ids(a, b, c), 3}, // no campaign last
		{inbox.Filter{Sort: "campaign", Desc: true}, ids(b, a, c), 3},
		{inbox.Filter{Unread: true}, ids(b, a), 2},
		{inbox.Filter{AssignedTo: "-"}, ids(b), 1},
		{inbox.Filter{AssignedTo: "Sam"}, ids(c), 1},
		{inbox.Filter{CampaignID: camps[0]}, ids(a), 1},
		{inbox.Filter{CampaignID: camps[1], Unread: true, AssignedTo: "-"}, ids(b), 1},
		{inbox.Filter{Limit: 2}, ids(b, a), 3},
		{inbox.Filter{Limit: 2, Offset: 2}, ids(c), 3},
	} {
		if got, total := list(tc.f); got != tc.want || total != tc.total {
			t.Errorf("%+v: %s of %d, want %s of %d", tc.f, got, total, tc.want, tc.total)
		}
	}
	if _, err := s.List(ctx, inbox.Filter{Sort: "cv.phone"}); !errors.Is(err, inbox.ErrUnknownSort) {
		t.Errorf("an unknown sort: %v", err)
	}
	if who, err := s.Assignees(ctx); err != nil || strings.Join(who, ",") != "Jo,Sam" {
		t.Errorf("assignees: %q %v", who, err)
	}
	if answered, err := s.AnsweredCampaigns(ctx); err != nil || len(answered) != 2 || answered[0].Name != "Road works" {
		t.Errorf("answered campaigns: %+v %v", answered, err)
	}
}
