/**
 * No file-descriptor leak in the service proxy after 100,000 connections (bosun issue 7).
 *
 * A real `bosun proxy` process serves a Service's ClusterIP over 3 `bosun/hello:local`
 * containers, plus one endpoint that refuses (so the retry path runs too). This process opens
 * 100,000 short connections through the ClusterIP, a bounded number at a time and within a
 * bounded time, most of them a whole HTTP exchange and some that end badly: one in ten reset
 * by the client right after connecting, one in ten closed by the client after sending its
 * request without reading the answer. Then it waits, with a deadline, for the proxy's open
 * file descriptors (`/proc/<pid>/fd`) to come back to what they were before the run, and for
 * its `bosun_proxy_connections_active` to be 0. It fails (exit 1) when either does not, or
 * when the time bound cut the run short.
 *
 * Needs root (the ClusterIP is added to the bridge) and a Docker daemon.
 * Run: `npm run bench:proxy-fds [-- --connections 100000 --concurrency 64 --max-seconds 600 --settle-seconds 30]`
 */
import './quiet';
import Docker from 'dockerode';
import { readdirSync, readFileSync, readlinkSync } from 'fs';
import http from 'http';
import net from 'net';
import { join } from 'path';
import { parseArgs } from 'util';
import { startLocalApiServer } from '../../pkg/apiserver/local';
import { Client } from '../../pkg/client';
import {
  BOSUN,
  cpuSeconds,
  fmt,
  freePort,
  log,
  machineLine,
  onCleanup,
  runBenchmark,
  spawnLogged,
  table,
  tempDir,
  waitUntil,
} from './lib';
import { helloContainers, helloService } from './proxy-bed';

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '64' },
    'max-seconds': { type: 'string', default: '600' },
    'settle-seconds': { type: 'string', default: '30' },
    keep: { type: 'boolean', default: false },
  },
});
const CONNECTIONS = Number(values.connections);
const CONCURRENCY = Number(values.concurrency);
const MAX_MS = Number(values['max-seconds']) * 1000;
const SETTLE_MS = Number(values['settle-seconds']) * 1000;

const runId = `fds${Date.now().toString(36)}`;
const LABELS = { 'bosun.bench': runId };
const network = `bosun-bench-${runId}`;

type Kind = 'exchange' | 'client reset' | 'client gone before the answer';

/** What connection number `i` does: mostly a whole exchange, some ending badly. */
function kindOf(i: number): Kind {
  return i % 10 === 7 ? 'client reset' : i % 10 === 8 ? 'client gone before the answer' : 'exchange';
}

/** The proxy's open file descriptors, by what they are (socket, pipe, anon_inode, file). */
function openFds(pid: number): { total: number; sockets: number } {
  let sockets = 0;
  const fds = readdirSync(`/proc/${pid}/fd`);
  for (const fd of fds) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:')) sockets++;
    } catch {
      // closed while listing
    }
  }
  return { total: fds.length, sockets };
}

function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** One metric of the hello Service from the proxy's /metrics, on a connection of its own (closed after). */
function metric(port: number, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(
        { host: '127.0.0.1', port, path: '/metrics', agent: false, headers: { connection: 'close' } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => {
            const match = new RegExp(`^${name}\\{[^}]*service="hello"[^}]*\\} (\\d+)`, 'm').exec(body);
            if (match) resolve(Number(match[1]));
            else reject(new Error(`${name} not in /metrics`));
          });
        },
      )
      .on('error', reject);
  });
}

/** One connection through the ClusterIP; resolves with an error message, or undefined if it went as meant. */
function connection(host: string, kind: Kind): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: 80 });
    let answer = '';
    let settled = false;
    const done = (error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(error);
    };
    const timer = setTimeout(() => done('timed out'), 10_000);
    socket.setEncoding('latin1');
    socket.on('error', (error) => done(kind === 'exchange' ? error.message : undefined));
    socket.on('connect', () => {
      if (kind === 'client reset') {
        socket.resetAndDestroy();
        done();
        return;
      }
      socket.write('GET / HTTP/1.1\r\nHost: hello\r\nConnection: close\r\n\r\n');
      if (kind === 'client gone before the answer') done();
    });
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('end', () =>
      done(answer.startsWith('HTTP/1.1 200') ? undefined : `answer: ${answer.slice(0, 40)}`),
    );
  });
}

