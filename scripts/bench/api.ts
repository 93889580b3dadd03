/**
 * The Kubernetes API of a `bosun up` cluster (3 masters, no agents), issue 4:
 *
 * 1. ConfigMap create, get and merge-patch throughput and latency, 64 requests in flight over keep-alive
 *    connections with the admin token: through one master (the leader, so no write is
 *    forwarded) and spread round-robin over the three (followers forward writes to the
 *    leader inside Raft; reads are linearizable everywhere, ReadIndex).
 * 2. Watch fan-out: 1,000 watchers (`?watch=true` on the ConfigMaps of one namespace, spread
 *    over the three masters, each from the same resourceVersion), then 1,000 creates, each
 *    carrying its send time in its data. Delivery latency is receipt minus send time, per
 *    watcher and event; every watcher must see all 1,000 ADDED events, in resourceVersion
 *    order, each once.
 *
 *   npm run bench:api -- [--duration 10] [--concurrency 64] [--watchers 1000] [--events 1000]
 *       [--write-concurrency 8] [--keep]
 */
import { execFile } from 'child_process';
import http from 'http';
import { join } from 'path';
import { performance } from 'perf_hooks';
import { parseArgs } from 'util';
import type { ClusterConfig } from '../../pkg/cli/cluster-config';
import {
  BOSUN,
  fmt,
  log,
  machineLine,
  onCleanup,
  readJson,
  request,
  runBenchmark,
  summarize,
  table,
  tempDir,
} from './lib';

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '64' },
    watchers: { type: 'string', default: '1000' },
    events: { type: 'string', default: '1000' },
    'write-concurrency': { type: 'string', default: '8' },
    keep: { type: 'boolean', default: false },
  },
  strict: true,
});
const durationMs = Number(flags.duration) * 1000;
const concurrency = Number(flags.concurrency);
const watcherCount = Number(flags.watchers);
const eventCount = Number(flags.events);
const writeConcurrency = Number(flags['write-concurrency']);

/** Wall-clock milliseconds with sub-millisecond precision, comparable across the event loop. */
const now = () => performance.timeOrigin + performance.now();

function bosun(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [BOSUN, ...args],
      { env: { ...process.env, BOSUN_LOG_LEVEL: 'warn' } },
      (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
    ),
  );
}

interface Api {
  servers: string[];
  token: string;
  agent: http.Agent;
}

function call(
  api: Api,
  server: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
) {
  return request(api.agent, method, `${server}${path}`, {
    headers: {
      authorization: `Bearer ${api.token}`,
      accept: 'application/json',
      ...(body ? { 'content-type': contentType } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
    timeoutMs: 10_000,
  });
}

function configMap(name: string, data: Record<string, string>) {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data };
}

interface Phase {
  name: string;
  ops: number;
  errors: number;
  seconds: number;
  latencies: number[];
}

async function loadPhase(name: string, op: (i: number) => Promise<boolean>): Promise<Phase> {
  const latencies: number[] = [];
  let errors = 0;
  let seq = 0;
  const started = performance.now();
  const end = started + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const ok = await op(seq++).catch(() => false);
        if (ok) latencies.push(performance.now() - t0);
        else errors++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  log(`${name}: ${fmt(latencies.length / seconds, 0)} ops/s, ${errors} errors`);
  return { name, ops: latencies.length, errors, seconds, latencies };
}

async function throughput(api: Api, leader: string): Promise<string> {
  const created: string[] = [];
  const phases: Phase[] = [];
  const spread = (i: number) => api.servers[i % api.servers.length];
  const create = (prefix: string, server: (i: number) => string) => async (i: number) => {
    const name = `${prefix}-${i}`;
    const res = await call(
      api,
      server(i),
      'POST',
      '/api/v1/namespaces/default/configmaps',
      configMap(name, { key: `value-${i}` }),
    );
    if (res.status !== 201) return false;
    created.push(name);
    return true;
  };
  const get = (server: (i: number) => string) => async (i: number) => {
    const name = created[(i * 7919) % created.length];
    const res = await call(api, server(i), 'GET', `/api/v1/namespaces/default/configmaps/${name}`);
    return res.status === 200;
  };
  // A merge patch reads the object, patches it and writes it with a revision precondition.
  // Each patch sets a value of its own, so every one is a real write (none is a no-op).
  const patch = (server: (i: number) => string) => async (i: number) => {
    const name = created[(i * 7919) % created.length];
    const res = await call(
      api,
      server(i),
      'PATCH',
      `/api/v1/namespaces/default/configmaps/${name}`,
      { data: { patched: `${now()}-${i}` } },
      'application/merge-patch+json',
    );
    return res.status === 200;
  };
  // Warm both paths (JIT, connections) before anything is measured.
  await loadPhaseQuiet(create('warm', spread));
  phases.push(
    await loadPhase(
      'create, one master (the leader)',
      create('one', () => leader),
    ),
  );
  phases.push(await loadPhase('create, spread over 3 masters', create('spread', spread)));
  phases.push(
    await loadPhase(
      'get, one master (the leader)',
      get(() => leader),
    ),
  );
  phases.push(await loadPhase('get, spread over 3 masters', get(spread)));
  phases.push(
    await loadPhase(
      'patch, one master (the leader)',
      patch(() => leader),
    ),
  );
  phases.push(await loadPhase('patch, spread over 3 masters', patch(spread)));
  return [
    `ConfigMap create/get/patch: ${concurrency} in flight, keep-alive, admin token, ${durationMs / 1000} s each`,
    table(
      ['operation', 'ops/s', 'p50 ms', 'p99 ms', 'max ms', 'errors'],
      phases.map((p) => {
        const s = summarize(p.latencies);
        return [
          p.name,
          fmt(p.ops / p.seconds, 0),
          fmt(s.p50, 2),
          fmt(s.p99, 2),
          fmt(s.max, 1),
          String(p.errors),
        ];
      }),
    ),
  ].join('\n');
}

async function loadPhaseQuiet(op: (i: number) => Promise<boolean>): Promise<void> {
  const end = performance.now() + 2000;
  let seq = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) await op(seq++).catch(() => false);
    }),
  );
}

