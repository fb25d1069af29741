package web

// The list of rounds: a volunteer's own ("My rounds"), or every round for officers,
// filtered, sorted and paged on the server, its state in the query string so that every
// link keeps it and the page works without JavaScript.

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/printrun"
)

// roundsPerPage is how many rounds a page of the officers' list shows.
const roundsPerPage = 20

// roundCard is one round as the list shows it.
type roundCard struct {
	printrun.RoundInfo
	Printed contactTime
}

// roundListView is rounds.html's.
type roundListView struct {
	Officer bool
	Rounds  []roundCard
	Total   int
	// The officers' filters, as choices with the current one selected.
	Campaigns, Volunteers, States, Sorts, Dirs []choice
	Filtered                                   bool // some filter is set
	Page, Pages                                int
	Prev, Next                                 string // links to the neighbouring pages, keeping the filters
	// Leaflets lists the campaigns with a post channel, for their leaflets pages.
	Leaflets []campaignLink
}

// campaignLink names a campaign's leaflets page.
type campaignLink struct {
	ID   int64
	Name string
}

var roundSortLabels = []choice{{"printed", "Date printed", false}, {"campaign", "Campaign", false}, {"round", "Round name", false},
	{"volunteer", "Volunteer", false}, {"todo", "Doors to do", false}, {"progress", "Progress", false}}

var roundStateLabels = []choice{{"", "Any state", false}, {"open", "Not assigned yet", false},
	{"assigned", "Assigned, being walked", false}, {"done", "Done", false}}

// roundListQuery reads the officers' list's state from the query string; anything it
// doesn't know is left at its default rather than refused.
func roundListQuery(q url.Values) (printrun.RoundQuery, int) {
	var rq printrun.RoundQuery
	rq.CampaignID, _ = strconv.ParseInt(q.Get("campaign"), 10, 64)
	switch v := q.Get("volunteer"); v {
	case "none":
		rq.Unassigned = true
	default:
		rq.VolunteerID, _ = strconv.ParseInt(v, 10, 64)
	}
	if slices.Contains(printrun.RoundStates, q.Get("state")) {
		rq.State = q.Get("state")
	}
	if _, ok := printrun.RoundSorts[q.Get("sort")]; ok {
		rq.Sort = q.Get("sort")
		rq.Desc = q.Get("dir") == "desc"
	}
	pageNo, _ := strconv.Atoi(q.Get("page"))
	pageNo = max(pageNo, 1)
	rq.Limit, rq.Offset = roundsPerPage, (pageNo-1)*roundsPerPage
	return rq, pageNo
}

// handleRounds lists a volunteer's rounds, or every round for an officer.
func (s *Server) handleRounds(w http.ResponseWriter, r *http.Request) {
	sess := sessionOf(r)
	if sess.User.Role == auth.Volunteer {
		list, err := s.app.Rounds.RoundsFor(r.Context(), printrun.RoundFilter{VolunteerID: sess.User.ID})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v := roundListView{Total: len(list)}
		for _, rd := range list {
			v.Rounds = append(v.Rounds, roundCard{RoundInfo: rd, Printed: contactTimeOf(rd.PrintedAt)})
		}
		s.render(w, http.StatusOK, "rounds.html", page{Title: "My rounds", OrgName: s.brand.OrgName, Session: sess, Data: v})
		return
	}
	q := r.URL.Query()
	rq, pageNo := roundListQuery(q)
	list, err := s.app.Rounds.ListRounds(r.Context(), rq)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	campaigns, volunteers, err := s.app.Rounds.RoundFilters(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := roundListView{Officer: true, Total: list.Total, Page: pageNo, Pages: max((list.Total+roundsPerPage-1)/roundsPerPage, 1)}
	for _, rd := range list.Rounds {
		v.Rounds = append(v.Rounds, roundCard{RoundInfo: rd, Printed: contactTimeOf(rd.PrintedAt)})
	}
	v.Campaigns = []choice{{"", "Every campaign", rq.CampaignID == 0}}
	for _, c := range campaigns {
		v.Campaigns = append(v.Campaigns, choice{strconv.FormatInt(c.ID, 10), c.Name, c.ID == rq.CampaignID})
	}
	v.Volunteers = []choice{{"", "Anyone or nobody", rq.VolunteerID == 0 && !rq.Unassigned}, {"none", "Not assigned", rq.Unassigned}}
	for _, u := range volunteers {
		v.Volunteers = append(v.Volunteers, choice{strconv.FormatInt(u.ID, 10), u.Name, u.ID == rq.VolunteerID})
	}
	for _, c := range roundStateLabels {
		c.Selected = c.Value == rq.State
		v.States = append(v.States, c)
	}
	sortKey := rq.Sort
	if sortKey == "" {
		sortKey = "printed"
	}
	for _, c := range roundSortLabels {
		c.Selected = c.Value == sortKey
		v.Sorts = append(v.Sorts, c)
	}
	desc := rq.Desc || rq.Sort == ""
	v.Dirs = []choice{{"asc", "Lowest or earliest first (A to Z)", !desc}, {"desc", "Highest or latest first (Z to A)", desc}}
	v.Filtered = rq.CampaignID != 0 || rq.VolunteerID != 0 || rq.Unassigned || rq.State != ""
	link := func(n int) string {
		keep := url.Values{}
		for _, k := range []string{"campaign", "volunteer", "state", "sort", "dir"} {
			if x := q.Get(k); x != "" {
				keep.Set(k, x)
			}
		}
		keep.Set("page", strconv.Itoa(n))
		return "/rounds?" + keep.Encode()
	}
	if pageNo > 1 {
		v.Prev = link(min(pageNo-1, v.Pages))
	}
	if pageNo < v.Pages {
		v.Next = link(pageNo + 1)
	}
	all, err := campaign.NewStore(s.db, s.log).List(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, c := range all {
		if slices.Contains(c.Channels(), "post") && c.State != campaign.Draft && len(v.Leaflets) < 10 {
			v.Leaflets = append(v.Leaflets, campaignLink{ID: c.ID, Name: c.Name})
		}
	}
	s.render(w, http.StatusOK, "rounds.html", page{Title: "Delivery rounds", OrgName: s.brand.OrgName, Session: sess, Data: v})
}
