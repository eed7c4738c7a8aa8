#!/usr/bin/env bash
# Runs compiled test files under valgrind (memcheck), every child process traced, each process's
# report in its own file (so that the tests, which read their children's stderr, are not
# disturbed), then summarizes: errors per process and every error whose stack passes through the
# addon (asyncore.node). V8's conservative stack scan is suppressed (valgrind-node.supp).
#
#   scripts/valgrind.sh [dist/test/addon.test.js ...]     (default: dist/test/addon.test.js)
#
# Slow: 10-50x. Exit code: the test run's, or 99 when an error touches the addon.
set -uo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null 2>&1 || { echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
logs=${VALGRIND_LOGS:-$(mktemp -d /tmp/asyncore-valgrind.XXXXXX)}
if [ $# -eq 0 ]; then set -- dist/test/addon.test.js; fi
# The tests' children get 20 times their usual time bound (test/helpers/child-process.ts).
ASYNCORE_TEST_TIME_FACTOR=${ASYNCORE_TEST_TIME_FACTOR:-20} \
valgrind --trace-children=yes --leak-check=no --error-exitcode=99 --num-callers=30 \
  --suppressions=scripts/valgrind-node.supp --log-file="$logs/vg.%p.log" \
  node --test --test-concurrency=1 --test-timeout=600000 "$@"
rc=$?
processes=$(ls "$logs"/vg.*.log | wc -l)
errors=$(grep -h "ERROR SUMMARY" "$logs"/vg.*.log | awk '{ s += $4 } END { print s + 0 }')
echo "valgrind.sh: $processes processes, $errors errors in all (suppressed V8 stack scans not counted); reports in $logs"
if grep -q "asyncore.node" "$logs"/vg.*.log; then
  echo "valgrind.sh: reports whose stacks pass through asyncore.node:"
  grep -h -B20 -A4 "asyncore.node" "$logs"/vg.*.log | head -80
  rc=99
else
  echo "valgrind.sh: no error passes through asyncore.node"
fi
exit $rc
