/**
 * What every benchmark shares: flags, percentiles and tables, the machine line, processes
 * and temp dirs that are cleaned up on any exit (Ctrl-C and failures included), a plain
 * keep-alive HTTP request, and three real `bosun master` processes.
 *
 * Benchmarks are not tests: they print figures. They are compiled with the project
 * (the build includes scripts/bench → dist/scripts/bench) and run with `npm run bench:<name>`.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import http from 'http';
import os from 'os';
import { join, resolve } from 'path';
import { freePort } from '../../pkg/util/ports';
export { freePort };

/** The repository root, whether this runs from dist/scripts/bench or from scripts/bench. */
export const repoRoot = (() => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) || dir.endsWith('dist')) dir = resolve(dir, '..');
  return dir;
})();
export const BOSUN = join(repoRoot, 'dist', 'cmd', 'bosun.js');

// ---- cleanup on every way out ----

const cleanups: Array<() => void | Promise<void>> = [];
let cleaning: Promise<void> | undefined;

/** Registers something to undo when the benchmark ends, fails or is interrupted (run last-in, first-out). */
export function onCleanup(fn: () => void | Promise<void>): void {
  cleanups.push(fn);
}

export function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const fn = cleanups.pop()!;
      try {
        await fn();
      } catch (error) {
        process.stderr.write(`cleanup: ${(error as Error).message}\n`);
      }
    }
  })();
  return cleaning;
}

/** Runs a benchmark's main, cleaning up after it whatever happens. */
export function runBenchmark(main: () => Promise<void>): void {
  const interrupted = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: cleaning up\n`);
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  main().then(
    async () => {
      await cleanup();
      process.exit(0);
    },
    async (error: unknown) => {
      process.stderr.write(
        `benchmark failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      await cleanup();
      process.exit(1);
    },
  );
}

/** A temp dir removed at the end (unless --keep is given to the benchmark, for post-mortems). */
export function tempDir(prefix: string, keep = false): string {
  const dir = mkdtempSync(join(os.tmpdir(), prefix));
  onCleanup(() => {
    if (keep) process.stderr.write(`kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

// ---- figures ----

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
}

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
    mean: sorted.length ? sum / sorted.length : NaN,
  };
}

export function fmt(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : '-';
}

/** A Markdown table (pasteable into BENCHMARKS.md as it is). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (c ?? '').padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** The date, the machine and the software, printed at the top of every benchmark. */
export function machineLine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const gib = (os.totalmem() / 2 ** 30).toFixed(0);
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
  } catch {
    // not a git checkout
  }
  return [
    `date: ${new Date().toISOString()}`,
    `machine: ${os.cpus().length} cores (${cpu}), ${gib} GiB, ${os.type()} ${os.release()}`,
    `node ${process.version}, bosun commit ${commit}`,
  ].join('\n');
}

export function log(line: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 23)}] ${line}\n`);
}

// ---- processes ----

export interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
  running(): boolean;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Spawns a process whose output goes to `logFile`; it is killed at cleanup if still running. */
export function spawnLogged(
  command: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = {},
): Proc {
  const out = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const proc: Proc = {
    child,
    exited,
    running,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (running()) child.kill(signal);
      await exited;
    },
  };
  onCleanup(async () => {
    if (!running()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  });
  return proc;
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; 0 when gone). */
export function cpuSeconds(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may contain spaces) start at state; utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

export const delay = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

/** Polls `probe` until it returns a value (not undefined); throws after `timeoutMs`. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(intervalMs);
  }
}

// ---- HTTP ----

export interface HttpResult {
  status: number;
  body: Buffer;
}

/** One HTTP request over `agent` (keep-alive), failing after `timeoutMs`. */
export function request(
  agent: http.Agent,
  method: string,
  url: string,
  options: { headers?: http.OutgoingHttpHeaders; body?: Buffer | string; timeoutMs?: number } = {},
): Promise<HttpResult> {
  return new Promise((resolveRequest, reject) => {
    const req = http.request(url, { method, agent, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        clearTimeout(timer);
        resolveRequest({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) });
      });
      res.on('error', reject);
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`timeout after ${options.timeoutMs} ms`)),
      options.timeoutMs ?? 10_000,
    );
    req.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    req.end(options.body);
  });
}

