package web_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"

	"github.com/crierhq/crier/internal/auth"
	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/db/dbtest"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/inbox"
	"github.com/crierhq/crier/internal/printrun"
	"github.com/crierhq/crier/internal/web"
)

// resultsResidents live in two wards; everyone has an email address, a mobile and a
// postal address, with consent for email and SMS.
const resultsResidents = `First name,Surname,Email,Mobile,House number,Street,Town,Postcode,Ward,Email consent,SMS consent
Ada,Lovelace,ada@example.org,07700 900101,1,Acre Lane,London,SW2 1RW,Millbrook,Yes,Yes
Ben,Okafor,ben@example.org,07700 900102,2,Acre Lane,London,SW2 1RW,Millbrook,Yes,Yes
Cara,Jones,cara@example.org,07700 900103,3,Acre Lane,London,SW2 1RW,Millbrook,Yes,Yes
Dev,Patel,dev@example.org,07700 900104,4,Acre Lane,London,SW2 1RW,Millbrook,Yes,Yes
Efa,Huws,efa@example.org,07700 900105,1,Coldharbour Lane,London,SW9 8AB,Riverside,Yes,Yes
Finn,Walsh,finn@example.org,07700 900106,2,Coldharbour Lane,London,SW9 8AB,Riverside,Yes,Yes
Gwen,Price,gwen@example.org,07700 900107,3,Coldharbour Lane,London,SW9 8AB,Riverside,Yes,Yes
Hana,Sato,hana@example.org,07700 900108,4,Coldharbour Lane,London,SW9 8AB,Riverside,Yes,Yes
Ivy,Chen,ivy@example.org,07700 900109,5,Coldharbour Lane,London,SW9 8AB,Riverside,Yes,Yes
`

// resultsOutcomes is what happened to each resident's message on each channel (email,
// SMS, post), as "state" or "state|reason".
var resultsOutcomes = map[string][3]string{
	"Ada":  {"delivered", "delivered", "sent"},
	"Ben":  {"delivered", "failed|the recipient replied STOP to this sender", "delivered"},
	"Cara": {"sent", "delivered", "failed|could not deliver: No letterbox"},
	"Dev":  {"bounced|550 mailbox unavailable", "suppressed|landline: cannot take texts", "delivered"},
	"Efa":  {"suppressed|consent withdrawn", "sent", "delivered"},
	"Finn": {"failed|message too large", "suppressed|consent withdrawn", "suppressed|not delivered by hand: No letterbox"},
	"Gwen": {"unknown|no answer from the provider", "delivered", "pending"},
	"Hana": {"suppressed|consent withdrawn", "suppressed|consent withdrawn", "cancelled|campaign cancelled"},
	"Ivy":  {"pending", "pending", "pending"},
}

// The results page's outcomes table for resultsOutcomes, with the replies and
// withdrawals the rig records: email, SMS, post, all channels ("-" for not applicable).
var resultsWantOutcomes = map[string][]string{
	"delivered":  {"2", "3", "3", "8"},
	"sent":       {"1", "1", "1", "3"},
	"bounced":    {"1", "0", "0", "1"},
	"failed":     {"1", "1", "1", "3"},
	"unknown":    {"1", "0", "0", "1"},
	"suppressed": {"2", "3", "1", "6"},
	"waiting":    {"1", "1", "2", "4"},
	"cancelled":  {"0", "0", "1", "1"},
	"total":      {"9", "9", "9", "27"},
	// Ada unsubscribed by email; Ben's number was refused as opted out (21610) and Cara
	// texted STOP. Cara's later email unsubscribe follows another campaign's message, and
	// Gwen's withdrawal came before hers: neither counts here.
	"opted_out": {"1", "2", "0", "3"},
	// Ada (twice) and Gwen texted about it; Cara's STOP and Gwen's HELP are not replies.
	"replied": {"-", "2", "-", "2"},
}

// Reach by ward: the ward and its residents, then reached by email, SMS and post, and
// not reached (yet).
var resultsWantWards = map[string][]string{
	"Millbrook 4 residents": {"3", "2", "3", "0"},
	"Riverside 5 residents": {"0", "2", "1", "3"},
	"All wards 9 residents": {"3", "4", "4", "3"},
}

