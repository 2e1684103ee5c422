#!/usr/bin/env bash
# Installs the moto server (an AWS API emulator) into the project venv, .venv at the repo root.
# The AWS integration tests and `drill lab up --aws` start .venv/bin/moto_server from there.
# It also installs jsonschema, the validator the schema test (cmd/drill) runs over every shipped
# scenario. Idempotent: does nothing when the pinned versions are already installed.
set -euo pipefail

MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
JSONSCHEMA_VERSION="${JSONSCHEMA_VERSION:-4.26.0}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"

if [[ -x "$venv/bin/moto_server" ]] &&
	[[ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"), m.version("jsonschema"))' 2>/dev/null)" == "$MOTO_VERSION $JSONSCHEMA_VERSION" ]]; then
	echo "moto $MOTO_VERSION and jsonschema $JSONSCHEMA_VERSION already installed in $venv"
	exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
	"$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" "jsonschema==$JSONSCHEMA_VERSION"
"$venv/bin/moto_server" --help >/dev/null
echo "moto $MOTO_VERSION and jsonschema $JSONSCHEMA_VERSION installed in $venv"
