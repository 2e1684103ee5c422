package compliance

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/drillhq/drill/internal/testenv"
)

// screenshotEnv names a file to copy the Chromium screenshot to, for people reviewing the
// layout: DRILL_REPORT_SCREENSHOT=/tmp/report.png go test -run Chromium ./report
const screenshotEnv = "DRILL_REPORT_SCREENSHOT"

func renderHTML(t *testing.T, rep *Report) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteHTML(&buf, rep); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestHTMLSelfContained checks the promises that do not need a browser: no script, nothing
// fetched, print styles present, every number escaped text.
func TestHTMLSelfContained(t *testing.T) {
	t.Parallel()
	page := string(renderHTML(t, fixtureReport(t)))
	forbidden := []struct{ name, re string }{
		{"script element", `(?i)<script`},
		{"event handler attribute", `(?i)\son[a-z]+\s*=`},
		{"javascript: URL", `(?i)javascript:`},
		{"external reference", `(?i)(src|href)\s*=\s*"(https?:)?//`},
		{"CSS import or url()", `(?i)(@import|url\()`},
		{"link element", `(?i)<link\b`},
		{"iframe/object/embed", `(?i)<(iframe|object|embed)\b`},
	}
	for _, f := range forbidden {
		if m := regexp.MustCompile(f.re).FindString(page); m != "" {
			t.Errorf("report contains a %s: %q", f.name, m)
		}
	}
	// The only absolute URL allowed is the SVG namespace, which browsers never fetch.
	for _, u := range regexp.MustCompile(`https?://[^"' <)]+`).FindAllString(page, -1) {
		if u != "http://www.w3.org/2000/svg" {
			t.Errorf("report names an external URL %q", u)
		}
	}
	for _, want := range []string{"@media print", "@page", `<svg`, "Evidence appendix", "DR strategy check"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(page, `<figure id="run-`); n != 8 {
		t.Errorf("%d run timelines; want one per run the report cites in the period (8)", n)
	}
}

func TestHTMLEscapes(t *testing.T) {
	t.Parallel()
	runs := fixtureRuns(t)
	runs[2].Reason = `<img src=x onerror=alert(1)> & "quoted"`
	runs[2].Faults[0].Name = `<b>fault</b>`
	s := fixtureSuite(t)
	page := string(renderHTML(t, Build(Input{Period: q3, Now: reportAt, Entries: s.Entries, Runs: runs})))
	if strings.Contains(page, "<img") || strings.Contains(page, "<b>fault</b>") {
		t.Error("result text reached the page unescaped")
	}
	if !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Error("escaped reason missing from the page")
	}
}

// TestHTMLInChromium renders the report in a real headless Chromium: the page must load with no
// console error, and the key figures must be in the rendered DOM. It also takes a screenshot.
func TestHTMLInChromium(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		testenv.Need(t, "chromium", "make deps, or apt-get install chromium", "")
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, renderHTML(t, fixtureReport(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	url := "file://" + page

	dom, logs := runChromium(t, browser, dir, "--dump-dom", url)
	for _, line := range consoleProblems(logs) {
		t.Errorf("browser console: %s", line)
	}
	// Key numbers, as the browser parsed them (the DOM, not our source text).
	for _, want := range []string{
		`data-count="compliant">1<`, `data-count="overdue">1<`, `data-count="failing">2<`, `data-count="never-drilled">1<`,
		"2026-Q3 (2026-07-01 to 2026-09-30)",
		"20260922T093000Z-9e8d7c6b",                    // last pass of orders-etcd, in the table and the evidence
		"1.89 s", "14.2 s", "6 min 30 s", "3 min 12 s", // measured RTOs
		"not recovered",           // the unbounded RTO
		"overdue by 1 day",        // storefront
		"Pilot light",             // billing: critical-system floor
		"(critical-system floor)", //
		"right strategy, but over the RTO target",
		"ff07db56fc36273da9f0467eabadc2f343c98f554f91cb499d730b184e0cc6e3", // scenario hash in the evidence
		"Disaster Recovery of Workloads on AWS",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered DOM lacks %q", want)
		}
	}
	if !strings.Contains(dom, "<svg") || strings.Count(dom, "<svg") < 15 {
		t.Errorf("rendered DOM has %d inline SVG charts; want ladder + trends + timelines", strings.Count(dom, "<svg"))
	}

	shot := filepath.Join(dir, "report.png")
	_, _ = runChromium(t, browser, dir, "--screenshot="+shot, "--window-size=1280,2000", "--hide-scrollbars", url)
	st, err := os.Stat(shot)
	if err != nil || st.Size() < 20000 {
		t.Fatalf("no usable screenshot (%v): the page did not render", err)
	}
	png, _ := os.ReadFile(shot)
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatal("screenshot is not a PNG")
	}
	if out := os.Getenv(screenshotEnv); out != "" {
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot saved to %s", out)
	}
}

// consoleProblems returns the lines of Chromium's stderr log that come from the page: console
// messages (Chromium logs every level as "INFO:CONSOLE"), uncaught exceptions and failed loads.
// The report has no script, so any of them is a defect.
func consoleProblems(logs string) []string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, ":CONSOLE") || strings.Contains(line, "Uncaught") || strings.Contains(line, "Failed to load resource") {
			out = append(out, line)
		}
	}
	return out
}

// TestChromiumConsoleCheckCanFail proves the console check above is not vacuous: a page with
// a script error must be flagged by the same browser invocation and the same filter.
func TestChromiumConsoleCheckCanFail(t *testing.T) {
	browser := findChromium()
	if browser == "" {
		testenv.Need(t, "chromium", "make deps, or apt-get install chromium", "")
	}
	if testing.Short() {
		t.Skip("starts a browser")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "broken.html")
	if err := os.WriteFile(page, []byte(`<!doctype html><p>x</p><script>notDefined()</script>`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, logs := runChromium(t, browser, dir, "--dump-dom", "file://"+page)
	if len(consoleProblems(logs)) == 0 {
		t.Fatalf("a page with an uncaught exception passed the console check; browser log:\n%s", logs)
	}
}

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// runChromium runs one headless Chromium command and returns stdout and stderr. Everything that
// could reach the network or a user profile is off: the page must render from the file alone.
func runChromium(t *testing.T, browser, dir string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	profile, err := os.MkdirTemp(dir, "profile-")
	if err != nil {
		t.Fatal(err)
	}
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + profile, "--enable-logging=stderr", "--v=0",
	}
	cmd := exec.CommandContext(ctx, browser, append(base, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", browser, strings.Join(args, " "), err, errb.String())
	}
	return out.String(), errb.String()
}
