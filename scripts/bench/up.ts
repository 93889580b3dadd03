/**
 * `bosun up` time to ready (issue 4): the wall time of the `bosun up` process, which exits
 * once a leader is elected, the API answers and (with agents) every node is Ready. Two
 * shapes, alternating run by run: 3 masters and no agents, and 3 masters with 2 agents.
 * Each run is a fresh cluster in a temp `--dir`, removed with `bosun down --purge` after it.
 *
 *   npm run bench:up -- [--runs 10] [--agents 2]
 */
import { execFile } from 'child_process';
import { existsSync } from 'fs';
import { join } from 'path';
import { performance } from 'perf_hooks';
import { parseArgs } from 'util';
import { BOSUN, fmt, log, machineLine, onCleanup, runBenchmark, summarize, table, tempDir } from './lib';

const { values: flags } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    agents: { type: 'string', default: '2' },
    keep: { type: 'boolean', default: false },
  },
  strict: true,
});
const runs = Number(flags.runs);

function bosun(args: string[]): Promise<{ ms: number; stdout: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BOSUN, ...args],
      { env: { ...process.env, BOSUN_LOG_LEVEL: 'warn' }, timeout: 120_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`bosun ${args.join(' ')}: ${error.message}\n${stderr}`));
        else resolve({ ms: performance.now() - started, stdout });
      },
    );
  });
}

runBenchmark(async () => {
  if (!existsSync(BOSUN)) throw new Error(`${BOSUN} does not exist: run "npm run build" first`);
  console.log(`# up\n${machineLine()}`);
  console.log(`command: npm run bench:up -- ${process.argv.slice(2).join(' ')}`.trimEnd());
  const root = tempDir('bosun-bench-up-', flags.keep);
  const shapes = [
    {
      name: '3 masters, 0 agents',
      args: ['--masters', '3', '--agents', '0'],
      up: [] as number[],
      down: [] as number[],
    },
    {
      name: `3 masters, ${flags.agents} agents`,
      args: ['--masters', '3', '--agents', flags.agents],
      up: [] as number[],
      down: [] as number[],
    },
  ];
  for (let run = 0; run < runs; run++) {
    for (const shape of shapes) {
      const dir = join(root, `run${run}-${shape.up.length}-${shape.args[3]}`);
      // Whatever happens, this cluster's processes and containers go (down is idempotent).
      let down = false;
      onCleanup(async () => {
        if (!down) await bosun(['down', '--dir', dir, '--purge']).catch(() => undefined);
      });
      const up = await bosun(['up', '--dir', dir, '-q', ...shape.args]);
      shape.up.push(up.ms);
      const stopped = await bosun(['down', '--dir', dir, '--purge']);
      down = true;
      shape.down.push(stopped.ms);
      log(`run ${run + 1}/${runs} ${shape.name}: up ${fmt(up.ms, 0)} ms, down ${fmt(stopped.ms, 0)} ms`);
    }
  }
  const rows = shapes.map((shape) => {
    const up = summarize(shape.up);
    const down = summarize(shape.down);
    return [
      shape.name,
      String(up.count),
      fmt(up.p50, 0),
      fmt(up.max, 0),
      fmt(Math.min(...shape.up), 0),
      fmt(down.p50, 0),
      fmt(down.max, 0),
    ];
  });
  console.log(
    '\n' +
      [
        `bosun up: process start → exit (leader elected, API answering, nodes Ready), ${runs} runs each`,
        table(['cluster', 'runs', 'up p50 ms', 'up max ms', 'up min ms', 'down p50 ms', 'down max ms'], rows),
      ].join('\n'),
  );
});
