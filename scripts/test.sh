#!/usr/bin/env bash
# The whole test run, as CI runs it: static checks, then every Jest suite (unit and
# integration, the latter against a real Docker daemon). Results go to .ci-results/ and
# the last line printed is "N passed, M failed" (each static check counts as one test).
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .ci-results
rm -f .ci-results/*.json

bash scripts/docker-engine.sh || echo '{"name":"docker-engine","passed":false}' >.ci-results/check-docker-engine.json
bash scripts/build-images.sh || echo '{"name":"build-images","passed":false}' >.ci-results/check-build-images.json

for check in build typecheck lint format:check; do
  started=$(date +%s)
  if npm run -s "$check"; then passed=true; else passed=false; fi
  echo "{\"name\":\"$check\",\"passed\":$passed,\"seconds\":$(( $(date +%s) - started ))}" >".ci-results/check-${check/:/-}.json"
done

npx jest --ci --json --outputFile=.ci-results/jest.json "$@"
node scripts/test-summary.js
