package contact

import (
	"strings"
	"testing"
)

func TestMapHeader(t *testing.T) {
	cases := []struct {
		name      string
		header    []string
		overrides map[string]Field
		want      []Field
		err       string
	}{
		{"council spellings",
			[]string{"E-mail address", "Phone number", "Mobile No.", "First name", "SURNAME", " Post Code ", "Ward", "Email consent", "SMS Opt-in", "Large print?"},
			nil,
			[]Field{FieldEmail, FieldPhone, FieldMobile, FieldFirstName, FieldLastName, FieldPostcode, FieldWard, FieldEmailConsent, FieldSMSConsent, FieldLargePrint}, ""},
		{"unknown columns become attributes, blank ones are ignored",
			[]string{"Email", "Resident ref.", ""},
			nil,
			[]Field{FieldEmail, "attr:resident_ref", FieldIgnore}, ""},
		{"override wins over the usual meaning",
			[]string{"Email", "Tel (day)", "Phone"},
			map[string]Field{"tel (DAY)": FieldMobile, "Phone": FieldIgnore},
			[]Field{FieldEmail, FieldMobile, FieldIgnore}, ""},
		{"address lines are parsed",
			[]string{"Forename", "Address line 1", "Address Line 2", "ADDRESS LINE 3", "Town", "Postcode"},
			nil,
			[]Field{FieldFirstName, FieldAddressLine1, FieldAddressLine2, FieldAddressLine3, FieldTown, FieldPostcode}, ""},
		{"Addr1 to Addr4",
			[]string{"Addr1", "Addr2", "Addr3", "Addr4", "Post code"},
			nil,
			[]Field{FieldAddressLine1, FieldAddressLine2, FieldAddressLine3, FieldAddressLine4, FieldPostcode}, ""},
		{"one Address column is parsed",
			[]string{"Name", "Address", "Postcode"},
			nil,
			[]Field{FieldFullName, FieldAddressLine1, FieldPostcode}, ""},
		{"with a house number column, address lines are street and town as before",
			[]string{"House number", "Address line 1", "Address line 2", "Address line 3", "Postcode"},
			nil,
			[]Field{FieldHouseNumber, FieldStreet, FieldTown, "attr:address_line_3", FieldPostcode}, ""},
		{"with street and town columns, address lines are attributes",
			[]string{"House name or number", "Street", "Address 1", "Address 2", "City"},
			nil,
			[]Field{FieldHouseNumber, FieldStreet, "attr:address_1", "attr:address_2", FieldTown}, ""},
		{"a street named by --map turns parsing off",
			[]string{"Door", "Road name", "Address line 2"},
			map[string]Field{"Door": FieldHouseNumber, "Road name": FieldStreet},
			[]Field{FieldHouseNumber, FieldStreet, FieldTown}, ""},
		{"two columns for one field",
			[]string{"Email", "E-mail"}, nil, nil, `columns "Email" and "E-mail" both map to email`},
		{"override of a missing column",
			[]string{"Email"}, map[string]Field{"Telephone": FieldPhone}, nil, `--map names column "Telephone", which is not in the header`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cols, err := MapHeader(tc.header, tc.overrides)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, c := range cols {
				if c.Field != tc.want[i] {
					t.Errorf("column %q → %s, want %s", c.Header, c.Field, tc.want[i])
				}
			}
		})
	}
}

func TestParseYesNo(t *testing.T) {
	for _, in := range []string{"yes", "YES", "Y", "y", "true", "TRUE", "1", "Opted in"} {
		if b, err := parseYesNo(in); err != nil || b == nil || !*b {
			t.Errorf("%q = %v, %v; want yes", in, b, err)
		}
	}
	for _, in := range []string{"no", "No", "N", "false", "FALSE", "0"} {
		if b, err := parseYesNo(in); err != nil || b == nil || *b {
			t.Errorf("%q = %v, %v; want no", in, b, err)
		}
	}
	if b, err := parseYesNo(""); err != nil || b != nil {
		t.Errorf("empty = %v, %v; want not stated", b, err)
	}
	if _, err := parseYesNo("maybe"); err == nil || !strings.Contains(err.Error(), `"maybe" must be yes or no`) {
		t.Errorf("maybe: %v", err)
	}
}

func TestNeutraliseRoundTrip(t *testing.T) {
	for _, v := range []string{"=1+1", "+447700900123", "-2", "@SUM(A1)", "\tx", "\rx", "plain", "", "O'Brien",
		"'=already quoted", "''-2", "'", "'plain"} {
		n := Neutralise(v)
		if u := strings.TrimLeft(v, "'"); u != "" && strings.ContainsRune(formulaStarts, rune(u[0])) && n != "'"+v {
			t.Errorf("Neutralise(%q) = %q", v, n)
		}
		if got := cleanCell(n); got != strings.TrimSpace(v) {
			t.Errorf("cleanCell(Neutralise(%q)) = %q", v, got)
		}
	}
}
