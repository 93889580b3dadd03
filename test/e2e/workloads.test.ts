/**
 * Desired state becomes running pods and stays so when things fail (bosun issue 6), on a real
 * cluster: `bosun up --agents 2`, manifests/hello, real containers.
 * - a rolling update never has fewer than replicas - maxUnavailable ready pods nor more than
 *   replicas + maxSurge pods, and `rollout undo` returns to the previous ReplicaSet;
 * - the leader killed in the middle of a rolling update: the new leader completes it with no
 *   extra ReplicaSet and no pod above the surge;
 * - an agent killed with SIGKILL: its node goes NotReady within the grace period and its pods
 *   run on the other node within grace + toleration + a few seconds.
 * The node timings are shortened (grace 4 s, eviction 6 s) so the suite stays quick; the
 * defaults (10 s, 30 s) are the same code with other numbers.
 */
import { Deployment, Pod, ReplicaSet } from '../../pkg/api';
import { Informer } from '../../pkg/client';
import { buildImages } from '../support/docker';
import { isPodReady, TestBosunCluster } from '../support/cluster';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const GRACE_MS = 4_000;
const EVICTION_MS = 6_000;

let cluster: TestBosunCluster;

beforeAll(async () => {
  await buildImages();
  cluster = await TestBosunCluster.upWithHello(GRACE_MS, EVICTION_MS);
}, 180_000);

afterAll(async () => {
  await cluster?.down();
}, 120_000);

afterEach(() => cluster.showLogsIfFailed(['m1', 'm2', 'm3', 'node-1', 'node-2']));

/** Watches the hello pods and records, at every change, how many exist and how many are ready. */
function watchHelloPods() {
  const informer = new Informer<Pod>(cluster.client.resource('Pod'), {
    namespace: 'default',
    labelSelector: 'app=hello',
  });
  const samples: Array<{ total: number; ready: number }> = [];
  // A pod that was ready and failed its readiness probe while nobody deleted it says something
  // about the agent and the machine (a loaded one misses probe deadlines), not about the
  // rollout: for the rollout's bound it still counts as available until it is deleted.
  const wasReady = new Set<string>();
  // Only changes after the first list count: while it fills, the cache holds some pods only.
  let listed = false;
  const sample = () => {
    if (!listed) return;
    const pods = informer.list('default');
    for (const p of pods) if (isPodReady(p)) wasReady.add(p.metadata.uid!);
    samples.push({
      total: pods.filter((p) => !p.metadata.deletionTimestamp).length,
      ready: pods.filter((p) => !p.metadata.deletionTimestamp && wasReady.has(p.metadata.uid!)).length,
    });
  };
  informer.addHandlers({ add: sample, update: sample, delete: sample });
  const stop = new AbortController();
  const running = informer.run(stop.signal);
  return {
    samples,
    synced: async () => {
      await informer.waitForSync();
      listed = true;
      sample();
    },
    stop: async () => {
      stop.abort();
      await running;
    },
  };
}

async function helloReplicaSets(): Promise<ReplicaSet[]> {
  return (await cluster.client.resource('ReplicaSet').list('default', { labelSelector: 'app=hello' })).items;
}

async function image(): Promise<string> {
  const d = (await cluster.client.resource('Deployment').get('default', 'hello')) as Deployment;
  return d.spec.template.spec.containers[0].image!;
}

it('rolls out a new image without dropping below the available minimum, and rolls back', async () => {
  const before = await helloReplicaSets();
  expect(before).toHaveLength(1);
  const watcher = watchHelloPods();
  await watcher.synced();
  const patched = await cluster.bosun(
    ['apply', '-f', '-'],
    (await import('fs'))
      .readFileSync('manifests/hello/deployment.yaml', 'utf8')
      .replace('bosun/hello:local', 'bosun/hello:v2'),
  );
  expect(patched).toMatchObject({ code: 0, stdout: 'deployment.apps/hello configured\n' });
  const status = await cluster.bosun(['rollout', 'status', 'deployment/hello', '--timeout', '90s']);
  expect(status).toMatchObject({ code: 0 });
  expect(status.stdout).toContain('deployment "hello" successfully rolled out');
  await watcher.stop();
  // replicas 3, maxSurge 25% (rounds up: 1), maxUnavailable 25% (rounds down: 0).
  expect(Math.min(...watcher.samples.map((s) => s.ready))).toBeGreaterThanOrEqual(3);
  expect(Math.max(...watcher.samples.map((s) => s.total))).toBeLessThanOrEqual(4);
  expect(await image()).toBe('bosun/hello:v2');
  const after = await helloReplicaSets();
  expect(after).toHaveLength(2);
  const old = after.find((rs) => rs.metadata.name === before[0].metadata.name)!;
  expect(old.spec.replicas).toBe(0);

  const history = await cluster.bosun(['rollout', 'history', 'deployment/hello']);
  expect(history.stdout).toMatch(/^REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/m);
  const undo = await cluster.bosun(['rollout', 'undo', 'deployment/hello']);
  expect(undo).toMatchObject({ code: 0, stdout: 'deployment.apps/hello rolled back\n' });
  await cluster.bosun(['rollout', 'status', 'deployment/hello', '--timeout', '90s']);
  expect(await image()).toBe('bosun/hello:local');
  // Back to the first ReplicaSet: no third one.
  const rolledBack = await helloReplicaSets();
  expect(rolledBack.map((rs) => rs.metadata.name).sort()).toEqual(after.map((rs) => rs.metadata.name).sort());
  expect(rolledBack.find((rs) => rs.metadata.name === before[0].metadata.name)!.spec.replicas).toBe(3);
});

