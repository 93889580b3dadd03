// Prints the one line CI reads, "N passed, M failed", from Jest's JSON report and the
// static checks recorded by scripts/test.sh. Exits non-zero when anything failed.
'use strict';
const fs = require('fs');
const path = require('path');

const dir = path.join(__dirname, '..', '.ci-results');
let passed = 0;
let failed = 0;
const failures = [];

for (const file of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
  if (!file.startsWith('check-')) continue;
  const check = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  if (check.passed) passed += 1;
  else {
    failed += 1;
    failures.push(`check ${check.name}`);
  }
}

const report = path.join(dir, 'jest.json');
if (fs.existsSync(report)) {
  const jest = JSON.parse(fs.readFileSync(report, 'utf8'));
  passed += jest.numPassedTests;
  failed += jest.numFailedTests;
  // A suite that fails to load (syntax error, missing module) has no failed tests of its own.
  for (const suite of jest.testResults) {
    if (suite.status === 'failed' && suite.assertionResults.every((a) => a.status !== 'failed')) {
      failed += 1;
      failures.push(
        `suite ${path.relative(process.cwd(), suite.name)}: ${(suite.message || '').split('\n')[0]}`,
      );
    }
    for (const a of suite.assertionResults) if (a.status === 'failed') failures.push(a.fullName);
  }
  // Skipped and todo tests are defects here, so they count as failures.
  const skipped = jest.numPendingTests + jest.numTodoTests;
  if (skipped > 0) {
    failed += skipped;
    failures.push(`${skipped} skipped or todo test(s)`);
  }
} else {
  failed += 1;
  failures.push('jest wrote no report');
}

for (const f of failures.slice(0, 50)) console.log(`FAILED: ${f}`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed === 0 ? 0 : 1;
