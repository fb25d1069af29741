package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/crierhq/crier/internal/campaign"
)

// campaignMoves are the actions other than scheduling: what they make the campaign, and
// from which states.
var campaignMoves = map[string]struct {
	done, verb, from string
}{
	"pause":  {"paused", "paused", "Only a scheduled or sending campaign can be paused."},
	"resume": {"resumed", "resumed", "Only a paused campaign can be resumed."},
	"cancel": {"cancelled", "cancelled", "A completed or cancelled campaign can't be cancelled."},
}

// handleCampaignMove pauses, resumes or cancels the campaign.
func (s *Server) handleCampaignMove(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignFromPath(w, r)
	if !ok {
		return
	}
	action := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	st := campaign.NewStore(s.db, s.log)
	actx := s.auditCampaign(r, "campaign."+action, c.ID, nil)
	var err error
	switch action {
	case "pause":
		err = st.Pause(actx, c.ID, actorOf(r))
	case "resume":
		err = st.Resume(actx, c.ID, actorOf(r))
	case "cancel":
		if r.PostFormValue("confirm") != "yes" {
			errs := &formErrors{}
			errs.add("cancel_confirm", "Tick the box to confirm you want to cancel it")
			s.showCampaign(w, r, c, http.StatusUnprocessableEntity, errs, "", "")
			return
		}
		err = st.Cancel(actx, c.ID, actorOf(r))
	default:
		http.NotFound(w, r)
		return
	}
	switch {
	case err == nil:
		s.log.InfoContext(r.Context(), "campaign "+campaignMoves[action].done, "campaign_id", c.ID, "by", actorOf(r))
		http.Redirect(w, r, campaignEditURL(c.ID)+"?done="+campaignMoves[action].done, http.StatusSeeOther)
	case errors.Is(err, campaign.ErrTransition):
		s.showRefused(w, r, c.ID, action, "", "")
	case errors.Is(err, campaign.ErrNotFound):
		s.campaignFromPath(w, r)
	default:
		s.fail(w, r, err)
	}
}

// showRefused shows the campaign again (as it is now) with why the action is not
// allowed in its state: 409.
func (s *Server) showRefused(w http.ResponseWriter, r *http.Request, id int64, action, when, sendAt string) {
	c, err := campaign.NewStore(s.db, s.log).Get(r.Context(), strconv.FormatInt(id, 10))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	why := "Only a draft, or a paused campaign that had not started sending, can be scheduled."
	verb := "scheduled"
	if m, ok := campaignMoves[action]; ok {
		why, verb = m.from, m.verb
	}
	errs := &formErrors{}
	errs.add("", fmt.Sprintf("It can't be %s: the campaign is %s. %s", verb, strings.ToLower(stateLabel(string(c.State))), why))
	s.showCampaign(w, r, c, http.StatusConflict, errs, when, sendAt)
}
