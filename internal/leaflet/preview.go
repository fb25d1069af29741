package leaflet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// ErrNoPoppler is returned by Preview when pdftoppm (from poppler-utils) is
// not installed.
var ErrNoPoppler = errors.New("leaflet preview needs pdftoppm from poppler-utils (apt-get install poppler-utils)")

// pngSignature starts every PNG file.
const pngSignature = "\x89PNG\r\n\x1a\n"

// Preview renders page 1 of pdf as a PNG at 60 dpi (an A4 page is about
// 500 × 700 pixels), with pdftoppm from poppler-utils. The PDF goes in on
// stdin and the PNG comes back on stdout; ctx bounds the run.
func Preview(ctx context.Context, pdf []byte) ([]byte, error) {
	path, err := exec.LookPath("pdftoppm")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoPoppler, err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return nil, errors.New("leaflet preview: input is not a PDF")
	}
	cmd := exec.CommandContext(ctx, path, "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	var out, stderr bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second // pipes cannot keep Wait hanging after ctx ends
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("leaflet preview: %w", ctxErr)
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[:500] + "…"
		}
		return nil, fmt.Errorf("leaflet preview: pdftoppm: %w: %s", err, msg)
	}
	if !bytes.HasPrefix(out.Bytes(), []byte(pngSignature)) {
		return nil, fmt.Errorf("leaflet preview: pdftoppm wrote no PNG: %s", strings.TrimSpace(stderr.String()))
	}
	return out.Bytes(), nil
}
