package web

// The officers' segment pages: the saved segments with who each reaches (segment_list.go),
// a rule builder with a live count (segment_new.go), and one segment's rules in plain
// English (segment_show.go). Everything works without JavaScript: the builder's buttons
// ("Add a rule", "Remove", "Count", "Save") all submit the one form, and the server
// re-renders it with the officer's input kept. The builder's form itself (fields, rows,
// checks, views, wording) is package ruleform.

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/web/ruleform"
)

const (
	// segmentMaxName and segmentMaxDescription bound the texts, in characters.
	segmentMaxName        = 200
	segmentMaxDescription = 1000
	// segmentListCounts is how many segments the list counts at once.
	segmentListCounts = 4
	// segmentAttrKeys bounds the free attributes offered in the field select.
	segmentAttrKeys = 200
	// segmentCampaigns bounds the campaigns suggested for a campaign rule's value.
	segmentCampaigns = 100
)

// registerSegments adds the officers' segment pages to mux.
func (s *Server) registerSegments(mux *http.ServeMux) {
	officers := []string{auth.Officer}
	mux.HandleFunc("GET /segments", s.withUser(officers, s.handleSegments))
	mux.HandleFunc("GET /segments/new", s.withUser(officers, s.handleSegmentForm))
	mux.HandleFunc("POST /segments/new", s.withUser(officers, s.handleSegmentPost))
	mux.HandleFunc("GET /segments/{id}", s.withUser(officers, s.handleSegment))
}

// segmentLookups reads the topics, the attributes' names and, when a row is about
// campaigns, the recent campaigns and those the rows name.
func (s *Server) segmentLookups(ctx context.Context, rows []ruleform.Row) (ruleform.Lookups, error) {
	var l ruleform.Lookups
	var err error
	if l.Topics, err = consent.Topics(ctx, s.db); err != nil {
		return l, err
	}
	keys, err := segment.NewStore(s.db).AttributeNames(ctx, segmentAttrKeys)
	if err != nil {
		return l, err
	}
	for _, k := range keys {
		if ruleform.ValidAttrKey(k) {
			l.AttrKeys = append(l.AttrKeys, k)
		}
	}
	var ids []int64
	for _, r := range rows {
		if r.Field == "campaign" {
			if id, err := strconv.ParseInt(strings.TrimSpace(r.Value), 10, 64); err == nil {
				ids = append(ids, id)
			} else {
				ids = append(ids, 0) // still offer the recent campaigns
			}
		}
	}
	if len(ids) > 0 {
		campaigns := campaign.NewStore(s.db, s.log)
		if l.Campaigns, err = campaigns.Recent(ctx, segmentCampaigns); err != nil {
			return l, err
		}
		if l.Named, err = campaigns.Names(ctx, ids); err != nil {
			return l, err
		}
	}
	return l, nil
}

// segmentPage renders one of the segment pages, uncached.
func (s *Server) segmentPage(w http.ResponseWriter, r *http.Request, code int, name, title string, data any) {
	contactsNoStore(w) // rules may name residents ("first name is Ada")
	s.render(w, code, name, page{Title: title, OrgName: s.brand.OrgName, Session: sessionOf(r), Data: data})
}

// segmentMissing is the 404 for a segment that does not exist.
func (s *Server) segmentMissing(w http.ResponseWriter, r *http.Request) {
	contactsNoStore(w)
	s.render(w, http.StatusNotFound, "message.html", page{Title: "Segment not found", OrgName: s.brand.OrgName,
		Session: sessionOf(r), Message: "There is no such segment. Choose one from the list of segments."})
}
