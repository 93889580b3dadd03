/**
 * The official JavaScript client, @kubernetes/client-node, against `bosun up`, through the
 * kubeconfig bosun writes (its server is the TLS front over the three masters): CRUD of every
 * kind bosun serves with the typed APIs, Events, a Watch, and an informer that keeps
 * delivering when the Raft leader is killed (bosun issue 8). Nothing of the library is stubbed.
 */
import {
  ApiException,
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  KubeConfig,
  KubernetesObject,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
  V1ConfigMap,
  Watch,
} from '@kubernetes/client-node';
import { join } from 'path';
import { buildImages } from '../support/docker';
import { TestBosunCluster } from '../support/cluster';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

let cluster: TestBosunCluster;
let kc: KubeConfig;
let core: CoreV1Api;
let apps: AppsV1Api;
let coordination: CoordinationV1Api;

beforeAll(async () => {
  await buildImages();
  cluster = await TestBosunCluster.up(['--agents', '1']);
  kc = new KubeConfig();
  kc.loadFromFile(join(cluster.dir, 'kubeconfig'));
  core = kc.makeApiClient(CoreV1Api);
  apps = kc.makeApiClient(AppsV1Api);
  coordination = kc.makeApiClient(CoordinationV1Api);
}, 180_000);

afterAll(async () => {
  await cluster?.down();
}, 120_000);

const namespace = 'default';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The HTTP status of a rejected call, or the call's error when it was no API error. */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiException) return error.code;
    throw error;
  }
  throw new Error('the call succeeded');
}

const podTemplate = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'hello', image: 'bosun/hello:local' }] },
});
const selector = (app: string) => ({ matchLabels: { app } });

/** One kind, through the library's typed API calls for it. */
interface Crud {
  create(name: string): Promise<KubernetesObject>;
  read(name: string): Promise<KubernetesObject>;
  list(): Promise<{ items: KubernetesObject[] }>;
  patch(name: string, body: object): Promise<KubernetesObject>;
  replace(name: string, body: KubernetesObject): Promise<KubernetesObject>;
  remove(name: string): Promise<unknown>;
}

