package web

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/crierhq/crier/internal/segment"
	"github.com/crierhq/crier/internal/web/ruleform"
)

// handleSegmentForm shows the builder with one empty rule.
func (s *Server) handleSegmentForm(w http.ResponseWriter, r *http.Request) {
	f := ruleform.Form{Match: "all", Purpose: segment.PurposeService, Rows: []ruleform.Row{{}}}
	l, err := s.segmentLookups(r.Context(), f.Rows)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.segmentEditPage(w, r, http.StatusOK, f.View(l, &ruleform.Check{}), nil)
}

// handleSegmentPost is every button of the builder: action "add" adds an empty row,
// "remove-N" removes row N, "save" saves the segment, and "count" (also what pressing
// Enter in a field sends) counts it.
func (s *Server) handleSegmentPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f := ruleform.Parse(r)
	action := r.PostFormValue("action")
	c := &ruleform.Check{}
	switch {
	case action == "add":
		if len(f.Rows) < ruleform.MaxRows {
			f.Rows = append(f.Rows, ruleform.Row{})
		}
	case strings.HasPrefix(action, "remove-"):
		if i, err := strconv.Atoi(strings.TrimPrefix(action, "remove-")); err == nil && i >= 0 && i < len(f.Rows) {
			f.Rows = slices.Delete(f.Rows, i, i+1)
		}
	}
	l, err := s.segmentLookups(ctx, f.Rows)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	render := func(code int, v ruleform.EditView) { s.segmentEditPage(w, r, code, v, nil) }
	if action == "add" || strings.HasPrefix(action, "remove-") {
		render(http.StatusOK, f.View(l, c))
		return
	}

	if action == "save" {
		s.segmentSave(w, r, f, l, c, render)
		return
	}

	// Count.
	if f.Purpose != segment.PurposeService && f.Purpose != segment.PurposeMarketing {
		f.Purpose = segment.PurposeService
	}
	rule, _ := f.Rule(l, c)
	topic, ok := l.Topic(f.TopicToCount())
	if !ok {
		c.Add("count-topic", "Choose the topic to count for from the list")
	}
	if c.Failed() {
		render(http.StatusUnprocessableEntity, f.View(l, c))
		return
	}
	count, err := segment.NewStore(s.db).Count(ctx, rule, topic.Slug, f.Purpose)
	if errors.Is(err, segment.ErrUnknownTopic) { // a topic went between the lookups and the count
		c.Add("count-topic", "A topic has just been removed: choose the topics again")
		render(http.StatusUnprocessableEntity, f.View(l, c))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	warnings, err := segment.NewStore(s.db).Unmatched(ctx, rule)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var rowOf []int
	for i, row := range f.Rows {
		if !row.Blank() {
			rowOf = append(rowOf, i)
		}
	}
	v := f.View(l, c)
	v.Warnings = ruleform.Warnings(warnings, rowOf)
	s.segmentEditPage(w, r, http.StatusOK, v, countTable("count-table", "Whom "+f.Purpose+" messages about "+topic.Name+" reach",
		[]string{"Number"}, []segment.Count{count}))
}

// segmentEditView is the builder page's data: the form, and its count once counted.
type segmentEditView struct {
	ruleform.EditView
	Count *countTableView
}

// segmentEditPage renders the builder with v and, when the officer counted, count.
func (s *Server) segmentEditPage(w http.ResponseWriter, r *http.Request, code int, v ruleform.EditView, count *countTableView) {
	title := "New segment"
	if len(v.Errors) > 0 {
		title = "Error: " + title
	}
	s.segmentPage(w, r, code, "segment_edit.html", title, segmentEditView{EditView: v, Count: count})
}

// segmentSave checks the name, description and rules and saves the segment, or shows
// the builder again with the problems.
func (s *Server) segmentSave(w http.ResponseWriter, r *http.Request, f ruleform.Form, l ruleform.Lookups, c *ruleform.Check, render func(int, ruleform.EditView)) {
	ctx := r.Context()
	name := strings.TrimSpace(f.Name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		c.Add("name", "Enter a name for the segment")
	case n > segmentMaxName:
		c.Add("name", fmt.Sprintf("The name must be %d characters or fewer", segmentMaxName))
	case !utf8.ValidString(name) || strings.ContainsFunc(name, unicode.IsControl):
		c.Add("name", "The name must be plain text")
	}
	desc := strings.TrimSpace(f.Description)
	if utf8.RuneCountInString(desc) > segmentMaxDescription || !utf8.ValidString(desc) {
		c.Add("description", fmt.Sprintf("The description must be plain text of %d characters or fewer", segmentMaxDescription))
	}
	rule, _ := f.Rule(l, c)
	if c.Failed() {
		render(http.StatusUnprocessableEntity, f.View(l, c))
		return
	}
	sess := sessionOf(r)
	seg, err := segment.NewStore(s.db).Create(ctx, name, desc, rule, sess.User.Email)
	switch {
	case errors.Is(err, segment.ErrExists):
		c.Add("name", "A segment called “"+name+"” already exists: choose another name")
	case errors.Is(err, segment.ErrInvalid):
		// Checked above; kept for a rule Create's own checks turn down.
		var rowOf []int
		for i, row := range f.Rows {
			if !row.Blank() {
				rowOf = append(rowOf, i)
			}
		}
		c.RuleErrors(err, rule, rowOf)
		if !c.Failed() {
			c.Add("rules", "The rules can’t be saved: "+err.Error())
		}
	case err != nil:
		s.fail(w, r, err)
		return
	}
	if c.Failed() {
		render(http.StatusUnprocessableEntity, f.View(l, c))
		return
	}
	s.log.InfoContext(ctx, "segment created", "segment_id", seg.ID, "user_id", sess.User.ID)
	http.Redirect(w, r, "/segments/"+strconv.FormatInt(seg.ID, 10), http.StatusSeeOther)
}
