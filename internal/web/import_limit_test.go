package web_test

import (
	"bufio"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// streamUpload posts a CSV of about size bytes, written by gen as the request is sent
// (so that the test holds no copy of it), and returns the response.
func streamUpload(t *testing.T, c *http.Client, u, csrf, name string, gen func(w io.Writer) error) *http.Response {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("csrf", csrf)
		fw, err := mw.CreateFormFile("file", name)
		if err == nil {
			bw := bufio.NewWriterSize(fw, 64<<10)
			if err = gen(bw); err == nil {
				err = bw.Flush()
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	res, err := c.Post(u+"/contacts/import", mw.FormDataContentType(), pr)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// heapPeak samples the heap in use until stop is called, and returns the most it saw
// above what was in use when it started.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	base, peak := m.HeapInuse, m.HeapInuse
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapInuse)
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak - base
	}
}

// importHeapBound is what an upload may add to the server's heap: net/http keeps up to
// 32 MB of an upload in memory before it spills to disk, and the importer's batches are
// bounded; without the limits on fields and lines a 60 MB line took about 900 MB.
const importHeapBound = 150 << 20

// TestContactsImportBoundsLongLines: a 60 MB file of one line, and a 60 MB file with a
// stray quote early on (joining everything after it into one field), are refused with
// the line named, the server's heap stays bounded, and the pages hold no huge strings.
func TestContactsImportBoundsLongLines(t *testing.T) {
	r := newContactsRig(t)
	c := r.officer(t)
	csrf := officerCSRF(t, c, r.srv.URL)
	before := r.count(t)
	const size = 60 << 20

	stop := heapPeak()
	res := streamUpload(t, c, r.srv.URL, csrf, "one-line.csv", func(w io.Writer) error {
		for i, n := 0, 0; n < size; i++ {
			m, err := fmt.Fprintf(w, "Column %d,", i)
			if err != nil {
				return err
			}
			n += m
		}
		return nil
	})
	b := body(t, res)
	peak := stop()
	want := "The first line of one-line.csv, which names the columns, is over 1 MB long. A stray quote (&#34;) may have joined many lines into one, or this is not a CSV file. Nothing was imported."
	if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b, want) {
		t.Errorf("a 60 MB line: %d, want 422 and %s\n%.2000s", res.StatusCode, want, b)
	}
	if peak > importHeapBound || len(b) > 100<<10 {
		t.Errorf("a 60 MB line: the heap grew by %d MB, the page is %d KB", peak>>20, len(b)>>10)
	}
	t.Logf("a 60 MB line: heap +%d MB", peak>>20)

	stop = heapPeak()
	res = streamUpload(t, c, r.srv.URL, csrf, "stray.csv", func(w io.Writer) error {
		if _, err := io.WriteString(w, "First name,Surname,Email\nAda,Lovelace,ada@example.org\nGrace,\"Hopper,grace@example.org\n"); err != nil {
			return err
		}
		line := []byte("Person,Number,person@example.org\n")
		for n := 0; n < size; n += len(line) {
			if _, err := w.Write(line); err != nil {
				return err
			}
		}
		return nil
	})
	job := res.Header.Get("Location")
	b = body(t, res)
	if res.StatusCode != http.StatusSeeOther || !jobPathRE.MatchString(job) {
		t.Fatalf("a stray quote: %d → %q, want 303 to a job page\n%.2000s", res.StatusCode, job, b)
	}
	b = waitImport(t, c, r.srv.URL, job)
	peak = stop()
	for _, want := range []string{"stray.csv is not valid CSV all the way through, so nothing was imported.",
		"<li>stray.csv:3:2: this field is over 64 KB long: a stray quote (&#34;) may have joined many lines into one field, so nothing was imported</li>"} {
		if !strings.Contains(b, want) {
			t.Errorf("a stray quote: the job page lacks %s\n%.3000s", want, b)
		}
	}
	if peak > importHeapBound || len(b) > 100<<10 {
		t.Errorf("a stray quote: the heap grew by %d MB, the page is %d KB", peak>>20, len(b)>>10)
	}
	t.Logf("a stray quote: heap +%d MB", peak>>20)
	if n := r.count(t); n != before {
		t.Errorf("%d contacts imported", n-before)
	}
	r.checkLogs(t)
}
