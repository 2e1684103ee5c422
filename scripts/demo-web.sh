#!/usr/bin/env bash
# Start, stop or kill the demo web service used by scenarios/library/local/web-outage.yaml.
# State lives in $DRILL_DEMO_DIR (default .lab/demo): pid file and log.
set -euo pipefail
dir="${DRILL_DEMO_DIR:-.lab/demo}"
bin="${DRILL_DEMO_WEB:-bin/demo-web}"
addr="${DRILL_DEMO_ADDR:-127.0.0.1:18080}"
mkdir -p "$dir"
pidfile="$dir/web.pid"

running() { [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
start)
  if running; then exit 0; fi
  nohup "$bin" -addr "$addr" -pid-file "$pidfile" >>"$dir/web.log" 2>&1 &
  # Wait until it serves, so a "start" that returns means the service is up.
  for _ in $(seq 1 200); do
    if curl -fsS -o /dev/null "http://$addr/health" 2>/dev/null; then exit 0; fi
    sleep 0.01
  done
  echo "demo-web did not come up on $addr; see $dir/web.log" >&2
  exit 1
  ;;
kill)
  running && kill -KILL "$(cat "$pidfile")"
  rm -f "$pidfile"
  ;;
stop)
  if running; then kill -TERM "$(cat "$pidfile")"; fi
  rm -f "$pidfile"
  ;;
*)
  echo "usage: $0 start|kill|stop" >&2
  exit 2
  ;;
esac