const KINDS: Array<[string, () => Crud]> = [
  [
    'Pod',
    () => ({
      create: (name) =>
        core.createNamespacedPod({ namespace, body: { metadata: { name }, spec: podTemplate(name).spec } }),
      read: (name) => core.readNamespacedPod({ namespace, name }),
      list: () => core.listNamespacedPod({ namespace }),
      patch: (name, body) => core.patchNamespacedPod({ namespace, name, body }, mergePatch),
      replace: (name, body) => core.replaceNamespacedPod({ namespace, name, body }),
      remove: (name) => core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 }),
    }),
  ],
  [
    'Service',
    () => ({
      create: (name) =>
        core.createNamespacedService({
          namespace,
          body: {
            metadata: { name },
            spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] },
          },
        }),
      read: (name) => core.readNamespacedService({ namespace, name }),
      list: () => core.listNamespacedService({ namespace }),
      patch: (name, body) => core.patchNamespacedService({ namespace, name, body }, mergePatch),
      replace: (name, body) => core.replaceNamespacedService({ namespace, name, body }),
      remove: (name) => core.deleteNamespacedService({ namespace, name }),
    }),
  ],
  [
    'ConfigMap',
    () => ({
      create: (name) =>
        core.createNamespacedConfigMap({ namespace, body: { metadata: { name }, data: { a: '1' } } }),
      read: (name) => core.readNamespacedConfigMap({ namespace, name }),
      list: () => core.listNamespacedConfigMap({ namespace }),
      patch: (name, body) => core.patchNamespacedConfigMap({ namespace, name, body }, mergePatch),
      replace: (name, body) => core.replaceNamespacedConfigMap({ namespace, name, body }),
      remove: (name) => core.deleteNamespacedConfigMap({ namespace, name }),
    }),
  ],
  [
    'Secret',
    () => ({
      create: (name) =>
        core.createNamespacedSecret({
          namespace,
          body: { metadata: { name }, stringData: { password: 's3cret' } },
        }),
      read: (name) => core.readNamespacedSecret({ namespace, name }),
      list: () => core.listNamespacedSecret({ namespace }),
      patch: (name, body) => core.patchNamespacedSecret({ namespace, name, body }, mergePatch),
      replace: (name, body) => core.replaceNamespacedSecret({ namespace, name, body }),
      remove: (name) => core.deleteNamespacedSecret({ namespace, name }),
    }),
  ],
  [
    'Namespace',
    () => ({
      create: (name) => core.createNamespace({ body: { metadata: { name } } }),
      read: (name) => core.readNamespace({ name }),
      list: () => core.listNamespace(),
      patch: (name, body) => core.patchNamespace({ name, body }, mergePatch),
      replace: (name, body) => core.replaceNamespace({ name, body }),
      remove: (name) => core.deleteNamespace({ name }),
    }),
  ],
  [
    'Deployment',
    () => ({
      create: (name) =>
        apps.createNamespacedDeployment({
          namespace,
          body: {
            metadata: { name },
            spec: { replicas: 0, selector: selector(name), template: podTemplate(name) },
          },
        }),
      read: (name) => apps.readNamespacedDeployment({ namespace, name }),
      list: () => apps.listNamespacedDeployment({ namespace }),
      patch: (name, body) => apps.patchNamespacedDeployment({ namespace, name, body }, mergePatch),
      replace: (name, body) => apps.replaceNamespacedDeployment({ namespace, name, body }),
      remove: (name) => apps.deleteNamespacedDeployment({ namespace, name }),
    }),
  ],
  [
    'ReplicaSet',
    () => ({
      create: (name) =>
        apps.createNamespacedReplicaSet({
          namespace,
          body: {
            metadata: { name },
            spec: { replicas: 0, selector: selector(name), template: podTemplate(name) },
          },
        }),
      read: (name) => apps.readNamespacedReplicaSet({ namespace, name }),
      list: () => apps.listNamespacedReplicaSet({ namespace }),
      patch: (name, body) => apps.patchNamespacedReplicaSet({ namespace, name, body }, mergePatch),
      replace: (name, body) => apps.replaceNamespacedReplicaSet({ namespace, name, body }),
      remove: (name) => apps.deleteNamespacedReplicaSet({ namespace, name }),
    }),
  ],
  [
    'StatefulSet',
    () => ({
      create: (name) =>
        apps.createNamespacedStatefulSet({
          namespace,
          body: {
            metadata: { name },
            spec: { replicas: 0, serviceName: name, selector: selector(name), template: podTemplate(name) },
          },
        }),
      read: (name) => apps.readNamespacedStatefulSet({ namespace, name }),
      list: () => apps.listNamespacedStatefulSet({ namespace }),
      patch: (name, body) => apps.patchNamespacedStatefulSet({ namespace, name, body }, mergePatch),
      replace: (name, body) => apps.replaceNamespacedStatefulSet({ namespace, name, body }),
      remove: (name) => apps.deleteNamespacedStatefulSet({ namespace, name }),
    }),
  ],
  [
    'Lease',
    () => ({
      create: (name) =>
        coordination.createNamespacedLease({
          namespace,
          body: { metadata: { name }, spec: { holderIdentity: 'me', leaseDurationSeconds: 15 } },
        }),
      read: (name) => coordination.readNamespacedLease({ namespace, name }),
      list: () => coordination.listNamespacedLease({ namespace }),
      patch: (name, body) => coordination.patchNamespacedLease({ namespace, name, body }, mergePatch),
      replace: (name, body) => coordination.replaceNamespacedLease({ namespace, name, body }),
      remove: (name) => coordination.deleteNamespacedLease({ namespace, name }),
    }),
  ],
];

