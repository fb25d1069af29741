package web

import (
	"context"
	"slices"
	"strings"

	"github.com/crierhq/crier/internal/campaign"
	"github.com/crierhq/crier/internal/email"
	"github.com/crierhq/crier/internal/lang"
	"github.com/crierhq/crier/internal/web/number"
)

// languageFact says how a campaign in several languages reaches residents.
func languageFact(c *campaign.Campaign) string {
	var names []string
	for _, code := range c.Languages {
		names = append(names, campaign.LanguageName(code))
	}
	if c.Bilingual {
		return "Bilingual: every message carries " + strings.Join(names, " and ") + ", the resident’s own language first"
	}
	return strings.Join(names, ", ") + ": each resident gets their own language, or " + names[0] + " when the campaign isn’t written in theirs"
}

// languageViews are c's languages side by side: each one's subject and text for the
// sample resident, its previews, and how many residents get it (a dry run of the
// snapshot for a draft, the runs' own messages once it has sent).
func (s *Server) languageViews(ctx context.Context, c *campaign.Campaign, topicName string) []languageView {
	st := campaign.NewStore(s.db, s.log)
	var counts []campaign.LanguageCount
	var err error
	if c.State == campaign.Draft || c.State == campaign.Scheduled {
		counts, err = st.CountLanguages(ctx, c)
	} else {
		counts, err = st.RunLanguages(ctx, c)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "campaign languages", "campaign_id", c.ID, "err", err)
	}
	channels := c.Channels()
	var out []languageView
	for i, code := range c.Languages {
		l, _ := lang.Lookup(code)
		v := languageView{Code: code, Name: l.Name, Endonym: l.Endonym, Dir: l.Dir(), LeafletV: c.Version(),
			Email: slices.Contains(channels, "email"), Leaflet: slices.Contains(channels, "post")}
		shown := previewIn(c, code)
		if v.Email {
			if r, err := s.renderEmail(shown, topicName); err == nil {
				v.Subject = r.Subject
			}
		}
		if slices.Contains(channels, "sms") {
			if t, err := email.CompileText(c.Name, "sms", c.SMSTextIn(code)); err == nil {
				v.SMS = t.Render(sampleResident)
			}
		}
		for _, n := range counts {
			if n.Lang != code {
				continue
			}
			v.Residents = number.Count(n.Residents, "resident", "residents")
			if i == 0 && n.FellBack > 0 && !c.Bilingual {
				v.Residents += ", including " + number.Count(n.FellBack, "resident", "residents") + " whose own language the campaign isn’t written in"
			}
		}
		if code != "en" {
			v.Note = "The plain-language check below is for English only: it does not score this text."
		}
		out = append(out, v)
	}
	return out
}
