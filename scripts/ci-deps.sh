#!/usr/bin/env bash
# Installs what the full test suite needs beyond Go modules, on a fresh machine:
#   - Debian's chromium, for the HTML compliance report check and the PDF report
#   - poppler-utils (pdftotext), for the PDF report test, which reads the PDF's text back
#   - mariadb-server and postgresql, for the SQL probe tests (internal/dbtest) and the PostgreSQL lab
#     (pglab: initdb, pg_basebackup, postgres)
#   - LocalStack's community runtime in .venv-localstack (`make localstack`), for `make test-localstack`
# Tests that need one of these fail under CI=true without it. Idempotent; run as root (CI is).
# `make deps` calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

# LocalStack's install is mostly downloads: run it beside apt-get's.
bash localstack/install-localstack.sh &
localstack_install=$!

if ! command -v chromium >/dev/null 2>&1 || ! command -v pdftotext >/dev/null 2>&1 ||
  ! [[ -x /usr/sbin/mariadbd ]] || ! compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium, poppler-utils, mariadb-server, postgresql (Debian packages) for the report and SQL tests" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils mariadb-server postgresql >/dev/null
  else
    echo "chromium, poppler-utils, mariadb-server or postgresql missing and not root: the tests needing them will skip" >&2
  fi
fi

if ! wait "$localstack_install"; then
  echo "installing LocalStack's community runtime failed (see above)" >&2
  exit 1
fi