var resultsWantWardReasons = [][3]string{
	{"Riverside", "Not sent yet", "1"},
	{"Riverside", "Email failed: message too large", "1"},
	{"Riverside", "Email not sent: consent withdrawn", "1"},
}

type resultsRig struct {
	db        *sqlx.DB
	url       string
	campaign  int64 // the campaign with resultsOutcomes
	later     int64 // an email campaign sent after it
	draft     int64 // a campaign not sent yet
	officer   string
	volunteer string
}

func newResultsRig(t *testing.T) *resultsRig {
	t.Helper()
	ctx := t.Context()
	d := dbtest.New(t)
	path := filepath.Join(t.TempDir(), "residents.csv")
	if err := os.WriteFile(path, []byte(resultsResidents), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := contact.NewStore(d, nil).Import(ctx, contact.ImportOptions{Path: path, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(`INSERT INTO topics (slug, name) VALUES ('roads', 'Roads and transport')`); err != nil {
		t.Fatal(err)
	}
	r := &resultsRig{db: d, officer: "jo@council.example", volunteer: "sam@volunteers.example"}
	as := auth.NewStore(d)
	as.Cost = bcrypt.MinCost
	if _, err := as.Add(ctx, r.officer, "Jo Officer", auth.Officer, appPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := as.Add(ctx, r.volunteer, "Sam Volunteer", auth.Volunteer, appPassword); err != nil {
		t.Fatal(err)
	}

	cs := campaign.NewStore(d, nil)
	start := func(c *campaign.Campaign) int64 {
		t.Helper()
		if err := cs.Create(ctx, c, "general", "jo"); err != nil {
			t.Fatal(err)
		}
		if err := cs.Schedule(ctx, c.ID, time.Time{}, "jo", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.StartDue(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	r.campaign = start(&campaign.Campaign{Name: "Bin day <changes> & more", Purpose: "service", Strategy: "all",
		ChannelOrder: []string{"email", "sms", "post"},
		EmailSubject: "Your bin day is changing", EmailBody: "From January we collect on a Tuesday.",
		SMSBody: "Your bin day changes to Tuesday from January.", LeafletBody: "From January we collect on a **Tuesday**."})
	var rows int
	if err := d.Get(&rows, `SELECT count(*) FROM outbox WHERE campaign_id = $1`, r.campaign); err != nil || rows != 27 {
		t.Fatalf("outbox rows: %d %v", rows, err)
	}
	// Each message's outcome, with the times a real send would have left.
	for name, outs := range resultsOutcomes {
		for i, ch := range []string{"email", "sms", "post"} {
			state, reason, _ := strings.Cut(outs[i], "|")
			res, err := d.Exec(`
				UPDATE outbox o SET state = $4, reason = $5,
				       handed_at = CASE WHEN $3 <> 'post' AND $4 IN ('sent', 'delivered', 'failed', 'bounced', 'unknown')
				                        THEN now() - interval '2 hours' END,
				       sent_at = CASE WHEN $4 IN ('sent', 'delivered') OR ($3 = 'post' AND $4 = 'failed')
				                      THEN now() - interval '2 hours' END
				  FROM contacts c
				 WHERE c.id = o.contact_id AND o.campaign_id = $1 AND c.first_name = $2 AND o.channel = $3`,
				r.campaign, name, ch, state, reason)
			if n, _ := res.RowsAffected(); err != nil || n != 1 {
				t.Fatalf("%s's %s: %d rows, %v", name, ch, n, err)
			}
		}
	}
	point := func(name, kind string) int64 {
		t.Helper()
		var id int64
		if err := d.Get(&id, `SELECT cp.id FROM contact_points cp JOIN contacts c ON c.id = cp.contact_id
			WHERE c.first_name = $1 AND cp.kind = $2`, name, kind); err != nil {
			t.Fatal(err)
		}
		return id
	}
	withdraw := func(pointID int64, topic, source, ago string) {
		t.Helper()
		if _, err := d.Exec(`INSERT INTO consents (contact_point_id, topic_id, status, source, recorded_at)
			SELECT $1, id, 'withdrawn', $3, now() - $4::interval FROM topics WHERE $2 = '' OR slug = $2`,
			pointID, topic, source, ago); err != nil {
			t.Fatal(err)
		}
	}
	withdraw(point("Ada", "email"), "general", "email unsubscribe link", "0")
	withdraw(point("Ben", "phone"), "", "provider reports opt-out: the recipient replied STOP to this sender", "0")
	withdraw(point("Gwen", "phone"), "general", "web form", "3 hours") // before her message
	withdraw(point("Efa", "phone"), "roads", "SMS STOP", "0")          // another topic

	// A later email campaign: Cara's unsubscribe follows its message, so it counts there.
	r.later = start(&campaign.Campaign{Name: "Recycling news", Purpose: "service", ChannelOrder: []string{"email"},
		EmailSubject: "Recycling", EmailBody: "What goes in which bin."})
	if _, err := d.Exec(`UPDATE outbox o SET state = 'sent', handed_at = now() - interval '1 hour', sent_at = now() - interval '1 hour'
		FROM contacts c WHERE c.id = o.contact_id AND o.campaign_id = $1 AND c.first_name = 'Cara'`, r.later); err != nil {
		t.Fatal(err)
	}
	withdraw(point("Cara", "email"), "general", "email unsubscribe link", "0")

	// Texts back: Ada twice, Gwen with a question (and HELP), Cara STOP (recorded as a
	// withdrawal by the inbox), and a stranger.
	in := inbox.NewStore(d, inbox.Config{OrgName: "Millbrook Council"}, nil)
	for i, tx := range []struct{ from, body string }{
		{"+447700900101", "Thanks, that's helpful"},
		{"+447700900101", "Will garden waste change too?"},
		{"+447700900107", "HELP"},
		{"+447700900107", "When is the first Tuesday collection?"},
		{"+447700900103", "STOP"},
		{"+447700900999", "Who is this?"},
	} {
		sid := fmt.Sprintf("SM%032x", i+1)
		if _, err := in.Receive(ctx, inbox.Inbound{SID: sid, From: tx.from, To: "+447700900000", Body: tx.body}); err != nil {
			t.Fatal(err)
		}
	}

	// A draft: nothing sent.
	draft := &campaign.Campaign{Name: "Road works", Purpose: "service", ChannelOrder: []string{"email"},
		EmailSubject: "Road works", EmailBody: "Acre Lane closes in March."}
	if err := cs.Create(ctx, draft, "roads", "jo"); err != nil {
		t.Fatal(err)
	}
	r.draft = draft.ID

	signer, _ := email.NewSigner(bytes.Repeat([]byte("r"), 32))
	ws, err := web.New(web.Config{DB: d, Signer: signer, Branding: email.Branding{OrgName: "Millbrook Council"},
		App: &web.App{Auth: as, Rounds: printrun.NewStore(d), Inbox: in}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(ws.Handler())
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

// signIn returns a client signed in as email.
func (r *resultsRig) signIn(t *testing.T, email string) *http.Client {
	return signInAt(t, r.url, email)
}

// resultsHTMLTable is a table of a page, read as XML (the templates write well-formed tables).
type resultsHTMLTable struct {
	Caption string           `xml:"caption"`
	Head    []resultsHTMLRow `xml:"thead>tr"`
	Bodies  []struct {
		Class string           `xml:"class,attr"`
		Rows  []resultsHTMLRow `xml:"tr"`
	} `xml:"tbody"`
	Foot []resultsHTMLRow `xml:"tfoot>tr"`
}

type resultsHTMLRow struct {
	Key   string            `xml:"data-key,attr"`
	Cells []resultsHTMLCell `xml:",any"`
}

type resultsHTMLCell struct {
	XMLName xml.Name
	Scope   string `xml:"scope,attr"`
	Inner   string `xml:",innerxml"`
}

var resultsTagRE = regexp.MustCompile(`<[^>]*>`)

// text is the cell's text, or "-" for a number marked not applicable.
func (c resultsHTMLCell) text() string {
	if strings.Contains(c.Inner, "not applicable") {
		return "-"
	}
	return strings.TrimSpace(html.UnescapeString(resultsTagRE.ReplaceAllString(c.Inner, "")))
}

func (r resultsHTMLRow) texts() []string {
	out := make([]string, len(r.Cells))
	for i, c := range r.Cells {
		out[i] = c.text()
	}
	return out
}

func (tb resultsHTMLTable) rows() []resultsHTMLRow {
	var out []resultsHTMLRow
	for _, b := range tb.Bodies {
		out = append(out, b.Rows...)
	}
	return append(out, tb.Foot...)
}

// resultsTable finds the table with id in doc and reads it.
func resultsTable(t *testing.T, doc, id string) resultsHTMLTable {
	t.Helper()
	m := regexp.MustCompile(`(?s)<table[^>]*\bid="` + regexp.QuoteMeta(id) + `".*?</table>`).FindString(doc)
	if m == "" {
		t.Fatalf("no table #%s in:\n%s", id, doc)
	}
	var tb resultsHTMLTable
	if err := xml.Unmarshal([]byte(m), &tb); err != nil {
		t.Fatalf("table #%s is not well-formed: %v\n%s", id, err, m)
	}
	if strings.TrimSpace(tb.Caption) == "" && !strings.Contains(m, "<caption") {
		t.Errorf("table #%s has no caption", id)
	}
	for _, row := range tb.Head {
		for _, c := range row.Cells {
			if c.XMLName.Local != "th" || c.Scope != "col" {
				t.Errorf("table #%s: heading cell %q is <%s scope=%q>", id, c.text(), c.XMLName.Local, c.Scope)
			}
		}
	}
	for _, row := range tb.rows() {
		if len(row.Cells) == 0 || row.Cells[0].XMLName.Local != "th" || row.Cells[0].Scope != "row" {
			t.Errorf("table #%s: a row does not start with <th scope=row>: %v", id, row.texts())
		}
	}
	return tb
}

// resultsSVGInfo is what resultsCheckSVG found in a chart.
type resultsSVGInfo struct {
	Title string
	Desc  string
	Bars  int
	Texts []string
}

// resultsCharts checks every chart of doc is well-formed XML, an image with a title and a
// description it is labelled by, and returns them in order.
func resultsCharts(t *testing.T, doc string) []resultsSVGInfo {
	t.Helper()
	var out []resultsSVGInfo
	for _, m := range regexp.MustCompile(`(?s)<svg\b.*?</svg>`).FindAllString(doc, -1) {
		out = append(out, resultsCheckSVG(t, m))
	}
	return out
}

func resultsCheckSVG(t *testing.T, src string) resultsSVGInfo {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(src))
	var info resultsSVGInfo
	var stack []string
	ids := map[string]string{} // id → element
	var labelledBy, role string
	var chars strings.Builder
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, src)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			attr := func(name string) string {
				for _, a := range el.Attr {
					if a.Name.Local == name {
						return a.Value
					}
				}
				return ""
			}
			if len(stack) == 0 {
				if el.Name.Local != "svg" || el.Name.Space != "http://www.w3.org/2000/svg" {
					t.Errorf("chart root: %v", el.Name)
				}
				role, labelledBy = attr("role"), attr("aria-labelledby")
				if !strings.HasPrefix(attr("viewBox"), "0 0 ") || attr("width") != "100%" {
					t.Errorf("chart does not scale to its container: viewBox %q width %q", attr("viewBox"), attr("width"))
				}
			}
			if id := attr("id"); id != "" {
				if _, dup := ids[id]; dup {
					t.Errorf("chart: duplicate id %q", id)
				}
				ids[id] = el.Name.Local
			}
			if el.Name.Local == "rect" && attr("class") == "bar" {
				info.Bars++
				if f := attr("fill"); !strings.HasPrefix(f, "url(#") || ids[strings.TrimSuffix(strings.TrimPrefix(f, "url(#"), ")")] != "pattern" {
					t.Errorf("bar filled with %q, not one of the chart's patterns", f)
				}
			}
			stack = append(stack, el.Name.Local)
			chars.Reset()
		case xml.CharData:
			chars.Write(el)
		case xml.EndElement:
			s := strings.TrimSpace(chars.String())
			switch {
			case len(stack) == 2 && el.Name.Local == "title":
				info.Title = s
			case len(stack) == 2 && el.Name.Local == "desc":
				info.Desc = s
			case el.Name.Local == "text":
				info.Texts = append(info.Texts, s)
			}
			stack = stack[:len(stack)-1]
			chars.Reset()
		}
	}
	if role != "img" {
		t.Errorf("chart role %q, want img", role)
	}
	if info.Title == "" || info.Desc == "" {
		t.Errorf("chart without a title or description: %+v", info)
	}
	for _, id := range strings.Fields(labelledBy) {
		if e := ids[id]; e != "title" && e != "desc" {
			t.Errorf("chart aria-labelledby names %q, which is a %q", id, e)
		}
	}
	if labelledBy == "" {
		t.Error("chart is not labelled by its title")
	}
	return info
}

// resultsNonZero counts the numbers in rows that are not 0, leaving out skipCols (from the
// left, after the row heading) and rows keyed skipKey.
func resultsNonZero(rows []resultsHTMLRow, cols []int, skipKey string) int {
	n := 0
	for _, row := range rows {
		if row.Key == skipKey && skipKey != "" {
			continue
		}
		texts := row.texts()
		for _, c := range cols {
			if v := texts[c]; v != "0" && v != "-" {
				n++
			}
		}
	}
	return n
}

func resultsAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(strings.ReplaceAll(s, ",", ""))
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

func TestResultsPerChannelAndWard(t *testing.T) {
	r := newResultsRig(t)
	off := r.signIn(t, r.officer)

	code, _, doc := page(t, off, r.url+"/campaigns/"+itoa(r.campaign)+"/results")
	if code != http.StatusOK {
		t.Fatalf("results: %d\n%s", code, doc)
	}
	if !strings.Contains(doc, "Bin day &lt;changes&gt; &amp; more: results") {
		t.Errorf("the campaign's name is not on the page, escaped")
	}

	// By channel.
	out := resultsTable(t, doc, "outcomes")
	if got := out.Head[0].texts(); strings.Join(got, "|") != "Outcome|Email|SMS|Post|All" {
		t.Errorf("outcome columns: %v", got)
	}
	seen := map[string]bool{}
	for _, row := range out.rows() {
		want, ok := resultsWantOutcomes[row.Key]
		if !ok {
			t.Errorf("unexpected outcome row %q: %v", row.Key, row.texts())
			continue
		}
		seen[row.Key] = true
		if got := row.texts()[1:]; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s (%s): got %v, want %v", row.Key, row.texts()[0], got, want)
		}
	}
	for k := range resultsWantOutcomes {
		if !seen[k] {
			t.Errorf("no row for %s", k)
		}
	}

	reasons := resultsTable(t, doc, "reasons")
	var why []string
	for _, row := range reasons.rows() {
		why = append(why, strings.Join(row.texts(), " / "))
	}
	for _, w := range []string{
		"Email: Not sent (suppressed) / consent withdrawn / 2",
		"Email: Bounced / 550 mailbox unavailable / 1",
		"Email: Outcome unknown / no answer from the provider / 1",
		"SMS: Failed / the recipient replied STOP to this sender / 1",
		"SMS: Not sent (suppressed) / consent withdrawn / 2",
		"SMS: Not sent (suppressed) / landline: cannot take texts / 1",
		"Post: Cancelled / campaign cancelled / 1",
		"Post: Failed / could not deliver: No letterbox / 1",
	} {
		if !strings.Contains(strings.Join(why, "\n"), w) {
			t.Errorf("reason %q missing from:\n%s", w, strings.Join(why, "\n"))
		}
	}

	// By ward.
	wards := resultsTable(t, doc, "wards")
	if got := wards.Head[0].texts(); strings.Join(got, "|") != "Ward|Email|SMS|Post|Not reached" {
		t.Errorf("ward columns: %v", got)
	}
	if len(wards.rows()) != len(resultsWantWards) {
		t.Errorf("ward rows: %d, want %d", len(wards.rows()), len(resultsWantWards))
	}
	for _, row := range wards.rows() {
		texts := row.texts()
		if want := resultsWantWards[texts[0]]; strings.Join(texts[1:], " ") != strings.Join(want, " ") {
			t.Errorf("ward %s: got %v, want %v", texts[0], texts[1:], want)
		}
	}
	var got [][3]string
	for _, row := range resultsTable(t, doc, "ward-reasons").rows() {
		tx := row.texts()
		got = append(got, [3]string{tx[0], tx[1], tx[2]})
	}
	if fmt.Sprint(got) != fmt.Sprint(resultsWantWardReasons) {
		t.Errorf("why residents were not reached:\n got %v\nwant %v", got, resultsWantWardReasons)
	}

	// The charts: one bar per number that isn't 0, and the numbers in their text.
	charts := resultsCharts(t, doc)
	if len(charts) != 2 {
		t.Fatalf("%d charts, want 2", len(charts))
	}
	if want := resultsNonZero(out.rows(), []int{1, 2, 3}, "total"); charts[0].Bars != want || want != 21 {
		t.Errorf("outcome chart: %d bars, want %d", charts[0].Bars, want)
	}
	for _, label := range []string{"Delivered: 3 (33%)", "Replied by text: 2 (22%)", "Not sent yet: 2 (22%)"} {
		if !strings.Contains(strings.Join(charts[0].Texts, "\n"), label) {
			t.Errorf("outcome chart has no label %q: %q", label, charts[0].Texts)
		}
	}
	if !strings.Contains(charts[0].Title, "Bin day <changes> & more") || !strings.Contains(charts[0].Desc, "SMS (9 messages): Delivered 3 (33%)") {
		t.Errorf("outcome chart title %q, description %q", charts[0].Title, charts[0].Desc)
	}
	// Each ward's bar: reached, not sent yet and not reached, from the two ward tables.
	waiting, unreached := map[string]int{}, map[string]int{}
	for _, w := range resultsWantWardReasons {
		if w[1] == "Not sent yet" {
			waiting[w[0]] += resultsAtoi(t, w[2])
		} else {
			unreached[w[0]] += resultsAtoi(t, w[2])
		}
	}
	wantBars := 0
	for _, row := range wards.Bodies[0].Rows {
		tx := row.texts()
		ward, count, _ := strings.Cut(tx[0], " ")
		residents, notReached := resultsAtoi(t, strings.TrimSuffix(count, " residents")), resultsAtoi(t, tx[4])
		if notReached != waiting[ward]+unreached[ward] {
			t.Errorf("%s: %d not reached, but %d not sent yet and %d with reasons", ward, notReached, waiting[ward], unreached[ward])
		}
		for _, n := range []int{residents - notReached, waiting[ward], unreached[ward]} {
			if n > 0 {
				wantBars++
			}
		}
	}
	if charts[1].Bars != wantBars || wantBars != 4 {
		t.Errorf("ward chart: %d bars, want %d", charts[1].Bars, wantBars)
	}
	if !strings.Contains(charts[1].Desc, "Riverside (2 of 5 residents reached (40%)): Reached 2 (40%), Not sent yet 1 (20%), Not reached 2 (40%)") {
		t.Errorf("ward chart description: %q", charts[1].Desc)
	}

	// The later campaign counts Cara's unsubscribe; the draft has nothing yet.
	_, _, later := page(t, off, r.url+"/campaigns/"+itoa(r.later)+"/results")
	for _, row := range resultsTable(t, later, "outcomes").rows() {
		if row.Key == "opted_out" && strings.Join(row.texts()[1:], " ") != "1" {
			t.Errorf("later campaign opted out: %v", row.texts())
		}
	}
	if code, _, d := page(t, off, r.url+"/campaigns/"+itoa(r.draft)+"/results"); code != http.StatusOK || !strings.Contains(d, "Nothing has been sent yet") || strings.Contains(d, "<svg") {
		t.Errorf("draft results (%d):\n%s", code, d)
	}
	for _, bad := range []string{"999999", "abc", "-1"} {
		if code, _, _ := page(t, off, r.url+"/campaigns/"+bad+"/results"); code != http.StatusNotFound {
			t.Errorf("results of campaign %q: %d", bad, code)
		}
	}
}

func TestCampaignsListLinksToResults(t *testing.T) {
	r := newResultsRig(t)
	off := r.signIn(t, r.officer)
	code, _, doc := page(t, off, r.url+"/campaigns")
	if code != http.StatusOK {
		t.Fatalf("campaigns: %d", code)
	}
	rows := resultsTable(t, doc, "campaigns").rows()
	if len(rows) != 3 {
		t.Fatalf("%d campaigns listed, want 3", len(rows))
	}
	// Newest first.
	for i, want := range []struct {
		id    int64
		name  string
		state string
	}{{r.draft, "Road works", "Draft"}, {r.later, "Recycling news", "Sending"}, {r.campaign, "Bin day <changes> & more", "Sending"}} {
		tx := rows[i].texts()
		if !strings.HasPrefix(tx[0], want.name) || tx[1] != "Service notice" || tx[2] != want.state {
			t.Errorf("row %d: %v", i, tx)
		}
		if !strings.Contains(rows[i].Cells[0].Inner, `href="/campaigns/`+itoa(want.id)+`/results"`) {
			t.Errorf("row %d links to: %s", i, rows[i].Cells[0].Inner)
		}
	}
}

func TestReachByWardMatchesTheContactStore(t *testing.T) {
	r := newResultsRig(t)
	off := r.signIn(t, r.officer)
	for _, topic := range []string{"general", "roads"} {
		want, err := contact.NewStore(r.db, nil).Reach(t.Context(), topic)
		if err != nil {
			t.Fatal(err)
		}
		code, _, doc := page(t, off, r.url+"/reach?topic="+topic)
		if code != http.StatusOK {
			t.Fatalf("reach %s: %d", topic, code)
		}
		tb := resultsTable(t, doc, "reach")
		if len(tb.Bodies[0].Rows) != len(want) || len(want) != 2 {
			t.Fatalf("reach %s: %d rows, want %d", topic, len(tb.Bodies[0].Rows), len(want))
		}
		var sum [5]int
		for i, w := range want {
			tx := tb.Bodies[0].Rows[i].texts()
			wantRow := []string{w.Ward + " " + itoa(int64(w.Contacts)) + " residents", itoa(int64(w.Email)), itoa(int64(w.SMS)),
				itoa(int64(w.PostOnly)), itoa(int64(w.Unreachable))}
			if strings.Join(tx, "|") != strings.Join(wantRow, "|") {
				t.Errorf("reach %s: got %v, want %v", topic, tx, wantRow)
			}
			for j, n := range []int{w.Contacts, w.Email, w.SMS, w.PostOnly, w.Unreachable} {
				sum[j] += n
			}
		}
		if tx := tb.Foot[0].texts(); tx[0]+" "+strings.Join(tx[1:], " ") != "All wards "+itoa(int64(sum[0]))+" residents "+strings.Trim(fmt.Sprint(sum[1:]), "[]") {
			t.Errorf("reach %s total: %v, want %v", topic, tx, sum)
		}
		charts := resultsCharts(t, doc)
		if len(charts) != 1 {
			t.Fatalf("reach %s: %d charts", topic, len(charts))
		}
		bars := 0
		for _, w := range want {
			for _, n := range []int{w.Contacts - w.PostOnly - w.Unreachable, w.PostOnly, w.Unreachable} {
				if n > 0 {
					bars++
				}
			}
		}
		if charts[0].Bars != bars {
			t.Errorf("reach %s chart: %d bars, want %d", topic, charts[0].Bars, bars)
		}
		if topic == "general" && !strings.Contains(doc, `<option value="general" selected>`) {
			t.Error("the topic chosen is not selected")
		}
	}
	// The fixture's consents make the two topics differ: nobody agreed to hear about roads
	// by email or text, and Millbrook can be reached about general news.
	_, _, roads := page(t, off, r.url+"/reach?topic=roads")
	if tx := resultsTable(t, roads, "reach").Foot[0].texts(); tx[1] != "0" || tx[2] != "0" || tx[3] != "9" {
		t.Errorf("roads reach: %v", tx)
	}
	if code, _, _ := page(t, off, r.url+"/reach?topic=nope"); code != http.StatusNotFound {
		t.Errorf("unknown topic: %d", code)
	}
}

func TestResultsPagesAreForOfficers(t *testing.T) {
	r := newResultsRig(t)
	paths := []string{"/campaigns", "/campaigns/" + itoa(r.campaign) + "/results", "/reach"}
	jar, _ := cookiejar.New(nil)
	anon := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	vol := r.signIn(t, r.volunteer)
	for _, p := range paths {
		if code, loc, _ := page(t, anon, r.url+p); code != http.StatusSeeOther || loc != "/login?next="+url.QueryEscape(p) {
			t.Errorf("anonymous GET %s: %d → %q", p, code, loc)
		}
		if code, _, b := page(t, vol, r.url+p); code != http.StatusForbidden || strings.Contains(b, "<svg") {
			t.Errorf("volunteer GET %s: %d", p, code)
		}
	}
}

// TestResultsChartEscapesLabels: whatever a ward or campaign is called, the chart stays
// well-formed and says it as written.
func TestResultsChartEscapesLabels(t *testing.T) {
	hostile := `</text><script>alert("x")</script> & 'ward' ]]> <!--`
	for _, stacked := range []bool{false, true} {
		svg := web.ChartSVG("t", hostile, hostile+"\x01", stacked, web.ChartBar{Label: hostile, Value: 3}, web.ChartBar{Label: "none", Value: 0},
			web.ChartBar{Label: "Long label " + strings.Repeat("word ", 30), Value: 1})
		info := resultsCheckSVG(t, svg)
		if info.Title != hostile || info.Bars != 2 {
			t.Errorf("stacked=%v: title %q, %d bars", stacked, info.Title, info.Bars)
		}
		if strings.Contains(svg, "<script") || !strings.Contains(strings.Join(info.Texts, "\n"), hostile) {
			t.Errorf("stacked=%v: labels not escaped as text:\n%s", stacked, svg)
		}
	}
}

// TestResultsChartColoursContrast: every chart colour has at least 3:1 contrast against
// the white page (WCAG 1.4.11, non-text contrast).
func TestResultsChartColoursContrast(t *testing.T) {
	lum := func(hex string) float64 {
		v, err := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
		if err != nil || len(hex) != 7 {
			t.Fatalf("colour %q", hex)
		}
		ch := func(c uint64) float64 {
			s := float64(c) / 255
			if s <= 0.04045 {
				return s / 12.92
			}
			return math.Pow((s+0.055)/1.055, 2.4)
		}
		return 0.2126*ch(v>>16&0xff) + 0.7152*ch(v>>8&0xff) + 0.0722*ch(v&0xff)
	}
	for _, c := range web.ChartColours() {
		if ratio := 1.05 / (lum(c) + 0.05); ratio < 3 {
			t.Errorf("%s: contrast %.2f:1 against white, want at least 3:1", c, ratio)
		}
	}
}

// TestBrowserResultsPages: an officer signs in and reads a campaign's results, the
// campaigns list and the borough's reach; axe-core finds nothing, and every page fits a
// 360-px phone.
func TestBrowserResultsPages(t *testing.T) {
	r := newResultsRig(t)
	ctx := newBrowser(t)

	results := r.url + "/campaigns/" + itoa(r.campaign) + "/results"
	open(t, ctx, results, 200) // by way of signing in
	browse(t, ctx, "sign in as the officer",
		chromedp.SendKeys(chromedp.CSS("#email"), r.officer),
		chromedp.SendKeys(chromedp.CSS("#password"), appPassword))
	submit(t, ctx, "form[action='/login'] button[type=submit]", 200)
	if h := text(t, ctx, "h1"); h != "Bin day <changes> & more: results" {
		t.Fatalf("after signing in: %q", h)
	}
	if n := evaluate[int](t, ctx, "count the charts", `document.querySelectorAll('svg[role=img]').length`); n != 2 {
		t.Errorf("%d charts on the results page", n)
	}
	checkPage(t, ctx, "campaign results")

	open(t, ctx, r.url+"/campaigns", 200)
	checkPage(t, ctx, "campaigns")
	submit(t, ctx, "#campaigns a[href='/campaigns/"+itoa(r.draft)+"/results']", 200)
	checkPage(t, ctx, "results of a draft")

	open(t, ctx, r.url+"/reach", 200)
	checkPage(t, ctx, "reach by ward")
	browse(t, ctx, "choose another topic", chromedp.SetValue(chromedp.CSS("#topic"), "roads"))
	submit(t, ctx, "form[action='/reach'] button[type=submit]", 200)
	if s := text(t, ctx, "#reach caption"); !strings.Contains(s, "Roads and transport") {
		t.Errorf("reach for roads: caption %q", s)
	}
	checkPage(t, ctx, "reach by ward for another topic")
}
