/**
 * The agent over the hollow runtime against an in-memory apiserver: what it writes for a pod
 * bound to it (status patches, events), watched as the API sees it.
 */
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Event, Pod, PodStatus } from '../api';
import { startLocalApiServer, LocalApiServer } from '../apiserver/local';
import { Client } from '../client';
import { waitFor } from '../../test/support/wait';
import { Agent } from './agent';
import { HollowRuntime } from './runtime/hollow';

let api: LocalApiServer;
let client: Client;
let agent: Agent;
let watching: AbortController;
/** Every status of the pods as the API emitted it, in order, by pod name. */
let statuses: Map<string, PodStatus[]>;
let watch: Promise<void>;

beforeEach(async () => {
  api = await startLocalApiServer();
  client = new Client({ servers: [api.url], token: api.adminToken });
  agent = new Agent({
    name: 'hollow-0',
    client,
    runtime: new HollowRuntime('hollow-0'),
    hollow: true,
    address: '127.0.0.1',
    dataDir: mkdtempSync(join(tmpdir(), 'bosun-agent-test-')),
    network: 'bosun',
    token: 'agent-token',
  });
  await agent.start();
  statuses = new Map();
  watching = new AbortController();
  // From the revision before the test's pods exist: every status the API emits for them is seen.
  const from = (await client.resource('Pod').list('default')).metadata.resourceVersion;
  watch = (async () => {
    const events = client.resource('Pod').watch('default', { resourceVersion: from }, watching.signal);
    for await (const event of events) {
      if (event.type !== 'ADDED' && event.type !== 'MODIFIED') continue;
      const pod = event.object as Pod;
      const list = statuses.get(pod.metadata.name!) ?? [];
      list.push(pod.status ?? {});
      statuses.set(pod.metadata.name!, list);
    }
  })().catch(() => undefined);
});

afterEach(async () => {
  watching.abort();
  await watch;
  await agent.stop();
  client.close();
  await api.close();
});

function boundPod(name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName: 'hollow-0', containers: [{ name: 'app', image: 'bosun/hello:local' }] },
  } as Pod;
}

async function runPod(name: string): Promise<void> {
  await client.resource('Pod').create(boundPod(name));
  await waitFor(`${name} Running`, async () => {
    const pod = await client.resource('Pod').get('default', name);
    return pod.status?.phase === 'Running';
  });
  await agent.flushEvents();
}

async function eventReasons(name: string): Promise<string[]> {
  const events = (await client.resource('Event').list('default')).items as Event[];
  return events
    .filter((e) => e.involvedObject.name === name)
    .map((e) => e.reason!)
    .sort();
}

describe('a hollow agent', () => {
  it('writes a pod that runs at its first sync Running at once, in one status patch', async () => {
    await runPod('p');
    const written = (statuses.get('p') ?? []).filter((s) => s.hostIP);
    expect(written.map((s) => s.phase)).toEqual(['Running']);
  });

  it('records no Pulling, Pulled, Created or Started events: it pulls and starts nothing', async () => {
    await runPod('q');
    expect(await eventReasons('q')).toEqual([]);
  });
});

describe("an agent's Lease", () => {
  it('lasts four renewals: 10 s at the default 2.5 s renewal', async () => {
    const lease = await client.resource('Lease').get('kube-node-lease', 'hollow-0');
    expect(lease.spec).toMatchObject({ holderIdentity: 'hollow-0', leaseDurationSeconds: 10 });
  });

  it('is renewed at the interval it is given', async () => {
    const fast = new Agent({
      name: 'hollow-fast',
      client,
      runtime: new HollowRuntime('hollow-fast'),
      hollow: true,
      address: '127.0.0.1',
      dataDir: mkdtempSync(join(tmpdir(), 'bosun-agent-test-')),
      network: 'bosun',
      token: 'agent-token',
      leaseRenewMs: 100,
    });
    await fast.start();
    try {
      const leases = client.resource('Lease');
      const first = (await leases.get('kube-node-lease', 'hollow-fast')).spec?.renewTime;
      await waitFor('a second renewal', async () => {
        const lease = await leases.get('kube-node-lease', 'hollow-fast');
        return lease.spec?.renewTime !== first;
      });
      expect((await leases.get('kube-node-lease', 'hollow-fast')).spec?.leaseDurationSeconds).toBe(1);
    } finally {
      await fast.stop();
    }
  });
});
