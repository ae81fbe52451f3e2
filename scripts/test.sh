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
# The test run starts a hundred Python processes (servers, clerks, commands): let them share the
# project's compiled bytecode, even where the environment says not to write it.
unset PYTHONDONTWRITEBYTECODE
python -m compileall -q -j 0 counter_app db tests >/dev/null
# mypy runs beside the tests (they leave part of the processors idle); its verdict counts the same.
mypy_log="$(mktemp)"
mypy >"$mypy_log" 2>&1 &
mypy_pid=$!
echo "== pytest"
set +e
# Four workers per core (at most 8): a Pilot test mostly waits (Textual's pilot sleeps until the
# app is idle after every key), as do server processes and SQLite fsyncs; on 2 cores 8 workers
# keep both busy (5.5 min against 7.5 with 4). COUNTER_TEST_WORKERS overrides the number.
# worksteal: idle workers take queued tests from busy ones (the Pilot tests are long and uneven).
cores="$(nproc 2>/dev/null || echo 2)"
workers="${COUNTER_TEST_WORKERS:-$((cores * 4 > 8 ? 8 : cores * 4))}"
python -m pytest -n "$workers" --dist worksteal -p no:cacheprovider "$@"
status=$?
wait "$mypy_pid"
mypy_status=$?
set -e
echo "== mypy" && cat "$mypy_log" && rm -f "$mypy_log"
[ "$status" -eq 0 ] && status=$mypy_status
if [ "$status" -eq 5 ]; then
  echo "no tests were collected" >&2
fi
exit "$status"
