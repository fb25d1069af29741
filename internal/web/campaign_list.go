package web

import (
	"net/http"

	"github.com/crierhq/crier/internal/campaign"
)

// campaignListRow is one campaign in the list.
type campaignListRow struct {
	ID      int64
	Name    string
	Topic   string
	Purpose string
	State   string
	NextRun string
}

// handleCampaigns lists every campaign, newest first, each linking to its results.
func (s *Server) handleCampaigns(w http.ResponseWriter, r *http.Request) {
	rows, err := campaign.NewStore(s.db, s.log).Summaries(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	list := make([]campaignListRow, len(rows))
	for i, c := range rows {
		next := "Not scheduled"
		if c.NextRunAt != nil {
			next = c.NextRunAt.In(campaign.London).Format("Mon 2 Jan 2006, 15:04")
		}
		list[i] = campaignListRow{ID: c.ID, Name: c.Name, Topic: c.Topic, Purpose: purposeWords(c.Purpose),
			State: stateLabel(c.State), NextRun: next}
	}
	s.render(w, http.StatusOK, "campaigns.html", page{Title: "Campaigns", OrgName: s.brand.OrgName,
		Session: sessionOf(r), Data: list})
}

// purposeWords names a purpose in the list: "Service notice", "Marketing".
func purposeWords(p string) string {
	switch p {
	case "service":
		return "Service notice"
	case "marketing":
		return "Marketing"
	}
	return p
}
