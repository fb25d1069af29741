package web

// Campaign results for officers: the campaigns list (campaign_list.go), one campaign's
// outcomes per channel and its reach by ward (results_page.go, counted in
// results_counts.go), and the borough's reach by ward (reach.go). Every number is
// aggregated by PostgreSQL; the charts are server-rendered SVG (package chart, no
// script) with the same numbers in a table beside them.

import (
	"net/http"
	"strings"

	"github.com/crierhq/crier/internal/auth"
)

// registerResults adds the officers' results pages to mux.
func (s *Server) registerResults(mux *http.ServeMux) {
	officers := []string{auth.Officer}
	mux.HandleFunc("GET /campaigns", s.withUser(officers, s.handleCampaigns))
	mux.HandleFunc("GET /campaigns/{id}/results", s.withUser(officers, s.handleResults))
	mux.HandleFunc("GET /reach", s.withUser(officers, s.handleReach))
}

// stateLabel is a campaign's state as a label: "Scheduled".
func stateLabel(st string) string {
	if st == "" {
		return st
	}
	return strings.ToUpper(st[:1]) + st[1:]
}

// channelLabel names a channel for officers: "Email", "SMS", "Post".
func channelLabel(ch string) string {
	switch ch {
	case "email":
		return "Email"
	case "sms":
		return "SMS"
	case "post":
		return "Post"
	}
	return ch
}
