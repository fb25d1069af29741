package web

// A campaign's leaflets page: an officer presses "Print leaflets" and the print run
// (printrun.Store.Print, as `crier leaflets print` runs it) goes on in the background.
// The job is in print_jobs, so the page shows it after a reload, from any server; the
// database lets one run per campaign at a time. The page shows the job's progress
// (live.js swaps it in; without JavaScript a reload shows it) and, when it ends, the
// leaflet PDFs and round sheets, or what stopped it and what to do.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/leaflet"
	"github.com/crierhq/crier/internal/printrun"
)

const (
	// printSaveEvery bounds how often a job's progress is written.
	printSaveEvery = 500 * time.Millisecond
	// printHeartbeat is how often a running job says its server still runs it, while it
	// reports no progress (reading the audience, saving the rounds).
	printHeartbeat = 10 * time.Second
	// defaultRoundSize is the doors per round the form offers, as the CLI's default.
	defaultRoundSize = 150
)

func (s *Server) registerLeaflets(mux *http.ServeMux) {
	officers := []string{auth.Officer}
	mux.HandleFunc("GET /campaigns/{id}/leaflets", s.withUser(officers, s.handleLeaflets))
	mux.HandleFunc("POST /campaigns/{id}/leaflets", s.withUser(officers, s.handleLeafletsPrint))
	mux.HandleFunc("GET /campaigns/{id}/leaflets/live", s.liveSignedIn(s.withUser(officers, s.handleLeafletsLive)))
}

// leafletsView is leaflets.html's.
type leafletsView struct {
	Campaign  *campaign.Campaign
	Post      bool // the campaign has a leaflet to print
	Job       *printJobView
	Busy      bool // the officer's press found a job already running
	Runs      []printRunView
	Formats   []choice
	RoundSize int
	Errors    map[string]string // the form's, by field
}

// printJobView is the live part of the page: the job's progress, then how it ended.
type printJobView struct {
	printrun.Job
	CampaignID int64
	Started    contactTime
	Run        *printRunView              // done: what it printed
	Doors      []printrun.UnprintableDoor // failed for unprintable doors: which
	SignedOut  bool
}

// printRunView is one print run with its rounds and their files.
type printRunView struct {
	ID      int64
	Printed contactTime
	Doors   int // to deliver to: a leaflet each (or a bundle, at a door of several households)
	Rounds  []printrun.RoundInfo
}

var leafletFormats = []choice{{"a5", "A5 (two to an A4 sheet)", false}, {"a4", "A4", false},
	{"large", "Large print, for everyone", false}}

func (s *Server) leafletsCampaign(w http.ResponseWriter, r *http.Request) (*campaign.Campaign, bool) {
	c, err := campaign.NewStore(s.db, s.log).Get(r.Context(), r.PathValue("id"))
	if err != nil || strconv.FormatInt(c.ID, 10) != r.PathValue("id") {
		s.render(w, http.StatusNotFound, "message.html", page{Title: "Campaign not found", OrgName: s.brand.OrgName,
			Message: "There is no such campaign. Choose one from Campaigns.", Session: sessionOf(r)})
		return nil, false
	}
	return c, true
}

// leafletsData reads what the page shows of campaign c.
func (s *Server) leafletsData(ctx context.Context, c *campaign.Campaign) (leafletsView, error) {
	v := leafletsView{Campaign: c, Post: slices.Contains(c.Channels(), "post"), RoundSize: defaultRoundSize}
	for _, f := range leafletFormats {
		f.Selected = f.Value == "a5"
		v.Formats = append(v.Formats, f)
	}
	job, err := s.app.Rounds.LatestJob(ctx, c.ID)
	if err != nil && !errors.Is(err, printrun.ErrNotFound) {
		return v, err
	}
	rounds, err := s.app.Rounds.Rounds(ctx, c.ID)
	if err != nil {
		return v, err
	}
	runs := groupRuns(rounds)
	if job != nil {
		if v.Job, err = s.jobView(ctx, job, runs); err != nil {
			return v, err
		}
	}
	for _, run := range runs {
		if v.Job == nil || v.Job.Run == nil || v.Job.Run.ID != run.ID {
			v.Runs = append(v.Runs, run)
		}
	}
	return v, nil
}

// groupRuns gathers rounds (newest print run first) by print run.
func groupRuns(rounds []printrun.RoundInfo) []printRunView {
	var runs []printRunView
	for _, rd := range rounds {
		if len(runs) == 0 || runs[len(runs)-1].ID != rd.PrintRunID {
			runs = append(runs, printRunView{ID: rd.PrintRunID, Printed: contactTimeOf(rd.PrintedAt)})
		}
		last := &runs[len(runs)-1]
		last.Rounds = append(last.Rounds, rd)
		last.Doors += rd.ToDeliver()
	}
	return runs
}

