package compliance

import (
	_ "embed"
	"fmt"
	"github.com/drillhq/drill/result"
	"html/template"
	"io"
	"regexp"
	"strings"
	"time"
)

//go:embed report.html.tmpl
var htmlTemplate string

// WriteHTML renders the report as one self-contained HTML page: inline CSS and SVG, no script,
// no external resource, laid out to print to PDF from a browser.
func WriteHTML(w io.Writer, rep *Report) error {
	t, err := template.New("report").Funcs(template.FuncMap{
		"millis":        Millis,
		"millisOr":      func(ms *int64, missing string) string { return MillisPtr(ms, missing) },
		"date":          Date,
		"datetime":      DateTime,
		"crit":          criticalityText,
		"cadences":      cadenceText,
		"rpoTarget":     rpoTargetText,
		"measuredRTO":   measuredRTO,
		"measuredRPO":   measuredRPO,
		"lastPass":      lastPassText,
		"strategy":      StrategyName,
		"ladderText":    ladderVerdictText,
		"periodText":    periodText,
		"scope":         scopeText,
		"method":        methodNotes,
		"anchor":        anchor,
		"orDash":        orDash,
		"capitalize":    capitalize,
		"rel":           rel,
		"ladderChart":   func(s []System) template.HTML { return template.HTML(ladderChart(s)) },
		"timeline":      func(r Run) template.HTML { return template.HTML(timelineChart(r)) },
		"trend":         func(sc Scenario, metric string) template.HTML { return template.HTML(scenarioTrend(rep, sc, metric)) },
		"hasRPO":        hasRPO,
		"spanText":      spanText,
		"laneText":      laneText,
		"thresholds":    thresholdRows,
		"verdictClass":  verdictClass,
		"ladderRows":    ladderRows,
		"splitT0":       splitT0,
		"operator":      operatorText,
		"toolText":      toolText,
		"join":          strings.Join,
		"signOffText":   signOffText,
		"findingStatus": findingStatusText,
		"days":          daysText,
		"controlResult": controlResultText,
		"openFindings":  openFindingsText,
		"datetimeSec":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	}).Parse(htmlTemplate)
	if err != nil {
		return fmt.Errorf("parse report template: %w", err)
	}
	if err := t.Execute(w, rep); err != nil {
		return fmt.Errorf("write report html: %w", err)
	}
	return nil
}

var nonAnchor = regexp.MustCompile(`[^a-z0-9-]+`)

func anchor(prefix, name string) string {
	return prefix + "-" + strings.Trim(nonAnchor.ReplaceAllString(strings.ToLower(name), "-"), "-")
}

func verdictClass(v result.Verdict) string {
	switch v {
	case result.VerdictPass, result.VerdictFail:
		return string(v)
	}
	return "error"
}

// scenarioTrend charts one scenario's RTO or RPO over the period.
func scenarioTrend(rep *Report, sc Scenario, metric string) string {
	from, to := rep.Period.Since, rep.Period.Until
	if from.IsZero() && len(sc.Runs) > 0 {
		from = sc.Runs[0].StartedAt.Add(-24 * time.Hour)
	}
	if from.IsZero() {
		from = to.AddDate(0, -1, 0)
	}
	var pts []trendPoint
	target := result64(sc.RTOTargetMs)
	if metric == "RPO" {
		target = sc.RPOTargetMs
	}
	for _, r := range sc.Runs {
		p := trendPoint{at: r.StartedAt, verdict: string(r.Verdict), runID: r.RunID}
		if metric == "RPO" {
			p.ms, p.met = r.RPOMeasuredMs, r.RPOMet
		} else {
			p.ms, p.met = r.RTOMeasuredMs, r.RTOMet
		}
		pts = append(pts, p)
	}
	return trendChart(metric, target, from, to, pts)
}

func result64(v int64) *int64 { return &v }

func hasRPO(sc Scenario) bool {
	if sc.RPOTargetMs != nil {
		return true
	}
	for _, r := range sc.Runs {
		if r.RPOMeasuredMs != nil {
			return true
		}
	}
	return false
}

type thresholdRow struct {
	Name, Typical, Bound string
}

func thresholdRows(rungs []Rung) []thresholdRow {
	var out []thresholdRow
	for i, r := range rungs {
		bound := "≤ " + Millis(r.MaxRTOMs)
		if r.MaxRTOMs == 0 && i > 0 {
			bound = "> " + Millis(rungs[i-1].MaxRTOMs)
		}
		out = append(out, thresholdRow{r.Name, r.Typical, bound})
	}
	return out
}

// splitT0 breaks an RFC 3339 t0 into date and time so the evidence table stays narrow.
func splitT0(t0 string) [2]string {
	d, tm, ok := strings.Cut(t0, "T")
	if !ok {
		return [2]string{t0, ""}
	}
	return [2]string{d, tm}
}
