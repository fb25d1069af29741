package web

// A round's page: a volunteer walks it on a phone, one tap a door; an officer also gives
// it to a volunteer, takes it back and prints its sheet again.

import (
	"bytes"
	"errors"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/leaflet"
	"github.com/crierhq/crier/internal/printrun"
)

// registerRounds adds the rounds' and the leaflets' pages.
func (s *Server) registerRounds(mux *http.ServeMux) {
	officers := []string{auth.Officer}
	everyone := []string{auth.Officer, auth.Volunteer}
	mux.HandleFunc("GET /rounds", s.withUser(everyone, s.handleRounds))
	mux.HandleFunc("GET /rounds/{id}", s.withUser(everyone, s.handleRound))
	mux.HandleFunc("POST /rounds/{id}/doors/{seq}", s.withUser(everyone, s.handleDoor))
	mux.HandleFunc("GET /rounds/{id}/rest", s.withUser(everyone, s.handleRoundRestConfirm))
	mux.HandleFunc("POST /rounds/{id}/rest", s.withUser(everyone, s.handleRoundRest))
	mux.HandleFunc("GET /rounds/{id}/files/{name}", s.withUser(everyone, s.handleRoundFile))
	mux.HandleFunc("GET /rounds/{id}/sheet.pdf", s.withUser(everyone, s.handleRoundSheet))
	mux.HandleFunc("POST /rounds/{id}/assign", s.withUser(officers, s.handleRoundAssign))
	mux.HandleFunc("POST /rounds/{id}/unassign", s.withUser(officers, s.handleRoundAssign))
	s.registerLeaflets(mux)
}

// roundFor returns a round the signed-in user may see: a volunteer only their own.
func (s *Server) roundFor(r *http.Request) (*printrun.RoundInfo, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, printrun.ErrNotFound
	}
	f := printrun.RoundFilter{RoundID: id}
	if u := sessionOf(r).User; u.Role == auth.Volunteer {
		f.VolunteerID = u.ID
	}
	list, err := s.app.Rounds.RoundsFor(r.Context(), f)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, printrun.ErrNotFound
	}
	return &list[0], nil
}

// roundMissing answers a round the user may not see, or that isn't.
func (s *Server) roundMissing(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, printrun.ErrNotFound) {
		s.render(w, http.StatusNotFound, "message.html", page{Title: "Round not found", OrgName: s.brand.OrgName,
			Message: "There is no such round among yours.", Session: sessionOf(r)})
		return
	}
	s.fail(w, r, err)
}

// roundView is round.html's.
type roundView struct {
	Round      *printrun.RoundInfo
	Stops      []printrun.StopInfo
	Reasons    []string
	ErrorDoor  int // the door the error is about: its "Couldn't deliver" stays open
	Officer    bool
	Volunteers []printrun.Volunteer // officers: whom the round can go to
	Current    int64                // the volunteer's account that has it, or 0
	Notice     string               // what the last action did
	Printed    contactTime
}

// notDeliveredReasons are the usual reasons a volunteer picks from (or writes their own).
var notDeliveredReasons = []string{"No access (gate or door locked)", "No letterbox", "Letterbox sealed or full",
	"Dog", "Address not found", "Resident refused"}

