package web

import (
	"net/http"
	"strings"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/web/listing"
)

// campaignList is the list of campaigns' query string: sortable by name, topic, state and
// its times, filtered by state, channel and text.
var campaignList = listing.Spec{
	Path: "/campaigns",
	Columns: []listing.Column{
		{Key: "name", Label: "Campaign"},
		{Key: "state", Label: "State"},
		{Key: "created", Label: "Created", DescFirst: true},
		{Key: "scheduled", Label: "Next run", DescFirst: true},
		{Key: "sent", Label: "Sent", DescFirst: true},
	},
	Default: "created",
	Filters: []string{"q", "state", "channel"},
}

// campaignStates are the states the list can be filtered by, in the order offered.
var campaignStates = []string{"draft", "scheduled", "sending", "paused", "completed", "cancelled"}

// campaignListRow is one campaign in the list.
type campaignListRow struct {
	ID       int64
	Name     string
	Topic    string
	Purpose  string
	State    string
	Channels string // "Email, SMS"
	Created  listing.Stamp
	NextRun  listing.Stamp
	Sent     listing.Stamp
}

// campaignListView is campaigns.html's.
type campaignListView struct {
	Notice   string // after a change made elsewhere: "The draft is deleted."
	Rows     []campaignListRow
	List     listing.View
	Q        string
	States   []listing.Option
	Channels []listing.Option
}

// handleCampaigns lists the campaigns, 50 to a page (newest first unless sorted
// otherwise), each linking to its results.
func (s *Server) handleCampaigns(w http.ResponseWriter, r *http.Request) {
	st := campaignList.Parse(r.URL.Query())
	state := st.Choose("state", campaignStates...)
	channel := st.Choose("channel", campaignChannels...)
	rows, total, err := campaign.NewStore(s.db, s.log).Summaries(r.Context(), campaign.ListQuery{
		State: state, Channel: channel, Text: st.Get("q"),
		Sort: st.Sort, Desc: st.Desc, Limit: st.Limit(), Offset: st.Offset()})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := campaignListView{Rows: make([]campaignListRow, len(rows)), List: campaignList.View(st, total, len(rows)), Q: st.Get("q"),
		States:   listing.Options(campaignStates, stateLabel, state),
		Channels: listing.Options(campaignChannels, channelLabel, channel)}
	if r.URL.Query().Get("done") == "deleted" {
		v.Notice = "The draft is deleted. The audit log keeps a record that it was."
	}
	for i, c := range rows {
		chans := make([]string, len(c.Channels))
		for j, ch := range c.Channels {
			chans[j] = channelLabel(ch)
		}
		v.Rows[i] = campaignListRow{ID: c.ID, Name: c.Name, Topic: c.Topic, Purpose: purposeOf(c.Purpose).Name,
			State: stateLabel(c.State), Channels: strings.Join(chans, ", "),
			Created: listing.StampOf(&c.CreatedAt, campaign.London), NextRun: listing.StampOf(c.NextRunAt, campaign.London),
			Sent: listing.StampOf(c.SentAt, campaign.London)}
	}
	s.render(w, http.StatusOK, "campaigns.html", page{Title: "Campaigns", OrgName: s.brand.OrgName,
		Session: sessionOf(r), Data: v})
}
