package web

// Changing a draft (POST /campaigns/{id}/edit) and copying a campaign (POST
// /campaigns/{id}/duplicate), as GOV.UK Notify lets one edit a template: the change form
// is the new-campaign form, checked the same way (buildCampaign), on the campaign's own
// page.

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/consent"
)

// notEditable says why a campaign in state st can't be changed, and what to do instead.
func notEditable(st campaign.State) string {
	switch st {
	case campaign.Scheduled:
		return "It can’t be changed: it is scheduled, and only a draft can be changed. To send something different, copy it (the copy is a draft you can change), then cancel this one before it goes out."
	case campaign.Sending:
		return "It can’t be changed: it is sending, and only a draft can be changed. Pause it to stop more going out, then copy it to write a changed version, and cancel this one if the rest should not go."
	case campaign.Paused:
		return "It can’t be changed: it is paused, and only a draft can be changed. Copy it to write a changed version, and cancel this one if the rest should not go."
	case campaign.Completed:
		return "It can’t be changed: it has been sent. To send a changed version, copy it: the copy is a draft you can change and schedule."
	case campaign.Cancelled:
		return "It can’t be changed: it was cancelled. To send a changed version, copy it: the copy is a draft you can change and schedule."
	}
	return "Only a draft can be changed. Copy it to write a changed version."
}

// droppedHTML is the raw HTML in c's texts, which residents will not see as written:
// the e-bulletin leaves it out, and the leaflet prints it as written, tags and all.
func droppedHTML(c *campaign.Campaign) []htmlWarning {
	var out []htmlWarning
	chans := c.Channels()
	for _, ch := range chans {
		switch ch {
		case "email":
			if lines := campaign.DroppedHTML(c.EmailBody); len(lines) > 0 {
				out = append(out, htmlWarning{Of: "The e-bulletin’s text",
					Effect: "The e-bulletin leaves HTML out, so residents will not see it.", Lines: lines})
			}
		case "post":
			if c.LeafletBody == c.EmailBody && len(out) > 0 && out[0].Of == "The e-bulletin’s text" {
				out[0].Effect += " The leaflet prints the same text with the HTML as written, tags and all."
				continue
			}
			if lines := campaign.DroppedHTML(c.LeafletBody); len(lines) > 0 {
				out = append(out, htmlWarning{Of: "The leaflet’s text",
					Effect: "The leaflet prints HTML as written, tags and all, and its web page leaves it out.", Lines: lines})
			}
		}
	}
	return out
}

