package web

import "github.com/crierhq/crier/internal/segment"

// purposeText is a campaign's purpose (segment.PurposeService or PurposeMarketing) in
// the words each page needs.
type purposeText struct {
	Short     string // one word, for a choice: "Service"
	Name      string // in a list: "Service notice"
	Explained string // on the campaign's page: what it means for who gets it
}

var purposeTexts = map[string]purposeText{
	segment.PurposeService: {Short: "Service", Name: "Service notice",
		Explained: "Service message: residents need to know it"},
	segment.PurposeMarketing: {Short: "Marketing", Name: "Marketing",
		Explained: "Marketing: only to residents who agreed to hear about the topic"},
}

// purposeOf returns purpose p's words; a purpose the pages don't know is shown as it is.
func purposeOf(p string) purposeText {
	if t, ok := purposeTexts[p]; ok {
		return t
	}
	return purposeText{Short: p, Name: p, Explained: p}
}
