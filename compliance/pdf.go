package compliance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// FormatPDF is the report printed to PDF by headless Chromium from the HTML report.
const FormatPDF = "pdf"

// ErrNoBrowser is returned when no Chromium is found for --format pdf.
var ErrNoBrowser = errors.New("--format pdf prints the HTML report with headless Chromium, and none was found: install it (Debian: apt-get install chromium) or name it with --browser PATH")

// FindBrowser returns the Chromium to print with: explicit when set (it must exist), else
// /usr/bin/chromium, else the first of the usual names on PATH.
func FindBrowser(explicit string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("%w (--browser %s: %v)", ErrNoBrowser, explicit, err)
		}
		return explicit, nil
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium", nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// pdfTimeout bounds one print; a report of a year's drills renders in seconds.
const pdfTimeout = 2 * time.Minute

// WritePDF renders the HTML report and prints it to PDF with headless Chromium. The browser
// gets a throw-away profile and every feature that could reach the network off: the page is
// self-contained, and printing must not depend on (or leak to) anything else.
func WritePDF(ctx context.Context, w io.Writer, rep *Report, browser string) error {
	dir, err := os.MkdirTemp("", "drill-report-pdf-")
	if err != nil {
		return fmt.Errorf("write report pdf: %w", err)
	}
	defer os.RemoveAll(dir)
	html, pdf := filepath.Join(dir, "report.html"), filepath.Join(dir, "report.pdf")
	var page bytes.Buffer
	if err := WriteHTML(&page, rep); err != nil {
		return err
	}
	if err := os.WriteFile(html, page.Bytes(), 0o600); err != nil {
		return fmt.Errorf("write report pdf: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, pdfTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser,
		"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--no-pdf-header-footer", "--print-to-pdf="+pdf, "file://"+html)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("write report pdf: %s: %w: %s", browser, err, lastLines(stderr.String(), 3))
	}
	f, err := os.Open(pdf)
	if err != nil {
		return fmt.Errorf("write report pdf: %s printed nothing: %w: %s", browser, err, lastLines(stderr.String(), 3))
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return fmt.Errorf("write report pdf: %w", err)
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := bytes.Split(bytes.TrimSpace([]byte(s)), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte(" | ")))
}
