package leaflet

import (
	"reflect"
	"testing"
)

func TestParseBody(t *testing.T) {
	src := `# One
## Two
### Three

Plain **bold** and *italic* and ` + "`code`" + `.
Line two  
after a hard break.

- a
- b
  1. nested
- 

3) three
4) four

[site](https://crier.example/bins), [crier.example/x](https://crier.example/x), [mail us](mailto:bins@example.org), <https://auto.example>,
![Bin lorry](https://crier.example/lorry.png), <b>raw</b>.

> quoted

` + "```\nfirst  line\n\nthird\n```" + `

<div>block html</div>

***
`
	b := parseBody(src)
	want := []block{
		{kind: blockHeading, level: 1, spans: []span{{text: "One"}}},
		{kind: blockHeading, level: 2, spans: []span{{text: "Two"}}},
		{kind: blockHeading, level: 3, spans: []span{{text: "Three"}}},
		{kind: blockPara, spans: []span{
			{text: "Plain "}, {text: "bold", bold: true}, {text: " and italic and code. Line two\nafter a hard break."},
		}},
		{kind: blockPara, indent: 1, marker: "•", spans: []span{{text: "a"}}},
		{kind: blockPara, indent: 1, marker: "•", tight: true, spans: []span{{text: "b"}}},
		{kind: blockPara, indent: 2, marker: "1.", tight: true, spans: []span{{text: "nested"}}},
		{kind: blockPara, indent: 1, marker: "•", tight: true},
		{kind: blockPara, indent: 1, marker: "3)", spans: []span{{text: "three"}}},
		{kind: blockPara, indent: 1, marker: "4)", tight: true, spans: []span{{text: "four"}}},
		{kind: blockPara, spans: []span{{text: "site (https://crier.example/bins), crier.example/x, mail us (bins@example.org), https://auto.example, Bin lorry (https://crier.example/lorry.png), <b>raw</b>."}}},
		{kind: blockPara, indent: 1, spans: []span{{text: "quoted"}}},
		{kind: blockCode, spans: []span{{text: "first  line\n\nthird"}}},
		{kind: blockCode, spans: []span{{text: "<div>block html</div>"}}},
		{kind: blockRule},
	}
	if !reflect.DeepEqual(b, want) {
		t.Errorf("parseBody:\n got %+v\nwant %+v", b, want)
	}
}

func TestWrap(t *testing.T) {
	fs, err := loadFontSet()
	if err != nil {
		t.Fatal(err)
	}
	ts := textSetter{fs: fs, leading: 1.3}
	spans := []span{{text: "Put your bin out by "}, {text: "7am", bold: true}, {text: " on Monday.\nThen https://crier.example/a/very/long/path/that/will/not/fit"}}
	lines := ts.wrap(spans, 10, 40)
	var texts []string
	for _, l := range lines {
		if l.width > 40+1e-9 {
			t.Errorf("line %q is %.1f mm wide, over 40", l.text(), l.width)
		}
		texts = append(texts, l.text())
	}
	// Long words break after a '/'; a hard break ends a line.
	want := []string{"Put your bin out by", "7am on Monday.", "Then", "https://crier.example/", "a/very/long/path/that/", "will/not/fit"}
	if !reflect.DeepEqual(texts, want) {
		t.Errorf("wrap = %q, want %q", texts, want)
	}
	if r := lines[1].runs; len(r) != 2 || r[0].text != "7am" || !r[0].bold || r[1].bold || r[1].dx <= 0 {
		t.Errorf("runs of the second line: %+v", r)
	}
}
