package campaign_test

import (
	"strings"
	"testing"

	"github.com/crierhq/crier/internal/campaign"
)

// TestParseFileLines: a campaign file's texts are located by file line, and the front
// matter's own errors count lines from the top of the file, not of the front matter.
func TestParseFileLines(t *testing.T) {
	src := "---\n" + // 1
		"name: Bins\n" + // 2
		"purpose: service\n" + // 3
		"subject: Your bin day\n" + // 4
		"sms: \"Bins on Tuesday\"\n" + // 5
		"leaflet_title: Bins\n" + // 6
		"leaflet_body: |\n" + // 7
		"  Bins go out on Tuesday.\n" + // 8
		"---\n" + // 9
		"\n" + // 10
		"\n" + // 11
		"# Bins\r\n" + // 12 (CRLF, as some editors save)
		"Tuesday.\n"
	d, err := campaign.ParseFile("bins.md", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := campaign.FileLines{Body: 12, Subject: 4, SMS: 5, LeafletTitle: 6, LeafletBody: 8}
	if d.Lines != want {
		t.Errorf("Lines = %+v, want %+v", d.Lines, want)
	}
	if got := d.Lines.Line(d.Lines.Body, 2); got != 13 {
		t.Errorf("body line 2 is file line %d, want 13", got)
	}

	bad := "---\nname: Bins\npurpose: service\nsujbect: Your bin day\n---\nBody\n"
	_, err = campaign.ParseFile("bins.md", []byte(bad))
	if err == nil || !strings.Contains(err.Error(), "line 4: field sujbect not found") {
		t.Errorf("misspelt key: %v; want it at line 4 of the file", err)
	}

	// A file saved in Windows-1252 ("Café" as 0xe9) or holding a NUL is refused at the
	// byte, never stored half-decoded.
	for _, tc := range []struct{ src, want string }{
		{"---\nname: Bins\npurpose: service\nsubject: Hi\n---\nCaf\xe9 open\n", "bins.md:6:4: byte 0xe9 is not UTF-8"},
		{"---\nname: Bins\x00\npurpose: service\n---\nBody\n", "bins.md:2:11: the file holds a NUL byte"},
		{"---\nname: Y Felin Dŵr\npurpose: service\nsubject: Hi\n---\nŵ\xff\n", "bins.md:6:2: byte 0xff"},
	} {
		_, err := campaign.ParseFile("bins.md", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseFile(%q) = %v, want an error containing %q", tc.src, err, tc.want)
		}
	}
}

// TestTextsFollowChannels: a campaign's texts are those of the channels it sends on,
// and only texts naming attr. are worth checking against the residents' attributes.
func TestTextsFollowChannels(t *testing.T) {
	c := &campaign.Campaign{ChannelOrder: []string{"sms", "post"}, EmailSubject: "Bins", EmailBody: "{{attr.bin_day}}",
		SMSBody: "Bins on {{ATTR.bin_day}}", LeafletBody: "Bins"}
	var parts []string
	for _, x := range c.Texts() {
		parts = append(parts, x.Part)
	}
	if strings.Join(parts, ",") != "sms,leaflet" {
		t.Errorf("Texts = %v, want sms and leaflet (email is not among the channels)", parts)
	}
	if !c.MayUseAttributes() {
		t.Error("{{ATTR.bin_day}} in the SMS: MayUseAttributes = false")
	}
	c.SMSBody = "Bins on Tuesday"
	if c.MayUseAttributes() {
		t.Error("only the unused e-bulletin names an attribute, yet MayUseAttributes = true")
	}
}
