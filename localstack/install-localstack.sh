#!/usr/bin/env bash
# Installs LocalStack's community runtime (PyPI's localstack-core, not the `localstack` Docker
# CLI) into .venv-localstack at the repo root, with its dependencies pinned by
# localstack/localstack-constraints.txt: unpinned, pip takes cbor2 and pyOpenSSL releases that
# this runtime breaks on. `drill lab up --aws --emulator localstack` and the AWS tests under
# DRILL_TEST_EMULATOR=localstack start .venv-localstack/bin/python -m localstack.runtime.main.
#
# It needs Python >= 3.12: on 3.11 the runtime starts and fails with a misleading "No component
# plugins found". PYTHON names the interpreter; otherwise python3.13 / python3.12 on PATH, then
# pyenv's versions directories.
#
# DynamoDB is not installed: LocalStack serves it through AWS's DynamoDB Local, whose licence
# this project does not take on. The runtime then leaves DynamoDB out (see localstack/README.md).
#
# Idempotent: does nothing when the pinned version is already installed.
set -euo pipefail

LOCALSTACK_VERSION="${LOCALSTACK_VERSION:-2026.3.0}"
UV_VERSION=0.13.9
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-localstack"
constraints="$root/localstack/localstack-constraints.txt"

if [[ -x "$venv/bin/python" ]] &&
	[[ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("localstack-core"))' 2>/dev/null)" == "$LOCALSTACK_VERSION" ]]; then
	echo "localstack-core $LOCALSTACK_VERSION already installed in $venv"
	exit 0
fi

# ok PY: PY runs and is Python >= 3.12.
ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; }

python="${PYTHON:-}"
if [[ -n "$python" ]] && ! ok "$python"; then
	echo "PYTHON=$python is not a Python >= 3.12 interpreter (LocalStack's runtime needs one)" >&2
	exit 1
fi
if [[ -z "$python" ]]; then
	for c in python3.13 python3.12 python3; do
		if p="$(command -v "$c")" && ok "$p"; then
			python="$p"
			break
		fi
	done
fi
if [[ -z "$python" ]]; then
	# pyenv's shims may be off PATH (CI's shell); its versions directories hold the binaries.
	for d in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13* "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*; do
		if [[ -x "$d/bin/python3" ]] && ok "$d/bin/python3"; then
			python="$d/bin/python3"
			break
		fi
	done
fi
if [[ -z "$python" ]]; then
	echo "no Python >= 3.12 found (tried PYTHON, python3.13, python3.12, python3 on PATH and pyenv's versions):" >&2
	echo "install python3.12 or newer (e.g. 'pyenv install 3.12') or set PYTHON" >&2
	exit 1
fi

rm -rf "$venv"
"$python" -m venv "$venv"
# uv (itself a PyPI package) fetches and installs the runtime's ~110 dependencies in parallel:
# pip took 7 minutes on a busy 2-core machine, uv under one.
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
# UV_NATIVE_TLS: trust the system's certificate store as pip does, not only uv's bundled roots
# (a machine behind a TLS-inspecting proxy has its CA there).
if ! UV_NATIVE_TLS=1 "$venv/bin/uv" pip install --quiet --python "$venv/bin/python" \
	-c "$constraints" "localstack-core[runtime]==$LOCALSTACK_VERSION"; then
	echo "uv could not install it; trying pip (slower)" >&2
	"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
		-c "$constraints" "localstack-core[runtime]==$LOCALSTACK_VERSION"
fi
"$venv/bin/python" -c 'import localstack.runtime.main' >/dev/null
echo "localstack-core $LOCALSTACK_VERSION installed in $venv (python: $python)"
