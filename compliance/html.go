package compliance

import (
	_ "embed"
	"fmt"
	"github.com/drillhq/drill/internal/english"
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
	withTimeline := map[string]bool{}
	for _, r := range rep.Runs {
		withTimeline[r.RunID] = true
	}
	t, err := template.New("report").Funcs(template.FuncMap{
		"millis":         Millis,
		"count":          english.Count,
		"agree":          english.Agree,
		"millisOr":       func(ms *int64, missing string) string { return MillisPtr(ms, missing) },
		"date":           Date,
		"datetime":       DateTime,
		"crit":           criticalityText,
		"cadences":       cadenceText,
		"rpoTarget":      rpoTargetText,
		"measuredRTO":    measuredRTO,
		"measuredRPO":    measuredRPO,
		"lastPass":       lastPassText,
		"strategy":       StrategyName,
		"ladderText":     ladderVerdictText,
		"periodText":     periodText,
		"scope":          scopeText,
		"method":         methodNotes,
		"anchor":         anchor,
		"orDash":         orDash,
		"capitalize":     capitalize,
		"rel":            rel,
		"ladderChart":    func(s []System) template.HTML { return template.HTML(ladderChart(s)) },
		"timeline":       func(r Run) template.HTML { return template.HTML(timelineChart(r)) },
		"trend":          func(sc Scenario, metric string) template.HTML { return template.HTML(scenarioTrend(rep, sc, metric)) },
		"spanText":       spanText,
		"laneText":       laneText,
		"thresholds":     thresholdRows,
		"verdictClass":   verdictClass,
		"ladderRows":     ladderRows,
		"splitT0":        splitT0,
		"operator":       operatorText,
		"toolText":       toolText,
		"join":           strings.Join,
		"signOffText":    signOffText,
		"findingStatus":  findingStatusText,
		"days":           daysText,
		"controlResult":  controlResultText,
		"openFindings":   openFindingsText,
		"hasTimeline":    func(id string) bool { return withTimeline[id] },
		"stats":          statsText,
		"listedFindings": func() int { return listedFindings },
		"runListFor":     func(scenario string) string { return scenarioRunList(rep, scenario) },
		"awaiting": func() shownList[string] {
			ids, more := awaitingShown(rep)
			return shownList[string]{ids, more}
		},
		"findingsShown": func() shownList[FindingRow] {
			rows, more := findingsShown(rep)
			return shownList[FindingRow]{rows, more}
		},
		"datetimeSec": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	}).Parse(htmlTemplate)
	if err != nil {
		return fmt.Errorf("parse report template: %w", err)
	}
	if err := t.Execute(w, rep); err != nil {
		return fmt.Errorf("write report html: %w", err)
	}
	return nil
}

// shownList is what a bounded list shows and how many it leaves out.
type shownList[T any] struct {
	Items []T
	More  int
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
	from, to := sc.TrendFrom, sc.TrendUntil
	target, points := result64(sc.RTOTargetMs), sc.RTOTrend
	if metric == "RPO" {
		target, points = sc.RPOTargetMs, sc.RPOTrend
	}
	var pts []trendPoint
	for _, p := range points {
		pts = append(pts, trendPoint{at: p.At, ms: p.Ms, met: p.Met, verdict: string(p.Verdict), runID: p.RunID, runs: p.Runs})
	}
	return trendChart(metric, target, from, to, pts)
}

func result64(v int64) *int64 { return &v }

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
