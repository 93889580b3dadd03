import { ConfigMap, KubeObject, lookupResource } from '../api';
import { LocalStore } from '../store/local';
import { MvccStore } from '../store/mvcc';
import { ReadOptions, StoredValue } from '../store/types';
import { ensureSystemNamespaces } from './bootstrap';
import { objectStorageKey } from './keys';
import { ObjectStore } from './objects';

/**
 * A store whose local (non-linearizable) reads can lag, as a follower's copy or a leader's
 * copy with entries in flight does: `lag(key)` freezes what local reads of that key return.
 */
class LaggingStore extends LocalStore {
  private readonly frozen = new Map<string, StoredValue | undefined>();
  linearizableReads = 0;

  async lag(key: string): Promise<void> {
    this.frozen.set(key, await super.get(key));
  }

  override async get(key: string, options?: ReadOptions): Promise<StoredValue | undefined> {
    if (options?.consistent !== false) {
      this.linearizableReads++;
      return super.get(key);
    }
    return this.frozen.has(key) ? this.frozen.get(key) : super.get(key);
  }
}

describe('writes that read this master’s own copy first', () => {
  const configMaps = lookupResource('configmaps');
  const pods = lookupResource('pods');
  let store: LaggingStore;
  let objects: ObjectStore;

  beforeEach(async () => {
    store = new LaggingStore(new MvccStore());
    objects = new ObjectStore(store);
    await ensureSystemNamespaces(objects);
    store.linearizableReads = 0;
  });

  const configMap = (name: string, data: Record<string, string>): ConfigMap => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace: 'default' },
    data,
  });
  const key = (name: string) => objectStorageKey(configMaps, 'default', name);
  const stored = async (name: string) => objects.get(configMaps, 'default', name) as Promise<ConfigMap>;

  it('creates, patches and binds from a current copy without a linearizable read', async () => {
    await objects.create(configMaps, 'default', configMap('a', { k: '1' }));
    await objects.patch(configMaps, 'default', 'a', 'merge', { data: { k: '2' } });
    await objects.create(pods, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'bosun/hello:local' }] },
    });
    await objects.bind('default', 'p', 'node-1');
    expect(store.linearizableReads).toBe(0);
    expect((await stored('a')).data).toEqual({ k: '2' });
  });

  it('confirms a patch that changes nothing with one linearizable read and no write', async () => {
    const created = await objects.create(configMaps, 'default', configMap('a', { k: '1' }));
    store.linearizableReads = 0;
    const answer = await objects.patch(configMaps, 'default', 'a', 'merge', { data: { k: '1' } });
    expect(store.linearizableReads).toBe(1);
    expect(answer.object.metadata.resourceVersion).toBe(created.object.metadata.resourceVersion);
    expect((await stored('a')).metadata.resourceVersion).toBe(created.object.metadata.resourceVersion);
  });

  it('applies a patch to the latest object when the copy is stale', async () => {
    await objects.create(configMaps, 'default', configMap('a', { k: '1' }));
    await store.lag(key('a'));
    await objects.patch(configMaps, 'default', 'a', 'merge', { data: { other: 'x' } });
    await objects.patch(configMaps, 'default', 'a', 'merge', { data: { k: '2' } });
    expect((await stored('a')).data).toEqual({ k: '2', other: 'x' });
  });

  it('writes a patch that changes nothing in the stale copy but does change the latest object', async () => {
    await objects.create(configMaps, 'default', configMap('a', { k: '1' }));
    await store.lag(key('a'));
    await objects.patch(configMaps, 'default', 'a', 'merge', { data: { k: '2' } });
    const answer = await objects.patch(configMaps, 'default', 'a', 'merge', { data: { k: '1' } });
    expect((answer.object as ConfigMap).data).toEqual({ k: '1' });
    expect((await stored('a')).data).toEqual({ k: '1' });
    expect(answer.object.metadata.resourceVersion).toBe((await stored('a')).metadata.resourceVersion);
  });

  it('finds an object the copy does not hold yet', async () => {
    await store.lag(key('late'));
    await objects.create(configMaps, 'default', configMap('late', { k: '1' }));
    await objects.patch(configMaps, 'default', 'late', 'merge', { data: { k: '2' } });
    expect((await stored('late')).data).toEqual({ k: '2' });
  });

  it('admits a create to a namespace the copy does not hold yet', async () => {
    const namespaces = lookupResource('namespaces');
    await store.lag(objectStorageKey(namespaces, undefined, 'fresh'));
    await objects.create(namespaces, undefined, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'fresh' },
    } as KubeObject);
    const created = await objects.create(configMaps, 'fresh', {
      ...configMap('a', {}),
      metadata: { name: 'a' },
    });
    expect(created.object.metadata.namespace).toBe('fresh');
  });

  it('accepts an update that names the latest resourceVersion when the copy is older', async () => {
    await objects.create(configMaps, 'default', configMap('a', { k: '1' }));
    await store.lag(key('a'));
    await objects.patch(configMaps, 'default', 'a', 'merge', { data: { k: '2' } });
    const latest = await stored('a');
    const body = { ...latest, data: { k: '3' } };
    await objects.update(configMaps, 'default', 'a', body);
    expect((await stored('a')).data).toEqual({ k: '3' });
    // The update named a version that is no longer the latest: a real conflict.
    await expect(objects.update(configMaps, 'default', 'a', body)).rejects.toMatchObject({ code: 409 });
  });

  it('refuses to bind a pod the copy shows unbound but the latest shows bound', async () => {
    await objects.create(pods, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'bosun/hello:local' }] },
    });
    await store.lag(objectStorageKey(pods, 'default', 'p'));
    await objects.bind('default', 'p', 'node-1');
    await expect(objects.bind('default', 'p', 'node-2')).rejects.toThrow('already assigned to node "node-1"');
    const pod = await objects.get(pods, 'default', 'p');
    expect((pod as { spec: { nodeName?: string } }).spec.nodeName).toBe('node-1');
  });
});
