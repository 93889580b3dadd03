/**
 * bosun's Raft store against etcd 3.4 (issue 3), side by side in one run on one machine:
 *
 * 1. write throughput and latency: 1 KiB values, 64 writes in flight, a fixed duration,
 *    always to the leader (etcd through its own gRPC client, `etcd3`; bosun through HTTP
 *    keep-alive PUTs on the masters' internal KV API);
 * 2. write unavailability after SIGKILL of the leader: a writer keeps writing, the leader is
 *    killed, and we time the kill → the first acknowledged write sent after it; then the
 *    killed member is restarted and the cluster is left healthy before the next trial;
 * 3. elections while idle: term changes seen over an idle period (the issue: 5 minutes, zero).
 *
 * Both clusters are three members on loopback with their data in a temp dir and fsync on
 * (etcd's default; bosun always fsyncs before acknowledging).
 *
 *   npm run bench:raft-vs-etcd -- [--duration 15] [--concurrency 64] [--value-size 1024] [--rounds 2]
 *       [--trials 10] [--idle 300] [--only throughput,failover,idle] [--no-etcd-http] [--cpu-prof DIR] [--keep]
 */
import { Etcd3 } from 'etcd3';
import { execFileSync } from 'child_process';
import { existsSync, mkdirSync } from 'fs';
import http from 'http';
import { join, resolve } from 'path';
import { performance } from 'perf_hooks';
import { parseArgs } from 'util';
import {
  BosunMasters,
  cpuSeconds,
  delay,
  fmt,
  freePort,
  log,
  machineLine,
  onCleanup,
  Proc,
  request,
  runBenchmark,
  spawnLogged,
  summarize,
  table,
  tempDir,
  waitUntil,
} from './lib';

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '64' },
    'value-size': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '2' },
    trials: { type: 'string', default: '10' },
    idle: { type: 'string', default: '300' },
    only: { type: 'string', default: 'throughput,failover,idle' },
    'cpu-prof': { type: 'string' },
    keep: { type: 'boolean', default: false },
    // Node 20's parseArgs has no --no-X negation, so the negative is the flag.
    'no-etcd-http': { type: 'boolean', default: false },
  },
  strict: true,
});
const durationMs = Number(flags.duration) * 1000;
const warmupMs = Number(flags.warmup) * 1000;
const concurrency = Number(flags.concurrency);
const valueSize = Number(flags['value-size']);
const rounds = Number(flags.rounds);
const trials = Number(flags.trials);
const idleMs = Number(flags.idle) * 1000;
const parts = new Set(flags.only.split(','));
const etcdHttp = !flags['no-etcd-http'];

/** What the failover and idle parts need from either cluster. */
interface Cluster {
  name: string;
  size: number;
  /** The index of the member every running member agrees leads, once the cluster is healthy. */
  waitHealthy(timeoutMs?: number): Promise<number>;
  kill(index: number): Promise<void>;
  restart(index: number): void;
  /** One write to member `index`: true when acknowledged. */
  write(index: number, key: string, value: Buffer, timeoutMs: number): Promise<boolean>;
  /** Raft terms of the running members (undefined where a member does not answer). */
  terms(): Promise<Array<number | undefined>>;
}

// ---- etcd ----

const ETCD = '/usr/bin/etcd';

interface EtcdMember {
  name: string;
  client: string;
  peer: string;
  data: string;
  log: string;
  proc?: Proc;
}

class EtcdCluster implements Cluster {
  readonly name = 'etcd';
  readonly members: EtcdMember[] = [];
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

  get size(): number {
    return this.members.length;
  }

  static async start(dir: string): Promise<EtcdCluster> {
    const cluster = new EtcdCluster();
    onCleanup(() => cluster.agent.destroy());
    for (let i = 1; i <= 3; i++) {
      cluster.members.push({
        name: `e${i}`,
        client: `http://127.0.0.1:${await freePort()}`,
        peer: `http://127.0.0.1:${await freePort()}`,
        data: join(dir, `e${i}`),
        log: join(dir, `e${i}.log`),
      });
    }
    for (let i = 0; i < 3; i++) cluster.restart(i);
    await cluster.waitHealthy();
    return cluster;
  }

