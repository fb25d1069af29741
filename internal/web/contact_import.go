package web

// The import pages: the form, the upload, and the job's page while it runs and after.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"time"

	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/contact"
)

// importLimit answers an upload bigger than maxImportBytes before anything reads it (so
// the officer learns the file is too big, not that the form expired), and bounds the
// body of the rest.
func (s *Server) importLimit(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxImportBytes {
			w.Header().Set("Connection", "close")
			s.render(w, http.StatusRequestEntityTooLarge, "message.html", page{Title: "This file is too big", OrgName: s.brand.OrgName,
				Message: fmt.Sprintf("Files of up to %d MB can be imported here. Split the file, or ask your administrator to import it with the crier contacts import command.", maxImportBytes>>20)})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxImportBytes)
		// Read the upload here, keeping at most importFormMemory of it in memory (the rest
		// goes to a temporary file), rather than in withUser, which keeps up to 32 MB (and
		// about 100 MB of heap while it does). Only for someone signed in: withUser turns
		// anyone else away without reading the body. An error is left for withUser, which
		// meets it again and answers it as for every form.
		var token string
		if c, _ := r.Cookie(sessionCookie); c != nil {
			token = c.Value
		}
		if _, err := s.app.Auth.Peek(r.Context(), token); err == nil {
			_ = r.ParseMultipartForm(importFormMemory)
		}
		next(w, r)
	}
}

// importRecent lists the latest imports, for the import page; job is the job the page
// shows, if any. The list keeps updating while an import in it, or that job, runs.
func (s *Server) importRecent(ctx context.Context, job *importJobView) (importRecentView, error) {
	recent, err := contact.NewStore(s.db, s.log).RecentImports(ctx, 10)
	if err != nil {
		return importRecentView{}, err
	}
	v := importRecentView{Rows: make([]importAudit, len(recent)), Done: job == nil || job.Done, Live: importPath + "/recent"}
	for i, imp := range recent {
		v.Rows[i] = importAudit{ImportSummary: imp, Started: contactTimeOf(imp.StartedAt)}
		if imp.Status == "running" {
			v.Done = false
		}
	}
	if job != nil {
		v.Live += "?job=" + url.QueryEscape(job.ID)
	}
	return v, nil
}