interface Watcher {
  server: string;
  received: number;
  lastRevision: number;
  outOfOrder: number;
  duplicates: number;
  seen: Set<string>;
  latencies: number[];
  errors: string[];
  req?: http.ClientRequest;
}

/** Opens a watch; resolves once the server has answered with its headers. */
function openWatch(
  api: Api,
  watcher: Watcher,
  namespace: string,
  resourceVersion: string,
  onEvent: () => void,
) {
  return new Promise<void>((resolve, reject) => {
    const url = `${watcher.server}/api/v1/namespaces/${namespace}/configmaps?watch=true&resourceVersion=${resourceVersion}`;
    // No agent: each watch is its own long-lived connection, as 1,000 separate clients would be.
    const req = http.get(url, { headers: { authorization: `Bearer ${api.token}` }, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`watch: HTTP ${res.statusCode}`));
        res.resume();
        return;
      }
      resolve();
      let buffered = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const receivedAt = now();
        buffered += chunk;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (!line) continue;
          const event = JSON.parse(line) as {
            type: string;
            object: { metadata: { name: string; resourceVersion: string }; data?: { sent?: string } };
          };
          if (event.type === 'BOOKMARK') continue;
          if (event.type !== 'ADDED') {
            watcher.errors.push(`${event.type}: ${line.slice(0, 200)}`);
            continue;
          }
          const revision = Number(event.object.metadata.resourceVersion);
          if (revision <= watcher.lastRevision) watcher.outOfOrder++;
          watcher.lastRevision = revision;
          if (watcher.seen.has(event.object.metadata.name)) watcher.duplicates++;
          watcher.seen.add(event.object.metadata.name);
          watcher.received++;
          watcher.latencies.push(receivedAt - Number(event.object.data?.sent));
          onEvent();
        }
      });
      res.on('error', (error) => watcher.errors.push(error.message));
    });
    req.on('error', (error) => {
      watcher.errors.push(error.message);
      reject(error);
    });
    watcher.req = req;
  });
}

