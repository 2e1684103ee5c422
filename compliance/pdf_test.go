package compliance

import (
	"bytes"
	"context"
	"errors"
	"github.com/drillhq/drill/internal/testenv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The PDF is checked by its text, as a reader sees it: pdftotext (poppler-utils) must find the
// figures the report states.
func TestPDFHasTheKeyNumbers(t *testing.T) {
	t.Parallel()
	browser, err := FindBrowser("")
	if err != nil {
		testenv.Need(t, "chromium", "make deps, or apt-get install chromium", err.Error())
	}
	if _, err := exec.LookPath("pdftotext"); err != nil {
		testenv.Need(t, "pdftotext", "make deps, or apt-get install poppler-utils", "")
	}
	var pdf bytes.Buffer
	if err := WritePDF(context.Background(), &pdf, fixtureReport(t), browser); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")) {
		t.Fatalf("not a PDF: %q", pdf.Bytes()[:min(20, pdf.Len())])
	}
	path := filepath.Join(t.TempDir(), "r.pdf")
	if err := os.WriteFile(path, pdf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := strings.Join(strings.Fields(string(out)), " ")
	for _, want := range []string{
		"DR drill compliance report", "2026-Q3",
		"14.2 s", "6 min 30 s", "1.89 s", // measured RTOs: a fail, a fail, the last pass
		"20260915T223000Z-8a8b8c8d", "F-0003", "OVERDUE", "CHG-1042", "Controls mapping", "DORA",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
}

func TestPDFWithoutBrowserSaysSo(t *testing.T) {
	t.Parallel()
	_, err := FindBrowser(filepath.Join(t.TempDir(), "no-chromium"))
	if !errors.Is(err, ErrNoBrowser) || !strings.Contains(err.Error(), "apt-get install chromium") {
		t.Errorf("error %v, want ErrNoBrowser with how to install it", err)
	}
}
