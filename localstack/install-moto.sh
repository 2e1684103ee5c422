#!/usr/bin/env bash
# Installs the moto server (an AWS API emulator) into the project venv, .venv at the repo root.
# The AWS integration tests and `drill lab up --aws` start .venv/bin/moto_server from there.
# Idempotent: does nothing when the pinned version is already installed.
set -euo pipefail

MOTO_VERSION="${MOTO_VERSION:-5.2.5}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"

if [[ -x "$venv/bin/moto_server" ]] &&
	[[ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null)" == "$MOTO_VERSION" ]]; then
	echo "moto $MOTO_VERSION already installed in $venv"
	exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
	"$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
"$venv/bin/moto_server" --help >/dev/null
echo "moto $MOTO_VERSION installed in $venv"
