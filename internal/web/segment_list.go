package web

import (
	"errors"
	"net/http"
	"net/url"

	"golang.org/x/sync/errgroup"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/web/listing"
	"github.com/crierhq/crier/internal/web/number"
	"github.com/crierhq/crier/internal/web/ruleform"
)

// segmentList is the segments list's query string: sortable by name and its times,
// filtered by text, and counted for a purpose (a filter too: it is kept in every link).
var segmentList = listing.Spec{
	Path: "/segments",
	Columns: []listing.Column{
		{Key: "name", Label: "Segment"},
		{Key: "created", Label: "Created", DescFirst: true},
		{Key: "updated", Label: "Changed", DescFirst: true},
	},
	Default: "name",
	Filters: []string{"q", "purpose"},
}

// segmentListRow is a segment in the list, with who it reaches.
type segmentListRow struct {
	ID                      int64
	Name, Description       string
	Total, Email, SMS, Post string
	Problem                 string // why it can't be counted
	Created, Updated        listing.Stamp
}

// segmentListView is segments.html's: one page of the list, counted for one purpose.
type segmentListView struct {
	Rows     []segmentListRow
	Purpose  string
	Purposes []ruleform.Option
	Topic    string
	List     listing.View
	Q        string
	Any      bool // there are segments at all (with no filter)
}

// handleSegments lists the segments, 50 to a page, each counted for the general topic
// and the purpose asked for (?purpose=, service by default).
func (s *Server) handleSegments(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := segmentList.Parse(r.URL.Query())
	purpose := st.Get("purpose")
	if purpose != segment.PurposeMarketing {
		purpose = segment.PurposeService
		st.Filter.Del("purpose")
	}
	store := segment.NewStore(s.db)
	segs, total, err := store.ListPage(ctx, segment.ListQuery{Text: st.Get("q"), Sort: st.Sort, Desc: st.Desc,
		Limit: st.Limit(), Offset: st.Offset()})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	anyAtAll := total > 0
	if !anyAtAll && st.Get("q") != "" {
		_, all, err := store.ListPage(ctx, segment.ListQuery{Limit: 1})
		if err != nil {
			s.fail(w, r, err)
			return
		}
		anyAtAll = all > 0
	}
	topics, err := consent.Topics(ctx, s.db)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := segmentListView{Purpose: purpose, Topic: segment.DefaultTopic, Rows: make([]segmentListRow, len(segs)),
		List: segmentList.View(st, total, len(segs)), Q: st.Get("q"), Any: anyAtAll}
	// "Filtered" is about what narrows the list: the purpose only changes the counts.
	v.List.Filtered = st.Get("q") != ""
	keep := url.Values{}
	if p := st.Get("purpose"); p != "" {
		keep.Set("purpose", p)
	}
	v.List.Reset = segmentList.URL(listing.State{Sort: st.Sort, Desc: st.Desc, Page: 1, Filter: keep})
	for _, t := range topics {
		if t.Slug == segment.DefaultTopic {
			v.Topic = t.Name
		}
	}
	for _, p := range []string{segment.PurposeService, segment.PurposeMarketing} {
		v.Purposes = append(v.Purposes, ruleform.Option{Value: p, Label: purposeOf(p).Short, Selected: p == purpose})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(segmentListCounts)
	for i, seg := range segs {
		row := &v.Rows[i]
		*row = segmentListRow{ID: seg.ID, Name: seg.Name, Description: seg.Description,
			Created: listing.StampOf(&seg.CreatedAt, campaign.London), Updated: listing.StampOf(&seg.UpdatedAt, campaign.London)}
		g.Go(func() error {
			c, err := store.Count(gctx, seg.Rules, segment.DefaultTopic, purpose)
			if errors.Is(err, segment.ErrUnknownTopic) {
				row.Problem = "Can’t be counted: a topic its rules name no longer exists."
				return nil
			}
			if err != nil {
				return err
			}
			row.Total, row.Email, row.SMS, row.Post = number.Thousands(c.Total), number.Thousands(c.Email), number.Thousands(c.SMS), number.Thousands(c.Post)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		s.fail(w, r, err)
		return
	}
	s.segmentPage(w, r, http.StatusOK, "segments.html", "Segments", v)
}
