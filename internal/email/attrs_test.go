package email

import (
	"strings"
	"testing"
)

func TestUnknownAttributes(t *testing.T) {
	keys := []string{"bin_day", "tenure", "uprn"}
	tests := []struct {
		name, part, text string
		keys             []string
		want             []string
	}{
		{"known", "body", "Bins on {{attr.bin_day}}.", keys, nil},
		{"misspelt, twice with other fallbacks", "body", "{{attr.tenur}} and {{ attr.tenur | \"x\" }}", keys,
			[]string{`{{attr.tenur}} in the e-bulletin: no resident has the attribute "tenur", so it is blank (or its fallback) for everyone; nearest: "tenure"`}},
		{"wrong case", "sms", "{{attr.UPRN}}", keys,
			[]string{`{{attr.UPRN}} in the text message: no resident has the attribute "UPRN", so it is blank (or its fallback) for everyone; nearest: "uprn"`}},
		{"nobody has attributes", "leaflet", "{{attr.ward_name}}", nil,
			[]string{`{{attr.ward_name}} in the leaflet: no resident has the attribute "ward_name", so it is blank (or its fallback) for everyone; no resident has any attributes`}},
		{"other fields are not attributes", "subject", "{{first_name}} of {{ward}}", nil, nil},
		{"a text that does not compile", "body", "{{attr.nosuch", keys, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, w := range UnknownAttributes(tc.part, tc.text, tc.keys) {
				got = append(got, w.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