/** `count` connections, `concurrency` at a time, until done or `deadline`; errors counted by message. */
async function run(
  host: string,
  count: number,
  concurrency: number,
  deadline: number,
  onProgress?: (done: number) => void,
): Promise<{ done: number; errors: Map<string, number>; byKind: Map<Kind, number> }> {
  let next = 0;
  let done = 0;
  const errors = new Map<string, number>();
  const byKind = new Map<Kind, number>();
  const worker = async () => {
    while (next < count && Date.now() < deadline) {
      const kind = kindOf(next++);
      const error = await connection(host, kind);
      byKind.set(kind, (byKind.get(kind) ?? 0) + 1);
      if (error) errors.set(error, (errors.get(error) ?? 0) + 1);
      if (++done % 10_000 === 0) onProgress?.(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { done, errors, byKind };
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root: the proxy adds the ClusterIP to the bridge');
  const work = tempDir('bosun-bench-fds-', values.keep);
  const docker = new Docker();
  onCleanup(async () => {
    const filters = JSON.stringify({ label: [`bosun.bench=${runId}`] });
    for (const c of await docker.listContainers({ all: true, filters }))
      await docker.getContainer(c.Id).remove({ force: true });
    for (const n of await docker.listNetworks({ filters })) await docker.getNetwork(n.Id).remove();
  });
  const ips = await helloContainers(docker, network, LABELS);

  const token = `proxy-${runId}`;
  const api = await startLocalApiServer([{ token, identity: { user: 'system:bosun-proxy', role: 'proxy' } }]);
  onCleanup(() => api.close());
  const client = new Client({ servers: [api.url], token: api.adminToken });
  onCleanup(() => client.close());
  // One more endpoint where nothing listens: connections that try it are refused and move on.
  const service = await helloService(client, ips, [
    { addresses: [{ ip: ips[0] }], ports: [{ name: 'http', port: 8081 }] },
  ]);
  const metricsPort = await freePort();
  const proxy = spawnLogged(
    process.execPath,
    [
      BOSUN,
      'proxy',
      '--server',
      api.url,
      '--token',
      token,
      '--network',
      network,
      '--metrics-port',
      String(metricsPort),
      '--dns-port',
      '0',
      '--docker-label',
      `bosun.bench=${runId}`,
    ],
    join(work, 'proxy.log'),
    { BOSUN_LOG_LEVEL: 'warn' },
  );
  const pid = proxy.child.pid!;
  const clusterIP = service.spec!.clusterIP!;
  await waitUntil('the ClusterIP answering', async () =>
    (await connection(clusterIP, 'exchange')) ? undefined : true,
  );

  /**
   * The proxy's fds once it has no active connection and no more than `limit` fds, counted
   * before the /metrics request that checks it (which holds one more socket for a moment).
   */
  const idleFds = (limit = Infinity) =>
    waitUntil(
      `the proxy idle with at most ${limit} fds`,
      async () => {
        const now = openFds(pid);
        if (now.total > limit) return undefined;
        return (await metric(metricsPort, 'bosun_proxy_connections_active')) === 0 ? now : undefined;
      },
      SETTLE_MS,
      100,
    );
  // Warm up (lazily created sockets and threads belong in the baseline), then take it once the
  // count holds still: a client that reset its connection is done before the proxy's connect
  // to an endpoint for it is, and that socket is not yet among the active ones.
  await run(clusterIP, 1000, CONCURRENCY, Date.now() + 60_000);
  let last = -1;
  let same = 0;
  const baseline = await waitUntil(
    'a steady fd count',
    async () => {
      const now = await idleFds();
      same = now.total === last ? same + 1 : 0;
      last = now.total;
      return same >= 5 ? now : undefined;
    },
    SETTLE_MS,
    100,
  );
  const rssBefore = rssMiB(pid);
  const cpuBefore = cpuSeconds(pid);
  log(`baseline: ${baseline.total} fds (${baseline.sockets} sockets), RSS ${fmt(rssBefore)} MiB`);

  let peak = baseline.total;
  const sampler = setInterval(() => (peak = Math.max(peak, openFds(pid).total)), 250);
  const started = Date.now();
  const result = await run(clusterIP, CONNECTIONS, CONCURRENCY, started + MAX_MS, (done) =>
    log(`${done} connections`),
  );
  const seconds = (Date.now() - started) / 1000;
  clearInterval(sampler);
  const cpu = cpuSeconds(pid) - cpuBefore;
  const endedAt = Date.now();
  const settled = await idleFds(baseline.total).catch(() => undefined);
  const settleMs = Date.now() - endedAt;
  const final = settled ?? openFds(pid);
  const active = await metric(metricsPort, 'bosun_proxy_connections_active');
  const opened = await metric(metricsPort, 'bosun_proxy_connections_opened_total');
  const failed = await metric(metricsPort, 'bosun_proxy_connections_failed_total');
  const connectErrors = await metric(metricsPort, 'bosun_proxy_endpoint_connect_errors_total');
  const rssAfter = rssMiB(pid);

  const kinds = [...result.byKind].map(([k, n]) => `${n} ${k}`).join(', ');
  const errors = [...result.errors].map(([e, n]) => `${n} × ${e}`).join('; ') || 'none';
  process.stdout.write(
    [
      machineLine(),
      `command: npm run bench:proxy-fds -- --connections ${CONNECTIONS} --concurrency ${CONCURRENCY}`,
      '',
      `${result.done} connections through the ClusterIP in ${fmt(seconds)} s (${fmt(result.done / seconds, 0)}/s, ${CONCURRENCY} at a time): ${kinds}.`,
      `Client-side errors of whole exchanges: ${errors}.`,
      '',
      table(
        ['proxy process', 'before', 'peak during', 'after'],
        [
          ['open fds', String(baseline.total), String(peak), String(final.total)],
          ['of which sockets', String(baseline.sockets), '-', String(final.sockets)],
          ['RSS MiB', fmt(rssBefore), '-', fmt(rssAfter)],
        ],
      ),
      '',
      `Back to the baseline ${settled ? `${settleMs} ms after the last connection` : `NOT within ${SETTLE_MS} ms`}; bosun_proxy_connections_active ${active}.`,
      `Proxy counters (warm-up included): opened ${opened}, failed ${failed}, endpoint connect errors ${connectErrors}; proxy CPU ${fmt(cpu)} s (${fmt((cpu * 1e6) / result.done)} ms per 1,000 connections).`,
      '',
    ].join('\n'),
  );
  if (!settled || active !== 0 || result.done < CONNECTIONS)
    throw new Error(
      `the proxy did not come back to its baseline (fds ${final.total} > ${baseline.total}, active ${active}) or the run was cut short (${result.done} of ${CONNECTIONS})`,
    );
}

runBenchmark(main);
