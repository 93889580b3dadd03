import { ConfigMap, Deployment, Namespace, newControllerRef, ReplicaSet, Service } from '../../api';
import { Client } from '../../client';
import {
  ControllerHarness,
  failsWith,
  isGone,
  podManifest,
  startControllerHarness,
} from '../../../test/support/controllers';
import { waitFor } from '../../../test/support/wait';
import { EndpointsController } from '../endpoints/endpoints';
import { GarbageCollector } from '../gc/garbage-collector';
import { deletionConditions, NAMESPACED_KINDS, NamespaceController } from './namespace';

describe('deletionConditions', () => {
  it('reads as Kubernetes words it', () => {
    const conditions = deletionConditions({
      remaining: new Map([
        ['pods.', 2],
        ['deployments.apps', 1],
      ]),
      finalizers: new Map([['foregroundDeletion', 1]]),
      failures: [],
    });
    expect(conditions.map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
      [
        'NamespaceDeletionDiscoveryFailure',
        'False',
        'ResourcesDiscovered',
        'All resources successfully discovered',
      ],
      [
        'NamespaceDeletionGroupVersionParsingFailure',
        'False',
        'ParsedGroupVersions',
        'All legacy kube types successfully parsed',
      ],
      [
        'NamespaceDeletionContentFailure',
        'False',
        'ContentDeleted',
        'All content successfully deleted, may be waiting on finalization',
      ],
      [
        'NamespaceContentRemaining',
        'True',
        'SomeResourcesRemain',
        'Some resources are remaining: deployments.apps has 1 resource instances, pods. has 2 resource instances',
      ],
      [
        'NamespaceFinalizersRemaining',
        'True',
        'SomeFinalizersRemain',
        'Some content in the namespace has finalizers remaining: foregroundDeletion in 1 resource instances',
      ],
    ]);
    const done = deletionConditions({
      remaining: new Map(),
      finalizers: new Map(),
      failures: ['pods.: boom'],
    });
    expect(done.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['NamespaceDeletionDiscoveryFailure', 'False', 'ResourcesDiscovered'],
      ['NamespaceDeletionGroupVersionParsingFailure', 'False', 'ParsedGroupVersions'],
      ['NamespaceDeletionContentFailure', 'True', 'ContentDeletionFailed'],
      ['NamespaceContentRemaining', 'False', 'ContentRemoved'],
      ['NamespaceFinalizersRemaining', 'False', 'ContentHasNoFinalizers'],
    ]);
    expect(done[2].message).toBe('Failed to delete all resource types, 1 remaining: pods.: boom');
  });

  it('covers every namespaced kind but bindings', () => {
    expect([...NAMESPACED_KINDS].sort()).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'EndpointSlice',
        'Endpoints',
        'Event',
        'Lease',
        'Pod',
        'ReplicaSet',
        'Secret',
        'Service',
        'StatefulSet',
      ].sort(),
    );
  });
});

