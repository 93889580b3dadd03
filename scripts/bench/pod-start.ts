/**
 * Pod start latency of the agent (issue 5), side by side with plain Docker through the same
 * daemon, with the same image (bosun/hello:local, built by scripts/build-images.sh):
 *
 * - bosun: a real `bosun agent` process against an in-memory apiserver in this process; Pods
 *   are created already bound (`spec.nodeName`), and the time is create → Ready=True, seen
 *   on a watch;
 * - docker (pod-like): what the agent does at the least, by the API `docker run` uses — a
 *   pause container on the bench network, then the app container joining its network
 *   namespace (create + start each); the time is until the app container's start returns;
 * - docker run: the app container alone (create + start), the floor.
 *
 * For 1 pod (several trials) and for 30 pods at once (all created in the same tick). The
 * shapes alternate trial by trial. Every container carries the label bosun.bench=<run>.
 *
 *   npm run bench:pod-start -- [--trials 10] [--batch 30] [--batch-trials 3] [--keep]
 */
import './quiet';
import Docker from 'dockerode';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { performance } from 'perf_hooks';
import { parseArgs } from 'util';
import { Pod } from '../../pkg/api';
import { startLocalApiServer } from '../../pkg/apiserver/local';
import { Client } from '../../pkg/client';
import {
  BOSUN,
  fmt,
  log,
  machineLine,
  onCleanup,
  runBenchmark,
  spawnLogged,
  summarize,
  table,
  waitUntil,
} from './lib';

const { values: flags } = parseArgs({
  options: {
    trials: { type: 'string', default: '10' },
    batch: { type: 'string', default: '30' },
    'batch-trials': { type: 'string', default: '3' },
    keep: { type: 'boolean', default: false },
  },
  strict: true,
});
const trials = Number(flags.trials);
const batch = Number(flags.batch);
const batchTrials = Number(flags['batch-trials']);

const IMAGE = 'bosun/hello:local';
const PAUSE = 'bosun/pause:local';
const run = `b${Date.now().toString(36)}`;
const BENCH_LABEL = 'bosun.bench';
const docker = new Docker();

/** Removes every container and network of this run (by label), whatever state they are in. */
async function removeDockerResources(): Promise<void> {
  const filters = { label: [`${BENCH_LABEL}=${run}`] };
  const containers = await docker.listContainers({ all: true, filters });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
  const networks = await docker.listNetworks({ filters });
  await Promise.all(
    networks.map((n) =>
      docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => undefined),
    ),
  );
}

// ---- plain Docker ----

let dockerSeq = 0;

async function dockerRun(network: string): Promise<void> {
  const container = await docker.createContainer({
    name: `bench-${run}-run-${dockerSeq++}`,
    Image: IMAGE,
    Labels: { [BENCH_LABEL]: run },
    HostConfig: { NetworkMode: network },
  });
  await container.start();
}

async function dockerPod(network: string): Promise<void> {
  const n = dockerSeq++;
  const pause = await docker.createContainer({
    name: `bench-${run}-pause-${n}`,
    Image: PAUSE,
    Labels: { [BENCH_LABEL]: run },
    HostConfig: { NetworkMode: network },
  });
  await pause.start();
  const app = await docker.createContainer({
    name: `bench-${run}-app-${n}`,
    Image: IMAGE,
    Labels: { [BENCH_LABEL]: run },
    HostConfig: { NetworkMode: `container:${pause.id}` },
  });
  await app.start();
}

/** Starts `count` at once; returns each one's time from the common start. */
async function timed(count: number, start: () => Promise<void>): Promise<number[]> {
  const t0 = performance.now();
  return Promise.all(Array.from({ length: count }, () => start().then(() => performance.now() - t0)));
}

// ---- bosun ----

let podSeq = 0;

function pod(node: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `bench-${podSeq++}`, namespace: 'default' },
    spec: { nodeName: node, containers: [{ name: 'hello', image: IMAGE }] },
  } as Pod;
}