// handleCampaignUpdate saves the change form over a draft. It is checked as a new
// campaign is (buildCampaign); a problem, a campaign that is no longer a draft, or a
// copy someone else has saved over since it was read shows the page again with the
// form as typed and what to do.
func (s *Server) handleCampaignUpdate(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignFromPath(w, r)
	if !ok {
		return
	}
	f := parseCampaignForm(r)
	edit := &campaignEdit{Form: f, Version: r.PostFormValue("version")}
	errs := &formErrors{}
	version, ok := campaign.ParseVersion(edit.Version)
	if !ok {
		// Not from the form (or from a page of an older Crier): it can't be told apart
		// from a stale copy, so it is not saved over what someone else may have done.
		edit.Version = c.Version()
		errs.add("edit", "The form was missing what it needs to check nobody else has changed the campaign meanwhile. Check the campaign below, then save your changes again")
		s.showCampaignPage(w, r, c, http.StatusConflict, errs, "", "", edit)
		return
	}
	if c.State != campaign.Draft {
		errs.add("edit", notEditable(c.State))
		s.showCampaignPage(w, r, c, http.StatusConflict, errs, "", "", edit)
		return
	}
	if version.UnixMicro() != c.UpdatedAt.UnixMicro() { // said now, before any other problem; Update checks again under a lock
		s.showStale(w, r, c, errs, edit, c.UpdatedAt)
		return
	}
	topics, err := consent.Topics(r.Context(), s.db)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	changed, errs, err := s.buildCampaign(r.Context(), f, topics)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !errs.empty() {
		s.showCampaignPage(w, r, c, http.StatusUnprocessableEntity, errs, "", "", edit)
		return
	}
	changed.ID = c.ID
	// The form holds the default language's texts; the campaign's other languages (from
	// its file) are kept as they are, and must still match what the form sends.
	changed.Languages, changed.Variants, changed.Bilingual = c.Languages, c.Variants, c.Bilingual
	if c.Multilingual() {
		if verr := changed.Validate(); verr != nil {
			errs.add("edit", "The campaign is also in "+otherLanguages(c)+", and those texts no longer match this one: "+verr.Error()+
				". Change the campaign’s file and create it again, or keep the same channels")
			s.showCampaignPage(w, r, c, http.StatusUnprocessableEntity, errs, "", "", edit)
			return
		}
	}
	actx := s.auditCampaign(r, audit.CampaignUpdate, c.ID, nil)
	err = campaign.NewStore(s.db, s.log).Update(actx, changed, f.Topic, version)
	var stale *campaign.StaleError
	switch {
	case err == nil:
		s.log.InfoContext(r.Context(), "campaign changed", "campaign_id", c.ID)
		http.Redirect(w, r, campaignEditURL(c.ID)+"?done=saved", http.StatusSeeOther)
		return
	case errors.As(err, &stale):
		s.showStale(w, r, c, errs, edit, stale.At)
		return
	case errors.Is(err, campaign.ErrTransition):
		now, gerr := campaign.NewStore(s.db, s.log).Get(r.Context(), strconv.FormatInt(c.ID, 10))
		if gerr != nil {
			s.fail(w, r, gerr)
			return
		}
		errs.add("edit", notEditable(now.State))
		s.showCampaignPage(w, r, now, http.StatusConflict, errs, "", "", edit)
		return
	case errors.Is(err, campaign.ErrInvalid): // checked above: only the topic can have gone since
		s.log.WarnContext(r.Context(), "change campaign", "campaign_id", c.ID, "err", err)
		errs.add("topic", "Choose the topic again: the one chosen no longer exists")
		s.showCampaignPage(w, r, c, http.StatusUnprocessableEntity, errs, "", "", edit)
		return
	case errors.Is(err, campaign.ErrNotFound):
		s.campaignFromPath(w, r)
		return
	}
	s.fail(w, r, err)
}

// showStale shows the page again, 409, with the form as typed and that someone else
// saved the campaign at (London time) since the officer's copy was read. The form
// keeps the old version: saving it again is refused again, never silently overwriting.
func (s *Server) showStale(w http.ResponseWriter, r *http.Request, c *campaign.Campaign, errs *formErrors, edit *campaignEdit, at time.Time) {
	edit.Stale = "Someone else changed this campaign at " + at.In(campaign.London).Format("15:04") +
		", after you opened it, so your changes have not been saved. Reload to see their changes."
	errs.add("edit", edit.Stale)
	now, err := campaign.NewStore(s.db, s.log).Get(r.Context(), strconv.FormatInt(c.ID, 10))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.showCampaignPage(w, r, now, http.StatusConflict, errs, "", "", edit)
}

// handleCampaignDuplicate copies the campaign, in any state, as a new draft, and opens
// the copy.
func (s *Server) handleCampaignDuplicate(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignFromPath(w, r)
	if !ok {
		return
	}
	actx := s.auditCampaign(r, audit.CampaignCopy, c.ID, nil)
	cp, err := campaign.NewStore(s.db, s.log).Duplicate(actx, c.ID, actorOf(r))
	if errors.Is(err, campaign.ErrNotFound) {
		s.campaignFromPath(w, r)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "campaign copied", "campaign_id", cp.ID, "copy_of", c.ID)
	http.Redirect(w, r, campaignEditURL(cp.ID)+"?done=copied", http.StatusSeeOther)
}

// otherLanguages names a campaign's languages but its default: "English (en)".
func otherLanguages(c *campaign.Campaign) string {
	var names []string
	for _, code := range c.Languages[1:] {
		names = append(names, campaign.LanguageName(code))
	}
	return strings.Join(names, " and ")
}