  restart(index: number): void {
    const m = this.members[index];
    // etcd's defaults otherwise: 100 ms heartbeat, 1000 ms election timeout, fsync on.
    m.proc = spawnLogged(
      ETCD,
      [
        '--name',
        m.name,
        '--data-dir',
        m.data,
        '--listen-client-urls',
        m.client,
        '--advertise-client-urls',
        m.client,
        '--listen-peer-urls',
        m.peer,
        '--initial-advertise-peer-urls',
        m.peer,
        '--initial-cluster',
        this.members.map((x) => `${x.name}=${x.peer}`).join(','),
        '--initial-cluster-state',
        'new',
        '--initial-cluster-token',
        'bosun-bench',
        '--log-level',
        'warn',
        '--logger',
        'zap',
      ],
      m.log,
    );
  }

  async kill(index: number): Promise<void> {
    await this.members[index].proc?.kill('SIGKILL');
  }

  private async status(index: number): Promise<{ member: string; leader: string; term: number } | undefined> {
    if (!this.members[index].proc?.running()) return undefined;
    try {
      const res = await request(this.agent, 'POST', `${this.members[index].client}/v3/maintenance/status`, {
        body: '{}',
        timeoutMs: 1000,
      });
      if (res.status !== 200) return undefined;
      const s = JSON.parse(res.body.toString()) as {
        header: { member_id: string };
        leader: string;
        raftTerm: string;
      };
      return { member: s.header.member_id, leader: s.leader, term: Number(s.raftTerm) };
    } catch {
      return undefined;
    }
  }

  async waitHealthy(timeoutMs = 30_000): Promise<number> {
    return waitUntil(
      'etcd: every member healthy and agreeing on the leader',
      async () => {
        const running = this.members.map((_, i) => i).filter((i) => this.members[i].proc?.running());
        const statuses = await Promise.all(running.map((i) => this.status(i)));
        if (statuses.some((s) => !s)) return undefined;
        const leaders = new Set(statuses.map((s) => s!.leader));
        if (leaders.size !== 1) return undefined;
        const health = await Promise.all(
          running.map((i) =>
            request(this.agent, 'GET', `${this.members[i].client}/health`, { timeoutMs: 1000 }).then(
              (r) => r.status === 200 && JSON.parse(r.body.toString()).health === 'true',
            ),
          ),
        );
        if (!health.every(Boolean)) return undefined;
        const leader = running[statuses.findIndex((s) => s!.member === s!.leader)];
        return leader;
      },
      timeoutMs,
    );
  }

  /** Through etcd's HTTP gateway (same HTTP/1.1 keep-alive shape as bosun's writes). */
  async write(index: number, key: string, value: Buffer, timeoutMs: number): Promise<boolean> {
    const res = await request(this.agent, 'POST', `${this.members[index].client}/v3/kv/put`, {
      body: JSON.stringify({ key: Buffer.from(key).toString('base64'), value: value.toString('base64') }),
      timeoutMs,
    });
    return res.status === 200;
  }

  async terms(): Promise<Array<number | undefined>> {
    return Promise.all(this.members.map((_, i) => this.status(i).then((s) => s?.term)));
  }
}

// ---- bosun ----

class BosunCluster implements Cluster {
  readonly name = 'bosun';
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 128 });

  constructor(readonly masters: BosunMasters) {
    onCleanup(() => this.agent.destroy());
  }

  get size(): number {
    return this.masters.masters.length;
  }

  async waitHealthy(timeoutMs = 30_000): Promise<number> {
    const leader = await this.masters.waitForLeader(timeoutMs, true);
    return this.masters.masters.findIndex((m) => m.name === leader);
  }

  async kill(index: number): Promise<void> {
    await this.masters.masters[index].proc?.kill('SIGKILL');
  }

  restart(index: number): void {
    this.masters.startMaster(this.masters.masters[index].name);
  }

  put(index: number, key: string, value: Buffer, timeoutMs: number) {
    return request(
      this.agent,
      'PUT',
      this.masters.url(this.masters.masters[index].name, `/bosun/v1/kv${key}`),
      {
        headers: {
          authorization: `Bearer ${this.masters.token}`,
          'content-type': 'application/octet-stream',
        },
        body: value,
        timeoutMs,
      },
    );
  }

  async write(index: number, key: string, value: Buffer, timeoutMs: number): Promise<boolean> {
    return (await this.put(index, key, value, timeoutMs)).status === 200;
  }

  async terms(): Promise<Array<number | undefined>> {
    return Promise.all(this.masters.masters.map((m) => this.masters.status(m.name).then((s) => s?.term)));
  }
}

