import { ApiError, Namespace } from '../api';
import { Client, resourcePath } from '../client';
import { lookupResource } from '../api';
import { LocalApiServer, startLocalApiServer } from './local';

// namespaces/finalize and namespaces/status, as the namespace controller uses them.
describe('namespace finalize and status subresources', () => {
  let api: LocalApiServer;
  let client: Client;
  const info = lookupResource('namespaces');
  let counter = 0;

  beforeAll(async () => {
    api = await startLocalApiServer();
    client = new Client({ servers: [api.url], token: api.adminToken });
  });
  afterAll(async () => {
    client.close();
    await api.close();
  });

  async function newNamespace(): Promise<Namespace> {
    return client.resource('Namespace').create({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: `fin-${++counter}` },
    } as Namespace);
  }

  function finalize(namespace: Namespace, method: 'PUT' | 'PATCH' = 'PUT'): Promise<Namespace> {
    return client.transport.request<Namespace>({
      method,
      path: resourcePath(info, undefined, namespace.metadata.name, 'finalize'),
      body: namespace,
      contentType: method === 'PATCH' ? 'application/merge-patch+json' : undefined,
    });
  }

  async function statusOf(promise: Promise<unknown>): Promise<number> {
    try {
      await promise;
      return 200;
    } catch (error) {
      if (error instanceof ApiError) return error.code;
      throw error;
    }
  }

  it('serves discovery entries for both', async () => {
    const list = await client.raw<{ resources: Array<{ name: string; verbs: string[] }> }>('/api/v1');
    expect(list.resources.find((r) => r.name === 'namespaces/finalize')?.verbs).toEqual(['update']);
    expect(list.resources.find((r) => r.name === 'namespaces/status')?.verbs).toEqual([
      'get',
      'patch',
      'update',
    ]);
  });

  it('keeps spec.finalizers and status out of reach of a plain update', async () => {
    const ns = await newNamespace();
    expect(ns.spec?.finalizers).toEqual(['kubernetes']);
    const updated = await client.resource('Namespace').update({
      ...ns,
      metadata: { ...ns.metadata, labels: { ...ns.metadata.labels, a: 'b' } },
      spec: { finalizers: [] },
      status: { phase: 'Terminating' },
    });
    expect(updated.metadata.labels?.a).toBe('b');
    expect(updated.spec?.finalizers).toEqual(['kubernetes']);
    expect(updated.status?.phase).toBe('Active');
  });

  it('removes a terminating namespace once finalize empties spec.finalizers, and only then', async () => {
    const namespaces = client.resource('Namespace');
    const ns = await newNamespace();
    await namespaces.delete(undefined, ns.metadata.name!);
    const terminating = await namespaces.get(undefined, ns.metadata.name!);
    expect(terminating.status?.phase).toBe('Terminating');

    // A status write while terminating keeps the namespace (its spec still holds "kubernetes").
    const condition = {
      type: 'NamespaceContentRemaining',
      status: 'True' as const,
      reason: 'SomeResourcesRemain',
      message: 'Some resources are remaining: pods. has 1 resource instances',
      lastTransitionTime: '2024-01-01T00:00:00Z',
    };
    const withStatus = await namespaces.updateStatus({
      ...terminating,
      status: { ...terminating.status, conditions: [condition] },
    });
    expect(withStatus.status).toEqual({ phase: 'Terminating', conditions: [condition] });
    // Deleting again keeps the conditions.
    await namespaces.delete(undefined, ns.metadata.name!);
    expect((await namespaces.get(undefined, ns.metadata.name!)).status?.conditions).toEqual([condition]);

    // finalize changes nothing but spec.finalizers, and PATCH is not a verb of it.
    expect(await statusOf(finalize({ ...withStatus, spec: { finalizers: [] } }, 'PATCH'))).toBe(405);
    await finalize({ ...withStatus, metadata: { ...withStatus.metadata, labels: { x: 'y' } } });
    const kept = await namespaces.get(undefined, ns.metadata.name!);
    expect(kept.metadata.labels?.x).toBeUndefined();
    expect(kept.spec?.finalizers).toEqual(['kubernetes']);

    await finalize({ ...kept, spec: { finalizers: [] } });
    expect(await statusOf(namespaces.get(undefined, ns.metadata.name!))).toBe(404);
  });

  it('leaves a live namespace in place when finalized, which is then deleted at once', async () => {
    const namespaces = client.resource('Namespace');
    const ns = await newNamespace();
    const finalized = await finalize({ ...ns, spec: { finalizers: [] } });
    expect(finalized.spec?.finalizers ?? []).toEqual([]);
    expect((await namespaces.get(undefined, ns.metadata.name!)).status?.phase).toBe('Active');
    await namespaces.delete(undefined, ns.metadata.name!);
    expect(await statusOf(namespaces.get(undefined, ns.metadata.name!))).toBe(404);
  });

  it('refuses finalize to a read-only token and for an unknown namespace', async () => {
    const readonly = new Client({ servers: [api.url], token: api.readonlyToken });
    try {
      const ns = await newNamespace();
      const forbidden = readonly.transport.request({
        method: 'PUT',
        path: resourcePath(info, undefined, ns.metadata.name, 'finalize'),
        body: { ...ns, spec: { finalizers: [] } },
      });
      expect(await statusOf(forbidden)).toBe(403);
    } finally {
      readonly.close();
    }
    const ghost = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'no-such-namespace' },
      spec: { finalizers: [] },
    } as Namespace;
    expect(await statusOf(finalize(ghost))).toBe(404);
  });
});
