package web

// Deleting a draft: a page that asks first (GET /campaigns/{id}/delete), then the
// deletion (POST). Only a draft that nothing was ever sent or printed for can go: what
// went to residents stays on record.

import (
	"errors"
	"net/http"
	"strings"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/campaign"
)

// campaignDeleteView is editor_delete.html's.
type campaignDeleteView struct {
	ID   int64
	Name string
	// Refused says why it can't be deleted; the page then offers no button.
	Refused string
}

// deleteRefusal says why campaign c can't be deleted ("" when it can).
func (s *Server) deleteRefusal(r *http.Request, c *campaign.Campaign) (string, error) {
	if c.State != campaign.Draft {
		return "Only a draft can be deleted, and this campaign is " + strings.ToLower(stateLabel(string(c.State))) +
			". What was sent stays on record. To stop it, cancel it on its page.", nil
	}
	ok, err := campaign.NewStore(s.db, s.log).Deletable(r.Context(), c.ID)
	if err != nil || ok {
		return "", err
	}
	return "It can’t be deleted: it was scheduled once and some of it was sent or printed, which stays on record.", nil
}

// handleCampaignDeleteConfirm asks whether to delete the draft.
func (s *Server) handleCampaignDeleteConfirm(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignFromPath(w, r)
	if !ok {
		return
	}
	why, err := s.deleteRefusal(r, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.showDelete(w, r, c, why)
}

func (s *Server) showDelete(w http.ResponseWriter, r *http.Request, c *campaign.Campaign, why string) {
	code, title := http.StatusOK, "Delete the draft ‘"+c.Name+"’?"
	if why != "" {
		code, title = http.StatusConflict, "Error: ‘"+c.Name+"’ can’t be deleted"
	}
	w.Header().Set("Cache-Control", "private, no-store")
	s.render(w, code, "editor_delete.html", page{Title: title, OrgName: s.brand.OrgName, Session: sessionOf(r),
		Data: campaignDeleteView{ID: c.ID, Name: c.Name, Refused: why}})
}

// handleCampaignDelete deletes the draft and goes back to the campaigns.
func (s *Server) handleCampaignDelete(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignFromPath(w, r)
	if !ok {
		return
	}
	_, err := campaign.NewStore(s.db, s.log).Delete(s.auditCampaign(r, audit.CampaignDelete, c.ID, nil), c.ID)
	switch {
	case err == nil:
		s.log.InfoContext(r.Context(), "campaign deleted", "campaign_id", c.ID)
		http.Redirect(w, r, "/campaigns?done=deleted", http.StatusSeeOther)
	case errors.Is(err, campaign.ErrTransition) || errors.Is(err, campaign.ErrHasMessages):
		now, gerr := campaign.NewStore(s.db, s.log).Get(r.Context(), audit.ID(c.ID))
		if gerr != nil {
			s.fail(w, r, gerr)
			return
		}
		why, gerr := s.deleteRefusal(r, now)
		if gerr != nil {
			s.fail(w, r, gerr)
			return
		}
		s.showDelete(w, r, now, why)
	case errors.Is(err, campaign.ErrNotFound):
		s.campaignFromPath(w, r)
	default:
		s.fail(w, r, err)
	}
}
