package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/printrun"
)

// scheduleCheck vets the content as handleCampaignCreate did, before scheduling: a campaign
// written elsewhere (the CLI) is held to the same checks, and nothing broken is sent.
func (s *Server) scheduleCheck(ctx context.Context) func(*campaign.Campaign) error {
	return func(c *campaign.Campaign) error {
		topicName, err := consent.TopicName(ctx, s.db, c.TopicID)
		if err != nil {
			return err
		}
		chans := c.Channels()
		if slices.Contains(chans, "email") {
			if _, err := s.renderEmail(c, topicName); err != nil {
				return err
			}
		}
		if slices.Contains(chans, "sms") {
			if _, err := email.CompileText(c.Name, "sms", c.SMSText()); err != nil {
				return err
			}
		}
		if slices.Contains(chans, "post") {
			if err := s.leafletCheck(c); err != nil {
				return err
			}
			// Every door of the post audience must print truly (no "?" for a name or
			// an address in a script the leaflet font lacks).
			if err := printrun.NewStore(s.db).CheckDoors(ctx, campaign.NewStore(s.db, s.log), c); err != nil {
				if errors.Is(err, printrun.ErrUnprintable) {
					return fmt.Errorf("%w: %s", campaign.ErrInvalid, err.Error())
				}
				return err
			}
		}
		return nil
	}
}

// leafletCheck refuses a campaign whose leaflet can't print as written (characters the
// leaflet font lacks, merge fields); a campaign without post passes. Problems with the
// organisation's own details are not the campaign's to fix: they are logged, and the
// print run reports them.
func (s *Server) leafletCheck(c *campaign.Campaign) error {
	if !slices.Contains(c.Channels(), "post") {
		return nil
	}
	var problems []string
	if err := s.checkLeaflet(c, func(field, msg string) {
		if field == "org" {
			s.log.Warn("leaflets can't print the organisation's details", "problem", msg)
			return
		}
		problems = append(problems, msg)
	}); err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", campaign.ErrInvalid, strings.Join(problems, " "))
	}
	return nil
}

// handleCampaignSchedule schedules the campaign: now, or at a date and time (London).
func (s *Server) handleCampaignSchedule(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignFromPath(w, r)
	if !ok {
		return
	}
	when, raw := r.PostFormValue("when"), strings.TrimSpace(r.PostFormValue("send_at"))
	errs := &formErrors{}
	var at time.Time
	switch when {
	case "now":
		at = time.Now() // not zero: a campaign paused before its time would keep that time
	case "later":
		if raw == "" {
			errs.add("send_at", "Enter the date and time to send it, like 2026-12-01 09:00")
			break
		}
		t, err := campaign.ParseLocal(raw)
		if err != nil {
			errs.add("send_at", "Enter the date and time as a date and a 24-hour time, like 2026-12-01 09:00")
			break
		}
		if !t.After(time.Now()) {
			errs.add("send_at", "That time has passed: choose a later one, or send it now")
			break
		}
		at = t
	default:
		errs.add("when", "Choose when to send it: now, or at a date and time")
	}
	if !errs.empty() {
		s.showCampaign(w, r, c, http.StatusUnprocessableEntity, errs, when, raw)
		return
	}
	if c.State == campaign.Paused {
		started, err := campaign.NewStore(s.db, s.log).PausedMidRun(r.Context(), c.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if started {
			errs.add("", "It can't be scheduled again: it had started sending when it was paused. Resume it to carry on.")
			s.showCampaign(w, r, c, http.StatusConflict, errs, when, raw)
			return
		}
	}
	actx := s.auditCampaign(r, audit.CampaignSched, c.ID, nil)
	err := campaign.NewStore(s.db, s.log).Schedule(actx, c.ID, at, actorOf(r), s.scheduleCheck(r.Context()))
	var ce *email.ContentError
	switch {
	case err == nil:
		s.log.InfoContext(r.Context(), "campaign scheduled", "campaign_id", c.ID, "by", actorOf(r))
		http.Redirect(w, r, campaignEditURL(c.ID)+"?done=scheduled", http.StatusSeeOther)
	case errors.Is(err, campaign.ErrTransition):
		s.showRefused(w, r, c.ID, "scheduled", when, raw)
	case errors.Is(err, campaign.ErrInvalid) || errors.As(err, &ce):
		for _, e := range unjoin(err) {
			_, msg := validationField(e)
			errs.add("", "It can't be scheduled: "+msg)
		}
		s.showCampaign(w, r, c, http.StatusUnprocessableEntity, errs, when, raw)
	case errors.Is(err, campaign.ErrNotFound):
		s.campaignFromPath(w, r)
	default:
		s.fail(w, r, err)
	}
}
