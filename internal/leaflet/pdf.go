package leaflet

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strconv"

	"github.com/jung-kurt/gofpdf"
	"github.com/skip2/go-qrcode"
)

// Registered image names: each image is embedded once per document and drawn
// by reference wherever it appears.
const (
	imageQR   = "crier-qr"
	imageLogo = "crier-logo"
)

// docInfo is a document's metadata.
type docInfo struct {
	title  string // cleaned UTF-8
	author string
	lang   string // canonical BCP 47 tag
}

// newDoc starts a PDF whose pages are w × h mm, with the leaflet fonts loaded
// (once: gofpdf embeds each face once, subset to the glyphs used) and the
// document's metadata set. Pages are always added in portrait orientation with
// the sheet's own size, so a landscape sheet is simply wider than it is tall.
func newDoc(w, h float64, info docInfo) (*gofpdf.Fpdf, error) {
	pdf := gofpdf.NewCustom(&gofpdf.InitType{
		OrientationStr: "P",
		UnitStr:        "mm",
		Size:           gofpdf.SizeType{Wd: w, Ht: h},
	})
	pdf.SetAutoPageBreak(false, 0) // pages are laid out here, never broken by gofpdf
	pdf.SetMargins(0, 0, 0)
	// Page content streams hold a template reference and an address panel,
	// a few hundred bytes: compressing them gains little, and gofpdf would
	// allocate a fresh 1 MB deflater for every page. Fonts stay compressed;
	// images keep their PNG compression.
	pdf.SetCompression(false)
	pdf.SetCatalogSort(true) // stable object order: the same input gives the same structure
	pdf.SetTitle(info.title, true)
	if info.author != "" {
		pdf.SetAuthor(info.author, true)
	}
	pdf.SetCreator("Crier", true)
	regular, bold, err := fontBytes()
	if err != nil {
		return nil, err
	}
	pdf.AddUTF8FontFromBytes(fontFamily, "", regular)
	pdf.AddUTF8FontFromBytes(fontFamily, "B", bold)
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("leaflet: load fonts: %w", err)
	}
	return pdf, nil
}

// pen draws operations onto a page or a template, setting the font and the
// line width only when they change.
type pen struct {
	pdf      *gofpdf.Fpdf
	size, lw float64
	bold     bool
}

// newPen starts drawing on a fresh content stream (a new page or a template),
// which has no font or line width yet. Placing a template between draws is
// fine: its drawing is wrapped in q … Q, which restores the state.
func newPen(pdf *gofpdf.Fpdf) *pen { return &pen{pdf: pdf, size: -1, lw: -1} }

func (p *pen) draw(ops []op, dx, dy float64) {
	pdf := p.pdf
	for i := range ops {
		o := &ops[i]
		x, y := o.x+dx, o.y+dy
		switch o.kind {
		case opText:
			if o.size != p.size || o.bold != p.bold {
				style := ""
				if o.bold {
					style = "B"
				}
				pdf.SetFont(fontFamily, style, o.size)
				p.size, p.bold = o.size, o.bold
			}
			if o.white {
				pdf.SetTextColor(255, 255, 255)
				pdf.Text(x, y, o.text)
				pdf.SetTextColor(0, 0, 0)
			} else {
				pdf.Text(x, y, o.text)
			}
		case opLine, opRect:
			if o.lw != p.lw {
				pdf.SetLineWidth(o.lw)
				p.lw = o.lw
			}
			if o.kind == opLine {
				pdf.Line(x, y, o.w+dx, o.h+dy)
			} else {
				pdf.Rect(x, y, o.w, o.h, "D")
			}
		case opFill:
			pdf.SetFillColor(0, 0, 0)
			pdf.Rect(x, y, o.w, o.h, "F")
		case opImage:
			pdf.ImageOptions(o.text, x, y, o.w, o.h, false, gofpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		}
	}
}

// template is a gofpdf template (a PDF form XObject: drawn once, placed on any
// number of pages) with a short fixed name. gofpdf would otherwise name it by
// a SHA-1 of its content, recomputed every time it is placed.
type template struct {
	gofpdf.Template
	id string
}

func (t template) ID() string { return t.id }

// newTemplate records ops as a w × h mm template.
func newTemplate(pdf *gofpdf.Fpdf, id string, w, h float64, ops []op) (template, error) {
	var err error
	t := pdf.CreateTemplateCustom(gofpdf.PointType{}, gofpdf.SizeType{Wd: w, Ht: h}, func(tpl *gofpdf.Tpl) {
		tpl.SetTextColor(0, 0, 0)
		tpl.SetDrawColor(0, 0, 0)
		newPen(&tpl.Fpdf).draw(ops, 0, 0)
		err = tpl.Error() // a template keeps its own error
	})
	if err != nil {
		return template{}, fmt.Errorf("leaflet: lay out: %w", err)
	}
	return template{Template: t, id: id}, nil
}

// writeDoc finishes the PDF and writes it to w, adding what gofpdf cannot: the
// document language (/Lang, PDF 1.4) and the viewer preference to show the
// title rather than the file name. gofpdf ends every file with the catalog
// object, the cross-reference table and the trailer, so the entries go inside
// the catalog, nothing before it moves, and only startxref changes.
func writeDoc(w io.Writer, pdf *gofpdf.Fpdf, lang string) error {
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return fmt.Errorf("leaflet: make pdf: %w", err)
	}
	if err := writeWithCatalog(w, buf.Bytes(), "/Lang ("+lang+")\n/ViewerPreferences <</DisplayDocTitle true>>\n"); err != nil {
		return err
	}
	return nil
}

