package compliance

import (
	"fmt"
	"github.com/drillhq/drill/internal/english"
	"github.com/drillhq/drill/result"
	"html"
	"math"
	"strings"
	"time"
)

// The charts are hand-written SVG so the HTML report needs no script, font or network. Every
// chart carries role="img", a <title> and an aria-label, and every mark a <title> so a browser
// shows exact values on hover; the numbers themselves are always also in a table next to it.

// Palette shared with the stylesheet.
const (
	colInk     = "#1f2328"
	colMuted   = "#59636e"
	colGrid    = "#d1d9e0"
	colPass    = "#1a7f37"
	colFail    = "#cf222e"
	colWarn    = "#9a6700"
	colTarget  = "#bc4c00"
	colFault   = "#6639ba"
	colStep    = "#0969da"
	colUp      = "#8ed4a0"
	colDown    = "#cf222e"
	colNeutral = "#8c959f"
)

type svg struct{ b strings.Builder }

func (s *svg) f(format string, args ...any) { fmt.Fprintf(&s.b, format, args...) }

func esc(v string) string { return html.EscapeString(v) }

func (s *svg) open(w, h int, label string) {
	s.f(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-label="%s" class="chart" font-family="inherit" font-size="11">`, w, h, w, h, esc(label))
	s.f(`<title>%s</title>`, esc(label))
}

func (s *svg) close() string { s.f(`</svg>`); return s.b.String() }

func (s *svg) text(x, y float64, anchor, fill, cls, content string) {
	s.f(`<text x="%.1f" y="%.1f" text-anchor="%s" fill="%s"%s>%s</text>`, x, y, anchor, fill, classAttr(cls), esc(content))
}

func classAttr(c string) string {
	if c == "" {
		return ""
	}
	return ` class="` + c + `"`
}

// niceStep picks a 1-2-5 step giving about n intervals over span.
func niceStep(span float64, n int) float64 {
	if span <= 0 {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*mag {
			return m * mag
		}
	}
	return 10 * mag
}

// niceDurationStep is niceStep for milliseconds, preferring steps people count in.
func niceDurationStep(spanMs float64, n int) float64 {
	steps := []float64{1, 2, 5, 10, 20, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 15000, 30000,
		60000, 120000, 300000, 600000, 900000, 1800000, 3600000, 7200000, 14400000, 21600000, 43200000, 86400000}
	raw := spanMs / float64(n)
	for _, s := range steps {
		if raw <= s {
			return s
		}
	}
	return niceStep(spanMs, n)
}

// trendPoint is one run on a trend chart.
type trendPoint struct {
	at      time.Time
	ms      *int64
	met     bool
	verdict string
	runID   string
	runs    int // > 1: the worst of this many runs
}

// trendChart plots a measurement (RTO or RPO) per run across the period with its target.
func trendChart(metric string, targetMs *int64, from, to time.Time, pts []trendPoint) string {
	const W, H = 470, 190
	const left, right, top, bottom = 62.0, 18.0, 24.0, 34.0
	pw, ph := W-left-right, H-top-bottom
	var s svg
	label := fmt.Sprintf("%s per drill run, %s to %s", metric, Date(from), Date(to.Add(-time.Nanosecond)))
	for _, p := range pts {
		if p.runs > 1 {
			label = fmt.Sprintf("%s, worst run of each of up to %d equal slices of %s to %s", metric, maxTrendPoints, Date(from), Date(to.Add(-time.Nanosecond)))
			break
		}
	}
	if targetMs != nil {
		label += ", target " + Millis(*targetMs)
	}
	s.open(W, H, label)

	maxMs := 0.0
	if targetMs != nil {
		maxMs = float64(*targetMs)
	}
	for _, p := range pts {
		if p.ms != nil {
			maxMs = math.Max(maxMs, float64(*p.ms))
		}
	}
	if maxMs <= 0 {
		maxMs = 1000
	}
	step := niceDurationStep(maxMs*1.15, 4)
	yMax := math.Ceil(maxMs*1.15/step) * step
	y := func(ms float64) float64 { return top + ph - ms/yMax*ph }
	span := to.Sub(from).Seconds()
	x := func(t time.Time) float64 { return left + t.Sub(from).Seconds()/span*pw }

	// Over-target zone, then grid and y labels.
	if targetMs != nil {
		s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s" fill-opacity="0.07"/>`, left, top, pw, y(float64(*targetMs))-top, colFail)
	}
	for v := 0.0; v <= yMax+step/2; v += step {
		s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1"/>`, left, left+pw, y(v), y(v), colGrid)
		s.text(left-6, y(v)+4, "end", colMuted, "", Millis(int64(v)))
	}
	for _, t := range timeTicks(from, to) {
		anchor := "middle"
		switch {
		case x(t.at) > left+pw-20:
			anchor = "end"
		case x(t.at) < left+20:
			anchor = "start"
		}
		s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"/>`, x(t.at), x(t.at), top+ph, top+ph+4, colMuted)
		s.text(x(t.at), top+ph+16, anchor, colMuted, "", t.label)
	}
	s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"/>`, left, left+pw, top+ph, top+ph, colMuted)
	s.text(left, 14, "start", colInk, "chart-title", metric)

	if targetMs != nil {
		ty := y(float64(*targetMs))
		s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="6 4"/>`, left, left+pw, ty, ty, colTarget)
		s.text(left+pw, ty-5, "end", colTarget, "", "target "+Millis(*targetMs))
	} else {
		s.text(left+pw, 14, "end", colMuted, "", "no target set")
	}

	// Connect measured points in time order so a trend is visible.
	var path []string
	for _, p := range pts {
		if p.ms != nil {
			path = append(path, fmt.Sprintf("%.1f,%.1f", x(p.at), y(float64(*p.ms))))
		}
	}
	if len(path) > 1 {
		s.f(`<polyline points="%s" fill="none" stroke="%s" stroke-width="1.5"/>`, strings.Join(path, " "), colNeutral)
	}
	for _, p := range pts {
		px := x(p.at)
		tip := fmt.Sprintf("%s — %s: %s (%s)", DateTime(p.at), metric, MillisPtr(p.ms, "not measured"), p.verdict)
		if p.runs > 1 {
			tip = fmt.Sprintf("worst of %d runs: %s", p.runs, tip)
		}
		switch {
		case p.ms != nil:
			col := colPass
			if !p.met {
				col = colFail
			}
			s.f(`<circle cx="%.1f" cy="%.1f" r="5" fill="%s" stroke="#fff" stroke-width="1.5"><title>%s</title></circle>`, px, y(float64(*p.ms)), col, esc(tip))
		case metric == "RTO" && p.verdict == "fail":
			// Never recovered: an unbounded RTO sits above the chart.
			s.f(`<path d="M%.1f %.1f l6 -10 h-12 z" fill="%s"><title>%s</title></path>`, px, top+2, colFail, esc(DateTime(p.at)+" — not recovered within the time limit"))
			anchor, dx := "start", 9.0
			if px > left+pw-90 {
				anchor, dx = "end", -9
			}
			s.text(px+dx, top+1, anchor, colFail, "", "not recovered")
		default:
			s.f(`<g stroke="%s" stroke-width="2"><title>%s</title><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f"/></g>`,
				colNeutral, esc(tip), px-4, top+ph-4, px+4, top+ph+4, px-4, top+ph+4, px+4, top+ph-4)
		}
	}
	if len(pts) == 0 {
		s.text(left+pw/2, top+ph/2, "middle", colMuted, "", "no runs in this period")
	}
	return s.close()
}

