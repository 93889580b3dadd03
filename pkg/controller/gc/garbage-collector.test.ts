import {
  ConfigMap,
  Deployment,
  HasMetadata,
  KubeObject,
  newControllerRef,
  OwnerReference,
  Pod,
  ReplicaSet,
} from '../../api';
import { Client } from '../../client';
import {
  ControllerHarness,
  isGone,
  podManifest,
  startControllerHarness,
} from '../../../test/support/controllers';
import { waitFor } from '../../../test/support/wait';
import { COLLECTED_KINDS, GarbageCollector } from './garbage-collector';

const template = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'app', image: 'bosun/hello:local' }] },
});

function deployment(name: string): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: { replicas: 2, selector: { matchLabels: { app: name } }, template: template(name) },
  } as Deployment;
}

function replicaSet(
  name: string,
  app: string,
  owner?: HasMetadata & Pick<KubeObject, 'kind' | 'apiVersion'>,
): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name,
      namespace: 'default',
      labels: { app },
      ownerReferences: owner ? [newControllerRef(owner)] : undefined,
    },
    spec: { replicas: 2, selector: { matchLabels: { app } }, template: template(app) },
  } as ReplicaSet;
}

function configMap(name: string, owners: OwnerReference[]): ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default', ownerReferences: owners },
    data: { a: 'b' },
  } as ConfigMap;
}

function ref(owner: KubeObject, extra: Partial<OwnerReference> = {}): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    ...extra,
  };
}

/** A deployment, a ReplicaSet it controls, and pods the ReplicaSet controls (the first `scheduled` bound to a node). */
async function chain(
  client: Client,
  name: string,
  scheduled = 0,
): Promise<{ deployment: Deployment; rs: ReplicaSet; pods: Pod[] }> {
  const d = await client.resource('Deployment').create(deployment(name));
  const rs = await client.resource('ReplicaSet').create(replicaSet(`${name}-rs`, name, d));
  const pods: Pod[] = [];
  for (let i = 0; i < 3; i++) {
    const pod = await client.resource('Pod').create(
      podManifest(`${name}-${i}`, 'default', {
        labels: { app: name },
        metadata: { ownerReferences: [newControllerRef(rs)] },
      }),
    );
    if (i < scheduled) await client.bind('default', pod.metadata.name!, 'node-gc');
    pods.push(pod);
  }
  return { deployment: d, rs, pods };
}

