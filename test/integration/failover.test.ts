/**
 * Failover as a client sees it (bosun issue 4): three real masters, a client writing
 * ConfigMaps through the Kubernetes API and an informer watching them. The leader is killed
 * with SIGKILL twice; the writer's calls succeed again after each election without it doing
 * anything, and the watch resumes with no missed and no duplicated event, checked by revision.
 */
import { ConfigMap } from '../../pkg/api';
import { Client, Informer } from '../../pkg/client';
import { TestCluster } from '../support/masters';
import { waitFor } from '../support/wait';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start(3);
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

let finished = false;

afterEach(() => {
  // A thrown error is not a failed assertion, so the test marks its own end instead.
  if (!finished)
    for (const m of cluster.masters)
      process.stderr.write(`--- ${m.name}\n${cluster.logOf(m.name).split('\n').slice(-15).join('\n')}\n`);
});

it('keeps a writing client and an open watch whole across leader kills', async () => {
  const client = new Client({ servers: cluster.masters.map((m) => `http://${m.api}`), token: cluster.token });
  const configMaps = client.resource('ConfigMap');
  const informer = new Informer<ConfigMap>(configMaps, { namespace: 'default' });
  const seen: Array<{ type: string; name: string; revision: number }> = [];
  informer.addHandlers({
    add: (cm) =>
      seen.push({ type: 'add', name: cm.metadata.name!, revision: Number(cm.metadata.resourceVersion) }),
    update: (old, cm) => {
      if (old.metadata.resourceVersion !== cm.metadata.resourceVersion)
        seen.push({ type: 'update', name: cm.metadata.name!, revision: Number(cm.metadata.resourceVersion) });
    },
  });
  const stop = new AbortController();
  const watching = informer.run(stop.signal);
  await informer.waitForSync();

  // The writer: one create at a time, as a program would; every acknowledged revision is kept.
  const acknowledged = new Map<string, number>();
  let writing = true;
  let failures = 0;
  const writer = (async () => {
    for (let i = 0; writing && i < 5000; i++) {
      const name = `cm-${i}`;
      try {
        const created = await configMaps.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name, namespace: 'default' },
          data: { i: String(i) },
        });
        acknowledged.set(name, Number(created.metadata.resourceVersion));
      } catch (error) {
        // A create that may have been applied before the leader died is not retried by the client
        // (it is not idempotent); the caller sees the error, and the object may or may not exist.
        failures++;
        if (failures > 20) throw error;
      }
    }
  })();

  try {
    for (let kill = 0; kill < 2; kill++) {
      const before = acknowledged.size;
      await waitFor('writes to flow', () => acknowledged.size >= before + 30, { timeoutMs: 20_000 });
      const leader = await cluster.waitForLeader();
      await cluster.master(leader).process!.kill();
      const afterKill = acknowledged.size;
      await waitFor('writes to succeed under a new leader', () => acknowledged.size >= afterKill + 30, {
        timeoutMs: 20_000,
      });
      cluster.startMaster(leader);
    }
  } finally {
    // A failed wait must not leave the writer running past the test (Jest would never exit).
    writing = false;
  }
  await writer;

  // Every acknowledged write reaches the watcher, exactly once, in revision order.
  const last = Math.max(...acknowledged.values());
  await waitFor('the watcher to catch up', () => seen.some((e) => e.revision >= last), { timeoutMs: 20_000 });
  stop.abort();
  await watching;
  const revisions = seen.map((e) => e.revision);
  expect(revisions).toEqual([...revisions].sort((a, b) => a - b));
  expect(new Set(revisions).size).toBe(revisions.length);
  const seenByName = new Map(seen.map((e) => [e.name, e.revision]));
  for (const [name, revision] of acknowledged) expect(seenByName.get(name)).toBe(revision);
  // Nothing the watcher saw is unknown to the store.
  const stored = await configMaps.list('default');
  expect(stored.items.map((c) => c.metadata.name).sort()).toEqual([...seenByName.keys()].sort());
  expect(failures).toBeLessThanOrEqual(4);
  client.close();
  finished = true;
}, 120_000);
