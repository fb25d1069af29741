package web

import (
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/crierhq/crier/internal/consent"
	"github.com/crierhq/crier/internal/contact"
	"github.com/crierhq/crier/internal/web/chart"
	"github.com/crierhq/crier/internal/web/number"
)

// reachTopic is a topic the reach page can be counted for.
type reachTopic struct {
	Slug, Name string
	Selected   bool
}

// reachRow is one ward's row of the reach table.
type reachRow struct {
	Ward, Residents                   string // Residents: "4 residents"
	Email, SMS, PostOnly, Unreachable string
}

// reachView is reach.html's: the borough's reach by ward, for a topic.
type reachView struct {
	Topic      string
	Topics     []reachTopic
	Rows       []reachRow
	Total      reachRow
	LargePrint string
	Chart      template.HTML
}

// handleReach shows, ward by ward, who can be reached about a topic (?topic=slug, by
// default general) and by which channel, and who can't be reached at all, as
// contact.Store.Reach counts them.
func (s *Server) handleReach(w http.ResponseWriter, r *http.Request) {
	topic := strings.TrimSpace(r.URL.Query().Get("topic"))
	if topic == "" {
		topic = "general"
	}
	topics, err := consent.Topics(r.Context(), s.db)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := reachView{}
	for _, t := range topics {
		v.Topics = append(v.Topics, reachTopic{Slug: t.Slug, Name: t.Name})
	}
	for i := range v.Topics {
		if v.Topics[i].Slug == topic {
			v.Topics[i].Selected = true
			v.Topic = v.Topics[i].Name
		}
	}
	if v.Topic == "" {
		s.render(w, http.StatusNotFound, "message.html", page{Title: "Topic not found", OrgName: s.brand.OrgName,
			Session: sessionOf(r), Message: "There is no such topic. Choose one from the list on the reach page."})
		return
	}
	wards, err := contact.NewStore(s.db, s.log).Reach(r.Context(), topic)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var tot contact.WardReach
	ch := chart.Chart{ID: "reach", Title: "How residents can be reached about " + v.Topic + ", by ward", Stacked: true}
	for _, wr := range wards {
		ward := wardName(wr.Ward)
		v.Rows = append(v.Rows, reachRow{Ward: ward, Residents: number.Count(wr.Contacts, "resident", "residents"), Email: number.Thousands(wr.Email),
			SMS: number.Thousands(wr.SMS), PostOnly: number.Thousands(wr.PostOnly), Unreachable: number.Thousands(wr.Unreachable)})
		tot.Add(wr)
		digital := wr.Contacts - wr.PostOnly - wr.Unreachable
		note := number.Count(wr.Contacts, "resident", "residents") + ", all reachable"
		if wr.Unreachable > 0 {
			note = fmt.Sprintf("%s: %s can't be reached (%s)", number.Count(wr.Contacts, "resident", "residents"),
				number.Thousands(wr.Unreachable), number.Percent(wr.Unreachable, wr.Contacts))
		}
		ch.Groups = append(ch.Groups, chart.Group{Label: ward, Note: note,
			Scale: wr.Contacts,
			Bars: []chart.Bar{{Series: seriesDigital, Value: digital}, {Series: seriesPostOnly, Value: wr.PostOnly},
				{Series: seriesUnreachable, Value: wr.Unreachable}}})
	}
	v.Total = reachRow{Ward: "All wards", Residents: number.Count(tot.Contacts, "resident", "residents"), Email: number.Thousands(tot.Email),
		SMS: number.Thousands(tot.SMS), PostOnly: number.Thousands(tot.PostOnly), Unreachable: number.Thousands(tot.Unreachable)}
	v.LargePrint = number.Thousands(tot.LargePrint)
	if len(ch.Groups) > 0 {
		v.Chart = ch.SVG()
	}
	s.render(w, http.StatusOK, "reach.html", page{Title: "Reach by ward", OrgName: s.brand.OrgName,
		Session: sessionOf(r), Data: v})
}
