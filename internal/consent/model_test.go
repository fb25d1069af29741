package consent_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/inbox"
)

// The ledger as a model: random sequences of what residents, officers, imports and the
// SMS provider do are applied to the real code on a real database and to the pure
// Model; after every event each (contact point, topic) must have the model's status,
// and every few events the real campaign snapshot (campaign.StartDue → the outbox) must
// queue exactly the messages the model allows, for service notices and marketing.

// resident is one person of the test borough with their three ways of being reached.
type resident struct {
	email, mobile, house    string
	emailPt, mobilePt, post int64
	contactID               int64
}

type world struct {
	t         *testing.T
	ctx       context.Context
	db        *sqlx.DB
	dir       string
	contacts  *contact.Store
	inbox     *inbox.Store
	campaigns *campaign.Store
	model     *consent.Model
	people    []*resident
	topics    map[int64]string // id → slug
	sids      int
	log       []string // the events so far, to reproduce a failure
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), db: dbtest.New(t), dir: t.TempDir(), model: consent.NewModel(),
		topics: map[int64]string{}}
	w.contacts = contact.NewStore(w.db, nil)
	w.inbox = inbox.NewStore(w.db, inbox.Config{}, nil)
	w.campaigns = campaign.NewStore(w.db, nil)
	w.people = []*resident{
		{email: "sian.evans@example.org", mobile: "+447700900111", house: "4"},
		{email: "zoe.okafor@example.net", mobile: "+447700900222", house: "6"},
	}
	csv := "First name,Surname,Email,Mobile,House number,Street,Postcode\n" +
		"Siân,Evans,sian.evans@example.org,07700 900111,4,Heol y Dŵr,SW2 1RW\n" +
		"Zoë,Okafor,zoe.okafor@example.net,07700 900222,6,Heol y Dŵr,SW2 1RW\n"
	w.importCSV("setup.csv", csv, "general")
	for _, p := range w.people {
		if err := w.db.QueryRowx(`SELECT contact_id, id FROM contact_points WHERE kind = 'email' AND value = $1`, p.email).
			Scan(&p.contactID, &p.emailPt); err != nil {
			t.Fatal(err)
		}
		if err := w.db.Get(&p.mobilePt, `SELECT id FROM contact_points WHERE kind = 'phone' AND value = $1`, p.mobile); err != nil {
			t.Fatal(err)
		}
		if err := w.db.Get(&p.post, `SELECT id FROM contact_points WHERE kind = 'postal' AND contact_id = $1`, p.contactID); err != nil {
			t.Fatal(err)
		}
	}
	w.newTopic("general")
	w.newTopic("roadworks")
	return w
}

