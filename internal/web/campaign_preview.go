package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/leaflet"
)

// handleEmailPreview is the e-bulletin as the sample resident gets it: the page the
// editor frames. Its links lead nowhere.
func (s *Server) handleEmailPreview(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignFromPath(w, r)
	if !ok {
		return
	}
	c = previewIn(c, r.URL.Query().Get("lang"))
	if !slices.Contains(c.Channels(), "email") {
		s.render(w, http.StatusNotFound, "message.html", page{Title: "No e-bulletin", OrgName: s.brand.OrgName,
			Session: sessionOf(r), Message: "This campaign does not send an e-bulletin."})
		return
	}
	topicName, err := consent.TopicName(r.Context(), s.db, c.TopicID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := s.renderEmail(c, topicName)
	if err != nil {
		s.render(w, http.StatusUnprocessableEntity, "message.html", page{Title: "The e-bulletin can't be shown",
			OrgName: s.brand.OrgName, Message: sentence(err.Error())})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	_, _ = io.WriteString(w, out.HTML)
}

// handleLeafletPreview is page 1 of the leaflet as printed for the sample
// resident, as a PNG (pdftoppm).
func (s *Server) handleLeafletPreview(w http.ResponseWriter, r *http.Request) {
	c, ok := s.campaignFromPath(w, r)
	if !ok {
		return
	}
	plain := func(code int, msg string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, msg+"\n")
	}
	c = previewIn(c, r.URL.Query().Get("lang"))
	if !slices.Contains(c.Channels(), "post") {
		plain(http.StatusNotFound, "This campaign does not print a leaflet.")
		return
	}
	var pdf bytes.Buffer
	if err := s.renderLeaflet(c, &pdf); err != nil {
		var ce *email.ContentError
		if errors.Is(err, leaflet.ErrInvalid) || errors.As(err, &ce) {
			plain(http.StatusUnprocessableEntity, "The leaflet can't be printed as it is: "+err.Error())
			return
		}
		s.log.ErrorContext(r.Context(), "leaflet preview", "campaign_id", c.ID, "err", err)
		plain(http.StatusInternalServerError, "The leaflet preview could not be made.")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	select {
	case previewSlots <- struct{}{}:
		defer func() { <-previewSlots }()
	case <-ctx.Done():
		plain(http.StatusServiceUnavailable, "The server is busy making previews. Try again in a moment.")
		return
	}
	png, err := leaflet.Preview(ctx, pdf.Bytes())
	if errors.Is(err, leaflet.ErrNoPoppler) {
		plain(http.StatusServiceUnavailable, "The leaflet preview needs pdftoppm (poppler-utils) on the server.")
		return
	}
	if err != nil {
		s.log.ErrorContext(r.Context(), "leaflet preview", "campaign_id", c.ID, "err", err)
		plain(http.StatusInternalServerError, "The leaflet preview could not be made.")
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "private, max-age=300") // the page's address for it carries the campaign's version
	_, _ = w.Write(png)
}
