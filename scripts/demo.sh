#!/usr/bin/env bash
# `make demo-web`: start the demo web service, run the web-outage drill against it
# (a real SIGKILL of a real process), write JSON and JUnit to out/, stop the service.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p out
trap 'scripts/demo-web.sh stop' EXIT
scripts/demo-web.sh start
bin/drill run scenarios/library/local/web-outage.yaml --json out/web-outage.json --junit out/web-outage.junit.xml
echo "results: out/web-outage.json out/web-outage.junit.xml" >&2