describe('GarbageCollector', () => {
  let harness: ControllerHarness;
  let client: Client;
  let gc: GarbageCollector;

  beforeAll(async () => {
    harness = await startControllerHarness();
    client = harness.client;
    await harness.start((context) => [(gc = new GarbageCollector(context))]);
  });
  afterAll(() => harness.close());

  const exists = async (kind: 'Pod' | 'ReplicaSet' | 'Deployment' | 'ConfigMap', name: string) =>
    !(await isGone(client.resource(kind).get('default', name)));

  it('watches every kind that can be watched and deleted', () => {
    expect([...COLLECTED_KINDS].sort()).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'EndpointSlice',
        'Endpoints',
        'Event',
        'Lease',
        'Namespace',
        'Node',
        'Pod',
        'ReplicaSet',
        'Secret',
        'Service',
        'StatefulSet',
      ].sort(),
    );
  });

  it('cascades a background deletion through deployment → replica set → pods', async () => {
    const { deployment: d, rs, pods } = await chain(client, 'bg');
    await waitFor('the graph knows the chain', () => gc.dependentsOf(rs.metadata.uid!).length === 3);
    expect(gc.dependentsOf(d.metadata.uid!)).toEqual([rs.metadata.uid]);
    await client.resource('Deployment').delete('default', 'bg', { propagationPolicy: 'Background' });
    await waitFor('replica set collected', async () => !(await exists('ReplicaSet', 'bg-rs')));
    for (const pod of pods)
      await waitFor(`${pod.metadata.name} collected`, async () => !(await exists('Pod', pod.metadata.name!)));
    expect(gc.dependentsOf(rs.metadata.uid!)).toEqual([]);
  });

  it('keeps a foreground-deleted owner until its blocking dependents are gone', async () => {
    const { pods } = await chain(client, 'fg', 1);
    await client.resource('Deployment').delete('default', 'fg', { propagationPolicy: 'Foreground' });
    // The unscheduled pods go at once; the scheduled one waits for its agent.
    await waitFor(
      'unscheduled pods collected',
      async () => !(await exists('Pod', 'fg-1')) && !(await exists('Pod', 'fg-2')),
    );
    const waiting = await waitFor('scheduled pod terminating', async () => {
      const pod = await client.resource('Pod').get('default', pods[0].metadata.name!);
      return pod.metadata.deletionTimestamp ? pod : undefined;
    });
    expect(waiting.metadata.deletionTimestamp).toBeDefined();
    const d = await client.resource('Deployment').get('default', 'fg');
    expect(d.metadata.deletionTimestamp).toBeDefined();
    expect(d.metadata.finalizers).toContain('foregroundDeletion');
    const rs = await client.resource('ReplicaSet').get('default', 'fg-rs');
    expect(rs.metadata.finalizers).toContain('foregroundDeletion');
    // Playing the agent: the containers are stopped, the pod is deleted for good.
    await client.resource('Pod').delete('default', pods[0].metadata.name!, { gracePeriodSeconds: 0 });
    await waitFor('replica set gone', async () => !(await exists('ReplicaSet', 'fg-rs')));
    await waitFor('deployment gone', async () => !(await exists('Deployment', 'fg')));
  });

  it('orphans dependents: they stay, without the reference', async () => {
    const { deployment: d, pods } = await chain(client, 'or');
    await client.resource('ReplicaSet').delete('default', 'or-rs', { propagationPolicy: 'Orphan' });
    await waitFor('replica set gone', async () => !(await exists('ReplicaSet', 'or-rs')));
    for (const pod of pods) {
      const now = await client.resource('Pod').get('default', pod.metadata.name!);
      expect(now.metadata.ownerReferences).toBeUndefined();
      expect(now.metadata.uid).toBe(pod.metadata.uid);
    }
    expect(await exists('Deployment', d.metadata.name!)).toBe(true);
  });

  it('keeps a dependent with another live owner, removing only the dead reference', async () => {
    const a = await client.resource('Secret').create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'owner-a', namespace: 'default' },
    } as never);
    const b = await client.resource('Secret').create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'owner-b', namespace: 'default' },
    } as never);
    await client.resource('ConfigMap').create(configMap('two-owners', [ref(a), ref(b)]));
    await waitFor('indexed', () => gc.dependentsOf(b.metadata.uid!).length === 1);
    await client.resource('Secret').delete('default', 'owner-a');
    const kept = await waitFor('reference to a removed', async () => {
      const cm = await client.resource('ConfigMap').get('default', 'two-owners');
      return cm.metadata.ownerReferences?.length === 1 ? cm : undefined;
    });
    expect(kept.metadata.ownerReferences).toEqual([ref(b)]);
    await client.resource('Secret').delete('default', 'owner-b');
    await waitFor('collected with its last owner', async () => !(await exists('ConfigMap', 'two-owners')));
  });

  it.each([
    ['an owner of that name with another uid', true, 'uid-mismatch'],
    ['an owner that never existed', true, 'never'],
    ['an owner of a kind bosun does not serve', false, 'foreign'],
  ])('treats %s as gone: %s', async (_what, collected, tag) => {
    const live = await client.resource('Secret').create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `live-${tag}`, namespace: 'default' },
    } as never);
    const owner: OwnerReference =
      tag === 'uid-mismatch'
        ? { ...ref(live), uid: '00000000-0000-0000-0000-000000000001' }
        : tag === 'never'
          ? { apiVersion: 'v1', kind: 'Secret', name: 'nobody', uid: '00000000-0000-0000-0000-000000000002' }
          : {
              apiVersion: 'example.com/v1',
              kind: 'Widget',
              name: 'w',
              uid: '00000000-0000-0000-0000-000000000003',
            };
    await client.resource('ConfigMap').create(configMap(`dep-${tag}`, [owner]));
    // A second dependent with a live owner, created after: once it is indexed, the first one was looked at.
    await client.resource('ConfigMap').create(configMap(`ctl-${tag}`, [ref(live)]));
    await waitFor('control indexed', () => gc.dependentsOf(live.metadata.uid!).length === 1);
    if (collected) await waitFor('collected', async () => !(await exists('ConfigMap', `dep-${tag}`)));
    else expect(await exists('ConfigMap', `dep-${tag}`)).toBe(true);
    expect(await exists('ConfigMap', `ctl-${tag}`)).toBe(true);
  });

  it('collects dependents of cluster-scoped owners (a node and its lease)', async () => {
    const node = await client
      .resource('Node')
      .create({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'gc-node' }, spec: {} } as never);
    await client.resource('Lease').create({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'gc-node', namespace: 'kube-node-lease', ownerReferences: [ref(node)] },
      spec: { holderIdentity: 'gc-node' },
    } as never);
    await waitFor('indexed', () => gc.dependentsOf(node.metadata.uid!).length === 1);
    await client.resource('Node').delete(undefined, 'gc-node');
    await waitFor('lease collected', () =>
      isGone(client.resource('Lease').get('kube-node-lease', 'gc-node')),
    );
  });
});