type tick struct {
	at    time.Time
	label string
}

// timeTicks labels month starts for long periods, weeks for a month or so, days otherwise.
func timeTicks(from, to time.Time) []tick {
	var out []tick
	span := to.Sub(from)
	switch {
	case span > 75*24*time.Hour:
		t := time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
		if t.Before(from) {
			t = t.AddDate(0, 1, 0)
		}
		every, layout := 1, "Jan 2006"
		switch years := span.Hours() / 24 / 365; {
		case years > 4: // whole years, at most about eight ticks
			every, layout = 12*int(math.Ceil(years/8)), "2006"
			if t.Month() != time.January {
				t = time.Date(t.Year()+1, 1, 1, 0, 0, 0, 0, time.UTC)
			}
		case years > 2:
			every = 6
		case span > 400*24*time.Hour:
			every = 3
		}
		for ; !t.After(to); t = t.AddDate(0, every, 0) {
			out = append(out, tick{t, t.Format(layout)})
		}
	case span > 10*24*time.Hour:
		for t := from; !t.After(to); t = t.AddDate(0, 0, 7) {
			out = append(out, tick{t, t.Format("Jan 2")})
		}
	default:
		for t := from; !t.After(to); t = t.AddDate(0, 0, 1) {
			out = append(out, tick{t, t.Format("Jan 2")})
		}
	}
	return out
}

