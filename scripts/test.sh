#!/usr/bin/env bash
# The README's test command: lint + format check, typecheck, then every test against the real
# dev stack (started once by test/global-setup.ts). Ends with a plain "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
npx biome check . || exit 1
npx tsc --noEmit -p . || exit 1
mkdir -p .state
# The HTML report's browser test needs Debian's chromium; install it outside any test timeout.
bash scripts/ensure-chromium.sh || exit 1
npx vitest run --reporter=default --reporter=json --outputFile.json=.state/vitest-report.json "$@"
status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(".state/vitest-report.json", "utf8"));
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' 2>/dev/null || true
exit $status
