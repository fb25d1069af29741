package web

import (
	"errors"
	"net/http"

	"golang.org/x/sync/errgroup"

	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/web/number"
	"github.com/crierhq/crier/internal/web/ruleform"
)

// segmentListRow is a segment in the list, with who it reaches.
type segmentListRow struct {
	ID                      int64
	Name, Description       string
	Total, Email, SMS, Post string
	Problem                 string // why it can't be counted
}

// segmentListView is segments.html's: the list, counted for one purpose.
type segmentListView struct {
	Rows     []segmentListRow
	Purpose  string
	Purposes []ruleform.Option
	Topic    string
}

// handleSegments lists the segments, each counted for the general topic and the purpose
// asked for (?purpose=, service by default).
func (s *Server) handleSegments(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	purpose := r.URL.Query().Get("purpose")
	if purpose != segment.PurposeMarketing {
		purpose = segment.PurposeService
	}
	store := segment.NewStore(s.db)
	segs, err := store.List(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	topics, err := consent.Topics(ctx, s.db)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := segmentListView{Purpose: purpose, Topic: segment.DefaultTopic, Rows: make([]segmentListRow, len(segs))}
	for _, t := range topics {
		if t.Slug == segment.DefaultTopic {
			v.Topic = t.Name
		}
	}
	for _, p := range []string{segment.PurposeService, segment.PurposeMarketing} {
		v.Purposes = append(v.Purposes, ruleform.Option{Value: p, Label: purposeShort(p), Selected: p == purpose})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(segmentListCounts)
	for i, seg := range segs {
		row := &v.Rows[i]
		*row = segmentListRow{ID: seg.ID, Name: seg.Name, Description: seg.Description}
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
