package web

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/segment"
)

// formView is the new-campaign page for f: the form as typed, its choices, and errs.
func (s *Server) formView(ctx context.Context, f campaignForm, errs *formErrors) (*campaignFormView, error) {
	topics, err := consent.Topics(ctx, s.db)
	if err != nil {
		return nil, err
	}
	segs, err := segment.NewStore(s.db).List(ctx)
	if err != nil {
		return nil, err
	}
	v := &campaignFormView{Form: f, Fields: errs.fields(campaignLayout), Errors: errs.summary(campaignLayout)}
	for _, t := range topics {
		v.Topics = append(v.Topics, choice{Value: t.Slug, Label: t.Name, Selected: t.Slug == f.Topic})
	}
	v.Segments = append(v.Segments, choice{Value: "", Label: "Everyone", Selected: f.Segment == ""})
	for _, sg := range segs {
		id := strconv.FormatInt(sg.ID, 10)
		v.Segments = append(v.Segments, choice{Value: id, Label: sg.Name, Selected: id == f.Segment})
	}
	for _, o := range channelOrders {
		val := strings.Join(o, ",")
		v.Orders = append(v.Orders, choice{Value: val, Label: orderLabel(o), Selected: val == f.Order})
	}
	return v, nil
}

// handleCampaignNew shows the empty form.
func (s *Server) handleCampaignNew(w http.ResponseWriter, r *http.Request) {
	s.showCampaignForm(w, r, http.StatusOK, newCampaignForm(), &formErrors{})
}

// showCampaignForm renders the form f with code, errs listed and at their fields.
func (s *Server) showCampaignForm(w http.ResponseWriter, r *http.Request, code int, f campaignForm, errs *formErrors) {
	v, err := s.formView(r.Context(), f, errs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	title := "Write a campaign"
	if !errs.empty() {
		title = "Error: " + title
	}
	s.render(w, code, "editor_new.html", page{Title: title, OrgName: s.brand.OrgName, Session: sessionOf(r), Data: v})
}

// handleCampaignCreate checks the form and saves the campaign as a draft; a problem shows
// the form again, as typed, with every problem listed and at its field.
func (s *Server) handleCampaignCreate(w http.ResponseWriter, r *http.Request) {
	f := parseCampaignForm(r)
	topics, err := consent.Topics(r.Context(), s.db)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c, errs, err := s.buildCampaign(r.Context(), f, topics)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !errs.empty() {
		s.showCampaignForm(w, r, http.StatusUnprocessableEntity, f, errs)
		return
	}
	actx := s.auditCampaign(r, audit.CampaignCreate, 0, map[string]any{"channels": c.Channels()})
	err = campaign.NewStore(s.db, s.log).Create(actx, c, f.Topic, actorOf(r))
	if errors.Is(err, campaign.ErrInvalid) { // checked above: only the topic can have gone since
		s.log.WarnContext(r.Context(), "create campaign", "err", err)
		errs.add("topic", "Choose the topic again: the one chosen no longer exists")
		s.showCampaignForm(w, r, http.StatusUnprocessableEntity, f, errs)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "campaign created", "campaign_id", c.ID, "by", actorOf(r))
	http.Redirect(w, r, campaignEditURL(c.ID)+"?done=created", http.StatusSeeOther)
}
