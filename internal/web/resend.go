package web

// Resending a campaign's failed messages, or those of unknown outcome, from its page
// (issue 13, defect 4; issue 15): the same as `crier campaign resend-failed` and
// `resend-unknown`, with what it means for residents said on the button's form. And
// the channels' health, which the dispatcher records in the database (another process):
// "SMTP unreachable since 14:02 (connection refused); 1,234 messages waiting to retry".

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/dispatch"
	"github.com/crierhq/crier/internal/outbox"
	"github.com/crierhq/crier/internal/web/number"
)

// registerResend adds the resend actions to mux.
func (s *Server) registerResend(mux *http.ServeMux) {
	officers := []string{auth.Officer}
	mux.HandleFunc("POST /campaigns/{id}/resend-failed", s.withUser(officers, s.handleResend))
	mux.HandleFunc("POST /campaigns/{id}/resend-unknown", s.withUser(officers, s.handleResend))
}

// resendView is what the campaign page offers to resend: how many messages, and how
// many residents they are for, in words ("3 messages", "2 residents").
type resendView struct {
	Failed           int // messages that ran out of attempts on temporary failures
	Unknown          int // messages that may or may not have reached residents
	FailedMessages   string
	FailedResidents  string
	UnknownMessages  string
	UnknownResidents string

	OneFailedResident, OneUnknownResident bool
}

// resendOffer counts what c could resend now: nothing unless its state allows it.
func (s *Server) resendOffer(ctx context.Context, c *campaign.Campaign) (*resendView, error) {
	if c.State != campaign.Sending && c.State != campaign.Completed && c.State != campaign.Scheduled {
		return nil, nil
	}
	n, err := campaign.NewStore(s.db, s.log).Resendable(ctx, c.ID)
	if err != nil || n.Failed+n.Unknown == 0 {
		return nil, err
	}
	return &resendView{Failed: n.Failed, Unknown: n.Unknown,
		FailedMessages: number.Count(n.Failed, "message", "messages"), FailedResidents: number.Count(n.FailedResidents, "resident", "residents"),
		UnknownMessages: number.Count(n.Unknown, "message", "messages"), UnknownResidents: number.Count(n.UnknownResidents, "resident", "residents"),
		OneFailedResident: n.FailedResidents == 1, OneUnknownResident: n.UnknownResidents == 1}, nil
}

// handleResend queues the campaign's failed (or unknown) messages again. Resending
// messages of unknown outcome may deliver some twice, so the officer ticks a box to say
// they accept that.
func (s *Server) handleResend(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignFromPath(w, r)
	if !ok {
		return
	}
	st := campaign.NewStore(s.db, s.log)
	var res campaign.Resent
	var err error
	action := "resend-failed"
	if strings.HasSuffix(r.URL.Path, "/resend-unknown") {
		action = "resend-unknown"
		if r.PostFormValue("confirm") != "yes" {
			errs := &formErrors{}
			errs.add("resend_unknown_confirm", "Tick the box to confirm some residents may get the message twice")
			s.showCampaign(w, r, c, http.StatusUnprocessableEntity, errs, "", "")
			return
		}
		res, err = st.ResendUnknown(s.auditCampaign(r, audit.CampaignResend, c.ID, map[string]any{"which": "unknown"}), c.ID, actorOf(r))
	} else {
		res, err = st.ResendFailed(s.auditCampaign(r, audit.CampaignResend, c.ID, map[string]any{"which": "failed"}), c.ID, actorOf(r))
	}
	switch {
	case err == nil:
		s.log.InfoContext(r.Context(), "campaign messages resent", "campaign_id", c.ID, "action", action,
			"requeued", res.Requeued, "suppressed", res.Suppressed)
		q := url.Values{"done": {action}, "n": {strconv.Itoa(res.Requeued)}, "skipped": {strconv.Itoa(res.Suppressed)}}
		http.Redirect(w, r, campaignEditURL(c.ID)+"?"+q.Encode(), http.StatusSeeOther)
	case errors.Is(err, campaign.ErrTransition):
		errs := &formErrors{}
		why := "Only a sending or completed campaign can resend messages."
		if c.State == campaign.Paused {
			why = "Resume it first, then resend its messages."
		}
		errs.add("", "Its messages can't be resent: the campaign is "+strings.ToLower(stateLabel(string(c.State)))+". "+why)
		s.showCampaign(w, r, c, http.StatusConflict, errs, "", "")
	case errors.Is(err, campaign.ErrNotFound):
		s.campaignFromPath(w, r)
	default:
		s.fail(w, r, err)
	}
}

// resendNotice is the notice after a resend, from the redirect's query.
func resendNotice(q url.Values) string {
	n, _ := strconv.Atoi(q.Get("n"))
	skipped, _ := strconv.Atoi(q.Get("skipped"))
	var s string
	switch {
	case n == 0 && skipped == 0:
		return "There was nothing to resend."
	case q.Get("done") == "resend-unknown":
		s = number.Count(n, "message", "messages") + " of unknown outcome queued again: some residents may get them twice."
	case n == 1:
		s = "1 failed message queued again: it goes to that resident again now, and the campaign completes when it is done."
	default:
		s = number.Count(n, "failed message", "failed messages") + " queued again: they go to those residents again now, and the campaign completes when they are done."
	}
	if skipped > 0 {
		s += " " + number.Thousands(skipped) + " not resent: the resident has since unsubscribed, or the address or number no longer works."
	}
	return s
}

// channelHealth is one channel's health, for the dashboard.
type channelHealth struct {
	Channel string // "email"
	Name    string // "E-bulletin"
	Down    bool
	State   string // "Unreachable", "Working"
	Since   string // "14:02"
	Checked string // "14:20"
	Notice  string // dispatch.HealthNotice: "" when there is nothing to say
}

// healthOf reads the channels' health, each with its notice.
func (s *Server) healthOf(ctx context.Context) ([]channelHealth, error) {
	hs, err := outbox.NewStore(s.db).Health(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]channelHealth, 0, len(hs))
	for _, h := range hs {
		v := channelHealth{Channel: h.Channel, Name: channelName(h.Channel), Down: h.State == outbox.Down, State: "Working",
			Since: londonTime(h.Since), Checked: londonTime(h.CheckedAt), Notice: dispatch.HealthNotice(h, campaign.London)}
		if v.Down {
			v.State = "Unreachable (" + h.ErrorKind + ")"
		}
		out = append(out, v)
	}
	return out, nil
}

// campaignHealth is the notices of the channels c sends on, its own waiting messages
// counted (from counts, its Status).
func (s *Server) campaignHealth(ctx context.Context, c *campaign.Campaign, counts []campaign.Count) ([]string, error) {
	hs, err := outbox.NewStore(s.db).Health(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, h := range hs {
		if !slices.Contains(c.Channels(), h.Channel) {
			continue
		}
		h.Waiting = 0
		for _, n := range counts {
			if n.Channel == h.Channel && (n.State == "pending" || n.State == "retry later" || n.State == "sending") {
				h.Waiting += n.N
			}
		}
		if n := dispatch.HealthNotice(h, campaign.London); n != "" {
			out = append(out, n)
		}
	}
	return out, nil
}
