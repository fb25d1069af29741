package rights

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// WriteText writes x as plain text for a resident or an officer to read: each section
// with a heading, times in London time.
func WriteText(w io.Writer, x *Export) error {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		loc = time.UTC
	}
	at := func(t time.Time) string { return t.In(loc).Format("2 Jan 2006 15:04") }
	atp := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return at(*t)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(tw, format+"\n", args...) }
	c := x.Contact
	p("Everything held about resident %d (generated %s)", c.ID, at(x.GeneratedAt))
	p("")
	p("== Resident")
	p("Name:\t%s %s", c.FirstName, c.LastName)
	p("Preferred language:\t%s", c.PreferredLanguage)
	p("Large print:\t%v", c.LargePrint)
	p("Accessibility needs:\t%s", strings.Join(c.AccessibilityNeeds, ", "))
	p("Ward:\t%s", c.Ward)
	p("Tags:\t%s", strings.Join(c.Tags, ", "))
	p("Other details:\t%s", string(c.Attributes))
	p("On record since:\t%s (last changed %s)", at(c.CreatedAt), at(c.UpdatedAt))
	if x.Household != nil {
		p("Home:\t%s", AddressLine(x.Household.Address))
	}
	p("")
	p("== Contact points (%d)", len(x.ContactPoints))
	for _, cp := range x.ContactPoints {
		v := cp.Value
		if cp.Address != nil {
			v = AddressLine(*cp.Address)
		}
		p("#%d\t%s\t%s\t%s", cp.ID, cp.Kind, v, cp.Status)
	}
	p("")
	p("== Consent history (%d)", len(x.ConsentEvents))
	for _, e := range x.ConsentEvents {
		topic := e.Topic
		if topic == "" {
			topic = "every topic"
		}
		p("%s\tpoint #%d\t%s\t%s\t%s %s", at(e.RecordedAt), e.ContactPointID, topic, e.Status, e.Source, e.Detail)
	}
	p("")
	p("== Web sign-ups (%d)", len(x.Signups))
	for _, s := range x.Signups {
		p("%s\t%s\t%s %s\t%s\tconfirmed %s", at(s.CreatedAt), s.Email, s.FirstName, s.LastName, s.Mobile, atp(s.ConfirmedAt))
	}
	p("")
	p("== Messages (%d)", len(x.Messages))
	for _, m := range x.Messages {
		p("#%d\t%s\t%q\t%s\tsent %s\t%s", m.ID, m.Channel, m.Campaign, m.State, atp(m.SentAt), m.Reason)
		for _, e := range m.Events {
			p("\t%s\t%s\t%s", at(e.At), e.Event, e.Detail)
		}
		if m.Delivery != nil {
			p("\tprovider report:\t%s\t%s", m.Delivery.Status, at(m.Delivery.UpdatedAt))
		}
	}
	p("")
	p("== Text conversations (%d)", len(x.Conversations))
	for _, cv := range x.Conversations {
		p("With %s", cv.Phone)
		for _, t := range cv.Texts {
			who := "from resident"
			if t.Direction == "out" {
				who = "to resident"
			}
			body := t.Body
			if t.BodyRemovedAt != nil {
				body = "(words removed under the retention policy " + at(*t.BodyRemovedAt) + ")"
			}
			p("\t%s\t%s\t%s", at(t.At), who, body)
		}
	}
	p("")
	p("== Leaflet deliveries (%d)", len(x.LeafletDeliveries))
	for _, d := range x.LeafletDeliveries {
		p("%s\tround %q (campaign %d)\t%s %s", at(d.UpdatedAt), d.Round, d.CampaignID, d.State, d.Reason)
	}
	p("")
	p("== Bounces and complaints (%d)", len(x.Bounces))
	for _, b := range x.Bounces {
		p("%s\t%s from %s\t%s %s", at(b.ReceivedAt), b.Kind, b.Source, b.Status, b.Diagnostic)
	}
	p("")
	p("== Audit log entries about this resident (%d)", len(x.AuditEntries))
	for _, e := range x.AuditEntries {
		p("%s\t%s\t%s", at(e.At), e.Action, e.Actor)
	}
	return tw.Flush()
}

// AddressLine is a door on one line: "Flat 2, 14 Acre Lane, London SW2 5SG".
func AddressLine(a Address) string {
	var parts []string
	if a.Flat != "" {
		parts = append(parts, a.Flat)
	}
	parts = append(parts, strings.TrimSpace(a.HouseNumber+" "+a.Street))
	if a.Town != "" {
		parts = append(parts, a.Town+" "+a.Postcode)
	} else {
		parts = append(parts, a.Postcode)
	}
	s := strings.Join(parts, ", ")
	if a.UPRN != "" {
		s += " (UPRN " + a.UPRN + ")"
	}
	return s
}
