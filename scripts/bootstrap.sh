#!/usr/bin/env bash
# Creates (or refreshes) the project's virtual environment; sourced by start.sh and test.sh.
# Usage: source scripts/bootstrap.sh [extras]   e.g. "dev"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${COUNTER_VENV:-$ROOT/.venv}"
EXTRAS="${1:-}"

pick_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "需要 Python 3.11 或更高版本 (Python >= 3.11 is required)" >&2
  return 1
}

if [ ! -x "$VENV/bin/python" ]; then
  PY="$(pick_python)"
  echo "创建虚拟环境 $VENV ..." >&2
  "$PY" -m venv "$VENV"
fi

spec="."
[ -n "$EXTRAS" ] && spec=".[${EXTRAS}]"
stamp="$VENV/.counter-app-installed"
hash="$(sha256sum <"$ROOT/pyproject.toml" | cut -c1-16)"
want="$hash $spec"
have="$(cat "$stamp" 2>/dev/null || true)"
# An environment with the dev extras also serves the plain app.
if [ "$have" != "$want" ] && ! { [ -z "$EXTRAS" ] && [ "$have" = "$hash .[dev]" ]; }; then
  echo "安装依赖 ($spec) ..." >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >&2
  (cd "$ROOT" && "$VENV/bin/python" -m pip install --quiet -e "$spec" >&2)
  echo "$want" >"$stamp"
fi
export PATH="$VENV/bin:$PATH"