function isReady(p: Pod): boolean {
  return p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Creates `count` bound pods at once; returns each one's create → Ready time (from the common start). */
async function bosunPods(client: Client, node: string, count: number): Promise<number[]> {
  const pods = client.resource('Pod');
  const list = await pods.list('default');
  const abort = new AbortController();
  const readyAt = new Map<string, number>();
  const names = new Set<string>();
  let resolveAll: () => void = () => undefined;
  const allReady = new Promise<void>((resolve) => (resolveAll = resolve));
  const watching = (async () => {
    for await (const event of pods.watch(
      'default',
      { resourceVersion: list.metadata.resourceVersion },
      abort.signal,
    )) {
      const p = event.object as Pod;
      if (event.type === 'BOOKMARK' || !isReady(p) || readyAt.has(p.metadata.name!)) continue;
      readyAt.set(p.metadata.name!, performance.now());
      if ([...names].every((n) => readyAt.has(n)) && names.size === count) resolveAll();
    }
  })().catch(() => undefined);
  const t0 = performance.now();
  const batchPods = Array.from({ length: count }, () => pod(node));
  for (const p of batchPods) names.add(p.metadata.name!);
  await Promise.all(batchPods.map((p) => pods.create(p)));
  const timeout = setTimeout(() => resolveAll(), 120_000);
  await allReady;
  clearTimeout(timeout);
  abort.abort();
  await watching;
  const times = batchPods.map((p) => (readyAt.get(p.metadata.name!) ?? NaN) - t0);
  if (times.some((t) => Number.isNaN(t))) throw new Error('some pods were not Ready within 120 s');
  // Delete them and wait until the agent has removed their containers, so trials do not overlap.
  await Promise.all(
    batchPods.map((p) => pods.delete('default', p.metadata.name!, { gracePeriodSeconds: 0 })),
  );
  await waitUntil(
    'the pods deleted and their containers gone',
    async () => {
      const left = await pods.list('default');
      const containers = await docker.listContainers({
        all: true,
        filters: { label: [`${BENCH_LABEL}=${run}`] },
      });
      return left.items.length === 0 && containers.length === 0 ? true : undefined;
    },
    120_000,
    100,
  );
  return times;
}

runBenchmark(async () => {
  console.log(`# pod-start\n${machineLine()}`);
  console.log(`command: npm run bench:pod-start -- ${process.argv.slice(2).join(' ')}`.trimEnd());
  const version = await docker.version();
  console.log(`docker ${version.Version}`);
  for (const image of [IMAGE, PAUSE]) {
    await docker
      .getImage(image)
      .inspect()
      .catch(() => {
        throw new Error(`image ${image} is missing: run "bash scripts/build-images.sh"`);
      });
  }
  onCleanup(removeDockerResources);
  const workdir = mkdtempSync(join(tmpdir(), 'bosun-bench-pods-'));
  onCleanup(() => (flags.keep ? log(`kept ${workdir}`) : rmSync(workdir, { recursive: true, force: true })));
  const node = `bench-node-${run}`;
  const nodeToken = `node-token-${run}`;
  const network = `bosun-bench-${run}`;
  // The plain-Docker side gets a network of its own shape (a user-defined bridge, as the agent's).
  const dockerNetwork = `${network}-plain`;
  await docker.createNetwork({ Name: dockerNetwork, Driver: 'bridge', Labels: { [BENCH_LABEL]: run } });

  const api = await startLocalApiServer([
    { token: nodeToken, identity: { user: `system:node:${node}`, role: 'node', node } },
  ]);
  onCleanup(() => api.close());
  const client = new Client({ servers: [api.url], token: api.adminToken });
  onCleanup(() => client.close());
  const agent = spawnLogged(
    process.execPath,
    [
      BOSUN,
      'agent',
      '--name',
      node,
      '--server',
      api.url,
      '--token',
      nodeToken,
      '--network',
      network,
      '--data',
      join(workdir, 'data'),
      '--docker-label',
      `${BENCH_LABEL}=${run}`,
      '--max-pods',
      String(Math.max(110, batch * 2)),
    ],
    join(workdir, 'agent.log'),
    { BOSUN_LOG_LEVEL: 'warn' },
  );
  onCleanup(() => agent.kill('SIGTERM'));
  await waitUntil(
    'the node to be Ready',
    async () => {
      const n = await client.resource('Node').get(undefined, node);
      return n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
    },
    60_000,
    100,
  );
  const clearDocker = async () => {
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`${BENCH_LABEL}=${run}`], name: [`bench-${run}-`] },
    });
    await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  };

  const shapes: Array<{ name: string; start: (count: number) => Promise<number[]> }> = [
    { name: 'bosun pod (create → Ready)', start: (count) => bosunPods(client, node, count) },
    { name: 'docker: pause + app container', start: (count) => timed(count, () => dockerPod(dockerNetwork)) },
    { name: 'docker run (app only)', start: (count) => timed(count, () => dockerRun(dockerNetwork)) },
  ];
  // One untimed round of each to warm caches (images, JIT, the daemon).
  for (const shape of shapes) {
    await shape.start(1);
    await clearDocker();
  }
  const results = new Map<string, { single: number[]; batchAll: number[]; batchLast: number[] }>(
    shapes.map((s) => [s.name, { single: [], batchAll: [], batchLast: [] }]),
  );
  for (let t = 0; t < trials; t++) {
    for (const shape of t % 2 === 0 ? shapes : [...shapes].reverse()) {
      const [ms] = await shape.start(1);
      await clearDocker();
      results.get(shape.name)!.single.push(ms);
    }
    log(
      `1 pod, trial ${t + 1}/${trials}: ${shapes.map((s) => `${s.name} ${fmt(results.get(s.name)!.single[t], 0)} ms`).join(', ')}`,
    );
  }
  for (let t = 0; t < batchTrials; t++) {
    for (const shape of t % 2 === 0 ? shapes : [...shapes].reverse()) {
      const times = await shape.start(batch);
      await clearDocker();
      const r = results.get(shape.name)!;
      r.batchAll.push(...times);
      r.batchLast.push(Math.max(...times));
      log(
        `${batch} pods, trial ${t + 1}/${batchTrials}: ${shape.name} all started after ${fmt(Math.max(...times), 0)} ms`,
      );
    }
  }
  const rows = shapes.map((shape) => {
    const r = results.get(shape.name)!;
    const single = summarize(r.single);
    const all = summarize(r.batchAll);
    const last = summarize(r.batchLast);
    return [
      shape.name,
      fmt(single.p50, 0),
      fmt(single.p99, 0),
      fmt(all.p50, 0),
      fmt(all.p99, 0),
      fmt(last.p50, 0),
    ];
  });
  const bosun1 = summarize(results.get(shapes[0].name)!.single).p50;
  const pod1 = summarize(results.get(shapes[1].name)!.single).p50;
  const bosunLast = summarize(results.get(shapes[0].name)!.batchLast).p50;
  const podLast = summarize(results.get(shapes[1].name)!.batchLast).p50;
  const bosunAll = summarize(results.get(shapes[0].name)!.batchAll).p50;
  const podAll = summarize(results.get(shapes[1].name)!.batchAll).p50;
  console.log(
    '\n' +
      [
        `pod start: 1 pod (${trials} trials) and ${batch} pods at once (${batchTrials} trials), image ${IMAGE}`,
        table(
          [
            'how',
            '1 pod p50 ms',
            '1 pod p99 ms',
            `${batch} pods: each p50 ms`,
            `${batch} pods: each p99 ms`,
            `${batch} pods: all started, p50 ms`,
          ],
          rows,
        ),
        `bosun over docker pause+app, 1 pod: +${fmt(bosun1 - pod1, 0)} ms at p50 (target <= +150 ms): ${bosun1 - pod1 <= 150 ? 'MET' : 'MISSED'}`,
        `bosun / docker pause+app, ${batch} pods: ${fmt(bosunLast / podLast, 2)}x until all started, ${fmt(bosunAll / podAll, 2)}x per pod p50 (target <= 1.5x): ${bosunLast / podLast <= 1.5 ? 'MET' : 'MISSED'}`,
      ].join('\n'),
  );
});
