/**
 * Runs simulator seeds from the command line (`npm run sim -- ...`):
 *   --seeds N --start S --nodes 3|5   run N seeds from S; print failures and a summary
 *   --seed S --nodes 3|5 --trace      replay one seed, printing its trace (--messages: every message)
 */
import { parseArgs } from 'util';
import { runSeed } from './cluster';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string' },
    start: { type: 'string' },
    seed: { type: 'string' },
    nodes: { type: 'string' },
    trace: { type: 'boolean' },
    messages: { type: 'boolean' },
  },
});
const nodes = Number(values.nodes ?? 3);

if (values.seed !== undefined) {
  const seed = Number(values.seed);
  const result = runSeed(seed, {
    nodes,
    trace: values.trace ? (line) => process.stdout.write(`${line}\n`) : undefined,
    traceMessages: values.messages ?? false,
  });
  process.stdout.write(
    `seed ${seed}: ${result.ok ? 'ok' : `FAILED: ${result.violation}`}\n${JSON.stringify(result.stats)}\n`,
  );
  process.exitCode = result.ok ? 0 : 1;
} else {
  const count = Number(values.seeds ?? 1000);
  const start = Number(values.start ?? 1);
  const started = Date.now();
  let failed = 0;
  for (let seed = start; seed < start + count; seed++) {
    const result = runSeed(seed, { nodes });
    if (!result.ok) {
      failed++;
      process.stdout.write(
        `seed ${seed}: ${result.violation}\n  replay: npm run -s sim -- --seed ${seed} --nodes ${nodes} --trace\n`,
      );
    }
  }
  process.stdout.write(
    `${count - failed} of ${count} seeds passed (${nodes} nodes) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  process.exitCode = failed === 0 ? 0 : 1;
}