// handleImportRecentLive is the recent imports alone, for live.js.
func (s *Server) handleImportRecentLive(w http.ResponseWriter, r *http.Request) {
	contactsNoStore(w)
	var job *importJobView
	if id := r.URL.Query().Get("job"); id != "" {
		v, err := s.imports.get(r.Context(), id, sessionOf(r).User.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		job = v // nil (done) when the job is not known
	}
	v, err := s.importRecent(r.Context(), job)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderFragment(w, r, "import-recent", v)
}

// importRender renders the import page with code, errMsg (the form's problem) and d.
func (s *Server) importRender(w http.ResponseWriter, r *http.Request, code int, errMsg string, d contactImportData) {
	recent, err := s.importRecent(r.Context(), d.Job)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Recent = recent
	d.MaxMB = maxImportBytes >> 20
	d.Report.Error = errMsg
	s.render(w, code, "import.html", page{Title: "Import contacts", OrgName: s.brand.OrgName, Session: sessionOf(r),
		Error: errMsg, Data: d})
}

// handleImportForm shows the upload form and the recent imports.
func (s *Server) handleImportForm(w http.ResponseWriter, r *http.Request) {
	contactsNoStore(w)
	s.importRender(w, r, http.StatusOK, "", contactImportData{})
}

// handleImport takes an uploaded CSV (multipart field "file"), saves it to a private
// temporary directory, checks that it can be imported at all, and starts importing it
// in the background as `crier contacts import` does; the browser is sent to the job's
// page, which shows the progress and then the report. withUser has already parsed the
// whole multipart body (to read the CSRF token), so the order of the form's fields does
// not matter; the form still puts the token first.
func (s *Server) handleImport(w http.ResponseWriter, r *http.Request) {
	contactsNoStore(w)
	sess := sessionOf(r)
	d := contactImportData{DryRun: r.PostFormValue("dry_run") != "", SkipInvalid: r.PostFormValue("skip_invalid") != ""}
	policy, err := contact.ParseConflictPolicy(r.PostFormValue("conflicts"))
	if err != nil {
		s.importRender(w, r, http.StatusUnprocessableEntity, "Choose what to do with rows that look like someone else.", d)
		return
	}
	d.Conflicts = policy
	file, hdr, err := r.FormFile("file")
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.importRender(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is too big: files of up to %d MB can be imported here.", maxImportBytes>>20), d)
			return
		}
		s.importRender(w, r, http.StatusUnprocessableEntity, "Choose a CSV file to import.", d)
		return
	}
	defer file.Close()
	name := importFileName(hdr.Filename)

	dir, err := os.MkdirTemp("", importDirPrefix+"*")
	if err != nil {
		s.fail(w, r, err)
		return
	}
	started := false
	defer func() {
		if !started { // once started, the import removes it when it ends
			os.RemoveAll(dir)
		}
	}()
	// net/http removes its own temporary files when this handler returns, before the
	// import is done with the file: a big upload it already wrote to disk is moved into
	// dir, anything else is copied there.
	path := filepath.Join(dir, "upload.csv")
	moved := false
	if f, ok := file.(*os.File); ok {
		moved = os.Rename(f.Name(), path) == nil
	}
	if !moved {
		if err := importSave(path, file); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if msg, err := importCheck(path, name); err != nil {
		s.fail(w, r, err)
		return
	} else if msg != "" {
		s.importRender(w, r, http.StatusUnprocessableEntity, msg, d)
		return
	}

	job, err := s.imports.start(r.Context(), sess.User.ID, name, dir, d.DryRun, d.SkipInvalid, policy)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	opts := contact.ImportOptions{Path: path, Name: name, DryRun: d.DryRun, SkipInvalid: d.SkipInvalid,
		Conflicts: policy, RejectsPath: filepath.Join(dir, "rejects.csv"), Actor: sess.User.Email, Progress: job.record,
		Recorded: job.recorded, Suppression: s.suppression}
	started = true
	// The import runs on if the officer's browser goes away, so that an upload ends
	// all-or-nothing and shows up under "Recent imports".
	go s.runImport(context.WithoutCancel(r.Context()), job, dir, opts, sess.User.ID)
	s.log.InfoContext(r.Context(), "contacts import started", "user_id", sess.User.ID, "bytes", hdr.Size,
		"dry_run", d.DryRun, "skip_invalid", d.SkipInvalid)
	http.Redirect(w, r, importPath+"/"+job.id, http.StatusSeeOther)
}

// runImport imports the saved upload for job, records how it ended, and removes dir
// (before the job is marked finished, so a finished job has left nothing behind).
func (s *Server) runImport(ctx context.Context, job *importJob, dir string, opts contact.ImportOptions, userID int64) {
	rep := importReport{Failed: true, Error: opts.Name + " could not be imported because something went wrong on our side, so nothing was imported. Please try again in a few minutes."}
	defer func() {
		if p := recover(); p != nil { // a panic here would take the whole server down
			s.log.ErrorContext(ctx, "contacts import panicked", "user_id", userID, "stack", string(debug.Stack()))
		}
		if err := os.RemoveAll(dir); err != nil {
			s.log.WarnContext(ctx, "remove import upload", "user_id", userID, "err", err)
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := job.finish(fctx, rep); err != nil {
			s.log.ErrorContext(ctx, "record import job outcome", "user_id", userID, "err", err)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, importTimeout)
	defer cancel()
	actx := audit.Within(ctx, audit.Entry{ActorID: &userID, Actor: opts.Actor, Action: audit.ContactsImport, SubjectType: "import"})
	res, err := contact.NewStore(s.db, s.log).Import(actx, opts)
	rep = s.importOutcome(ctx, opts, userID, res, err)
}

// importOutcome turns what Import returned into the officer's report, and logs it (ids
// and counts only).
func (s *Server) importOutcome(ctx context.Context, opts contact.ImportOptions, userID int64, res *contact.ImportResult, err error) importReport {
	name := opts.Name
	var rep importReport
	var inputErr *contact.InputError
	switch {
	case errors.Is(err, contact.ErrRejected):
		rep.Problems, rep.ProblemsNote = importProblems(res.Errors, "invalid")
		s.log.InfoContext(ctx, "contacts import rejected", "import_id", res.ImportID, "user_id", userID,
			"rows", res.Rows, "rejected", res.Rejected, "dry_run", opts.DryRun)
		msg := fmt.Sprintf("%s: %d of %d rows are invalid, so nothing was imported. Fix them and import again", name, res.Rejected, res.Rows)
		switch valid := res.Rows - res.Rejected; valid {
		case 0:
			msg += "."
		case 1:
			msg += ", or choose “Skip invalid rows” to import the valid row."
		default:
			msg += fmt.Sprintf(", or choose “Skip invalid rows” to import the %d valid rows.", valid)
		}
		if slices.ContainsFunc(res.Errors, func(e *contact.InputError) bool { return errors.Is(e, contact.ErrConflict) }) {
			msg += " Rows that look like someone else can also be skipped, or imported as new residents: see “Rows that look like someone else” below."
		}
		rep.Error = msg
		return rep
	case errors.As(err, &inputErr):
		// The file stops being CSV part of the way through: nothing after that can be trusted.
		var errs []*contact.InputError
		var importID int64
		if res != nil {
			errs, importID = res.Errors, res.ImportID
		}
		s.log.InfoContext(ctx, "contacts import rejected: not CSV", "import_id", importID, "user_id", userID, "line", inputErr.Line)
		rep.Problems, rep.ProblemsNote = importProblems(append(slices.Clone(errs), inputErr), "invalid")
		rep.Error = name + " is not valid CSV all the way through, so nothing was imported. Fix the line named below and import again."
		return rep
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		s.log.ErrorContext(ctx, "contacts import timed out", "user_id", userID, "timeout", importTimeout)
		rep.Failed = true
		rep.Error = fmt.Sprintf("Importing %s took longer than %d minutes and was stopped, so nothing was imported. "+
			"Split the file, or ask your administrator to import it with the crier contacts import command.", name, int(importTimeout.Minutes()))
		return rep
	case err != nil:
		s.log.ErrorContext(ctx, "contacts import failed", "user_id", userID, "err", err)
		rep.Failed = true
		rep.Error = name + " could not be imported because something went wrong on our side, so nothing was imported. Please try again in a few minutes."
		return rep
	}
	s.log.InfoContext(ctx, "contacts imported", "import_id", res.ImportID, "user_id", userID, "rows", res.Rows,
		"rejected", res.Rejected, "created", res.ContactsCreated, "updated", res.ContactsUpdated, "dry_run", opts.DryRun,
		"duration", res.Duration)
	rep.Result = &importResult{ImportID: res.ImportID, File: res.File, Encoding: res.Encoding, DryRun: res.DryRun,
		Rows: res.Rows, Rejected: res.Rejected, ContactsCreated: res.ContactsCreated, ContactsUpdated: res.ContactsUpdated,
		ConsentsGranted: res.ConsentsGranted, ConsentsWithdrawn: res.ConsentsWithdrawn, WithdrawalsKept: res.WithdrawalsKept}
	for _, c := range res.Columns {
		rep.Columns = append(rep.Columns, fmt.Sprintf("%s→%s", contact.Shorten(c.Header, 60), contact.Shorten(string(c.Field), 60)))
	}
	if len(res.Errors) > 0 {
		rep.Problems, rep.ProblemsNote = importProblems(res.Errors, "skipped")
	}
	if len(res.Conflicts) > 0 {
		what := "skipped"
		if opts.Conflicts == contact.ConflictsNew {
			what = "imported as new residents, without the other resident’s email or number"
		}
		rep.Conflicts, _ = importProblems(res.Conflicts, "")
		rows, verb := fmt.Sprintf("%d rows", len(rep.Conflicts)), "looked like someone else and were"
		if len(rep.Conflicts) == 1 {
			rows = "1 row"
		}
		if opts.DryRun {
			verb = "look like someone else and would be"
			if len(rep.Conflicts) == 1 {
				verb = "looks like someone else and would be"
			}
		} else if len(rep.Conflicts) == 1 {
			verb = "looked like someone else and was"
		}
		rep.ConflictsNote = fmt.Sprintf("%s %s %s", rows, verb, what)
	}
	for _, c := range res.Changes {
		rep.Changes = append(rep.Changes, contact.Shorten(c.String(), importProblemChars))
	}
	rep.Erased, _ = importProblems(res.Suppressed, "")
	return rep
}

// handleImportJob shows an upload's job page: its progress while it runs (with live.js
// the progress updates itself; without, the page has a Refresh link), then its report.
// A job this server doesn't know (it restarted, or the job ended over an hour ago, or
// it is somebody else's) gets a page saying so, above the recent imports.
func (s *Server) handleImportJob(w http.ResponseWriter, r *http.Request) {
	contactsNoStore(w)
	v, err := s.imports.get(r.Context(), r.PathValue("job"), sessionOf(r).User.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if v == nil {
		s.importRender(w, r, http.StatusNotFound, "", contactImportData{Gone: true})
		return
	}
	s.importRender(w, r, http.StatusOK, "", contactImportData{Job: v, DryRun: v.DryRun, SkipInvalid: v.SkipInvalid})
}

// handleImportJobLive is the job page's live part alone, for live.js. A job it doesn't
// know gets the same notice as the page, as 200 with data-live-done, so that live.js
// shows it and stops asking.
func (s *Server) handleImportJobLive(w http.ResponseWriter, r *http.Request) {
	contactsNoStore(w)
	name, data := "import-gone", any(nil)
	v, err := s.imports.get(r.Context(), r.PathValue("job"), sessionOf(r).User.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if v != nil {
		name, data = "import-job", *v
	}
	s.renderFragment(w, r, name, data)
}

// renderFragment answers with template name alone, for live.js.
func (s *Server) renderFragment(w http.ResponseWriter, r *http.Request, name string, data any) {
	var b bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

// importLiveAuth answers a progress update whose session has ended with 401, not with
// withUser's redirect to the sign-in page, which live.js would follow and paste into
// the job page. Everything else goes through withUser as usual.
func (s *Server) importLiveAuth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var token string
		if c, _ := r.Cookie(sessionCookie); c != nil {
			token = c.Value
		}
		if _, err := s.app.Auth.Peek(r.Context(), token); errors.Is(err, auth.ErrNoSession) { // a check only: withUser decides on extending
			contactsNoStore(w)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, "Your session has ended. Sign in again to see the import's progress.\n")
			return
		}
		next(w, r)
	}
}