async function fanOut(api: Api, leader: string): Promise<string> {
  const namespace = 'bench-watch';
  const ns = await call(api, leader, 'POST', '/api/v1/namespaces', {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: namespace },
  });
  if (ns.status !== 201) throw new Error(`create namespace: ${ns.status} ${ns.body.toString()}`);
  const list = await call(api, leader, 'GET', `/api/v1/namespaces/${namespace}/configmaps`);
  const resourceVersion = (JSON.parse(list.body.toString()) as { metadata: { resourceVersion: string } })
    .metadata.resourceVersion;
  const watchers: Watcher[] = Array.from({ length: watcherCount }, (_, i) => ({
    server: api.servers[i % api.servers.length],
    received: 0,
    lastRevision: 0,
    outOfOrder: 0,
    duplicates: 0,
    seen: new Set(),
    latencies: [],
    errors: [],
  }));
  onCleanup(() => watchers.forEach((w) => w.req?.destroy()));
  const expected = watcherCount * eventCount;
  let delivered = 0;
  let allDelivered: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allDelivered = resolve));
  const onEvent = () => {
    if (++delivered === expected) allDelivered();
  };
  log(`opening ${watcherCount} watches over ${api.servers.length} masters`);
  const openStarted = performance.now();
  // Opened in batches of 100, so the masters are not hit by 1,000 connects in one tick.
  for (let i = 0; i < watchers.length; i += 100)
    await Promise.all(
      watchers.slice(i, i + 100).map((w) => openWatch(api, w, namespace, resourceVersion, onEvent)),
    );
  const openMs = performance.now() - openStarted;
  log(
    `${watcherCount} watches open in ${fmt(openMs, 0)} ms; writing ${eventCount} ConfigMaps, ${writeConcurrency} in flight`,
  );
  let seq = 0;
  let writeErrors = 0;
  const writesStarted = performance.now();
  await Promise.all(
    Array.from({ length: writeConcurrency }, async () => {
      while (seq < eventCount) {
        const i = seq++;
        const res = await call(
          api,
          leader,
          'POST',
          `/api/v1/namespaces/${namespace}/configmaps`,
          configMap(`ev-${String(i).padStart(5, '0')}`, { sent: String(now()) }),
        );
        if (res.status !== 201) writeErrors++;
      }
    }),
  );
  const writeMs = performance.now() - writesStarted;
  const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 60_000).unref());
  const outcome = await Promise.race([done.then(() => 'done' as const), timeout]);
  const deliveredMs = performance.now() - writesStarted;
  watchers.forEach((w) => w.req?.destroy());
  const complete = watchers.filter((w) => w.received === eventCount && w.seen.size === eventCount).length;
  const outOfOrder = watchers.reduce((a, w) => a + w.outOfOrder, 0);
  const duplicates = watchers.reduce((a, w) => a + w.duplicates, 0);
  const errors = watchers.flatMap((w) => w.errors);
  const s = summarize(watchers.flatMap((w) => w.latencies));
  const perMaster = api.servers.map((server) => {
    const own = summarize(watchers.filter((w) => w.server === server).flatMap((w) => w.latencies));
    return `${server.replace('http://', '')} p50 ${fmt(own.p50, 1)} / p99 ${fmt(own.p99, 1)} ms`;
  });
  const ok =
    outcome === 'done' &&
    complete === watcherCount &&
    outOfOrder === 0 &&
    duplicates === 0 &&
    writeErrors === 0;
  return [
    `watch fan-out: ${watcherCount} watchers over ${api.servers.length} masters, ${eventCount} creates (${writeConcurrency} in flight, to the leader)`,
    table(
      [
        'watchers',
        'events',
        'deliveries',
        'p50 ms',
        'p99 ms',
        'max ms',
        'writes took ms',
        'all delivered after ms',
        'watches opened in ms',
      ],
      [
        [
          String(watcherCount),
          String(eventCount),
          `${delivered}/${expected}`,
          fmt(s.p50, 1),
          fmt(s.p99, 1),
          fmt(s.max, 1),
          fmt(writeMs, 0),
          outcome === 'done' ? fmt(deliveredMs, 0) : 'timeout (60 s)',
          fmt(openMs, 0),
        ],
      ],
    ),
    `per master: ${perMaster.join('; ')}`,
    `every watcher got all ${eventCount} events, in order, once: ${ok ? 'YES' : 'NO'} (complete watchers ${complete}/${watcherCount}, out of order ${outOfOrder}, duplicates ${duplicates}, write errors ${writeErrors}, watch errors ${errors.length}${errors.length ? `: ${errors[0]}` : ''})`,
  ].join('\n');
}

runBenchmark(async () => {
  console.log(`# api\n${machineLine()}`);
  console.log(`command: npm run bench:api -- ${process.argv.slice(2).join(' ')}`.trimEnd());
  const dir = join(tempDir('bosun-bench-api-', flags.keep), 'cluster');
  onCleanup(async () => {
    await bosun(['down', '--dir', dir, '--purge']).catch(() => undefined);
  });
  log('bosun up (3 masters, no agents)');
  await bosun(['up', '--dir', dir, '-q', '--agents', '0']);
  const config = readJson<ClusterConfig>(join(dir, 'config'));
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency * 2 });
  onCleanup(() => agent.destroy());
  const api: Api = { servers: config.masters.map((m) => m.api), token: config.adminToken, agent };
  const status = await call(api, api.servers[0], 'GET', '/bosun/v1/status');
  const leaderName = (JSON.parse(status.body.toString()) as { leader: string }).leader;
  const leader = config.masters.find((m) => m.name === leaderName)!.api;
  const sections = [await throughput(api, leader), await fanOut(api, leader)];
  console.log('\n' + sections.join('\n\n'));
});
