package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/web/ruleform"
)

// segmentView is one segment's page.
type segmentView struct {
	ID                int64
	Name, Description string
	CreatedBy         string
	Created           contactTime
	Intro             string
	Rules             []ruleform.Line
	Topics            []ruleform.Option
	Count             *countTableView
	CountProblem      string
	Warnings          []string // values that match nobody, with the nearest that exist
}

// handleSegment shows a segment's rules in plain English and whom it reaches, for
// service and marketing messages about a topic (?topic=, general by default).
func (s *Server) handleSegment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.segmentMissing(w, r)
		return
	}
	store := segment.NewStore(s.db)
	seg, err := store.Get(ctx, strconv.FormatInt(id, 10))
	if errors.Is(err, segment.ErrNotFound) || (err == nil && seg.ID != id) {
		s.segmentMissing(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	topics, err := consent.Topics(ctx, s.db)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	slug := strings.TrimSpace(r.URL.Query().Get("topic"))
	if slug == "" {
		slug = segment.DefaultTopic
	}
	d := ruleform.Describer{Topics: map[string]string{}}
	v := segmentView{ID: seg.ID, Name: seg.Name, Description: seg.Description, CreatedBy: seg.CreatedBy, Created: contactTimeOf(seg.CreatedAt)}
	topicName := ""
	for _, t := range topics {
		d.Topics[t.Slug] = t.Name
		v.Topics = append(v.Topics, ruleform.Option{Value: t.Slug, Label: t.Name, Selected: t.Slug == slug})
		if t.Slug == slug {
			topicName = t.Name
		}
	}
	if topicName == "" {
		s.render(w, http.StatusNotFound, "message.html", page{Title: "Topic not found", OrgName: s.brand.OrgName,
			Session: sessionOf(r), Message: "There is no such topic. Choose one from the list on the segment’s page."})
		return
	}
	if ids := ruleform.CampaignIDs(seg.Rules); len(ids) > 0 {
		if d.Campaigns, err = campaign.NewStore(s.db, s.log).Names(ctx, ids); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	v.Intro, v.Rules = d.Root(seg.Rules)
	warnings, err := store.Unmatched(ctx, seg.Rules)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, w := range warnings {
		v.Warnings = append(v.Warnings, sentence(w.Words()))
	}

	purposes := []string{segment.PurposeService, segment.PurposeMarketing}
	counts := make([]segment.Count, len(purposes))
	g, gctx := errgroup.WithContext(ctx)
	for i, p := range purposes {
		g.Go(func() (err error) {
			counts[i], err = store.Count(gctx, seg.Rules, slug, p)
			return err
		})
	}
	switch err := g.Wait(); {
	case errors.Is(err, segment.ErrUnknownTopic):
		v.CountProblem = "The segment can’t be counted: a topic its rules name no longer exists."
	case err != nil:
		s.fail(w, r, err)
		return
	default:
		v.Count = countTable("count-table", "Whom messages about "+topicName+" reach, by purpose",
			[]string{"Service", "Marketing"}, counts)
	}
	s.segmentPage(w, r, http.StatusOK, "segment.html", seg.Name, v)
}