// ---- 1. throughput ----

interface LoadResult {
  ops: number;
  errors: number;
  seconds: number;
  latencies: number[];
  /** CPU seconds the three servers used, and this process (the load generator). */
  serverCpu: number;
  clientCpu: number;
}

/** `concurrency` loops, each one write at a time, for `ms`. */
async function load(
  write: (key: string) => Promise<void>,
  ms: number,
  prefix: string,
  pids: number[],
): Promise<LoadResult> {
  const latencies: number[] = [];
  let errors = 0;
  let seq = 0;
  const serverBefore = pids.reduce((a, pid) => a + cpuSeconds(pid), 0);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const end = started + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const key = `/bench/${prefix}/k${seq++ % 10_000}`;
        const t0 = performance.now();
        try {
          await write(key);
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const client = process.cpuUsage(clientBefore);
  return {
    ops: latencies.length,
    errors,
    seconds,
    latencies,
    serverCpu: pids.reduce((a, pid) => a + cpuSeconds(pid), 0) - serverBefore,
    clientCpu: (client.user + client.system) / 1e6,
  };
}

interface Side {
  write: (key: string) => Promise<void>;
  pids: () => number[];
  results: LoadResult[];
}

async function throughput(etcd: EtcdCluster, bosun: BosunCluster): Promise<string> {
  const value = Buffer.alloc(valueSize, 'x');
  const etcdLeaderIndex = await etcd.waitHealthy();
  const etcdLeader = etcd.members[etcdLeaderIndex];
  const bosunLeader = bosun.masters.masters[await bosun.waitHealthy()];
  const client = new Etcd3({ hosts: etcdLeader.client });
  onCleanup(() => client.close());
  const etcdPids = () => etcd.members.map((m) => m.proc?.child.pid ?? 0);
  const sides: Record<string, Side> = {
    etcd: {
      write: async (key) => {
        await client.put(key).value(value).exec();
      },
      pids: etcdPids,
      results: [],
    },
    bosun: {
      write: async (key) => {
        const res = await bosun.put(bosun.masters.masters.indexOf(bosunLeader), key, value, 10_000);
        if (res.status !== 200) throw new Error(`PUT ${res.status}`);
      },
      pids: () => bosun.masters.masters.map((m) => m.proc?.child.pid ?? 0),
      results: [],
    },
  };
  if (etcdHttp) {
    // For diagnosis only: etcd reached the way bosun is (HTTP/1.1, one request per connection at a time).
    sides['etcd (HTTP gateway)'] = {
      write: async (key) => {
        if (!(await etcd.write(etcdLeaderIndex, key, value, 10_000)))
          throw new Error('etcd gateway put failed');
      },
      pids: etcdPids,
      results: [],
    };
  }
  const names = Object.keys(sides);
  for (let round = 0; round < rounds; round++) {
    // Rotate who goes first, so no side always runs on the warmer (or noisier) part.
    const order = names.map((_, i) => names[(i + round) % names.length]);
    for (const name of order) {
      const side = sides[name];
      log(`throughput round ${round + 1}/${rounds}: ${name} (leader), warm-up ${warmupMs / 1000} s`);
      await load(side.write, warmupMs, `${name}-warm`, []);
      const result = await load(side.write, durationMs, name.replace(/\W+/g, '-'), side.pids());
      side.results.push(result);
      log(`  ${name}: ${fmt(result.ops / result.seconds, 0)} ops/s, ${result.errors} errors`);
    }
  }
  const rows = Object.entries(sides).map(([name, side]) => {
    const sum = (f: (r: LoadResult) => number) => side.results.reduce((a, r) => a + f(r), 0);
    const ops = sum((r) => r.ops);
    return {
      name,
      rate: ops / sum((r) => r.seconds),
      s: summarize(side.results.flatMap((r) => r.latencies)),
      perRound: side.results.map((r) => fmt(r.ops / r.seconds, 0)).join(' / '),
      errors: sum((r) => r.errors),
      serverCpuMs: (1000 * sum((r) => r.serverCpu)) / ops,
      clientCpuMs: (1000 * sum((r) => r.clientCpu)) / ops,
    };
  });
  const [e, b] = rows;
  return [
    `write throughput: ${valueSize} B values, ${concurrency} in flight, to the leader, ${rounds} x ${durationMs / 1000} s each`,
    table(
      [
        'system',
        'ops/s',
        'per round',
        'p50 ms',
        'p99 ms',
        'max ms',
        'errors',
        'server CPU ms/write',
        'client CPU ms/write',
      ],
      rows.map((r) => [
        r.name,
        fmt(r.rate, 0),
        r.perRound,
        fmt(r.s.p50, 2),
        fmt(r.s.p99, 2),
        fmt(r.s.max, 1),
        String(r.errors),
        fmt(r.serverCpuMs, 3),
        fmt(r.clientCpuMs, 3),
      ]),
    ),
    '(server CPU: the three members together; client CPU: this load generator)',
    `bosun/etcd throughput: ${fmt(b.rate / e.rate, 2)}   bosun/etcd p99: ${fmt(b.s.p99 / e.s.p99, 2)}`,
    `target (bosun >= etcd throughput at no worse p99): ${b.rate >= e.rate && b.s.p99 <= e.s.p99 ? 'MET' : 'MISSED'}`,
  ].join('\n');
}

// ---- 2. failover ----

/**
 * One trial: a writer sends a write every 10 ms to its current member (timeout 500 ms; on
 * failure it moves to the next member); 300 ms in, the leader is SIGKILLed; the figure is the
 * time from the kill to the acknowledgement of the first write sent after it.
 */
async function failoverTrial(cluster: Cluster, trial: number): Promise<number> {
  const leader = await cluster.waitHealthy();
  const value = Buffer.alloc(valueSize, 'f');
  let target = leader;
  let killedAt = Infinity;
  let recoveredAt = Infinity;
  let seq = 0;
  const inflight = new Set<Promise<void>>();
  const started = performance.now();
  while (performance.now() - started < 15_000 && recoveredAt === Infinity) {
    if (killedAt === Infinity && performance.now() - started >= 300) {
      killedAt = performance.now();
      await cluster.kill(leader);
    }
    const member = target;
    const sentAt = performance.now();
    const p = cluster
      .write(member, `/failover/t${trial}/k${seq++}`, value, 500)
      .catch(() => false)
      .then((ok) => {
        if (ok && sentAt >= killedAt) recoveredAt = Math.min(recoveredAt, performance.now());
        if (!ok && target === member) target = (member + 1) % cluster.size;
      });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    await delay(10);
  }
  await Promise.all(inflight);
  cluster.restart(leader);
  await cluster.waitHealthy(60_000);
  return recoveredAt - killedAt;
}

async function failover(etcd: EtcdCluster, bosun: BosunCluster): Promise<string> {
  const results: Record<string, number[]> = { etcd: [], bosun: [] };
  for (let trial = 0; trial < trials; trial++) {
    for (const cluster of trial % 2 === 0 ? [etcd, bosun] : [bosun, etcd]) {
      const ms = await failoverTrial(cluster, trial);
      results[cluster.name].push(ms);
      log(`failover trial ${trial + 1}/${trials}: ${cluster.name} ${fmt(ms, 0)} ms`);
    }
  }
  const e = summarize(results.etcd);
  const b = summarize(results.bosun);
  return [
    `write unavailability after SIGKILL of the leader (kill → first acknowledged write sent after it), ${trials} trials`,
    table(
      ['system', 'p50 ms', 'max ms', 'min ms', 'trials (ms)'],
      [
        [
          'etcd',
          fmt(e.p50, 0),
          fmt(e.max, 0),
          fmt(Math.min(...results.etcd), 0),
          results.etcd.map((x) => fmt(x, 0)).join(' '),
        ],
        [
          'bosun',
          fmt(b.p50, 0),
          fmt(b.max, 0),
          fmt(Math.min(...results.bosun), 0),
          results.bosun.map((x) => fmt(x, 0)).join(' '),
        ],
      ],
    ),
    `target (bosun p50 <= 400 ms, max <= 1000 ms): ${b.p50 <= 400 && b.max <= 1000 ? 'MET' : 'MISSED'}`,
  ].join('\n');
}

// ---- 3. idle elections ----

async function idle(etcd: EtcdCluster, bosun: BosunCluster): Promise<string> {
  await Promise.all([etcd.waitHealthy(), bosun.waitHealthy()]);
  const clusters: Cluster[] = [etcd, bosun];
  const first = await Promise.all(clusters.map((c) => c.terms()));
  const last = first.map((terms) => Math.max(...terms.map((t) => t ?? 0)));
  const changes = [0, 0];
  const unanswered = [0, 0];
  log(`idle: watching terms for ${idleMs / 1000} s`);
  const end = Date.now() + idleMs;
  while (Date.now() < end) {
    await delay(1000);
    const now = await Promise.all(clusters.map((c) => c.terms()));
    now.forEach((terms, i) => {
      if (terms.some((t) => t === undefined)) unanswered[i]++;
      const max = Math.max(...terms.map((t) => t ?? 0));
      if (max > last[i]) changes[i] += max - last[i];
      last[i] = Math.max(last[i], max);
    });
  }
  return [
    `elections while idle: term increases over ${idleMs / 1000} s (polled every second on every member)`,
    table(
      ['system', 'elections', 'start term', 'end term', 'polls with a member not answering'],
      clusters.map((c, i) => [
        c.name,
        String(changes[i]),
        String(Math.max(...first[i].map((t) => t ?? 0))),
        String(last[i]),
        String(unanswered[i]),
      ]),
    ),
    `target (bosun: zero elections over ${idleMs / 1000} s${idleMs < 300_000 ? '; the issue asks for 300 s' : ''}): ${changes[1] === 0 ? 'MET' : 'MISSED'}`,
  ].join('\n');
}

runBenchmark(async () => {
  if (!existsSync(ETCD)) {
    throw new Error(
      `${ETCD} is missing: install Debian's etcd 3.4 with "sudo apt-get install -y etcd-server"`,
    );
  }
  const etcdVersion = execFileSync(ETCD, ['--version'], { encoding: 'utf8' }).split('\n')[0];
  console.log(`# raft-vs-etcd\n${machineLine()}\n${etcdVersion}`);
  console.log(`command: npm run bench:raft-vs-etcd -- ${process.argv.slice(2).join(' ')}`.trimEnd());
  const dir = tempDir('bosun-bench-raft-', flags.keep);
  const nodeArgs: string[] = [];
  if (flags['cpu-prof']) {
    const profDir = resolve(flags['cpu-prof']);
    mkdirSync(profDir, { recursive: true });
    nodeArgs.push('--cpu-prof', '--cpu-prof-dir', profDir);
    console.log(`CPU profiles of the masters go to ${profDir} (written when they stop)`);
  }
  log('starting 3 etcd members and 3 bosun masters');
  const [etcd, masters] = await Promise.all([EtcdCluster.start(dir), BosunMasters.start(dir, 3, nodeArgs)]);
  const bosun = new BosunCluster(masters);
  const sections: string[] = [];
  if (parts.has('throughput')) sections.push(await throughput(etcd, bosun));
  if (parts.has('failover')) sections.push(await failover(etcd, bosun));
  if (parts.has('idle')) sections.push(await idle(etcd, bosun));
  console.log('\n' + sections.join('\n\n'));
});