var errPDFLayout = errors.New("leaflet: unexpected pdf layout from gofpdf")

// writeWithCatalog writes doc with entries added to its catalog dictionary
// and the startxref offset corrected. The header's version becomes 1.4, the
// first version with /Lang (same length, so no offset moves).
func writeWithCatalog(w io.Writer, doc []byte, entries string) error {
	const catalog = "/Type /Catalog\n"
	const startxref = "startxref\n"
	at := bytes.LastIndex(doc, []byte(catalog))
	sx := bytes.LastIndex(doc, []byte(startxref))
	if at < 0 || sx < at || !bytes.HasPrefix(doc, []byte("%PDF-1.")) {
		return errPDFLayout
	}
	numEnd := bytes.IndexByte(doc[sx+len(startxref):], '\n')
	if numEnd < 0 {
		return errPDFLayout
	}
	num := doc[sx+len(startxref) : sx+len(startxref)+numEnd]
	off, err := strconv.Atoi(string(num))
	if err != nil || off <= at || off > sx {
		return errPDFLayout
	}
	cut := at + len(catalog)
	version := []byte("%PDF-1.4")
	if doc[7] > '4' {
		version = doc[:8]
	}
	for _, part := range [][]byte{
		version,
		doc[8:cut],
		[]byte(entries),
		doc[cut:sx],
		[]byte(startxref + strconv.Itoa(off+len(entries)) + "\n"),
		doc[sx+len(startxref)+numEnd+1:],
	} {
		if _, err := w.Write(part); err != nil {
			return fmt.Errorf("leaflet: write pdf: %w", err)
		}
	}
	return nil
}

// logoImage is a logo ready to embed: an opaque 8-bit PNG.
type logoImage struct {
	png  []byte
	w, h int
}

const (
	maxLogoBytes  = 10 << 20
	maxLogoPixels = 40_000_000
	logoMaxSide   = 1600 // pixels: about 55 mm at 700 dpi, plenty for print
)

// prepareLogo checks a PNG logo and re-encodes it as gofpdf needs it: 8 bits
// per channel, not interlaced, flattened onto white (paper is white; no soft
// mask, no transparency group), and no larger than print needs.
func prepareLogo(data []byte) (*logoImage, error) {
	if len(data) > maxLogoBytes {
		return nil, fmt.Errorf("LogoPNG is %d bytes; at most %d", len(data), maxLogoBytes)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("LogoPNG is not a PNG image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width*cfg.Height > maxLogoPixels {
		return nil, fmt.Errorf("LogoPNG is %d×%d pixels; at most %d pixels in all", cfg.Width, cfg.Height, maxLogoPixels)
	}
	src, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("LogoPNG is not a PNG image: %w", err)
	}
	b := src.Bounds()
	k := 1 // box-filter factor
	for max(b.Dx(), b.Dy())/k > logoMaxSide {
		k++
	}
	w, h := (b.Dx()+k-1)/k, (b.Dy()+k-1)/k
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			var r, g, bl, n uint32
			for sy := b.Min.Y + y*k; sy < min(b.Min.Y+(y+1)*k, b.Max.Y); sy++ {
				for sx := b.Min.X + x*k; sx < min(b.Min.X+(x+1)*k, b.Max.X); sx++ {
					cr, cg, cb, ca := src.At(sx, sy).RGBA() // premultiplied: over white adds 1-alpha
					r += cr + 0xFFFF - ca
					g += cg + 0xFFFF - ca
					bl += cb + 0xFFFF - ca
					n++
				}
			}
			dst.SetRGBA(x, y, color.RGBA{uint8(r / n >> 8), uint8(g / n >> 8), uint8(bl / n >> 8), 0xFF})
		}
	}
	var out bytes.Buffer
	if err := png.Encode(&out, dst); err != nil {
		return nil, fmt.Errorf("LogoPNG: re-encode: %w", err)
	}
	return &logoImage{png: out.Bytes(), w: w, h: h}, nil
}

// qrPNG encodes url as a QR code (medium error correction, the standard
// four-module quiet zone) with 8 pixels per module; the PDF scales it.
func qrPNG(url string) ([]byte, error) {
	q, err := qrcode.New(url, qrcode.Medium)
	if err != nil {
		return nil, fmt.Errorf("QRURL: %w", err)
	}
	return q.PNG(-8)
}

// registerPNG embeds a PNG under name, once for the whole document.
func registerPNG(pdf *gofpdf.Fpdf, name string, data []byte) error {
	pdf.RegisterImageOptionsReader(name, gofpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(data))
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("leaflet: embed image %s: %w", name, err)
	}
	return nil
}
