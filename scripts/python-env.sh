#!/usr/bin/env bash
# Creates the project-local Python virtualenv (.venv, git-ignored) used by the WebDataset interop test
# and the Python examples, from examples/python/requirements.txt. Idempotent and quiet: it does nothing
# when the venv already holds exactly these requirements, and prints one line when it cannot set up.
# Usage: bash scripts/python-env.sh   (PYTHON=python3.12 to choose the interpreter; needs >= 3.11)
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
requirements="$root/examples/python/requirements.txt"
stamp="$venv/.synfarm-requirements.sha256"
python="${PYTHON:-python3}"

fail() {
  echo "python-env: $1" >&2
  exit 1
}

want="$(sha256sum "$requirements" | cut -d' ' -f1)" || fail "cannot read $requirements"
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi

command -v "$python" >/dev/null || fail "no '$python' on PATH; install Python >= 3.11 or set PYTHON=/path/to/python3"
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' ||
  fail "$("$python" --version 2>&1) is too old; webdataset 1.0.2 with numpy 2.4 needs Python >= 3.11 (set PYTHON=...)"

log="$(mktemp -t synfarm-python-env.XXXXXX.log)"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv" >"$log" 2>&1 || fail "could not create $venv (is python3-venv installed?); details in $log"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" >>"$log" 2>&1 ||
  fail "pip could not install $requirements into $venv; details in $log"
echo "$want" >"$stamp"
rm -f "$log"