func (s *Server) jobView(ctx context.Context, j *printrun.Job, runs []printRunView) (*printJobView, error) {
	v := &printJobView{Job: *j, CampaignID: j.CampaignID, Started: contactTimeOf(j.StartedAt)}
	if j.PrintRunID != nil {
		for i := range runs {
			if runs[i].ID == *j.PrintRunID {
				v.Run = &runs[i]
			}
		}
	}
	if j.Status == "failed" && j.ErrorKind == "unprintable" {
		doors, err := s.app.Rounds.Unprintable(ctx, j.CampaignID)
		if err != nil {
			return nil, err
		}
		v.Doors = doors
	}
	return v, nil
}

// handleLeaflets shows a campaign's leaflets page.
func (s *Server) handleLeaflets(w http.ResponseWriter, r *http.Request) {
	c, ok := s.leafletsCampaign(w, r)
	if !ok {
		return
	}
	v, err := s.leafletsData(r.Context(), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Busy = r.URL.Query().Get("busy") != "" && v.Job != nil && v.Job.Running()
	s.render(w, http.StatusOK, "leaflets.html", page{Title: "Leaflets: " + c.Name, OrgName: s.brand.OrgName,
		Session: sessionOf(r), Data: v})
}

// handleLeafletsLive is the page's live part alone, for live.js.
func (s *Server) handleLeafletsLive(w http.ResponseWriter, r *http.Request) {
	c, err := campaign.NewStore(s.db, s.log).Get(r.Context(), r.PathValue("id"))
	if err != nil || strconv.FormatInt(c.ID, 10) != r.PathValue("id") {
		http.NotFound(w, r)
		return
	}
	v, err := s.leafletsData(r.Context(), c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderFragment(w, r, "leaflets-job", v.Job)
}

// liveSignedIn answers live.js's poll from a signed-out browser with a fragment saying
// so (which stops the updates), rather than the sign-in page withUser would redirect it
// to and live.js would paste into the page.
func (s *Server) liveSignedIn(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var token string
		if c, _ := r.Cookie(sessionCookie); c != nil {
			token = c.Value
		}
		if _, err := s.app.Auth.Peek(r.Context(), token); token == "" || errors.Is(err, auth.ErrNoSession) {
			id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_ = s.tmpl.ExecuteTemplate(w, "leaflets-job", &printJobView{CampaignID: max(id, 0), SignedOut: true})
			return
		}
		next(w, r)
	}
}

// handleLeafletsPrint starts a print run of the campaign's post audience in the
// background and sends the officer to the page that shows it.
func (s *Server) handleLeafletsPrint(w http.ResponseWriter, r *http.Request) {
	c, ok := s.leafletsCampaign(w, r)
	if !ok {
		return
	}
	back := "/campaigns/" + strconv.FormatInt(c.ID, 10) + "/leaflets"
	format := leaflet.Format(r.PostFormValue("format"))
	size, sizeErr := strconv.Atoi(strings.TrimSpace(r.PostFormValue("round_size")))
	errs := map[string]string{}
	if !slices.ContainsFunc(leafletFormats, func(f choice) bool { return f.Value == string(format) }) {
		errs["format"] = "Choose a format from the list."
	}
	if sizeErr != nil || size < 1 || size > 1000 {
		errs["round_size"] = "Enter the number of doors a volunteer walks in one round, from 1 to 1000 (150 is usual)."
	}
	if !slices.Contains(c.Channels(), "post") {
		errs["post"] = "This campaign has no leaflet. Add the post channel and a leaflet in the campaign editor, then print."
	}
	if len(errs) > 0 {
		v, err := s.leafletsData(r.Context(), c)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v.Errors, v.RoundSize = errs, size
		for i := range v.Formats {
			v.Formats[i].Selected = v.Formats[i].Value == string(format)
		}
		msg := "Nothing was printed: correct what is marked below."
		s.render(w, http.StatusUnprocessableEntity, "leaflets.html", page{Title: "Leaflets: " + c.Name, OrgName: s.brand.OrgName,
			Session: sessionOf(r), Error: msg, Data: v})
		return
	}
	sess := sessionOf(r)
	job, err := s.app.Rounds.StartJob(r.Context(), c.ID, string(format), size, sess.User.ID)
	if errors.Is(err, printrun.ErrBusy) {
		http.Redirect(w, r, back+"?busy=1", http.StatusSeeOther)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	content, err := s.leafletContent(c)
	if err != nil {
		s.endPrintJob(r.Context(), job.ID, nil, err)
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	dir := s.app.LeafletDir
	if dir == "" {
		dir = "leaflets"
	}
	req := printrun.Request{CampaignID: c.ID, Format: format, RoundSize: size, OutDir: dir, Actor: sess.User.Email, Content: content}
	ctx := audit.Within(context.WithoutCancel(r.Context()), s.entry(r, audit.Entry{Action: audit.LeafletsPrint, SubjectType: "print_run",
		Detail: map[string]any{"campaign_id": c.ID, "format": string(format), "print_job_id": job.ID}}))
	go s.runPrintJob(ctx, job.ID, req)
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// runPrintJob prints req as job id, recording its progress and how it ended. It owns
// the heartbeat goroutine it starts, and waits for it.
func (s *Server) runPrintJob(ctx context.Context, id int64, req printrun.Request) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(printHeartbeat)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				hctx, cancel := context.WithTimeout(ctx, printHeartbeat)
				if err := s.app.Rounds.JobHeartbeat(hctx, id); err != nil {
					s.log.WarnContext(hctx, "print job heartbeat", "print_job_id", id, "err", err)
				}
				cancel()
			}
		}
	}()
	var hold func(done, total int)
	if h := s.app.printHold.Load(); h != nil {
		hold = *h
	}
	var saved time.Time
	req.Progress = func(done, total int) {
		// Called one at a time (printrun serialises it).
		if saved.IsZero() || done >= total || time.Since(saved) >= printSaveEvery {
			saved = time.Now()
			pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := s.app.Rounds.JobProgress(pctx, id, done, total); err != nil {
				s.log.WarnContext(pctx, "print job progress", "print_job_id", id, "err", err)
			}
			cancel()
		}
		if hold != nil {
			hold(done, total)
		}
	}
	res, err := s.app.Rounds.Print(ctx, req)
	close(stop)
	wg.Wait()
	s.endPrintJob(ctx, id, res, err)
}