// renderRound shows rd's page with code; errMsg, when set, is about door errDoor (or the
// assignment, with errDoor 0).
func (s *Server) renderRound(w http.ResponseWriter, r *http.Request, code int, rd *printrun.RoundInfo, errMsg string, errDoor int) {
	stops, err := s.app.Rounds.Stops(r.Context(), rd.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sess := sessionOf(r)
	v := roundView{Round: rd, Stops: stops, Reasons: notDeliveredReasons, ErrorDoor: errDoor,
		Officer: sess.User.Role != auth.Volunteer, Printed: contactTimeOf(rd.PrintedAt)}
	if rd.VolunteerID != nil {
		v.Current = *rd.VolunteerID
	}
	if v.Officer {
		if v.Volunteers, err = s.app.Rounds.Volunteers(r.Context()); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	q := r.URL.Query()
	switch {
	case q.Get("marked") != "":
		if n, err := strconv.Atoi(q.Get("marked")); err == nil && n >= 0 {
			v.Notice = doorsWord(n) + " marked delivered."
		}
	case q.Get("assigned") != "" && rd.Volunteer != "":
		v.Notice = "The round is now " + rd.Volunteer + "’s: it is in their “My rounds”."
	case q.Get("unassigned") != "":
		v.Notice = "Nobody has this round now. Assign it to a volunteer when you are ready."
	}
	s.render(w, code, "round.html", page{Title: rd.Name, OrgName: s.brand.OrgName, Session: sess, Error: errMsg, Data: v})
}

// doorsWord writes n doors: "1 door", "12 doors".
func doorsWord(n int) string {
	if n == 1 {
		return "1 door"
	}
	return strconv.Itoa(n) + " doors"
}

// handleRound shows a round's doors in walking order, one tap each.
func (s *Server) handleRound(w http.ResponseWriter, r *http.Request) {
	rd, err := s.roundFor(r)
	if err != nil {
		s.roundMissing(w, r, err)
		return
	}
	s.renderRound(w, r, http.StatusOK, rd, "", 0)
}

// auditRound returns the request's context carrying the entry for action on round id,
// which the store records in the action's own transaction.
func (s *Server) auditRound(r *http.Request, action string, id int64, detail map[string]any) *http.Request {
	ctx := audit.Within(r.Context(), s.entry(r, audit.Entry{Action: action, SubjectType: "round", SubjectID: audit.ID(id), Detail: detail}))
	return r.WithContext(ctx)
}

// handleDoor records one door: delivered, or not delivered with a reason.
func (s *Server) handleDoor(w http.ResponseWriter, r *http.Request) {
	rd, err := s.roundFor(r)
	if err != nil {
		s.roundMissing(w, r, err)
		return
	}
	seq, err := strconv.Atoi(r.PathValue("seq"))
	if err != nil || seq <= 0 {
		http.Error(w, "no such door", http.StatusBadRequest)
		return
	}
	d := printrun.Delivery{RoundID: rd.ID, Seqs: []int{seq}, Actor: sessionOf(r).User.Name}
	if r.PostFormValue("outcome") == "not_delivered" {
		d.Failed = true
		d.Reason = strings.TrimSpace(r.PostFormValue("other"))
		if d.Reason == "" {
			d.Reason = r.PostFormValue("reason")
		}
	}
	ar := s.auditRound(r, audit.RoundDoor, rd.ID, nil)
	if _, err := s.app.Rounds.Deliver(ar.Context(), d); err != nil {
		if errors.Is(err, printrun.ErrInvalid) {
			msg := "Door " + strconv.Itoa(seq) + ": choose or write why the leaflet could not be delivered."
			if !d.Failed {
				msg = "Door " + strconv.Itoa(seq) + " is not one to deliver to on this round. Reload the page and try again."
			}
			s.renderRound(w, r, http.StatusUnprocessableEntity, rd, msg, seq)
			return
		}
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/rounds/"+strconv.FormatInt(rd.ID, 10)+"#door-"+strconv.Itoa(seq), http.StatusSeeOther)
}

// restView is round_rest.html's: the confirmation of "Mark the rest delivered".
type restView struct {
	Round   *printrun.RoundInfo
	Changed bool // the count changed since the volunteer last saw it
}

// handleRoundRestConfirm asks before marking the rest of a round delivered, saying how
// many doors that is.
func (s *Server) handleRoundRestConfirm(w http.ResponseWriter, r *http.Request) {
	rd, err := s.roundFor(r)
	if err != nil {
		s.roundMissing(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "round_rest.html", page{Title: "Mark the rest delivered", OrgName: s.brand.OrgName,
		Session: sessionOf(r), Data: restView{Round: rd}})
}

// handleRoundRest marks every door still to do delivered: exactly as many as the
// confirmation said, or none (the page asks again with the new count).
func (s *Server) handleRoundRest(w http.ResponseWriter, r *http.Request) {
	rd, err := s.roundFor(r)
	if err != nil {
		s.roundMissing(w, r, err)
		return
	}
	expect, err := strconv.Atoi(r.PostFormValue("expect"))
	if err != nil || expect <= 0 {
		http.Redirect(w, r, "/rounds/"+strconv.FormatInt(rd.ID, 10)+"/rest", http.StatusSeeOther)
		return
	}
	ar := s.auditRound(r, audit.RoundRest, rd.ID, nil)
	n, err := s.app.Rounds.Deliver(ar.Context(), printrun.Delivery{RoundID: rd.ID, Actor: sessionOf(r).User.Name, Expect: expect})
	if errors.Is(err, printrun.ErrChanged) {
		if rd, err = s.roundFor(r); err != nil {
			s.roundMissing(w, r, err)
			return
		}
		s.render(w, http.StatusConflict, "round_rest.html", page{Title: "Mark the rest delivered", OrgName: s.brand.OrgName,
			Session: sessionOf(r), Data: restView{Round: rd, Changed: true}})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/rounds/"+strconv.FormatInt(rd.ID, 10)+"?marked="+strconv.Itoa(n), http.StatusSeeOther)
}

// handleRoundFile downloads one of a round's PDFs.
func (s *Server) handleRoundFile(w http.ResponseWriter, r *http.Request) {
	rd, err := s.roundFor(r)
	name := r.PathValue("name")
	if err != nil || !slices.Contains(rd.Files, name) || filepath.Base(name) != name {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "private, no-store")
	http.ServeFile(w, r, filepath.Join(rd.Dir, name))
}

// handleRoundSheet prints a round's sheet again as it stands: its volunteer, and each
// door with what happened there, its LARGE PRINT note and delivery notes, as
// `crier rounds sheet` does.
func (s *Server) handleRoundSheet(w http.ResponseWriter, r *http.Request) {
	rd, err := s.roundFor(r)
	if err != nil {
		s.roundMissing(w, r, err)
		return
	}
	sheet, err := s.app.Rounds.Sheet(r.Context(), rd.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var b bytes.Buffer
	if err := leaflet.RenderRoundSheet(&b, sheet); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="round-`+strconv.FormatInt(rd.ID, 10)+`-sheet.pdf"`)
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	_, _ = w.Write(b.Bytes())
}

// handleRoundAssign gives a round to a volunteer chosen from the enabled volunteers'
// accounts (…/assign), or takes it back (…/unassign).
func (s *Server) handleRoundAssign(w http.ResponseWriter, r *http.Request) {
	rd, err := s.roundFor(r)
	if err != nil {
		s.roundMissing(w, r, err)
		return
	}
	back := "/rounds/" + strconv.FormatInt(rd.ID, 10)
	if strings.HasSuffix(r.URL.Path, "/unassign") {
		if err := s.app.Rounds.Unassign(s.auditRound(r, audit.RoundUnassign, rd.ID, nil).Context(), rd.ID); err != nil {
			s.fail(w, r, err)
			return
		}
		http.Redirect(w, r, back+"?unassigned=1", http.StatusSeeOther)
		return
	}
	vols, err := s.app.Rounds.Volunteers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, _ := strconv.ParseInt(r.PostFormValue("volunteer"), 10, 64)
	i := slices.IndexFunc(vols, func(v printrun.Volunteer) bool { return v.ID == id })
	if i < 0 {
		s.renderRound(w, r, http.StatusUnprocessableEntity, rd,
			"Choose a volunteer from the list. Only volunteers’ accounts that are enabled can be given a round; an administrator adds them under Accounts.", 0)
		return
	}
	err = s.app.Rounds.Assign(s.auditRound(r, audit.RoundAssign, rd.ID, nil).Context(), rd.ID, vols[i].Email)
	if errors.Is(err, printrun.ErrInvalid) {
		// Disabled or changed role a moment ago.
		s.renderRound(w, r, http.StatusUnprocessableEntity, rd,
			"That account can no longer take rounds (it was disabled or is no longer a volunteer’s). Choose another volunteer.", 0)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, back+"?assigned=1", http.StatusSeeOther)
}