func (w *world) importCSV(name, body, topic string) {
	w.t.Helper()
	path := filepath.Join(w.dir, name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.contacts.Import(w.ctx, contact.ImportOptions{Path: path, Topic: topic, Actor: "model test"}); err != nil {
		w.t.Fatalf("import %s: %v", name, err)
	}
}

// newTopic adds a topic (or finds one that exists) and returns its id.
func (w *world) newTopic(slug string) int64 {
	w.t.Helper()
	var id int64
	if err := w.db.Get(&id, `INSERT INTO topics (slug, name) VALUES ($1, $1) ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name
		RETURNING id`, slug); err != nil {
		w.t.Fatal(err)
	}
	w.topics[id] = slug
	return id
}

func (w *world) points() []int64 {
	var out []int64
	for _, p := range w.people {
		out = append(out, p.emailPt, p.mobilePt, p.post)
	}
	return out
}

func (w *world) anyTopic(r *rand.Rand) int64 {
	ids := slices.Sorted(maps.Keys(w.topics)) // sorted: sequences replay from their seed
	return ids[r.IntN(len(ids))]
}

func (w *world) text(p *resident, body string) {
	w.t.Helper()
	w.sids++
	sid := fmt.Sprintf("SM%032x", w.sids)
	if _, err := w.inbox.Receive(w.ctx, inbox.Inbound{SID: sid, From: p.mobile, To: "+447700900000", Body: body}); err != nil {
		w.t.Fatalf("text %q: %v", body, err)
	}
}

// step applies one random event to both the real code and the model.
func (w *world) step(r *rand.Rand) {
	w.t.Helper()
	p := w.people[r.IntN(len(w.people))]
	pts := []int64{p.emailPt, p.mobilePt, p.post}
	pt := pts[r.IntN(3)]
	topic := w.anyTopic(r)
	web := consent.Source{Name: "web", Detail: "model test"}
	switch k := r.IntN(11); k {
	case 0, 1: // an import's consent cell
		yes := r.IntN(2) == 0
		cell := map[bool]string{true: "yes", false: "no"}[yes]
		col := map[int64]string{p.emailPt: "Email consent", p.mobilePt: "SMS consent", p.post: "Post consent"}[pt]
		w.sids++
		csv := fmt.Sprintf("Email,Mobile,House number,Street,Postcode,%s\n%s,%s,%s,Heol y Dŵr,SW2 1RW,%s\n",
			col, p.email, p.mobile, p.house, cell)
		w.logf("import %s=%s for %s on point %d", col, cell, w.topics[topic], pt)
		w.importCSV(fmt.Sprintf("import-%d.csv", w.sids), csv, w.topics[topic])
		w.model.Import(pt, topic, yes)
	case 2, 3: // the resident's own choice on the web (preference centre, unsubscribe link, sign-up)
		st := []string{consent.Granted, consent.Withdrawn}[r.IntN(2)]
		w.logf("web %s %s on point %d", st, w.topics[topic], pt)
		if _, err := consent.Record(w.ctx, w.db, []consent.Change{{Point: pt, Topic: topic, Status: st}}, web); err != nil {
			w.t.Fatal(err)
		}
		w.model.Choose(pt, topic, st)
	case 4: // unsubscribe from everything
		w.logf("unsubscribe from everything, contact %d", p.contactID)
		if _, err := consent.WithdrawAll(w.ctx, w.db, pts, web); err != nil {
			w.t.Fatal(err)
		}
		for _, x := range pts {
			w.model.WithdrawAll(x)
		}
	case 5: // STOP by text, as residents write it
		body := []string{"STOP", "stop", " Stop ", "UNSUBSCRIBE"}[r.IntN(4)]
		w.logf("text %q from point %d", body, p.mobilePt)
		w.text(p, body)
		w.model.Stop(p.mobilePt)
	case 6: // START by text
		w.logf("text START from point %d", p.mobilePt)
		w.text(p, "START")
		w.model.Start(p.mobilePt)
	case 7: // the provider reports an opt-out (Twilio 21610, OptOutType STOP in a callback)
		w.logf("provider opt-out on point %d", p.mobilePt)
		if _, err := consent.Stop(w.ctx, w.db, []int64{p.mobilePt}, consent.Source{Name: "provider reports opt-out: 21610"}); err != nil {
			w.t.Fatal(err)
		}
		w.model.Stop(p.mobilePt)
	case 8: // a text that is not a keyword changes nothing
		w.logf("text 'Tuesday please' from point %d", p.mobilePt)
		w.text(p, "Tuesday please")
	case 9: // a new topic: unsubscribe-from-everything and STOP must cover it
		slug := fmt.Sprintf("topic-%d", len(w.topics)+1)
		w.logf("new topic %s", slug)
		w.newTopic(slug)
	case 10: // the provider says the number is invalid (Twilio 21211)
		w.logf("point %d invalid", p.mobilePt)
		if _, err := w.db.Exec(`UPDATE contact_points SET status = 'invalid', status_reason = '21211' WHERE id = $1 AND status = 'active'`,
			p.mobilePt); err != nil {
			w.t.Fatal(err)
		}
		w.model.MarkPoint(p.mobilePt, "invalid")
	}
}

func (w *world) logf(format string, args ...any) { w.log = append(w.log, fmt.Sprintf(format, args...)) }

func (w *world) fatalf(format string, args ...any) {
	w.t.Helper()
	w.t.Fatalf("%s\nafter:\n  %s", fmt.Sprintf(format, args...), strings.Join(w.log, "\n  "))
}

// checkStatuses compares every (point, topic) status with the model's: one query over
// all of them (consent.Joins and Status, as every read path uses), and StatusOf for one.
func (w *world) checkStatuses(r *rand.Rand) {
	w.t.Helper()
	var got []struct {
		Point  int64  `db:"point"`
		Topic  int64  `db:"topic"`
		Status string `db:"status"`
	}
	if err := w.db.Select(&got, `SELECT cp.id AS point, t.id AS topic, coalesce(`+consent.Status("c")+`, '') AS status
		  FROM contact_points cp CROSS JOIN topics t`+consent.Joins("cp.id", "t.id", "c")+`
		 ORDER BY 1, 2`); err != nil {
		w.t.Fatal(err)
	}
	if want := len(w.points()) * len(w.topics); len(got) != want {
		w.t.Fatalf("%d statuses, want %d", len(got), want)
	}
	for _, g := range got {
		if want := w.model.Current(g.Point, g.Topic); g.Status != want {
			w.fatalf("point %d, topic %s: crier says %q, the model %q", g.Point, w.topics[g.Topic], g.Status, want)
		}
	}
	one := got[r.IntN(len(got))]
	if st, err := consent.StatusOf(w.ctx, w.db, one.Point, one.Topic); err != nil || st != one.Status {
		w.fatalf("StatusOf(%d, %d) = %q, %v; the query over all says %q", one.Point, one.Topic, st, err, one.Status)
	}
}

// checkSends runs the real snapshot for every topic, service and marketing, to everyone
// on every channel, and compares what it queues with what the model allows.
func (w *world) checkSends() {
	w.t.Helper()
	for topic, slug := range w.topics {
		for _, purpose := range []string{"service", "marketing"} {
			c := &campaign.Campaign{Name: fmt.Sprintf("%s %s %d", slug, purpose, len(w.log)), Purpose: purpose, Strategy: "all",
				ChannelOrder: []string{"email", "sms", "post"}, EmailSubject: "Road closed", EmailBody: "Mill Lane is closed.",
				SMSBody: "Mill Lane is closed.", LeafletTitle: "Road closed", LeafletBody: "Mill Lane is closed."}
			if err := w.campaigns.Create(w.ctx, c, slug, "model test"); err != nil {
				w.t.Fatal(err)
			}
			// Scheduling is refused exactly when the model allows no send at all: the
			// audience's count agrees with the snapshot.
			err := w.campaigns.Schedule(w.ctx, c.ID, time.Time{}, "model test", nil)
			anyAllowed := slices.ContainsFunc(w.points(), func(pt int64) bool { return w.model.MaySend(pt, topic, purpose == "marketing") })
			switch {
			case errors.Is(err, campaign.ErrEmptyAudience) && !anyAllowed:
				if err := w.campaigns.Cancel(w.ctx, c.ID, "model test"); err != nil {
					w.t.Fatal(err)
				}
				continue
			case errors.Is(err, campaign.ErrEmptyAudience):
				w.fatalf("%s %s: scheduling refused (%v), but the model allows some sends", purpose, slug, err)
			case err != nil:
				w.t.Fatal(err)
			case !anyAllowed:
				w.fatalf("%s %s: scheduled, but the model allows no send at all", purpose, slug)
			}
			if _, err := w.campaigns.StartDue(w.ctx, time.Now()); err != nil {
				w.t.Fatal(err)
			}
			var queued []int64
			if err := w.db.Select(&queued, `SELECT contact_point_id FROM outbox WHERE campaign_id = $1 AND state = 'pending'
				ORDER BY contact_point_id`, c.ID); err != nil {
				w.t.Fatal(err)
			}
			got := map[int64]bool{}
			for _, p := range queued {
				got[p] = true
			}
			for _, pt := range w.points() {
				if want := w.model.MaySend(pt, topic, purpose == "marketing"); got[pt] != want {
					w.fatalf("%s %s to point %d: crier queues it: %v, the model allows it: %v", purpose, slug, pt, got[pt], want)
				}
			}
			if err := w.campaigns.Cancel(w.ctx, c.ID, "model test"); err != nil {
				w.t.Fatal(err)
			}
		}
	}
}

func TestLedgerMatchesModel(t *testing.T) {
	sequences, steps := 12, 12
	if testing.Short() {
		sequences = 4
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CONSENT_MODEL_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (CONSENT_MODEL_SEED=%d reproduces it)", seed, seed)
	for i := range sequences {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, uint64(i)))
			w := newWorld(t)
			w.checkStatuses(r)
			for s := range steps {
				w.step(r)
				w.checkStatuses(r)
				if s%4 == 3 || s == steps-1 {
					w.checkSends()
				}
			}
		})
	}
}
