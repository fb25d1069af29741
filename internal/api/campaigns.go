package api

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/crierhq/crier/internal/apitoken"
	"github.com/crierhq/crier/internal/audit"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/segment"
)

// segmentOut is a segment as the API shows it.
type segmentOut struct {
	ID          int64        `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Rules       segment.Rule `json:"rules"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
}

// handleSegments lists the saved segments, by name.
func (a *API) handleSegments(w http.ResponseWriter, r *http.Request, _ *apitoken.Token) {
	list, err := segment.NewStore(a.db).List(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]segmentOut, len(list))
	for i, s := range list {
		out[i] = segmentOut{ID: s.ID, Name: s.Name, Description: s.Description, Rules: s.Rules, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
	}
	writeJSON(w, http.StatusOK, map[string]any{"segments": out})
}

// campaignOut is a campaign as the API shows it; Counts only on GET /campaigns/{id}.
type campaignOut struct {
	ID           int64          `json:"id"`
	Name         string         `json:"name"`
	State        campaign.State `json:"state"`
	Purpose      string         `json:"purpose"`
	Topic        string         `json:"topic"`
	SegmentID    *int64         `json:"segment_id"`
	Channels     []string       `json:"channels"`
	Languages    []string       `json:"languages"`
	ScheduleKind string         `json:"schedule_kind"`
	Recurrence   string         `json:"recurrence"`
	SendAt       *time.Time     `json:"send_at"`
	NextRunAt    *time.Time     `json:"next_run_at"`
	CreatedBy    string         `json:"created_by"`
	CreatedAt    time.Time      `json:"created_at"`
	UpdatedAt    time.Time      `json:"updated_at"`
	Totals       map[string]int `json:"totals,omitempty"`
	Counts       []countOut     `json:"counts,omitempty"`
}

// countOut is a number of a run's messages in one channel, state and reason.
type countOut struct {
	RunID   int64  `json:"run_id"`
	Channel string `json:"channel"`
	State   string `json:"state"`
	Reason  string `json:"reason"`
	N       int    `json:"n"`
}

func campaignJSON(c *campaign.Campaign) campaignOut {
	langs := c.Languages
	if langs == nil {
		langs = []string{}
	}
	ch := c.Channels()
	if ch == nil {
		ch = []string{}
	}
	return campaignOut{ID: c.ID, Name: c.Name, State: c.State, Purpose: c.Purpose, Topic: c.Topic, SegmentID: c.SegmentID,
		Channels: ch, Languages: langs, ScheduleKind: c.ScheduleKind, Recurrence: c.Recurrence, SendAt: c.SendAt,
		NextRunAt: c.NextRunAt, CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// handleCampaigns lists campaigns, newest first.
func (a *API) handleCampaigns(w http.ResponseWriter, r *http.Request, _ *apitoken.Token) {
	list, err := campaign.NewStore(a.db, a.log).List(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]campaignOut, len(list))
	for i, c := range list {
		out[i] = campaignJSON(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"campaigns": out})
}

// campaignFromPath loads the campaign {id} names: its id or, failing that, its name
// (with a did-you-mean in the 404's detail).
func (a *API) campaignFromPath(w http.ResponseWriter, r *http.Request) (*campaign.Campaign, bool) {
	c, err := campaign.NewStore(a.db, a.log).Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, campaign.ErrNotFound) {
		problem(w, http.StatusNotFound, typeNotFound, strings.ToUpper(err.Error()[:1])+err.Error()[1:]+".")
		return nil, false
	}
	if err != nil {
		a.fail(w, r, err)
		return nil, false
	}
	return c, true
}

// handleCampaign shows a campaign with its messages counted by run, channel, state and
// reason, and totals by state.
func (a *API) handleCampaign(w http.ResponseWriter, r *http.Request, _ *apitoken.Token) {
	c, ok := a.campaignFromPath(w, r)
	if !ok {
		return
	}
	counts, err := campaign.NewStore(a.db, a.log).Status(r.Context(), c.ID)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := campaignJSON(c)
	out.Totals, out.Counts = map[string]int{}, []countOut{}
	for _, n := range counts {
		out.Totals[n.State] += n.N
		out.Counts = append(out.Counts, countOut{RunID: n.RunID, Channel: n.Channel, State: n.State, Reason: n.Reason, N: n.N})
	}
	writeJSON(w, http.StatusOK, out)
}

// createIn is POST /campaigns' body: a campaign file's text, as `crier campaign create`
// reads it (front matter, then Markdown).
type createIn struct {
	File string `json:"file"`
}

