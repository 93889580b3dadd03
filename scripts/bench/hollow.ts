/**
 * Control plane at scale with hollow nodes (bosun issue 6): a 3-master cluster, N hollow nodes
 * in one agent process, and P pods created as D Deployments (or as bare pods with --kind pods).
 * Measures scheduling throughput (pods bound per second), the time until every pod is Running,
 * the leader's peak memory, and API latency (p50/p99 of a GET and of a write, probed every
 * 100 ms) during the run.
 *
 *   npm run bench:hollow -- [--nodes 100] [--pods 3000] [--deployments 30] [--kind deployments|pods]
 *                           [--cpu-prof DIR]
 *
 * --cpu-prof writes a V8 CPU profile of every master (and of the hollow agent) into DIR, named
 * by pid; the leader's pid is printed. Summarize one with `npm run bench:profile -- FILE`.
 */
import { spawn, ChildProcess, execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { parseArgs } from 'util';
import { Pod } from '../../pkg/api';
import { Client } from '../../pkg/client';
import { ClusterConfig } from '../../pkg/cli/cluster-config';

const BOSUN = resolve(__dirname, '../../cmd/bosun.js');

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '100' },
    pods: { type: 'string', default: '3000' },
    deployments: { type: 'string', default: '30' },
    kind: { type: 'string', default: 'deployments' },
    'timeout-seconds': { type: 'string', default: '180' },
    'cpu-prof': { type: 'string' },
  },
});
const NODES = Number(values.nodes);
const PODS = Number(values.pods);
const DEPLOYMENTS = Number(values.deployments);
const TIMEOUT_MS = Number(values['timeout-seconds']) * 1000;
const PROFILE_ARGS = values['cpu-prof']
  ? ['--cpu-prof', `--cpu-prof-dir=${resolve(values['cpu-prof'])}`]
  : [];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function rssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

