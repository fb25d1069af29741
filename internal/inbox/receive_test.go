package inbox_test

import (
	"fmt"
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
// (Storing texts that arrive together in one statement and one commit was tried and
// measured: three times slower than one statement per text, as one backend then does
// the work of many.)
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
