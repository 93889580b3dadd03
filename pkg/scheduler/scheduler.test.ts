import { Event, Node, Pod } from '../api';
import { startLocalApiServer, LocalApiServer } from '../apiserver/local';
import { Client } from '../client';
import { controllerContext, runControllers } from '../controller/context';
import { waitFor } from '../../test/support/wait';
import { Scheduler } from './scheduler';

let api: LocalApiServer;
let client: Client;
let scheduler: Scheduler;
let stop: AbortController;
let running: Promise<void>;

beforeEach(async () => {
  api = await startLocalApiServer();
  client = new Client({ servers: [api.url], token: api.adminToken });
  const context = controllerContext(client);
  scheduler = new Scheduler(context, { unschedulableRetryMs: 3_600_000 });
  stop = new AbortController();
  running = runControllers(context, [scheduler], stop.signal);
});

afterEach(async () => {
  stop.abort();
  await running.catch(() => undefined);
  client.close();
  await api.close();
});

async function addNode(name: string, memory = '4Gi', labels: Record<string, string> = {}): Promise<void> {
  const created = await client.resource('Node').create({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } },
    spec: {},
  } as Node);
  await client.resource('Node').updateStatus({
    ...created,
    status: {
      allocatable: { cpu: '2', memory, pods: '110' },
      capacity: { cpu: '2', memory, pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
    },
  } as Node);
}

function pod(name: string, spec: Partial<Pod['spec']> & { memory?: string; hostPort?: number } = {}): Pod {
  const { memory, hostPort, ...rest } = spec;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      containers: [
        {
          name: 'app',
          image: 'bosun/hello:local',
          resources: memory ? { requests: { memory } } : undefined,
          ports: hostPort ? [{ containerPort: 8080, hostPort }] : undefined,
        },
      ],
      ...rest,
    },
  } as Pod;
}

async function nodeOf(name: string): Promise<string | undefined> {
  return (await client.resource('Pod').get('default', name)).spec.nodeName;
}

async function eventsFor(name: string, reason: string): Promise<Event[]> {
  const events = await client.resource('Event').list('default');
  return events.items.filter((e) => e.involvedObject.name === name && e.reason === reason);
}