function bosun(dir: string, args: string[]): string {
  return execFileSync(process.execPath, [BOSUN, ...args, '--dir', dir], {
    encoding: 'utf8',
    // Node flags given to the bench (BOSUN_NODE_ARGS) reach the cluster's processes too.
    env: {
      ...process.env,
      BOSUN_NODE_ARGS: [process.env.BOSUN_NODE_ARGS ?? '', ...PROFILE_ARGS].join(' ').trim(),
    },
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** apiserver_request_total by "verb resource" summed over the masters, and the leader's Raft commit index. */
async function requestCounts(
  masters: Array<{ api: string }>,
  token: string,
): Promise<{ requests: Map<string, number>; commitIndex: number }> {
  const requests = new Map<string, number>();
  let commitIndex = 0;
  for (const m of masters) {
    const text = await fetch(`${m.api}/metrics`, { headers: { authorization: `Bearer ${token}` } })
      .then((r) => r.text())
      .catch(() => '');
    for (const line of text.split('\n')) {
      const request = /^apiserver_request_total\{verb="([^"]*)",resource="([^"]*)",code="[^"]*"\} (\d+)/.exec(
        line,
      );
      if (request) {
        const key = `${request[1]} ${request[2]}`;
        requests.set(key, (requests.get(key) ?? 0) + Number(request[3]));
      }
      const commit = /^bosun_raft_commit_index (\d+)/.exec(line);
      if (commit) commitIndex = Math.max(commitIndex, Number(commit[1]));
    }
  }
  return { requests, commitIndex };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bosun-bench-hollow-'));
  let agents: ChildProcess | undefined;
  let masterPids: number[] = [];
  const cleanup = () => {
    agents?.kill(PROFILE_ARGS.length > 0 ? 'SIGTERM' : 'SIGKILL');
    if (PROFILE_ARGS.length > 0) {
      // A profile is written at exit, and writing a large one takes longer than `bosun down`
      // waits before SIGKILL: stop the masters here and wait for them to exit by themselves.
      for (const pid of masterPids) if (alive(pid)) process.kill(pid, 'SIGTERM');
      const pids = [...masterPids, ...(agents?.pid ? [agents.pid] : [])];
      const deadline = Date.now() + 120_000;
      while (pids.some(alive) && Date.now() < deadline) execFileSync('sleep', ['0.2']);
    }
    try {
      bosun(dir, ['down', '--purge']);
    } catch {
      /* already down */
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    bosun(dir, ['up', '--agents', '0', '--quiet']);
    const config = JSON.parse(readFileSync(join(dir, 'config'), 'utf8')) as ClusterConfig;
    masterPids = config.masters.map((m) => m.pid);
    const servers = config.masters.map((m) => m.api);
    const client = new Client({ servers, token: config.adminToken });
    agents = spawn(
      process.execPath,
      [
        ...PROFILE_ARGS,
        BOSUN,
        'agent',
        '--hollow',
        '--hollow-nodes',
        String(NODES),
        '--name',
        'hollow',
        '--server',
        servers.join(','),
        '--token',
        config.adminToken,
        '--data',
        join(dir, 'hollow'),
        '--max-pods',
        '110',
      ],
      { stdio: ['ignore', 'ignore', 'ignore'], env: { ...process.env, BOSUN_LOG_LEVEL: 'error' } },
    );
    const registerStart = Date.now();
    await waitUntil(
      `${NODES} Ready hollow nodes`,
      async () => {
        const nodes = (await client.resource('Node').list()).items;
        return (
          nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
            .length === NODES
        );
      },
      120_000,
    );
    const registerSeconds = (Date.now() - registerStart) / 1000;
    const leaderName = async () => {
      for (const m of config.masters) {
        const status = await fetch(`${m.api}/bosun/v1/status`, {
          headers: { authorization: `Bearer ${config.adminToken}` },
        })
          .then((r) => r.json() as Promise<{ role: string }>)
          .catch(() => undefined);
        if (status?.role === 'leader') return m;
      }
      throw new Error('no leader');
    };
    const leader = await leaderName();

    // Watch pods: first moment each is seen bound, and Running.
    const bound = new Map<string, number>();
    const running = new Map<string, number>();
    let deleted = 0;
    const watchAbort = new AbortController();
    const pods = client.resource('Pod');
    const initial = await pods.list('default');
    const watching = (async () => {
      for await (const event of pods.watch(
        'default',
        { resourceVersion: initial.metadata.resourceVersion },
        watchAbort.signal,
      )) {
        if (event.type === 'BOOKMARK') continue;
        if (event.type === 'DELETED') deleted++;
        const pod = event.object as Pod;
        const name = pod.metadata.name!;
        const now = Date.now();
        if (pod.spec.nodeName && !bound.has(name)) bound.set(name, now);
        if (pod.status?.phase === 'Running' && !running.has(name)) running.set(name, now);
      }
    })().catch(() => undefined);

    // Probe API latency while the load runs.
    const getLatencies: number[] = [];
    const writeLatencies: number[] = [];
    let probing = true;
    let peakRss = 0;
    const probe = (async () => {
      let i = 0;
      const configMaps = client.resource('ConfigMap');
      while (probing) {
        let t = performance.now();
        await configMaps.list('kube-system', { limit: 1 }).catch(() => undefined);
        getLatencies.push(performance.now() - t);
        t = performance.now();
        await configMaps
          .create({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `probe-${i++}`, namespace: 'default' },
            data: { i: String(i) },
          })
          .catch(() => undefined);
        writeLatencies.push(performance.now() - t);
        peakRss = Math.max(peakRss, rssMiB(leader.pid));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const countsBefore = await requestCounts(config.masters, config.adminToken);
    const start = Date.now();
    if (values.kind === 'pods') {
      const creates: Promise<unknown>[] = [];
      for (let i = 0; i < PODS; i++) {
        creates.push(
          pods.create({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: `bench-${i}`, namespace: 'default' },
            spec: { containers: [{ name: 'app', image: 'bosun/hello:local' }] },
          } as Pod),
        );
        if (creates.length >= 64) await Promise.all(creates.splice(0));
      }
      await Promise.all(creates);
    } else {
      const perDeployment = Math.round(PODS / DEPLOYMENTS);
      await Promise.all(
        Array.from({ length: DEPLOYMENTS }, (_, d) =>
          client.resource('Deployment').create({
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata: { name: `bench-${d}`, namespace: 'default' },
            spec: {
              replicas: perDeployment,
              selector: { matchLabels: { app: `bench-${d}` } },
              template: {
                metadata: { labels: { app: `bench-${d}` } },
                spec: { containers: [{ name: 'app', image: 'bosun/hello:local' }] },
              },
            },
          } as never),
        ),
      );
    }
    const createdMs = Date.now() - start;
    const total = values.kind === 'pods' ? PODS : Math.round(PODS / DEPLOYMENTS) * DEPLOYMENTS;
    let timedOut = false;
    await waitUntil('every pod Running', async () => running.size >= total, TIMEOUT_MS).catch(() => {
      timedOut = true;
    });
    probing = false;
    await probe;
    const countsAfter = await requestCounts(config.masters, config.adminToken);
    watchAbort.abort();
    await watching;

    const bindTimes = [...bound.values()].sort((a, b) => a - b);
    const firstBind = bindTimes[0] ?? start;
    const lastBind = bindTimes[bindTimes.length - 1] ?? start;
    const lastRunning = Math.max(...running.values());
    const gets = getLatencies.sort((a, b) => a - b);
    const writes = writeLatencies.sort((a, b) => a - b);
    const date = new Date().toISOString();
    const machine = `${execFileSync('nproc').toString().trim()} cores, ${Math.round(Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) / 1024 / 1024)} GiB`;
    const rows: Array<[string, string]> = [
      ['date', date],
      ['machine', machine],
      ['hollow nodes (Ready after)', `${NODES} (${registerSeconds.toFixed(1)} s)`],
      ['pods', `${total} as ${values.kind === 'pods' ? 'bare pods' : `${DEPLOYMENTS} Deployments`}`],
      ['created in', `${(createdMs / 1000).toFixed(2)} s`],
      ['bound (pods deleted during the run)', `${bound.size} (${deleted})`],
      [
        'scheduling throughput (first to last bind)',
        `${(bound.size / Math.max(0.001, (lastBind - firstBind) / 1000)).toFixed(0)} pods/s`,
      ],
      [
        'scheduling throughput (start to last bind)',
        `${(bound.size / Math.max(0.001, (lastBind - start) / 1000)).toFixed(0)} pods/s`,
      ],
      [
        'all Running after',
        timedOut
          ? `not all: ${running.size}/${total} in ${TIMEOUT_MS / 1000} s`
          : `${((lastRunning - start) / 1000).toFixed(1)} s`,
      ],
      ['leader peak RSS', `${peakRss.toFixed(0)} MiB (${leader.name}, pid ${leader.pid})`],
      [
        'API GET p50 / p99 (during run)',
        `${percentile(gets, 50).toFixed(1)} / ${percentile(gets, 99).toFixed(1)} ms (${gets.length} probes)`,
      ],
      [
        'API create p50 / p99 (during run)',
        `${percentile(writes, 50).toFixed(1)} / ${percentile(writes, 99).toFixed(1)} ms`,
      ],
    ];
    rows.push([
      'Raft entries during the run',
      `${countsAfter.commitIndex - countsBefore.commitIndex} (${((countsAfter.commitIndex - countsBefore.commitIndex) / total).toFixed(1)} per pod)`,
    ]);
    const requestDeltas = [...countsAfter.requests]
      .map(([key, n]) => [key, n - (countsBefore.requests.get(key) ?? 0)] as const)
      .filter(
        ([key, n]) => n >= total / 10 || ((key.startsWith('list ') || key.startsWith('watch ')) && n > 0),
      )
      .sort((a, b) => b[1] - a[1]);
    for (const [key, n] of requestDeltas)
      rows.push([`  API ${key}`, `${n} (${(n / total).toFixed(2)} per pod)`]);
    const width = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
    client.close();
  } finally {
    cleanup();
  }
}

main().catch((error: unknown) => {
  console.error(`bench hollow: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
