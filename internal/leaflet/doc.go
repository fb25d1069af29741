// Package leaflet renders printable leaflets for volunteers to deliver, and the
// round sheets they deliver them with, as PDF.
//
// [Render] prints one campaign's leaflet: one per recipient (personalised, with
// an address panel) or any number of identical copies. [RenderRoundSheet]
// prints a volunteer's round. [Preview] turns page 1 of either into a small PNG.
//
// # Formats
//
//   - [A4]: one leaflet per A4 portrait page; 11 pt body text.
//   - [A5]: two A5 leaflets side by side on each A4 landscape sheet,
//     leaflets n and n+1 sharing a sheet. Short crop marks at the midline, in
//     the top and bottom margins, show where to cut; nothing else crosses it.
//     With an odd number of leaflets the last sheet's right half is left blank
//     (no "intentionally blank" text: it is an offcut, and unprinted paper is
//     plainly waste). 10 pt body text.
//   - [Large]: large print on A4 portrait (RNIB clear and large print
//     guidance): 16 pt body, headings of 24 pt and more, nothing smaller than
//     14 pt (small print, page numbers and address panel included), black on
//     white, 1.5 line spacing, left-aligned.
//
// All text is left-aligned and ragged right, without hyphenation.
//
// # Layout
//
// A leaflet is: a masthead (the logo, the organisation's name and a rule), the
// title, the body (Markdown: see [Content]), and a boxed response panel with
// the call to action in bold, the contact block under it, and the QR code on
// the right with its address printed beneath it.
//
// Text that does not fit flows onto further pages: further A4 pages for A4 and
// large print, the next A5 half for A5 (so a two-sided A5 leaflet occupies two
// consecutive halves; the pages of a leaflet longer than one page are numbered
// "1/2", "2/2", which reads the same in any language). An A5 design first
// tightens its type, to 95% and then 90%, before it spills onto a second half.
// Headings stay with what follows them, the first and last two lines of a
// paragraph stay together, and the response panel is never split.
//
// # The address panel
//
// Personalised leaflets print the recipient's name and address where a UK DL
// window envelope (220 × 110 mm; its 90 × 35 mm window 20 mm from the left and
// 15 mm from the bottom) shows it, assuming the folded sheet has settled to
// the bottom of the envelope:
//
//   - A4 and large print, folded in three (99 mm panels, 11 mm of play): the
//     window is 20–110 mm from the left and 49–84 mm from the top of the sheet
//     (the usual UK letter address position, 45–50 mm down).
//   - A5, folded once to 148 × 105 mm with the printed side out (5 mm of
//     play): 20–110 mm from the left and 55–90 mm from the top of the
//     leaflet. The envelope is 72 mm wider than the folded leaflet, so the
//     panel only shows if the leaflet sits against the envelope's left edge,
//     as inserting machines and most hands put it.
//
// The address sits inside the window, inset 2–4 mm from its edges, starting
// at the same height on every leaflet (where a five-line address is centred),
// so it still shows when the sheet rides up a few millimetres. Nothing else
// prints across the page within 4–5 mm above and below the window, so sliding
// in the envelope never shows other text; the title may sit between the
// masthead and the window, like a letter's heading.
//
// Address lines print in order, empty ones skipped. The type shrinks to fit
// the window, not below 8 pt (14 pt in large print); if the address still
// does not fit, lines wider than the window break between words and middle
// lines are joined with commas (the name and the last line, the postcode,
// keep lines of their own); only as a last resort does the type go smaller
// still, since a whole address in small type beats a lost line. A recipient
// without a name is addressed "To the resident" (Content.Addressee).
//
// # Fonts, images and size
//
// Text is set in DejaVu Sans (regular and bold, from templates/leaflet/fonts),
// embedded once per document as a subset, so Welsh (ŵ, ŷ), Polish, Czech,
// Greek, Cyrillic and most European text prints, and stays selectable and
// extractable. Characters the font cannot print (emoji, CJK, and right-to-left
// scripts such as Arabic and Hebrew, which gofpdf can neither reorder nor
// shape) are an error in the content ([ErrUnprintable]). Print runs check
// recipients with [Unprintable] first and refuse doors it flags, listing them;
// should one reach the renderer anyway, it prints "?" rather than nothing.
//
// The static part of the leaflet is laid out once per document and stored
// once, as PDF form XObjects (gofpdf templates) that every leaflet refers to;
// the logo and the QR code are images embedded once each. Per leaflet the file
// holds only the reference and the address panel, a few hundred bytes, so
// 10,000 personalised A5 leaflets are a file of about 5 MB, written in well
// under a second. Page content streams are left uncompressed: they are tiny,
// and gofpdf would allocate a fresh 1 MB compressor for every page.
//
// # Round sheets and previews
//
// [RenderRoundSheet] prints an A4 list for the volunteer: on every page the
// round, the volunteer, the campaign, "Page n of N" and the column headings;
// then each stop in walk order with a number, a tick box, the address and
// notes. Stops marked do not deliver get a crossed-out box and a black
// "Do not deliver" label. [Preview] needs pdftoppm from poppler-utils.
//
// # Metadata
//
// The PDF's title is the leaflet's title, its author the organisation, its
// creator "Crier", its language (/Lang in the catalog) Content.Lang, and
// viewers are asked to show the title rather than the file name. gofpdf has
// no way to set /Lang, so it is added to the finished file: gofpdf always
// writes the catalog last, just before the cross-reference table, so the
// entries go inside it and only the startxref offset changes.
package leaflet
