import { Event, Lease, Node, Pod, Toleration } from '../../api';
import { Client } from '../../client';
import {
  ControllerHarness,
  isGone,
  podManifest,
  startControllerHarness,
} from '../../../test/support/controllers';
import { waitFor } from '../../../test/support/wait';
import { LEASE_NAMESPACE, NodeLifecycleController } from './lifecycle';
import { TAINT_NOT_READY, TAINT_UNREACHABLE } from './taints';

// Short periods; margins in assertions are generous for a shared machine.
const GRACE_MS = 600;
const EVICTION_MS = 1000;
const RENEW_MS = 100;
const QUARANTINE_MS = 800;

function microTime(ms = Date.now()): string {
  return new Date(ms).toISOString().replace('Z', '000Z');
}

function time(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function readyConditions(status: 'True' | 'False'): NonNullable<Node['status']>['conditions'] {
  return [
    {
      type: 'Ready',
      status,
      reason: status === 'True' ? 'KubeletReady' : 'KubeletNotReady',
      message: status === 'True' ? 'kubelet is posting ready status' : 'container runtime is down',
      lastHeartbeatTime: time(),
      lastTransitionTime: time(),
    },
  ];
}

/** What an agent does for its node: registers it, renews its lease, posts Ready. */
class FakeAgent {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: Client,
    readonly name: string,
  ) {}

  async register(renewTime = Date.now()): Promise<void> {
    await this.client.resource('Node').create({
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: this.name },
      spec: {},
      status: { conditions: readyConditions('True') },
    } as Node);
    await this.client.resource('Lease').create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.name, namespace: LEASE_NAMESPACE },
      spec: { holderIdentity: this.name, leaseDurationSeconds: 40, renewTime: microTime(renewTime) },
    } as Lease);
  }

  renewing(): void {
    this.stop();
    const renew = () =>
      this.client
        .resource('Lease')
        .patch(LEASE_NAMESPACE, this.name, { spec: { renewTime: microTime() } })
        .catch(() => undefined);
    void renew();
    this.timer = setInterval(renew, RENEW_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  postReady(status: 'True' | 'False'): Promise<Node> {
    return this.client
      .resource('Node')
      .patch(undefined, this.name, { status: { conditions: readyConditions(status) } }, 'strategic', {
        subresource: 'status',
      });
  }

  async runPod(name: string, tolerations: Toleration[] = []): Promise<Pod> {
    await this.client.resource('Pod').create(podManifest(name, 'default', { spec: { tolerations } }));
    await this.client.bind('default', name, this.name);
    return this.client.resource('Pod').patch(
      'default',
      name,
      {
        status: {
          phase: 'Running',
          podIP: '10.9.0.1',
          conditions: [
            { type: 'Ready', status: 'True' },
            { type: 'ContainersReady', status: 'True' },
          ],
        },
      },
      'strategic',
      { subresource: 'status' },
    );
  }
}

const taintKeys = (node: Node) => (node.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`).sort();
const ready = (node: Node) => node.status?.conditions?.find((c) => c.type === 'Ready');
const podReady = (pod: Pod) => pod.status?.conditions?.find((c) => c.type === 'Ready')?.status;

describe('NodeLifecycleController', () => {
  let harness: ControllerHarness;
  let client: Client;
  const agents: FakeAgent[] = [];

  const start = () =>
    harness.start((context) => [
      new NodeLifecycleController(context, {
        nodeGracePeriodMs: GRACE_MS,
        podEvictionTimeoutMs: EVICTION_MS,
        orphanedPodQuarantineMs: QUARANTINE_MS,
      }),
    ]);
  const agent = (name: string) => {
    const a = new FakeAgent(client, name);
    agents.push(a);
    return a;
  };
  const getNode = (name: string) => client.resource('Node').get(undefined, name);
  const getPod = (name: string) => client.resource('Pod').get('default', name);
  const eventsAbout = async (name: string, reason: string) =>
    (await client.resource('Event').list('default')).items.filter(
      (e: Event) => e.involvedObject.name === name && e.reason === reason,
    );

  beforeAll(async () => {
    harness = await startControllerHarness();
    client = harness.client;
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) a.stop();
    await harness.stopControllers();
  });
  afterAll(() => harness.close());

  it('marks a silent node Unknown, taints it, evicts its pods by toleration, and untaints it when it is back', async () => {
    const lost = agent('lost');
    const steady = agent('steady');
    await lost.register();
    await steady.register();
    lost.renewing();
    steady.renewing();
    await lost.runPod('plain');
    await lost.runPod('patient', [
      { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 3 },
    ]);
    await lost.runPod('stubborn', [{ key: TAINT_UNREACHABLE, operator: 'Exists' }]);
    await steady.runPod('bystander');
    await start();

    // The agent of "lost" dies.
    lost.stop();
    const unknown = await waitFor(
      'lost is Unknown and tainted',
      async () => {
        const node = await getNode('lost');
        return ready(node)?.status === 'Unknown' && taintKeys(node).length === 2 ? node : undefined;
      },
      { timeoutMs: GRACE_MS + 5000 },
    );
    expect(ready(unknown)).toMatchObject({
      reason: 'NodeStatusUnknown',
      message: 'Kubelet stopped posting node status.',
    });
    expect(taintKeys(unknown)).toEqual([`${TAINT_UNREACHABLE}:NoExecute`, `${TAINT_UNREACHABLE}:NoSchedule`]);
    const taintedAt = Date.parse(unknown.spec!.taints!.find((t) => t.effect === 'NoExecute')!.timeAdded!);

    // Its pods are not ready at once (well before any eviction but the quickest).
    await waitFor(
      'pods not ready',
      async () =>
        (await Promise.all(['patient', 'stubborn'].map(getPod))).every((p) => podReady(p) === 'False'),
      { timeoutMs: 3000 },
    );
    const stubbornPod = await getPod('stubborn');
    expect(stubbornPod.status?.conditions?.find((c) => c.type === 'ContainersReady')?.status).toBe('True');

    // The pod without toleration goes after the default, for good (its agent cannot confirm).
    await waitFor('plain evicted', () => isGone(getPod('plain')), { timeoutMs: EVICTION_MS + 5000 });
    const plainGoneAt = Date.now();
    // timeAdded has second precision, hence the second off.
    expect(plainGoneAt - taintedAt).toBeGreaterThanOrEqual(EVICTION_MS - 1000);
    expect(await isGone(getPod('patient'))).toBe(false);
    await waitFor('patient evicted after its 3 s', () => isGone(getPod('patient')), {
      timeoutMs: 3000 + 5000,
    });
    expect(Date.now() - taintedAt).toBeGreaterThanOrEqual(3000 - 1000);
    expect(await isGone(getPod('stubborn'))).toBe(false);
    expect((await eventsAbout('plain', 'TaintManagerEviction'))[0]?.message).toBe(
      'Marking for deletion Pod default/plain',
    );
    expect(await eventsAbout('lost', 'NodeNotReady')).toHaveLength(1);

    // The agent comes back: lease renewed, Ready posted. The taints go.
    lost.renewing();
    await lost.postReady('True');
    await waitFor('lost untainted', async () => taintKeys(await getNode('lost')).length === 0, {
      timeoutMs: 5000,
    });
    expect(await isGone(getPod('stubborn'))).toBe(false);

    // The node whose agent kept renewing was never touched.
    const steadyNode = await getNode('steady');
    expect(taintKeys(steadyNode)).toEqual([]);
    expect(ready(steadyNode)?.status).toBe('True');
    expect(podReady(await getPod('bystander'))).toBe('True');
  });

  it('taints a node reporting Ready=False not-ready and evicts gracefully, its agent being alive', async () => {
    const sick = agent('sick');
    await sick.register();
    sick.renewing();
    await sick.runPod('sick-pod', [
      { key: TAINT_NOT_READY, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 0 },
    ]);
    await start();
    await sick.postReady('False');
    const tainted = await waitFor('not-ready taints', async () => {
      const node = await getNode('sick');
      return taintKeys(node).length === 2 ? node : undefined;
    });
    expect(taintKeys(tainted)).toEqual([`${TAINT_NOT_READY}:NoExecute`, `${TAINT_NOT_READY}:NoSchedule`]);
    // Evicted, and left for the (alive) agent to confirm: no forced deletion.
    const evicted = await waitFor('pod terminating', async () => {
      const pod = await getPod('sick-pod');
      return pod.metadata.deletionTimestamp ? pod : undefined;
    });
    expect(evicted.metadata.deletionGracePeriodSeconds).toBe(30);
    expect(podReady(evicted)).toBe('False');
    await sick.postReady('True');
    await waitFor('untainted', async () => taintKeys(await getNode('sick')).length === 0);
    expect(await isGone(getPod('sick-pod'))).toBe(false);
    await client.resource('Pod').delete('default', 'sick-pod', { gracePeriodSeconds: 0 });
  });

  it('gives a new controller a full grace period of its own before declaring a node Unknown', async () => {
    // Leases that look an hour old when the new leader starts: one renewed from now on, one not.
    const renewed = agent('renewed');
    const silent = agent('silent');
    const hourAgo = Date.now() - 3600_000;
    await renewed.register(hourAgo);
    await silent.register(hourAgo);
    // Both registered longer ago than the grace period, so only the start of the controller protects them.
    const registered = Date.parse((await getNode('silent')).metadata.creationTimestamp!);
    await waitFor(
      'registrations older than the grace period',
      () => Date.now() - registered > GRACE_MS + 1000,
      {
        timeoutMs: GRACE_MS + 3000,
      },
    );
    const startedBefore = Date.now();
    await start();
    renewed.renewing();
    const tainted = await waitFor(
      'silent declared Unknown',
      async () => {
        const node = await getNode('silent');
        return taintKeys(node).length > 0 ? Date.now() : undefined;
      },
      { timeoutMs: GRACE_MS + 5000, intervalMs: 20 },
    );
    expect(tainted - startedBefore).toBeGreaterThanOrEqual(GRACE_MS);
    const node = await getNode('renewed');
    expect(taintKeys(node)).toEqual([]);
    expect(ready(node)?.status).toBe('True');
  });

  it('force-deletes the pods of a deleted node after the quarantine', async () => {
    const doomed = agent('doomed');
    await doomed.register();
    doomed.renewing();
    await doomed.runPod('orphan-pod', [{ operator: 'Exists' }]);
    await start();
    doomed.stop();
    await client.resource('Node').delete(undefined, 'doomed');
    const deletedAt = Date.now();
    await waitFor('pod of the deleted node gone', () => isGone(getPod('orphan-pod')), {
      timeoutMs: QUARANTINE_MS + 5000,
    });
    expect(Date.now() - deletedAt).toBeGreaterThanOrEqual(QUARANTINE_MS - 100);
    expect((await eventsAbout('orphan-pod', 'NodeLost'))[0]?.message).toContain(
      'node doomed no longer exists',
    );
  });
});
