#!/usr/bin/env bash
# ruff lint + format check for jupyterlab-extension/ (config in its pyproject.toml), run by
# `npm run lint`; `--format` rewrites instead (`npm run format`). ruff comes from the repo's .venv (the one .ci/run and `npm start` use): created
# or topped up here when it lacks the pinned version (once, ~5 s), reused after that.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^required-version = "==\(.*\)"$/\1/p' jupyterlab-extension/pyproject.toml)
ruff=.venv/bin/ruff
if [ "$("$ruff" --version 2>/dev/null)" != "ruff $version" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check "ruff==$version"
fi
if [ "${1:-}" = --format ]; then
  exec "$ruff" format jupyterlab-extension
fi
"$ruff" check jupyterlab-extension
"$ruff" format --check jupyterlab-extension