// timelineChart draws one run around t0: faults, recovery and rollback steps, and each probe's
// down intervals, with t0, the RTO target and the measured recovery as vertical lines.
func timelineChart(r Run) string {
	tl := r.Timeline
	const W = 940
	const left, right, top, laneH, gap = 210.0, 20.0, 40.0, 26.0, 6.0
	pw := W - left - right

	type lane struct {
		label, sub string
		draw       func(b *strings.Builder, y float64)
	}
	var lanes []lane

	// The window runs from just before the first fault, step or outage to the end of the run.
	// Prepare steps happen before t0 and do not bear on recovery: they are left out.
	lo, end := int64(0), max(tl.EndMs, 1)
	consider := func(v *int64) {
		if v != nil && *v < lo {
			lo = *v
		}
	}
	for _, f := range tl.Faults {
		consider(f.FromMs)
	}
	for _, st := range tl.Steps {
		if st.Phase != "prepare" {
			consider(st.FromMs)
		}
	}
	for _, p := range tl.Probes {
		for _, d := range p.Down {
			consider(&d.FromMs)
		}
	}
	hi := end
	// Show the RTO target when it is in the same range as the run; a target far beyond the end
	// would squash the run into a sliver, so it is then named at the right edge instead.
	targetOn := r.RTOTargetMs <= 3*end
	if targetOn && r.RTOTargetMs > hi {
		hi = r.RTOTargetMs
	}
	pad := float64(hi-lo) * 0.03
	x0, x1 := float64(lo)-pad, float64(hi)+pad
	x := func(ms float64) float64 {
		return math.Max(left, math.Min(left+pw, left+(ms-x0)/(x1-x0)*pw))
	}
	bar := func(b *strings.Builder, from, to, y float64, col, tip string) {
		fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="14" rx="2" fill="%s"><title>%s</title></rect>`,
			x(from), y+6, math.Max(3, x(to)-x(from)), col, esc(tip))
	}

	for _, f := range tl.Faults {
		f := f
		lanes = append(lanes, lane{f.Name, "fault · " + f.Type, func(b *strings.Builder, y float64) {
			if f.FromMs == nil {
				fmt.Fprintf(b, `<text x="%.1f" y="%.1f" fill="%s">not injected</text>`, left+6, y+17, colMuted)
				return
			}
			to := float64(end)
			tip := fmt.Sprintf("fault %s injected at %s", f.Name, rel(*f.FromMs))
			if f.ToMs != nil {
				to = float64(*f.ToMs)
				tip += ", reverted at " + rel(*f.ToMs)
			} else {
				tip += "; nothing to revert or no revert recorded"
			}
			if f.Error != "" {
				tip += " — " + f.Error
			}
			bar(b, float64(*f.FromMs), to, y, colFault, tip)
		}})
	}
	for _, st := range tl.Steps {
		if st.Phase == "prepare" {
			continue
		}
		st := st
		lanes = append(lanes, lane{st.Name, st.Phase + " step · " + st.Type, func(b *strings.Builder, y float64) {
			if st.FromMs == nil {
				fmt.Fprintf(b, `<text x="%.1f" y="%.1f" fill="%s">not run</text>`, left+6, y+17, colMuted)
				return
			}
			col := colStep
			if st.Phase != "recovery" {
				col = colNeutral
			}
			tip := fmt.Sprintf("%s step %s: %s to %s", st.Phase, st.Name, rel(*st.FromMs), rel(*st.ToMs))
			if st.Error != "" {
				col = colFail
				tip += " — failed: " + st.Error
			}
			bar(b, float64(*st.FromMs), float64(*st.ToMs), y, col, tip)
		}})
	}
	for _, p := range tl.Probes {
		p := p
		role := p.Role // defaulted when the lane was built
		sub := "probe · " + role
		switch {
		case role == result.RoleData && p.Lost != nil:
			if *p.Lost == 0 {
				sub += " · no write lost"
			} else {
				sub += " · " + english.Count(*p.Lost, "write", "writes") + " lost"
			}
		case p.NoDisruption:
			sub += " · no disruption seen"
		case p.RecoveredMs == nil:
			sub += " · never recovered"
		case p.DowntimeMs != nil:
			sub += " · down " + Millis(*p.DowntimeMs)
		}
		lanes = append(lanes, lane{p.Name, sub, func(b *strings.Builder, y float64) {
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="6" fill="%s"><title>probe %s healthy</title></rect>`,
				x(x0), y+10, x(float64(end))-x(x0), colUp, esc(p.Name))
			for _, d := range p.Down {
				tip := fmt.Sprintf("probe %s failing from %s to %s (%s)", p.Name, rel(d.FromMs), rel(d.ToMs), Millis(d.ToMs-d.FromMs))
				bar(b, float64(d.FromMs), float64(d.ToMs), y, colDown, tip)
			}
		}})
	}

	axisY := top + float64(len(lanes))*(laneH+gap)
	H := int(axisY + 40)
	var s svg
	s.open(W, H, fmt.Sprintf("Timeline of run %s (%s): faults, steps and probe outages relative to t0", r.RunID, r.Scenario))

	step := niceDurationStep(x1-x0, 8)
	for v := math.Ceil(x0/step) * step; v <= x1; v += step {
		s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"/>`, x(v), x(v), top-4, axisY, colGrid)
		s.text(x(v), axisY+14, "middle", colMuted, "", rel(int64(v)))
	}
	for i, ln := range lanes {
		y := top + float64(i)*(laneH+gap)
		if i%2 == 0 {
			s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f6f8fa"/>`, 0.0, y, left+pw, laneH)
		}
		s.text(left-10, y+12, "end", colInk, "lane-label", clip(ln.label, 30))
		s.text(left-10, y+23, "end", colMuted, "lane-sub", clip(ln.sub, 40))
		ln.draw(&s.b, y)
	}

	// Vertical marks, each labelled on its own row above the lanes so labels never collide.
	label := func(ms float64, row float64, col, text string) {
		px := x(ms)
		anchor, dx := "start", 4.0
		if px > left+pw-150 {
			anchor, dx = "end", -4
		}
		s.text(px+dx, top-8-row*13, anchor, col, "mark", text)
	}
	s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`, x(0), x(0), top-4, axisY, colInk)
	if targetOn {
		s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5" stroke-dasharray="5 3"/>`, x(float64(r.RTOTargetMs)), x(float64(r.RTOTargetMs)), top-30, axisY, colTarget)
		label(float64(r.RTOTargetMs), 1, colTarget, "RTO target "+Millis(r.RTOTargetMs))
	} else {
		s.text(left+pw, top-8-13, "end", colTarget, "mark", "RTO target "+Millis(r.RTOTargetMs)+" (beyond this window) →")
	}
	if r.RTOMeasuredMs != nil {
		col := colPass
		if !r.RTOMet {
			col = colFail
		}
		m := float64(*r.RTOMeasuredMs)
		s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="2"/>`, x(m), x(m), top-16, axisY, col)
		label(m, 0, col, "recovered "+rel(*r.RTOMeasuredMs))
	}
	s.text(left, float64(H)-4, "start", colMuted, "", "time relative to t0, the start of the first fault's injection")
	return s.close()
}

// clip shortens a label to n runes with an ellipsis; the full text stays in the tables.
func clip(v string, n int) string {
	r := []rune(v)
	if len(r) <= n {
		return v
	}
	return string(r[:n-1]) + "…"
}

// rel formats an offset from t0 with its sign.
func rel(ms int64) string {
	switch {
	case ms == 0:
		return "t0"
	case ms > 0:
		return "+" + Millis(ms)
	}
	return "−" + Millis(-ms)
}

// ladderChart places each system's RTO target (diamond) and worst measured RTO (circle) on a
// log time axis banded by DR strategy.
func ladderChart(systems []System) string {
	rows := ladderRows(systems)
	const W = 940
	const left, right, top, rowH = 200.0, 24.0, 46.0, 32.0
	pw := W - left - right
	H := int(top + float64(len(rows))*rowH + 24)
	lo, hi := math.Log10(1000), math.Log10(48*3600*1000) // 1 s .. 48 h
	x := func(ms int64) float64 {
		v := math.Log10(math.Max(1000, float64(ms)))
		return left + (math.Min(v, hi)-lo)/(hi-lo)*pw
	}
	var s svg
	s.open(W, H, "DR strategy ladder: each system's RTO target and worst measured RTO against the AWS strategy bands")
	rungs := Ladder()
	bandCols := []string{"#dafbe1", "#ddf4ff", "#fff8c5", "#ffebe9"}
	prev := int64(0)
	for i, r := range rungs {
		from := prev
		to := r.MaxRTOMs
		if to == 0 {
			to = 48 * 3600 * 1000
		}
		bx := x(max(from, 1000))
		s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`, bx, top-30, x(to)-bx, float64(len(rows))*rowH+30, bandCols[i])
		bound := "RTO ≤ " + Millis(r.MaxRTOMs)
		if r.MaxRTOMs == 0 {
			bound = "RTO > " + Millis(rungs[i-1].MaxRTOMs)
		}
		s.text((bx+x(to))/2, top-18, "middle", colInk, "band-name", r.Name)
		s.text((bx+x(to))/2, top-6, "middle", colMuted, "", bound)
		prev = to
	}
	for _, v := range []int64{1000, 10000, 60000, 600000, 3600000, 4 * 3600000, 24 * 3600000} {
		axisY := top + float64(len(rows))*rowH
		s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s"/>`, x(v), x(v), axisY, axisY+4, colMuted)
		s.text(x(v), axisY+16, "middle", colMuted, "", Millis(v))
	}
	for i, row := range rows {
		y := top + float64(i)*rowH + rowH/2
		s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-opacity="0.6"/>`, left, left+pw, y+rowH/2, y+rowH/2, "#ffffff")
		s.text(left-10, y-1, "end", colInk, "lane-label", row.Scenario)
		s.text(left-10, y+11, "end", colMuted, "lane-sub", row.System)
		c := row.Check
		// Outline the band of the recommended strategy on this row.
		if ri, r := rungOf(c.Recommended); ri >= 0 {
			from := int64(1000)
			if ri > 0 {
				from = rungs[ri-1].MaxRTOMs
			}
			to := r.MaxRTOMs
			if to == 0 {
				to = 48 * 3600 * 1000
			}
			s.f(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="4" fill="none" stroke="%s" stroke-width="1.5" stroke-dasharray="4 2"><title>%s: its RTO target implies %s</title></rect>`,
				x(from)+1, y-11, x(to)-x(from)-2, 22.0, colInk, esc(row.Scenario), esc(r.Name))
		}
		tx := x(c.RTOTargetMs)
		if c.WorstMeasuredRTOMs != nil {
			mx := x(*c.WorstMeasuredRTOMs)
			s.f(`<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5"/>`, math.Min(tx, mx), math.Max(tx, mx), y, y, colNeutral)
		}
		s.f(`<path d="M%.1f %.1f l6 6 l-6 6 l-6 -6 z" fill="%s"><title>%s RTO target %s implies %s (not what was shown)</title></path>`,
			tx, y-6, colTarget, esc(row.Scenario), esc(Millis(c.RTOTargetMs)), esc(StrategyName(c.Recommended)))
		switch {
		case c.WorstMeasuredRTOMs != nil:
			col := colPass
			switch c.Verdict {
			case "over-target":
				col = colWarn
			case "slower":
				col = colFail
			}
			s.f(`<circle cx="%.1f" cy="%.1f" r="6" fill="%s" stroke="#fff" stroke-width="1.5"><title>%s worst measured RTO %s in the period</title></circle>`,
				x(*c.WorstMeasuredRTOMs), y, col, esc(row.Scenario), esc(Millis(*c.WorstMeasuredRTOMs)))
		}
		note, col := "", colMuted
		switch {
		case c.Unrecovered > 0:
			note, col = "a drill never recovered", colFail
		case c.WorstMeasuredRTOMs == nil:
			note = "no measurement in period"
		}
		if note != "" {
			// At the far end from the target marker, clear of the recommended-band outline.
			if tx < left+pw/2 {
				s.text(left+pw-8, y+4, "end", col, "", note)
			} else {
				s.text(left+8, y+4, "start", col, "", note)
			}
		}
	}
	return s.close()
}