// fileLineRE finds the file's line in the parser's errors: "campaign.md:7: …", or
// "… line 7: …" in the front matter's.
var fileLineRE = regexp.MustCompile(`^campaign\.md:(\d+)|\bline (\d+)\b`)

// fileErrors turns the campaign file parser's errors, or the content checks' (with def,
// the file they came from), into field errors naming the file's line.
func fileErrors(err error, def *campaign.Definition) []FieldError {
	var out []FieldError
	for _, e := range email.Unjoin(err) {
		msg := e.Error()
		fe := FieldError{Field: "file", Detail: msg}
		var ce *email.ContentError
		if errors.As(e, &ce) {
			// Its line counts from the start of the part (in its language), not of the file.
			fe.Field = "file." + ce.Part
			if def != nil {
				fe.Line, _, _ = email.FileLine(def, e)
			}
		} else if m := fileLineRE.FindStringSubmatch(msg); m != nil {
			fe.Line, _ = strconv.Atoi(m[1] + m[2])
		}
		out = append(out, fe)
	}
	return out
}

// handleCampaignCreate makes a draft campaign from a campaign file's text, with the
// file parser's checks and the content's (merge fields, templates) before it is stored.
func (a *API) handleCampaignCreate(w http.ResponseWriter, r *http.Request, t *apitoken.Token) {
	var in createIn
	if !decode(w, r, maxBody, &in) {
		return
	}
	if strings.TrimSpace(in.File) == "" {
		problem(w, http.StatusUnprocessableEntity, typeValidation, "Send the campaign file's text as file.", FieldError{Field: "file", Detail: "required"})
		return
	}
	def, err := campaign.ParseFile("campaign.md", []byte(in.File))
	if err != nil {
		problem(w, http.StatusUnprocessableEntity, typeValidation, "The campaign file has problems.", fileErrors(err, nil)...)
		return
	}
	c := &def.Campaign
	if def.Segment != "" {
		seg, err := segment.NewStore(a.db).Get(r.Context(), def.Segment)
		if errors.Is(err, segment.ErrNotFound) {
			problem(w, http.StatusUnprocessableEntity, typeValidation, fmt.Sprintf("There is no segment %q (GET /api/v1/segments lists them).", def.Segment),
				FieldError{Field: "file.segment", Detail: "unknown segment"})
			return
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		c.SegmentID = &seg.ID
	}
	err = email.CheckCampaign(c)
	if err == nil && a.create != nil {
		err = a.create(c)
	}
	if err != nil {
		problem(w, http.StatusUnprocessableEntity, typeValidation, "The campaign's texts have problems.", fileErrors(err, def)...)
		return
	}
	actx := audit.Within(r.Context(), audit.Entry{Actor: t.Actor(), Action: audit.CampaignCreate, SubjectType: "campaign",
		Detail: map[string]any{"channels": c.Channels(), "via": "api"}})
	err = campaign.NewStore(a.db, a.log).Create(actx, c, def.Topic, t.Actor())
	if errors.Is(err, campaign.ErrInvalid) {
		problem(w, http.StatusUnprocessableEntity, typeValidation, "The campaign can't be created.", fileErrors(err, def)...)
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.log.InfoContext(r.Context(), "api campaign created", "token_id", t.ID, "campaign_id", c.ID)
	c, err = campaign.NewStore(a.db, a.log).Get(r.Context(), strconv.FormatInt(c.ID, 10))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/campaigns/"+strconv.FormatInt(c.ID, 10))
	writeJSON(w, http.StatusCreated, campaignJSON(c))
}

// scheduleIn is POST /campaigns/{id}/schedule's body: when to send (RFC 3339); none or
// empty is now.
type scheduleIn struct {
	At string `json:"at"`
}

// handleCampaignSchedule schedules a draft (or paused, not yet started) campaign.
func (a *API) handleCampaignSchedule(w http.ResponseWriter, r *http.Request, t *apitoken.Token) {
	c, ok := a.campaignFromPath(w, r)
	if !ok {
		return
	}
	var in scheduleIn
	if r.ContentLength != 0 && !decode(w, r, maxBody, &in) {
		return
	}
	at := time.Now()
	if in.At != "" {
		var err error
		if at, err = time.Parse(time.RFC3339, in.At); err != nil {
			problem(w, http.StatusUnprocessableEntity, typeValidation, "at must be a time in RFC 3339 form, such as 2026-12-01T09:00:00Z.",
				FieldError{Field: "at", Detail: err.Error()})
			return
		}
		if at.Before(time.Now().Add(-time.Minute)) {
			problem(w, http.StatusUnprocessableEntity, typeValidation, "at has passed: give a later time, or leave it out to send now.",
				FieldError{Field: "at", Detail: "in the past"})
			return
		}
	}
	st := campaign.NewStore(a.db, a.log)
	if c.State == campaign.Paused {
		started, err := st.PausedMidRun(r.Context(), c.ID)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		if started {
			problem(w, http.StatusConflict, typeConflict, fmt.Sprintf("Campaign %d had started sending when it was paused: resume it to carry on.", c.ID))
			return
		}
	}
	var check func(*campaign.Campaign) error
	if a.check != nil {
		check = a.check(r.Context())
	}
	actx := audit.Within(r.Context(), audit.Entry{Actor: t.Actor(), Action: audit.CampaignSched, SubjectType: "campaign",
		SubjectID: audit.ID(c.ID), Detail: map[string]any{"via": "api"}})
	err := st.Schedule(actx, c.ID, at, t.Actor(), check)
	var ce *email.ContentError
	switch {
	case errors.Is(err, campaign.ErrTransition):
		problem(w, http.StatusConflict, typeConflict, fmt.Sprintf("Campaign %d is %s, and only a draft or a paused campaign can be scheduled.", c.ID, c.State))
		return
	case errors.Is(err, campaign.ErrNotFound):
		problem(w, http.StatusNotFound, typeNotFound, fmt.Sprintf("There is no campaign %d.", c.ID))
		return
	case errors.Is(err, campaign.ErrInvalid) || errors.As(err, &ce):
		problem(w, http.StatusUnprocessableEntity, typeValidation, "The campaign can't be scheduled.", fileErrors(err, nil)...)
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	a.log.InfoContext(r.Context(), "api campaign scheduled", "token_id", t.ID, "campaign_id", c.ID)
	a.writeCampaign(w, r, c.ID)
}

// handleCampaignMove pauses, resumes or cancels a campaign; 409 if its state forbids it.
func (a *API) handleCampaignMove(what string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, t *apitoken.Token) {
		c, ok := a.campaignFromPath(w, r)
		if !ok {
			return
		}
		st := campaign.NewStore(a.db, a.log)
		actx := audit.Within(r.Context(), audit.Entry{Actor: t.Actor(), Action: "campaign." + what, SubjectType: "campaign",
			SubjectID: audit.ID(c.ID), Detail: map[string]any{"via": "api"}})
		var err error
		switch what {
		case "pause":
			err = st.Pause(actx, c.ID, t.Actor())
		case "resume":
			err = st.Resume(actx, c.ID, t.Actor())
		default:
			err = st.Cancel(actx, c.ID, t.Actor())
		}
		if errors.Is(err, campaign.ErrTransition) {
			problem(w, http.StatusConflict, typeConflict, fmt.Sprintf("Campaign %d is %s, so it can't be %s.", c.ID, c.State, map[string]string{
				"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[what]))
			return
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.log.InfoContext(r.Context(), "api campaign "+what, "token_id", t.ID, "campaign_id", c.ID)
		a.writeCampaign(w, r, c.ID)
	}
}

// writeCampaign answers 200 with campaign id as it is now.
func (a *API) writeCampaign(w http.ResponseWriter, r *http.Request, id int64) {
	c, err := campaign.NewStore(a.db, a.log).Get(r.Context(), strconv.FormatInt(id, 10))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, campaignJSON(c))
}

// handleReplies lists residents' texts, oldest first: ?since= (RFC 3339) bounds when
// they arrived, ?after= is the last id the client saw (the page's next_after).
func (a *API) handleReplies(w http.ResponseWriter, r *http.Request, _ *apitoken.Token) {
	q := r.URL.Query()
	limit, _, ok := page(w, r, 100, 1000)
	if !ok {
		return
	}
	var since time.Time
	var after int64
	var errs []FieldError
	if v := q.Get("since"); v != "" {
		var err error
		if since, err = time.Parse(time.RFC3339, v); err != nil {
			errs = append(errs, FieldError{Field: "since", Detail: "must be a time in RFC 3339 form, such as 2026-12-01T09:00:00Z"})
		}
	}
	if v := q.Get("after"); v != "" {
		var err error
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			errs = append(errs, FieldError{Field: "after", Detail: "must be a reply id, 0 or more"})
		}
	}
	if len(errs) > 0 {
		problem(w, http.StatusBadRequest, typeBadRequest, "The query is invalid.", errs...)
		return
	}
	list, err := inbox.NewStore(a.db, inbox.Config{}, nil).Replies(r.Context(), since, after, limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	next := after
	if len(list) > 0 {
		next = list[len(list)-1].ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"replies": list, "next_after": next})
}