describe('@kubernetes/client-node against bosun', () => {
  it.each(KINDS)('creates, reads, lists, patches, replaces and deletes a %s', async (kind, crudOf) => {
    const crud = crudOf();
    const name = `crud-${kind.toLowerCase()}`;
    const created = await crud.create(name);
    expect(created.metadata?.uid).toBeTruthy();
    expect(await statusOf(crud.create(name))).toBe(409);

    expect((await crud.read(name)).metadata?.uid).toBe(created.metadata?.uid);
    expect((await crud.list()).items.map((item) => item.metadata?.name)).toContain(name);

    const patched = await crud.patch(name, { metadata: { labels: { patched: 'yes' } } });
    expect(patched.metadata?.labels?.patched).toBe('yes');

    const current = await crud.read(name);
    const replaced = await crud.replace(name, {
      ...current,
      metadata: { ...current.metadata, annotations: { replaced: 'yes' } },
    });
    expect(replaced.metadata?.annotations?.replaced).toBe('yes');
    expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(
      Number(current.metadata?.resourceVersion),
    );
    // The version read before the replace is stale now: optimistic concurrency says 409.
    expect(await statusOf(crud.replace(name, current))).toBe(409);

    await crud.remove(name);
    // A namespace goes through Terminating first; the others go at once.
    await waitFor(`${kind} ${name} to be gone`, async () => (await statusOf(crud.read(name))) === 404, {
      timeoutMs: 60_000,
    });
  });

  it('reads Events and EndpointSlices the controllers write', async () => {
    await core.createNamespacedPod({
      namespace,
      body: { metadata: { name: 'evented', labels: { app: 'evented' } }, spec: podTemplate('evented').spec },
    });
    const events = await waitFor(
      'the Scheduled event',
      async () => {
        const list = await core.listNamespacedEvent({
          namespace,
          fieldSelector: 'involvedObject.kind=Pod,involvedObject.name=evented',
        });
        return list.items.some((e) => e.reason === 'Scheduled') ? list.items : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(events.find((e) => e.reason === 'Scheduled')?.message).toBe(
      'Successfully assigned default/evented to node-1',
    );

    await core.createNamespacedService({
      namespace,
      body: {
        metadata: { name: 'evented' },
        spec: { selector: { app: 'evented' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const slices = await waitFor(
      'an EndpointSlice with the ready pod',
      async () => {
        const list = await discovery.listNamespacedEndpointSlice({
          namespace,
          labelSelector: 'kubernetes.io/service-name=evented',
        });
        return list.items.length === 1 && list.items[0].endpoints?.[0]?.conditions?.ready
          ? list.items
          : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const pod = await core.readNamespacedPod({ namespace, name: 'evented' });
    expect(slices[0].addressType).toBe('IPv4');
    expect(slices[0].ports).toEqual([{ name: '', port: 8080, protocol: 'TCP' }]);
    expect(slices[0].endpoints).toEqual([
      {
        addresses: [pod.status!.podIP],
        conditions: { ready: true, serving: true, terminating: false },
        nodeName: 'node-1',
        targetRef: { kind: 'Pod', namespace, name: 'evented', uid: pod.metadata!.uid },
      },
    ]);
  });

  it('watches: ADDED, MODIFIED, DELETED in order', async () => {
    const start = await core.listNamespacedConfigMap({ namespace });
    const seen: string[] = [];
    const watch = await new Watch(kc).watch(
      `/api/v1/namespaces/${namespace}/configmaps`,
      { resourceVersion: start.metadata?.resourceVersion, fieldSelector: 'metadata.name=watched' },
      (type, object: V1ConfigMap) => seen.push(`${type} ${object.metadata?.name} ${object.data?.v ?? '-'}`),
      () => undefined,
    );
    try {
      await core.createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: 'watched' }, data: { v: '1' } },
      });
      await core.patchNamespacedConfigMap(
        { namespace, name: 'watched', body: { data: { v: '2' } } },
        mergePatch,
      );
      await core.deleteNamespacedConfigMap({ namespace, name: 'watched' });
      await waitFor('three events', () => seen.length >= 3);
      expect(seen).toEqual(['ADDED watched 1', 'MODIFIED watched 2', 'DELETED watched 2']);
    } finally {
      watch.abort();
    }
  });

  it('keeps an informer delivering across a leader kill', async () => {
    const informer = makeInformer(
      kc,
      `/api/v1/namespaces/${namespace}/configmaps`,
      () => core.listNamespacedConfigMap({ namespace, labelSelector: 'informed=yes' }),
      'informed=yes',
    );
    const added: string[] = [];
    const updated: string[] = [];
    let stopped = false;
    let restart: NodeJS.Timeout | undefined;
    informer.on('add', (cm) => added.push(cm.metadata!.name!));
    informer.on('update', (cm) => updated.push(`${cm.metadata!.name} ${cm.data?.v}`));
    // The library's documented way to survive a broken watch: start the informer again on error.
    informer.on('error', () => {
      if (stopped) return;
      restart = setTimeout(() => void informer.start().catch(() => undefined), 200);
    });
    const labelled = (name: string, v: string) => ({
      metadata: { name, labels: { informed: 'yes' } },
      data: { v },
    });
    await informer.start();
    try {
      await core.createNamespacedConfigMap({ namespace, body: labelled('before', '1') });
      await waitFor('the informer to see "before"', () => added.includes('before'));

      const killed = await cluster.bosun(['kill', 'leader']);
      expect(killed).toMatchObject({ code: 0 });
      expect(killed.stdout).toMatch(/^m\d \(pid \d+\) killed\n$/);

      // Writes may fail while the masters elect a new leader: retry until one is taken.
      await waitFor(
        'a write after the kill',
        async () => {
          try {
            await core.createNamespacedConfigMap({ namespace, body: labelled('after', '1') });
          } catch (error) {
            if (!(error instanceof ApiException && error.code === 409)) throw error;
          }
          return true;
        },
        { timeoutMs: 30_000 },
      );
      await core.patchNamespacedConfigMap(
        { namespace, name: 'before', body: { data: { v: '2' } } },
        mergePatch,
      );
      await waitFor(
        'the informer to see the writes after the kill',
        () => added.includes('after') && updated.includes('before 2'),
        { timeoutMs: 30_000 },
      );
      expect(
        informer
          .list(namespace)
          .map((cm) => cm.metadata?.name)
          .sort(),
      ).toEqual(['after', 'before']);
      expect(added.filter((name) => name === 'before')).toHaveLength(1);
    } finally {
      stopped = true;
      clearTimeout(restart);
      await informer.stop();
    }
  });
});
