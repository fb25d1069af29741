package web

// A campaign's progress, live: its state and, per channel, how many of its latest run's
// messages have gone, been delivered, failed or were suppressed. The block is one
// template ("campaign-progress", templates/web/campaign_progress.html) that the editor's
// page renders in place and GET /campaigns/{id}/progress renders alone, so that
// static/live.js can swap it in every couple of seconds: the page and its updates can
// never disagree. Without JavaScript the page shows the counts as they were, with a link
// to count them again.

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/web/number"
)

// progressView is one campaign's progress.
type progressView struct {
	CampaignID int64
	State      string // campaign.State
	StateLabel string // "Sending"
	Summary    string // the rest of the state's sentence
	// Done: nothing more will change (cancelled, or completed with no delivery report
	// still to come); the fragment carries data-live-done and live.js stops asking.
	Done bool
	// Reports, on a completed campaign, says that texts' delivery reports are still
	// coming in, and until when the page follows them.
	Reports string
	// SignedOut: the officer's session ended while the page was open; the fragment says
	// so, and stops.
	SignedOut bool
	Channels  []progressChannel
	// Health says when a channel the campaign sends on is unreachable, or came back
	// lately (dispatch.HealthNotice).
	Health []string
}

// progressChannel is one channel's messages in the campaign's latest run. Total leaves
// out the suppressed, which were never to be sent, and the cancelled, which no longer
// are.
type progressChannel struct {
	Channel string // "email"
	Name    string // "E-bulletin"
	Total   int    // messages to send
	Done    int    // no longer waiting: sent, delivered, failed, bounced or unknown
	Sent    int    // accepted by the provider (sent or delivered)
	// Delivered: confirmed delivered (texts by the network, leaflets by a volunteer).
	// E-bulletins have no such confirmation: Receipts is false for them.
	Delivered int
	Receipts  bool
	Failed    int // failed or bounced
	Waiting   int // pending, retrying later, or being sent now
	Unknown   int // the provider may or may not have taken it: an officer decides
	// Awaiting: texts the network took that have no delivery report yet (sent, not
	// delivered or failed). Only texts have reports.
	Awaiting   int
	Cancelled  int
	Suppressed int // not sent: opted out, or no way to reach the resident on this channel
}

// Percent is how much of the channel is done, rounded down (100 only when all is).
func (p progressChannel) Percent() int {
	if p.Total == 0 {
		return 0
	}
	return p.Done * 100 / p.Total
}

// deliveryReportWindow is how long after a campaign completes its progress keeps
// following texts' delivery reports.
const deliveryReportWindow = 24 * time.Hour

// campaignProgress tallies Status's counts (one query, every run, channel and state) for
// c's latest run, now.
func campaignProgress(c *campaign.Campaign, counts []campaign.Count) *progressView {
	return campaignProgressAt(c, counts, time.Now())
}

