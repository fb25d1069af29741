package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/lang"
)

// The residents' preference centre, reached from the signed link in every e-bulletin: one
// box per topic and channel (email, text, post) the resident can be reached on, and a
// button to unsubscribe from everything. Every change is a consent row with source "web"
// and the page named in its detail, recorded at the time it is made; nothing else about
// the resident changes here.

// consentSourceWeb is the source of every consent a resident records on these pages.
const consentSourceWeb = "web"

// prefChoice is one box: a topic on one of the resident's contact points.
type prefChoice struct{ consent.Choice }

// Field is the box's form value.
func (c prefChoice) Field() string {
	return strconv.FormatInt(c.PointID, 10) + ":" + strconv.FormatInt(c.TopicID, 10)
}

// On says whether the box shows ticked: the resident gets this topic this way. A topic
// with no consent on record shows ticked (service notices reach them), but saving it
// unchanged records nothing: a ticked box they did not tick is not their consent.
func (c prefChoice) On() bool { return c.Status != "withdrawn" }

// ID is the box's element id.
func (c prefChoice) ID() string {
	return "c-" + strconv.FormatInt(c.PointID, 10) + "-" + strconv.FormatInt(c.TopicID, 10)
}

// Label says, in the resident's words, which way this box reaches them.
func (c prefChoice) Label() string {
	switch c.Kind {
	case "email":
		return "By email to " + maskEmail(c.Value)
	case "phone":
		return "By text to the mobile ending " + lastDigits(c.Value, 4)
	}
	// The street and postcode, never the door: see preference_mask.go.
	street := streetOnly(c.Street)
	if street == "" {
		return "By post, " + c.Post
	}
	return "By post to " + street + ", " + c.Post
}

