package lang

import (
	"strings"
	"testing"
)

func TestParseList(t *testing.T) {
	got, err := ParseList(" CY, en ,ur")
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, l := range got {
		codes = append(codes, l.Code+"/"+l.Endonym+"/"+l.Dir())
	}
	if s := strings.Join(codes, " "); s != "cy/Cymraeg/ltr en/English/ltr ur/اردو/rtl" {
		t.Errorf("ParseList: %s", s)
	}
	for in, want := range map[string]string{
		"en,xx": `"xx" is not a language crier knows`,
		"en,EN": `"EN" is listed twice`,
		" , ":   "no languages",
	} {
		if _, err := ParseList(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseList(%q): %v, want %q", in, err, want)
		}
	}
}