it('finishes a rolling update under a new leader when the leader dies in the middle of it', async () => {
  const before = await helloReplicaSets();
  const watcher = watchHelloPods();
  await watcher.synced();
  const set = await cluster.bosun(
    ['apply', '-f', '-'],
    (await import('fs'))
      .readFileSync('manifests/hello/deployment.yaml', 'utf8')
      .replace('bosun/hello:local', 'bosun/hello:v2'),
  );
  expect(set.code).toBe(0);
  // In the middle: a new pod exists, the old ones are not all gone.
  await waitFor('the rolling update to be under way', async () =>
    (await helloReplicaSets()).some(
      (rs) =>
        rs.spec.template?.spec?.containers[0].image === 'bosun/hello:v2' && (rs.status?.replicas ?? 0) > 0,
    ),
  );
  const killed = await cluster.bosun(['kill', 'leader']);
  expect(killed.code).toBe(0);
  const status = await cluster.bosun(['rollout', 'status', 'deployment/hello', '--timeout', '90s']);
  expect(status.stdout).toContain('deployment "hello" successfully rolled out');
  await watcher.stop();
  expect(Math.max(...watcher.samples.map((s) => s.total))).toBeLessThanOrEqual(4);
  expect(Math.min(...watcher.samples.map((s) => s.ready))).toBeGreaterThanOrEqual(3);
  // The two ReplicaSets there were before: the new leader adopted them, created none.
  const after = await helloReplicaSets();
  expect(after.map((rs) => rs.metadata.name).sort()).toEqual(before.map((rs) => rs.metadata.name).sort());
  expect(await image()).toBe('bosun/hello:v2');
  const name = /^(m\d) /.exec(killed.stdout)![1];
  expect((await cluster.bosun(['start', name])).code).toBe(0);
});

it('moves the pods of a killed agent to the other node', async () => {
  const pods = (await cluster.client.resource('Pod').list('default', { labelSelector: 'app=hello' })).items;
  // The node with most hello pods is the one to kill.
  const counts = new Map<string, number>();
  for (const p of pods) counts.set(p.spec.nodeName!, (counts.get(p.spec.nodeName!) ?? 0) + 1);
  const victim = [...counts].sort((a, b) => b[1] - a[1])[0][0];
  const survivor = victim === 'node-1' ? 'node-2' : 'node-1';
  const killedAt = Date.now();
  expect((await cluster.bosun(['kill', victim])).code).toBe(0);

  await waitFor(
    `${victim} NotReady`,
    async () => {
      const nodes = await cluster.bosun(['get', 'nodes']);
      return new RegExp(`^${victim}\\s+NotReady`, 'm').test(nodes.stdout);
    },
    { timeoutMs: GRACE_MS + 5_000, intervalMs: 200 },
  );
  const notReadyAfter = Date.now() - killedAt;
  expect(notReadyAfter).toBeLessThan(GRACE_MS + 5_000);

  await waitFor(
    `three ready hello pods on ${survivor}`,
    async () => {
      const current = (await cluster.client.resource('Pod').list('default', { labelSelector: 'app=hello' }))
        .items;
      return current.filter((p) => p.spec.nodeName === survivor && isPodReady(p)).length === 3;
    },
    { timeoutMs: GRACE_MS + EVICTION_MS + 30_000, intervalMs: 250 },
  );
  const node = await cluster.client.resource('Node').get(undefined, victim);
  expect(node.spec?.taints?.map((t) => `${t.key}:${t.effect}`).sort()).toEqual([
    'node.kubernetes.io/unreachable:NoExecute',
    'node.kubernetes.io/unreachable:NoSchedule',
  ]);
  // Back again: untainted, Ready.
  await cluster.restartAgent(victim);
});
