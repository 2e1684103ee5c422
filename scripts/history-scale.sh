#!/usr/bin/env bash
# history-scale.sh: how `drill report`, `drill due` and `drill history` scale with the number
# of stored runs. For each size it writes a synthetic history (copies of a real result over 50
# systems, about one run in ten failing; history/synth_test.go), imports it with
# `drill history import` using the binary under test, then runs each verb once under
# /usr/bin/time -v and prints wall time, peak RSS and output size as a Markdown table.
#
#   scripts/history-scale.sh [DRILL_BINARY] [SIZES...]
#   scripts/history-scale.sh bin/drill 1000 10000 50000 100000
#
# The report covers every run (--since 2000-01-01), the worst case; `history` prints the table
# of every run. Results go to stdout, progress to stderr. Work files live in a temporary
# directory that is removed at the end (SCALE_KEEP=1 keeps it).
set -euo pipefail

drill=${1:-bin/drill}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 50000 100000)
drill=$(cd "$(dirname "$drill")" && pwd)/$(basename "$drill")
[ -x "$drill" ] || { echo "history-scale: $drill is not an executable" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "history-scale: needs /usr/bin/time (GNU time) for peak RSS" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)

work=$(mktemp -d "${TMPDIR:-/tmp}/drill-history-scale.XXXXXX")
[ -n "${SCALE_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
export AWS_EC2_METADATA_DISABLED=true

# measure NAME OUTFILE CMD...: one line of the table.
measure() {
	local name=$1 out=$2 n=$3
	shift 3
	local tv="$work/time.txt"
	if ! /usr/bin/time -v -o "$tv" "$@" >"$out" 2>"$work/stderr.txt"; then
		# due exits non-zero when drills are due: that is an answer, not a failure.
		grep -q "Exit status: [01]$" "$tv" || { echo "history-scale: $name failed:" >&2; cat "$work/stderr.txt" >&2; exit 1; }
	fi
	local wall rss bytes
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }' "$tv")
	rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$tv")
	bytes=$(stat -c %s "$out")
	printf '| %s | %s | %s | %s | %s |\n' "$n" "$name" "$wall" "$rss" "$(awk -v b="$bytes" 'BEGIN { printf (b >= 1048576 ? "%.1f MB" : "%.0f KB"), (b >= 1048576 ? b / 1048576 : b / 1024) }')"
}

echo "history-scale: $drill ($("$drill" version 2>/dev/null | head -1)); $(uptime)" >&2
echo "| runs | verb | wall s | peak RSS MB | output |"
echo "|---|---|---|---|---|"
for n in "${sizes[@]}"; do
	dir="$work/$n"
	mkdir -p "$dir/json"
	echo "history-scale: $n runs: writing synthetic results" >&2
	(cd "$root" && DRILL_SYNTH_OUT="$dir/json" DRILL_SYNTH_RUNS="$n" go test -count=1 -run '^TestWriteSyntheticHistory$' ./history/ >/dev/null)
	echo "history-scale: $n runs: importing" >&2
	"$drill" history import --history "$dir/history.db" "$dir"/json/*.json >/dev/null
	rm -rf "$dir/json"
	measure "report (html)" "$dir/report.html" "$n" "$drill" report --history "$dir/history.db" --since 2000-01-01 --format html
	measure "due" "$dir/due.txt" "$n" "$drill" due --history "$dir/history.db"
	measure "history" "$dir/history.txt" "$n" "$drill" history --history "$dir/history.db"
	[ -n "${SCALE_KEEP:-}" ] || rm -rf "$dir"
done
echo "history-scale: done; $(uptime)" >&2