// ---- three bosun masters ----

export interface MasterStatus {
  name: string;
  role: string;
  term: number;
  leader: string;
  commit: number;
  applied: number;
}

export interface BosunMaster {
  name: string;
  api: string;
  peer: string;
  data: string;
  log: string;
  proc?: Proc;
}

/** Three real `bosun master` processes on loopback (what test/support/masters.ts does for tests). */
export class BosunMasters {
  readonly masters: BosunMaster[] = [];
  readonly token = 'bench-admin-token';
  private readonly statusAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });

  private constructor(
    readonly dir: string,
    private readonly nodeArgs: string[],
  ) {}

  /** `nodeArgs` go to node before bosun.js (e.g. --cpu-prof). */
  static async start(dir: string, size = 3, nodeArgs: string[] = []): Promise<BosunMasters> {
    if (!existsSync(BOSUN)) throw new Error(`${BOSUN} does not exist: run "npm run build" first`);
    const cluster = new BosunMasters(dir, nodeArgs);
    writeFileSync(join(dir, 'secret'), 'bench-cluster-secret\n');
    writeFileSync(
      join(dir, 'tokens.json'),
      JSON.stringify({ admin: cluster.token, readonly: 'ro', nodes: {} }),
    );
    for (let i = 1; i <= size; i++) {
      cluster.masters.push({
        name: `m${i}`,
        api: `127.0.0.1:${await freePort()}`,
        peer: `127.0.0.1:${await freePort()}`,
        data: join(dir, `m${i}`),
        log: join(dir, `m${i}.log`),
      });
    }
    for (const m of cluster.masters) cluster.startMaster(m.name);
    onCleanup(() => cluster.statusAgent.destroy());
    await cluster.waitForLeader();
    return cluster;
  }

  master(name: string): BosunMaster {
    const m = this.masters.find((x) => x.name === name);
    if (!m) throw new Error(`no master ${name}`);
    return m;
  }

  startMaster(name: string): void {
    const m = this.master(name);
    m.proc = spawnLogged(
      process.execPath,
      [
        ...this.nodeArgs,
        BOSUN,
        'master',
        '--name',
        m.name,
        '--data',
        m.data,
        '--peers',
        this.masters.map((x) => `${x.name}=${x.peer}`).join(','),
        '--api',
        m.api,
        '--secret-file',
        join(this.dir, 'secret'),
        '--tokens-file',
        join(this.dir, 'tokens.json'),
      ],
      m.log,
      { BOSUN_LOG_LEVEL: 'warn' },
    );
  }

  async status(name: string, timeoutMs = 1000): Promise<MasterStatus | undefined> {
    try {
      const res = await request(this.statusAgent, 'GET', `http://${this.master(name).api}/bosun/v1/status`, {
        headers: { authorization: `Bearer ${this.token}` },
        timeoutMs,
      });
      return res.status === 200 ? (JSON.parse(res.body.toString()) as MasterStatus) : undefined;
    } catch {
      return undefined;
    }
  }

  running(): BosunMaster[] {
    return this.masters.filter((m) => m.proc?.running());
  }

  /** The leader every running master agrees on (and, with `caughtUp`, whose commit they all reached). */
  async waitForLeader(timeoutMs = 30_000, caughtUp = false): Promise<string> {
    return waitUntil(
      'a leader every running master agrees on',
      async () => {
        const statuses = await Promise.all(this.running().map((m) => this.status(m.name)));
        if (statuses.some((s) => !s)) return undefined;
        const leaders = new Set(statuses.map((s) => s!.leader));
        if (leaders.size !== 1 || !statuses[0]!.leader) return undefined;
        if (caughtUp && new Set(statuses.map((s) => s!.applied)).size !== 1) return undefined;
        return statuses[0]!.leader;
      },
      timeoutMs,
    );
  }

  url(name: string, path: string): string {
    return `http://${this.master(name).api}${path}`;
  }
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
