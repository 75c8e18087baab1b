#!/usr/bin/env bash
# Fill deploy/wheels with every wheel the image installs (pyproject.toml's dependencies pinned
# by constraints.txt, and setuptools/wheel to build the bot), fetched by this machine's pip:
# for a build that reaches no package index. The Dockerfile installs from deploy/wheels alone
# (pip --no-index) when it holds wheels, from PyPI when it is empty. Skipped while
# pyproject.toml and constraints.txt are unchanged since the last fill. PYTHON: a Python 3.11
# with pip (default python3), on Linux x86-64 like the image.
set -euo pipefail
cd "$(dirname "$0")/.."
python="${PYTHON:-python3}"
wheels=deploy/wheels
inputs="$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ "$(cat "$wheels/.inputs" 2>/dev/null)" = "$inputs" ]; then
  echo "wheelhouse: $wheels is up to date" >&2
  exit 0
fi
requirements="$(mktemp)"
trap 'rm -f "$requirements"' EXIT
"$python" -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
  > "$requirements"
rm -f "$wheels"/*.whl "$wheels/.inputs"
# (pip's notes about find-links folders of this machine that do not exist are left out)
"$python" -m pip wheel --quiet --wheel-dir "$wheels" -c constraints.txt -r "$requirements" \
  "setuptools>=68" wheel 2> >(grep -v "^WARNING: Location '.*' is ignored" >&2)
echo "$inputs" > "$wheels/.inputs"
echo "wheelhouse: $(ls "$wheels"/*.whl | wc -l) wheels in $wheels" >&2