func lastDigits(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// prefTopic is one topic's group of boxes.
type prefTopic struct {
	ID      int64
	Name    string
	About   string
	Choices []prefChoice
}

type prefData struct {
	Token        string
	Topics       []prefTopic
	Languages    []langChoice // more than one: the resident can choose
	Saved        int          // changes just saved (shown after the redirect)
	JustSaved    bool         // the page follows a save
	StoppedAll   bool         // the page follows "unsubscribe from everything"
	TextsStopped bool         // a mobile replied STOP: texts need START first
	SignUpURL    string
	Problem      string
}

// langChoice is one language on the preference page.
type langChoice struct {
	lang.Language
	Selected bool
}

// languageChoices are the languages residents can choose, code's ticked; none when
// there is only one.
func (s *Server) languageChoices(code string) []langChoice {
	if len(s.languages) < 2 {
		return nil
	}
	out := make([]langChoice, len(s.languages))
	for i, l := range s.languages {
		out[i] = langChoice{Language: l, Selected: l.Code == code}
	}
	return out
}

// prefLanguages are the languages the page offers, the resident's ticked. A resident
// whose language is not offered (imported as "so", say) has none ticked, and keeps
// theirs until they choose.
func (s *Server) prefLanguages(ctx context.Context, q sqlx.QueryerContext, contactID int64) ([]langChoice, error) {
	if len(s.languages) < 2 {
		return nil, nil
	}
	current, err := contact.Language(ctx, q, contactID)
	if err != nil {
		return nil, err
	}
	return s.languageChoices(current), nil
}

// prefChoices loads the resident's boxes: every topic on every contact point that can
// reach them, in topic order; a mobile that texted STOP has none (textsStopped).
func prefChoices(ctx context.Context, q sqlx.QueryerContext, contactID int64) (choices []prefChoice, textsStopped bool, err error) {
	all, err := consent.Choices(ctx, q, contactID)
	if err != nil {
		return nil, false, fmt.Errorf("preferences: %w", err)
	}
	for _, c := range all {
		// A mobile that texted STOP is blocked by the network as well as by us until the
		// resident texts START, so its boxes would promise what can't happen.
		if c.PtState == "opted_out" {
			textsStopped = true
			continue
		}
		choices = append(choices, prefChoice{c})
	}
	return choices, textsStopped, nil
}

func groupPrefTopics(choices []prefChoice) []prefTopic {
	var out []prefTopic
	for _, c := range choices {
		if len(out) == 0 || out[len(out)-1].ID != c.TopicID {
			out = append(out, prefTopic{ID: c.TopicID, Name: c.Topic, About: c.About})
		}
		out[len(out)-1].Choices = append(out[len(out)-1].Choices, c)
	}
	return out
}

// recordConsents records a resident's changes on these pages through the consent
// ledger, each only where it changes what stands.
func recordConsents(ctx context.Context, q sqlx.QueryerContext, points, topics []int64, statuses []string, detail string) (int, error) {
	changes := make([]consent.Change, len(points))
	for i := range points {
		changes[i] = consent.Change{Point: points[i], Topic: topics[i], Status: statuses[i]}
	}
	return consent.Record(ctx, q, changes, consent.Source{Name: consentSourceWeb, Detail: detail})
}

// preferencesContact returns the contact the page's link names; errPrefLinkExpired for
// a link too old to show or change anything (see preference_link.go).
func (s *Server) preferencesContact(r *http.Request) (int64, error) {
	return s.preferencesLink(r.PathValue("token"), time.Now())
}

// handlePreferences shows the boxes, ticked as the resident's consents stand now.
func (s *Server) handlePreferences(w http.ResponseWriter, r *http.Request) {
	contactID, err := s.preferencesContact(r)
	if err != nil {
		s.preferencesLinkProblem(w, r, err)
		return
	}
	choices, stopped, err := prefChoices(r.Context(), s.db, contactID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := prefData{Token: r.PathValue("token"), Topics: groupPrefTopics(choices), TextsStopped: stopped}
	if d.Languages, err = s.prefLanguages(r.Context(), s.db, contactID); err != nil {
		s.fail(w, r, err)
		return
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("saved")); err == nil && n >= 0 {
		d.Saved, d.JustSaved = n, true
	}
	d.StoppedAll = r.URL.Query().Has("stopped")
	if s.signUpOpen() {
		d.SignUpURL = "/signup"
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, http.StatusOK, "preferences.html", page{Title: "Your preferences", OrgName: s.brand.OrgName, Data: d})
}

// handlePreferencesSave records what changed between the boxes as shown and as sent:
// a box unticked withdraws, a box ticked again after a withdrawal grants. It answers
// with a redirect, so reloading the page sends nothing twice.
func (s *Server) handlePreferencesSave(w http.ResponseWriter, r *http.Request) {
	s.changePreferences(w, r, false)
}

// handlePreferencesStopAll withdraws every topic on every channel the page shows.
func (s *Server) handlePreferencesStopAll(w http.ResponseWriter, r *http.Request) {
	s.changePreferences(w, r, true)
}

func (s *Server) changePreferences(w http.ResponseWriter, r *http.Request, stopAll bool) {
	contactID, err := s.preferencesContact(r)
	if err != nil {
		s.preferencesLinkProblem(w, r, err)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.render(w, http.StatusBadRequest, "message.html", page{Title: "Your choices could not be read", OrgName: s.brand.OrgName,
			Message: "Go back, reload the page and try again."})
		return
	}
	wanted := map[string]bool{}
	for _, v := range r.PostForm["on"] {
		wanted[v] = true
	}
	tx, err := s.db.BeginTxx(r.Context(), nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer tx.Rollback()
	if err := contact.LockChoices(r.Context(), tx, contactID); err != nil {
		s.fail(w, r, err)
		return
	}
	choices, _, err := prefChoices(r.Context(), tx, contactID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	known := map[string]bool{}
	var points, topics []int64
	var statuses []string
	for _, c := range choices {
		known[c.Field()] = true
		var to string
		switch on := wanted[c.Field()] && !stopAll; {
		case on && c.Status == "withdrawn":
			to = "granted"
		case !on && c.Status != "withdrawn":
			to = "withdrawn"
		default:
			continue
		}
		points, topics, statuses = append(points, c.PointID), append(topics, c.TopicID), append(statuses, to)
	}
	for v := range wanted {
		if !known[v] {
			// Not a box of this resident's page: a stale page after a contact point was
			// removed, or a tampered form. Change nothing rather than half of it.
			s.render(w, http.StatusConflict, "message.html", page{Title: "This page is out of date", OrgName: s.brand.OrgName,
				Message: "Your details changed since the page was opened, so nothing was saved. Open the link again to see your choices as they are now."})
			return
		}
	}
	var saved int
	if stopAll {
		// Every topic on every way we have of reaching them, including topics added
		// later: one channel-wide withdrawal per contact point.
		var all []int64
		if all, err = contact.PointIDs(r.Context(), tx, contactID); err != nil {
			s.fail(w, r, err)
			return
		}
		saved, err = consent.WithdrawAll(r.Context(), tx, all, consent.Source{Name: consentSourceWeb,
			Detail: "preference centre: unsubscribe from everything"})
	} else {
		saved, err = recordConsents(r.Context(), tx, points, topics, statuses, "preference centre")
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if code := r.PostFormValue("language"); code != "" && !stopAll {
		if !slices.ContainsFunc(s.languages, func(l lang.Language) bool { return l.Code == code }) {
			s.render(w, http.StatusUnprocessableEntity, "message.html", page{Title: "This page is out of date", OrgName: s.brand.OrgName,
				Message: "That language is not one we can write to you in, so nothing was saved. Open the link again to choose."})
			return
		}
		changed, err := contact.SetLanguage(r.Context(), tx, contactID, code)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if changed {
			saved++
		}
	}
	if err := tx.Commit(); err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.InfoContext(r.Context(), "preferences saved", "contact_id", contactID, "changes", saved, "stop_all", stopAll)
	to := "/p/" + r.PathValue("token") + "?saved=" + strconv.Itoa(saved)
	if stopAll {
		to += "&stopped"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}