describe('scheduler against an in-memory apiserver', () => {
  it('binds pods, spreading them, with a Scheduled event and the PodScheduled condition', async () => {
    await addNode('node-1');
    await addNode('node-2');
    for (let i = 0; i < 4; i++) await client.resource('Pod').create(pod(`web-${i}`));
    const nodes = await Promise.all(
      [0, 1, 2, 3].map((i) => waitFor(`web-${i} to be bound`, () => nodeOf(`web-${i}`))),
    );
    expect(nodes.filter((n) => n === 'node-1')).toHaveLength(2);
    expect(nodes.filter((n) => n === 'node-2')).toHaveLength(2);
    const scheduled = await waitFor(
      'the Scheduled event',
      async () => (await eventsFor('web-0', 'Scheduled'))[0],
    );
    expect(scheduled.message).toBe(`Successfully assigned default/web-0 to ${nodes[0]}`);
    expect(scheduled.source?.component).toBe('default-scheduler');
    const bound = await client.resource('Pod').get('default', 'web-0');
    expect(bound.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status).toBe('True');
  });

  it('leaves a pod that fits nowhere Pending, says why per node, and binds it when a node that fits appears', async () => {
    await addNode('small-1', '4Gi', { tier: 'web' });
    await addNode('small-2', '4Gi', { tier: 'web' });
    await addNode('large', '64Gi', { tier: 'db' });
    await client.resource('Pod').create(pod('big', { memory: '8Gi', nodeSelector: { tier: 'web' } }));
    const expected =
      "0/3 nodes are available: 2 Insufficient memory, 1 node(s) didn't match Pod's node affinity/selector.";
    const event = await waitFor(
      'FailedScheduling',
      async () => (await eventsFor('big', 'FailedScheduling'))[0],
    );
    expect(event.type).toBe('Warning');
    expect(event.message).toBe(expected);
    const condition = await waitFor('the PodScheduled=False condition', async () => {
      const p = await client.resource('Pod').get('default', 'big');
      return p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    });
    expect(condition).toMatchObject({ reason: 'Unschedulable', message: expected });
    expect((await client.resource('Pod').get('default', 'big')).status?.phase).toBe('Pending');

    // Changes that cannot help (another pod bound, our own status write) do not retry it.
    await client.resource('Pod').create(pod('small'));
    await waitFor('the small pod to be bound', () => nodeOf('small'));
    const attemptsWhileWaiting = scheduler.stats.attempts;

    await addNode('large-web', '64Gi', { tier: 'web' });
    expect(await waitFor('big to be bound', () => nodeOf('big'))).toBe('large-web');
    // Retried only because of the node: once when it was created (not yet Ready), once when its
    // status arrived. No busy loop.
    expect(scheduler.stats.attempts).toBe(attemptsWhileWaiting + 2);
    expect((await eventsFor('big', 'FailedScheduling'))[0].count ?? 1).toBe(1);
  });

  it('never overcommits a node while bindings are in flight', async () => {
    await addNode('node-1', '4Gi');
    const created = Array.from({ length: 10 }, (_, i) =>
      client.resource('Pod').create(pod(`m-${i}`, { memory: '1Gi' })),
    );
    await Promise.all(created);
    await waitFor('four pods bound and six unschedulable', async () => {
      const pods = (await client.resource('Pod').list('default')).items;
      const bound = pods.filter((p) => p.spec.nodeName).length;
      const failed = pods.filter((p) =>
        p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable'),
      ).length;
      return bound === 4 && failed === 6;
    });
    // Deleting a bound pod frees room for exactly one more.
    const victim = (await client.resource('Pod').list('default')).items.find((p) => p.spec.nodeName)!;
    await client.resource('Pod').delete('default', victim.metadata.name!, { gracePeriodSeconds: 0 });
    await waitFor('a waiting pod to take the freed room', async () => {
      const pods = (await client.resource('Pod').list('default')).items;
      return pods.length === 9 && pods.filter((p) => p.spec.nodeName).length === 4;
    });
  });

  it('keeps host ports apart and ignores pods for another scheduler', async () => {
    await addNode('node-1');
    await addNode('node-2');
    await client.resource('Pod').create(pod('port-a', { hostPort: 8080 }));
    await client.resource('Pod').create(pod('port-b', { hostPort: 8080 }));
    const a = await waitFor('port-a bound', () => nodeOf('port-a'));
    const b = await waitFor('port-b bound', () => nodeOf('port-b'));
    expect(a).not.toBe(b);
    await client.resource('Pod').create(pod('port-c', { hostPort: 8080 }));
    const event = await waitFor(
      'port-c unschedulable',
      async () => (await eventsFor('port-c', 'FailedScheduling'))[0],
    );
    expect(event.message).toBe(
      "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports.",
    );

    await client.resource('Pod').create(pod('custom', { schedulerName: 'my-scheduler' }));
    await client.resource('Pod').create(pod('after-custom'));
    await waitFor('a later pod to be bound', () => nodeOf('after-custom'));
    expect(await nodeOf('custom')).toBeUndefined();
    expect(await eventsFor('custom', 'FailedScheduling')).toHaveLength(0);
  });

  it('schedules onto a node only once it is Ready and untainted', async () => {
    const created = await client.resource('Node').create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'tainted' },
      spec: { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] },
    } as Node);
    await client.resource('Node').updateStatus({
      ...created,
      status: {
        allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'False' }],
      },
    } as Node);
    await client.resource('Pod').create(pod('waiting'));
    const event = await waitFor(
      'FailedScheduling',
      async () => (await eventsFor('waiting', 'FailedScheduling'))[0],
    );
    expect(event.message).toBe("0/1 nodes are available: 1 node(s) weren't ready.");
    const node = await client.resource('Node').get(undefined, 'tainted');
    const ready = await client.resource('Node').updateStatus({
      ...node,
      status: { ...node.status, conditions: [{ type: 'Ready', status: 'True' }] },
    });
    const taintEvent = await waitFor('the taint to be reported', async () => {
      const events = await eventsFor('waiting', 'FailedScheduling');
      return events.find((e) => e.message?.includes('untolerated taint'));
    });
    expect(taintEvent.message).toBe(
      '0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready}.',
    );
    await client.resource('Node').update({ ...ready, spec: {} });
    expect(await waitFor('the pod to be bound', () => nodeOf('waiting'))).toBe('tainted');
  });
});