// campaignProgressAt is campaignProgress as it is at now.
func campaignProgressAt(c *campaign.Campaign, counts []campaign.Count, now time.Time) *progressView {
	v := &progressView{CampaignID: c.ID, State: string(c.State), StateLabel: stateLabel(string(c.State)),
		Done: c.State == campaign.Completed || c.State == campaign.Cancelled}
	var latest int64
	for _, n := range counts {
		latest = max(latest, n.RunID)
	}
	by := map[string]*progressChannel{}
	for _, n := range counts {
		if n.RunID != latest {
			continue
		}
		p := by[n.Channel]
		if p == nil {
			p = &progressChannel{Channel: n.Channel, Name: channelName(n.Channel), Receipts: n.Channel != "email"}
			by[n.Channel] = p
		}
		switch n.State {
		case "suppressed":
			p.Suppressed += n.N
			continue
		case "cancelled":
			p.Cancelled += n.N
			continue
		case "pending", "retry later", "sending":
			p.Waiting += n.N
			p.Total += n.N
			continue
		case "sent":
			p.Sent += n.N
			if p.Receipts && n.Channel == "sms" {
				p.Awaiting += n.N
			}
		case "delivered":
			p.Sent += n.N
			p.Delivered += n.N
		case "failed", "bounced":
			p.Failed += n.N
		default: // unknown, and any state added later: not waiting, not known to be sent
			p.Unknown += n.N
		}
		p.Done += n.N
		p.Total += n.N
	}
	total, done, cancelled, waiting, awaiting := 0, 0, 0, 0, 0
	for _, ch := range campaignChannels {
		if p := by[ch]; p != nil {
			v.Channels = append(v.Channels, *p)
			total += p.Total
			done += p.Done
			cancelled += p.Cancelled
			waiting += p.Waiting
			awaiting += p.Awaiting
		}
	}
	// A completed campaign still changes while texts' delivery reports come in (or
	// resent messages wait): follow it until none is to come, or for a day at most, as
	// networks that have not reported by then rarely do.
	if c.State == campaign.Completed && (waiting > 0 || awaiting > 0) {
		until := c.UpdatedAt.Add(deliveryReportWindow) // a completed campaign last changed when it completed
		if now.Before(until) {
			v.Done = false
			v.Reports = "Still receiving delivery reports: " + number.Count(awaiting, "text has", "texts have") +
				" gone to the network with no report yet of whether it arrived. This updates until they are all in, or until " +
				londonTime(until) + " (London time), 24 hours after it completed."
			if awaiting == 0 {
				v.Reports = "Still waiting: " + number.Count(waiting, "message", "messages") + " to go. This updates until they have gone."
			}
		}
	}
	of := number.Thousands(done) + " of " + number.Count(total, "message", "messages") + " done"
	switch c.State {
	case campaign.Draft:
		v.Summary = "not scheduled yet."
	case campaign.Scheduled:
		v.Summary = "nothing has gone out yet."
		if c.NextRunAt != nil {
			v.Summary = "due " + londonTime(*c.NextRunAt) + " (London time)."
		}
		if latest != 0 {
			v.Summary += " The last run’s messages are below."
		}
	case campaign.Sending:
		v.Summary = of + "."
		if total == 0 {
			v.Summary = "starting."
		}
	case campaign.Paused:
		v.Summary = of + ". The rest wait until it is resumed."
	case campaign.Completed:
		v.Summary = of + ": none is waiting."
	case campaign.Cancelled:
		v.Summary = number.Count(done, "message", "messages") + " done before it was cancelled; " +
			number.Thousands(cancelled+total-done) + " will not be sent."
	}
	return v
}

// campaignProgressPath is where the fragment of campaign id is.
func campaignProgressPath(id int64) string {
	return "/campaigns/" + strconv.FormatInt(id, 10) + "/progress"
}

// handleCampaignProgress answers the fragment alone: the campaign's state and its
// tallies, two queries however many channels it has.
func (s *Server) handleCampaignProgress(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignFromPath(w, r) // a 404 page, which live.js leaves out
	if !ok {
		return
	}
	counts, err := campaign.NewStore(s.db, s.log).Status(r.Context(), c.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := campaignProgress(c, counts)
	if v.Health, err = s.campaignHealth(r.Context(), c, counts); err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderProgress(w, http.StatusOK, v)
}

// renderProgress writes the fragment, whole or not at all.
func (s *Server) renderProgress(w http.ResponseWriter, code int, v *progressView) {
	var b bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&b, "campaign-progress", v); err != nil {
		s.log.Error("render page", "template", "campaign-progress", "err", err)
		http.Error(w, "The progress could not be shown.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

// progressSignedIn sends a signed-out request for the fragment a fragment that says so
// (and stops the updates), rather than the redirect to the sign-in page that withUser
// gives a page: live.js would follow it and put the sign-in page in the middle of the
// campaign's. Everything else is withUser's.
func (s *Server) progressSignedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var token string
		if c, _ := r.Cookie(sessionCookie); c != nil {
			token = c.Value
		}
		if token == "" {
			s.progressSignedOut(w, r)
			return
		}
		_, err := s.app.Auth.Peek(r.Context(), token) // a check only: withUser decides whether this request extends the session
		if errors.Is(err, auth.ErrNoSession) {
			s.progressSignedOut(w, r)
			return
		}
		next(w, r)
	}
}

func (s *Server) progressSignedOut(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.renderProgress(w, http.StatusOK, &progressView{CampaignID: max(id, 0), SignedOut: true, Done: true})
}