// endPrintJob records how job id ended: the print run it made, or what stopped it, in
// words for the officer that name no resident.
func (s *Server) endPrintJob(ctx context.Context, id int64, res *printrun.Result, err error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	var kind, msg string
	var unprintable *printrun.UnprintableError
	var contentErr *email.ContentError
	switch {
	case err == nil:
		s.log.InfoContext(ctx, "leaflets printed", "print_job_id", id, "print_run_id", res.ID, "leaflets", res.Leaflets, "rounds", res.Rounds)
		if ferr := s.app.Rounds.FinishJob(ctx, id, res.ID); ferr != nil {
			s.log.ErrorContext(ctx, "finish print job", "print_job_id", id, "err", ferr)
		}
		return
	case errors.As(err, &unprintable):
		kind = "unprintable"
		have := doorsWord(len(unprintable.Doors)) + " have"
		if len(unprintable.Doors) == 1 {
			have = "1 door has"
		}
		msg = have + " characters the leaflet font cannot print (it would print “?” instead), so nothing was printed. " +
			"Correct or transliterate them (open the resident from Contacts), or leave these residents out of the post, then print again."
	case errors.Is(err, printrun.ErrNothingToPrint):
		kind = "nothing"
		msg = "Nothing is waiting to be printed. Either the campaign has not started sending yet (schedule it: once it starts, " +
			"its post audience waits here to be printed), or every leaflet has been printed already (see the print runs below)."
	case errors.Is(err, printrun.ErrInvalid) || errors.Is(err, leaflet.ErrInvalid) || errors.As(err, &contentErr):
		kind = "invalid"
		msg = "The leaflet can’t be printed: " + err.Error() + ". Correct it in the campaign editor, then print again."
	case res != nil:
		kind = "internal"
		msg = fmt.Sprintf("Print run %d was made, but its files could not be put in place. Tell your administrator: the server’s log says where they are.", res.ID)
		s.log.ErrorContext(ctx, "print job files", "print_job_id", id, "print_run_id", res.ID, "err", err)
	default:
		kind = "internal"
		msg = "Something went wrong while printing, and nothing was printed. Try again in a few minutes; if it happens again, tell your administrator."
		s.log.ErrorContext(ctx, "print job failed", "print_job_id", id, "err", err)
	}
	if ferr := s.app.Rounds.FailJob(ctx, id, kind, msg); ferr != nil {
		s.log.ErrorContext(ctx, "fail print job", "print_job_id", id, "err", ferr)
	}
}
