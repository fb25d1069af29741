package inbox_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/inbox"
)

// TestTextsArrivingTogether posts 200 texts at once, the way Twilio's webhooks arrive
// under load: 150 numbers, fifty of them texting twice at the same moment, and twenty
// webhooks repeated (Twilio retries) while the first is still being stored. Each comes
// back with its own message and conversation, a number keeps one conversation with both
// its texts, and a repeated SID is stored once and reported as a duplicate.
//
// (Storing texts that arrive together in one statement and one commit was tried twice
// and measured slower than one statement per text: one backend then does the work of
// many, and on two cores the groups hold two or three texts.)
func TestTextsArrivingTogether(t *testing.T) {
	ctx := t.Context()
	d := dbtest.New(t)
	s := inbox.NewStore(d, inbox.Config{}, nil)

	type post struct {
		in    inbox.Inbound
		retry bool
	}
	var posts []post
	for i := range 150 {
		phone := fmt.Sprintf("+4477009%05d", i)
		posts = append(posts, post{in: inbox.Inbound{From: phone, SID: fmt.Sprintf("SM%032d", i), Body: fmt.Sprintf("text %d", i)}})
		if i < 50 {
			posts = append(posts, post{in: inbox.Inbound{From: phone, SID: fmt.Sprintf("SM%032d", 1000+i), Body: fmt.Sprintf("and another %d", i)}})
		}
		if i >= 100 && i < 120 {
			posts = append(posts, post{in: inbox.Inbound{From: phone, SID: fmt.Sprintf("SM%032d", i), Body: fmt.Sprintf("text %d", i)}, retry: true})
		}
	}
	got := make([]inbox.Received, len(posts))
	errs := make([]error, len(posts))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, p := range posts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[i], errs[i] = s.Receive(ctx, p.in)
		}()
	}
	close(start)
	wg.Wait()

	convOf := map[string]int64{}
	msgOf := map[string]int64{}
	dups := 0
	for i, p := range posts {
		if errs[i] != nil {
			t.Fatalf("text %d: %v", i, errs[i])
		}
		r := got[i]
		if r.MessageID == 0 || r.ConversationID == 0 {
			t.Fatalf("text %d: %+v", i, r)
		}
		if c, ok := convOf[p.in.From]; ok && c != r.ConversationID {
			t.Errorf("%s: conversations %d and %d", p.in.From, c, r.ConversationID)
		}
		convOf[p.in.From] = r.ConversationID
		if m, ok := msgOf[p.in.SID]; ok && m != r.MessageID {
			t.Errorf("SID %s stored as messages %d and %d", p.in.SID, m, r.MessageID)
		}
		msgOf[p.in.SID] = r.MessageID
		if r.Duplicate {
			dups++
		}
	}
	if dups != 20 {
		t.Errorf("%d texts reported as repeated webhooks, want 20", dups)
	}
	var stored, convs int
	if err := d.Get(&stored, `SELECT count(*) FROM sms_messages WHERE direction = 'in'`); err != nil {
		t.Fatal(err)
	}
	if err := d.Get(&convs, `SELECT count(*) FROM conversations`); err != nil {
		t.Fatal(err)
	}
	if stored != 200 || convs != 150 {
		t.Errorf("stored %d texts in %d conversations, want 200 in 150", stored, convs)
	}
	var twice int
	if err := d.Get(&twice, `SELECT count(*) FROM (SELECT conversation_id FROM sms_messages GROUP BY 1 HAVING count(*) = 2) x`); err != nil {
		t.Fatal(err)
	}
	if twice != 50 {
		t.Errorf("%d conversations hold two texts, want 50", twice)
	}
}

// TestStartActsOnlyWhenStopped: START (or "yes!", which Twilio reads as START) from a
// resident who gets texts already is stored as their text and records nothing in the
// consent ledger; from a STOPped number it lifts the STOP, and from a number the
// provider marked opted out it reopens the number. Each gets the START answer.
func TestStartActsOnlyWhenStopped(t *testing.T) {
	ctx := t.Context()
	d := dbtest.New(t)
	s := inbox.NewStore(d, inbox.Config{OrgName: "Millbrook Council"}, nil)
	const subscribed, stopped, optedOut = "+447700900301", "+447700900302", "+447700900303"
	for _, n := range []string{subscribed, stopped, optedOut} {
		if _, err := d.Exec(`WITH c AS (INSERT INTO contacts (first_name) VALUES ('R') RETURNING id)
			INSERT INTO contact_points (contact_id, kind, value, phone_type) SELECT id, 'phone', $1, 'mobile' FROM c`, n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.Exec(`UPDATE contact_points SET status = 'opted_out' WHERE value = $1`, optedOut); err != nil {
		t.Fatal(err)
	}
	ledger := func() int {
		t.Helper()
		var n int
		if err := d.Get(&n, `SELECT count(*) FROM consents`); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := s.Receive(ctx, inbox.Inbound{From: stopped, SID: "SM-stop", Body: "STOP"}); err != nil {
		t.Fatal(err)
	}
	before := ledger()
	if before != 1 {
		t.Fatalf("after one STOP the ledger holds %d rows, want 1", before)
	}
	for i, body := range []string{"START", "yes!"} {
		got, err := s.Receive(ctx, inbox.Inbound{From: subscribed, SID: fmt.Sprintf("SM-sub-%d", i), Body: body})
		if err != nil {
			t.Fatal(err)
		}
		if got.MessageID == 0 || got.Keyword != "start" || !strings.Contains(got.Reply, "again") {
			t.Errorf("%q from a subscribed resident: %+v", body, got)
		}
	}
	if n := ledger(); n != before {
		t.Errorf("START from a subscribed resident recorded %d consent rows", n-before)
	}
	for _, n := range []string{stopped, optedOut} {
		got, err := s.Receive(ctx, inbox.Inbound{From: n, SID: "SM-start-" + n, Body: "Start"})
		if err != nil {
			t.Fatal(err)
		}
		if got.MessageID == 0 || !strings.Contains(got.Reply, "again") {
			t.Errorf("START from %s: %+v", n, got)
		}
	}
	var active int
	if err := d.Get(&active, `SELECT count(*) FROM contact_points WHERE status = 'active'`); err != nil {
		t.Fatal(err)
	}
	var stoppedNow bool
	if err := d.Get(&stoppedNow, `SELECT coalesce(bool_or(w.stopped), false) FROM consent_wide w`); err != nil {
		t.Fatal(err)
	}
	if active != 3 || stoppedNow {
		t.Errorf("after START: %d of 3 numbers active, a STOP standing: %v; want all active, none", active, stoppedNow)
	}
	var texts int
	if err := d.Get(&texts, `SELECT count(*) FROM sms_messages WHERE direction = 'in'`); err != nil {
		t.Fatal(err)
	}
	if texts != 5 {
		t.Errorf("stored %d texts, want 5", texts)
	}
}
