/**
 * The apiserver serving its own process's requests with no socket: the answers a client gets
 * in process are the answers it gets over HTTP, and what only HTTP carries goes over HTTP.
 */
import { ApiError, Pod } from '../api';
import { Client, LocalRequest } from '../client';
import { LocalApiServer, startLocalApiServer } from './local';

let api: LocalApiServer;
let http: Client;
let inProcess: Client;
let readonlyInProcess: Client;
/** Every request the in-process dispatch was given, and whether it answered it. */
let dispatched: Array<{ request: LocalRequest; served: boolean }>;

function localClient(token: string): Client {
  return new Client({
    servers: [api.url],
    token,
    local: async (request) => {
      const answer = await api.server.serveInProcess(request);
      dispatched.push({ request, served: answer !== undefined });
      return answer;
    },
  });
}

beforeEach(async () => {
  api = await startLocalApiServer();
  dispatched = [];
  http = new Client({ servers: [api.url], token: api.adminToken });
  inProcess = localClient(api.adminToken);
  readonlyInProcess = localClient(api.readonlyToken);
});

afterEach(async () => {
  http.close();
  inProcess.close();
  readonlyInProcess.close();
  await api.close();
});

function pod(name: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'web' } },
    spec: { containers: [{ name: 'app', image: 'bosun/hello:local' }] },
  } as Pod;
}

async function failure(
  promise: Promise<unknown>,
): Promise<{ code: number; reason: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return { code: error.code, reason: error.reason, message: error.message };
    throw error;
  }
  throw new Error('expected the request to fail');
}

describe('requests served in process', () => {
  it('create, get, list, patch, status, binding and delete answer as over HTTP', async () => {
    const pods = inProcess.resource('Pod');
    const created = await pods.create(pod('a'));
    expect(created.metadata.uid).toEqual(expect.any(String));
    expect(created.spec.containers[0].imagePullPolicy).toBe('IfNotPresent');
    expect(await pods.get('default', 'a')).toEqual(await http.resource('Pod').get('default', 'a'));
    await inProcess.bind('default', 'a', 'node-1');
    await pods.patch('default', 'a', { status: { phase: 'Running' } }, 'merge', { subresource: 'status' });
    const seen = await http.resource('Pod').get('default', 'a');
    expect(seen.spec.nodeName).toBe('node-1');
    expect(seen.status?.phase).toBe('Running');
    const listed = await pods.list('default', { labelSelector: 'app=web' });
    expect(listed.items.map((p) => p.metadata.name)).toEqual(['a']);
    expect(listed.metadata.resourceVersion).toEqual(expect.any(String));
    await pods.delete('default', 'a', { gracePeriodSeconds: 0 });
    await expect(http.resource('Pod').get('default', 'a')).rejects.toMatchObject({ code: 404 });
    expect(dispatched.map((d) => `${d.request.method} ${d.served}`)).toEqual(
      ['POST', 'GET', 'POST', 'PATCH', 'GET', 'DELETE'].map((method) => `${method} true`),
    );
  });

  it('fails with the Status HTTP would give: not found, conflict, invalid, forbidden', async () => {
    const pods = inProcess.resource('Pod');
    const overHttp = http.resource('Pod');
    expect(await failure(pods.get('default', 'nope'))).toEqual(
      await failure(overHttp.get('default', 'nope')),
    );
    await pods.create(pod('b'));
    expect(await failure(pods.create(pod('b')))).toEqual(await failure(overHttp.create(pod('b'))));
    const invalid = { ...pod('Bad_Name') };
    expect(await failure(pods.create(invalid))).toEqual(await failure(overHttp.create(invalid)));
    const denied = await failure(readonlyInProcess.resource('Pod').create(pod('c')));
    expect(denied).toMatchObject({ code: 403, reason: 'Forbidden' });
    expect(denied.message).toContain('User "readonly" cannot create resource "pods"');
  });

  it('counts its requests in the API metrics like HTTP requests', async () => {
    await inProcess.resource('ConfigMap').create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'counted', namespace: 'default' },
    });
    const metrics = await api.server.metrics.registry.getSingleMetricAsString('apiserver_request_total');
    expect(metrics).toMatch(/verb="create",resource="configmaps",code="201"\} 1/);
  });

  it('leaves watches and handler-served subresources to HTTP', async () => {
    const pods = inProcess.resource('Pod');
    await pods.create(pod('w'));
    const abort = new AbortController();
    const events = pods.watch('default', {}, abort.signal);
    const first = await events[Symbol.asyncIterator]().next();
    abort.abort();
    expect(first.value).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'w' } } });
    expect(dispatched.some((d) => d.request.query.watch)).toBe(false);
    // pods/log has a handler of its own (it proxies to the agent): in process it is declined.
    const answer = await api.server.serveInProcess({
      method: 'GET',
      path: '/api/v1/namespaces/default/pods/w/log',
      query: {},
      headers: { authorization: `Bearer ${api.adminToken}` },
    });
    expect(answer).toBeUndefined();
    // The discovery roots are express routes of their own.
    for (const path of ['/api', '/apis', '/apis/apps', '/version'])
      expect(
        await api.server.serveInProcess({ method: 'GET', path, query: {}, headers: {} }),
      ).toBeUndefined();
  });

  it('says 401 without a known token', async () => {
    const stranger = localClient('not-a-token');
    try {
      expect(await failure(stranger.resource('Pod').list('default'))).toMatchObject({ code: 401 });
    } finally {
      stranger.close();
    }
  });
});
