#!/usr/bin/env bash
# 安装并运行全部检查与测试 (set up and run lint, import contracts and the tests).
# Extra arguments go to pytest, e.g.  bash scripts/test.sh -k filing
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/system_deps.sh"
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh" dev
cd "$ROOT"

echo "== ruff format --check" && ruff format --check counter_app tests tools benchmarks
echo "== ruff check" && ruff check counter_app tests tools benchmarks
echo "== import contracts" && lint-imports
echo "== mypy" && mypy
echo "== pytest"
set +e
# worksteal: idle workers take queued tests from busy ones (the Pilot tests are long and uneven).
python -m pytest -n 3 --dist worksteal -p no:cacheprovider "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "no tests were collected" >&2
fi
exit "$status"