describe('NamespaceController', () => {
  let harness: ControllerHarness;
  let client: Client;

  beforeAll(async () => {
    harness = await startControllerHarness();
    client = harness.client;
    await harness.start((context) => [
      new NamespaceController(context, { recheckMs: 500 }),
      new GarbageCollector(context),
      new EndpointsController(context),
    ]);
  });
  afterAll(() => harness.close());

  const createNamespace = (name: string) =>
    client
      .resource('Namespace')
      .create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } } as Namespace);

  const conditionOf = async (name: string, type: string) =>
    (await client.resource('Namespace').get(undefined, name)).status?.conditions?.find(
      (c) => c.type === type,
    );

  it('empties a deleted namespace, waits for pods on nodes, then lets it go', async () => {
    const ns = 'doomed';
    await createNamespace(ns);
    await client.resource('Pod').create(podManifest('loose', ns, { labels: { app: 'web' } }));
    await client.resource('Pod').create(podManifest('placed', ns, { labels: { app: 'web' } }));
    await client.bind(ns, 'placed', 'node-somewhere');
    await client.resource('Service').create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web', namespace: ns },
      spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
    } as Service);
    await client.resource('ConfigMap').create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: ns },
      data: { a: 'b' },
    } as ConfigMap);
    const template = {
      metadata: { labels: { app: 'api' } },
      spec: { containers: [{ name: 'app', image: 'bosun/hello:local' }] },
    };
    const deployment = await client.resource('Deployment').create({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'api', namespace: ns },
      spec: { replicas: 1, selector: { matchLabels: { app: 'api' } }, template },
    } as Deployment);
    const rs = await client.resource('ReplicaSet').create({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'api-1', namespace: ns, ownerReferences: [newControllerRef(deployment)] },
      spec: { replicas: 1, selector: { matchLabels: { app: 'api' } }, template },
    } as ReplicaSet);
    await client.resource('Pod').create(
      podManifest('api-1-x', ns, {
        labels: { app: 'api' },
        metadata: { ownerReferences: [newControllerRef(rs)] },
      }),
    );
    await waitFor('endpoints published', () => client.resource('Endpoints').get(ns, 'web'));

    await client.resource('Namespace').delete(undefined, ns);
    expect((await client.resource('Namespace').get(undefined, ns)).status?.phase).toBe('Terminating');
    // NamespaceLifecycle admission: nothing new in a terminating namespace.
    const refused = client.resource('ConfigMap').create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'late', namespace: ns },
    } as ConfigMap);
    expect(await failsWith(403, refused)).toBe(true);

    // Everything goes but the pod whose agent has to stop it.
    const remaining = await waitFor('only the placed pod remains', async () => {
      const c = await conditionOf(ns, 'NamespaceContentRemaining');
      return c?.message === 'Some resources are remaining: pods. has 1 resource instances' ? c : undefined;
    });
    expect(remaining).toMatchObject({ status: 'True', reason: 'SomeResourcesRemain' });
    expect(await conditionOf(ns, 'NamespaceDeletionContentFailure')).toMatchObject({
      status: 'False',
      reason: 'ContentDeleted',
    });
    for (const kind of ['Service', 'ConfigMap', 'Deployment', 'ReplicaSet', 'Endpoints'] as const)
      expect((await client.resource(kind).list(ns)).items).toEqual([]);
    const placed = await client.resource('Pod').get(ns, 'placed');
    expect(placed.metadata.deletionTimestamp).toBeDefined();
    expect(placed.metadata.deletionGracePeriodSeconds).toBe(30);

    // Playing the agent: containers stopped, the pod confirmed gone.
    await client.resource('Pod').delete(ns, 'placed', { gracePeriodSeconds: 0 });
    await waitFor('namespace gone', () => isGone(client.resource('Namespace').get(undefined, ns)));
  });

  it('reports content held by finalizers and finishes when they are removed', async () => {
    const ns = 'held';
    await createNamespace(ns);
    await client.resource('ConfigMap').create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'guarded', namespace: ns, finalizers: ['example.com/hold'] },
    } as ConfigMap);
    await client.resource('Namespace').delete(undefined, ns);
    const held = await waitFor('finalizer reported', async () => {
      const c = await conditionOf(ns, 'NamespaceFinalizersRemaining');
      return c?.status === 'True' ? c : undefined;
    });
    expect(held.message).toBe(
      'Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances',
    );
    await client.resource('ConfigMap').patch(ns, 'guarded', { metadata: { finalizers: null } });
    await waitFor('namespace gone', () => isGone(client.resource('Namespace').get(undefined, ns)), {
      timeoutMs: 5000,
    });
  });

  it('leaves namespaces that are not being deleted alone', async () => {
    await createNamespace('alive');
    await client.resource('ConfigMap').create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'keep', namespace: 'alive' },
    } as ConfigMap);
    await createNamespace('gone-soon');
    await client.resource('Namespace').delete(undefined, 'gone-soon');
    await waitFor('empty namespace finalized', () =>
      isGone(client.resource('Namespace').get(undefined, 'gone-soon')),
    );
    expect((await client.resource('ConfigMap').list('alive')).items.map((c) => c.metadata.name)).toEqual([
      'keep',
    ]);
    expect((await client.resource('Namespace').get(undefined, 'alive')).status).toEqual({ phase: 'Active' });
  });
});
