import http from 'http';
import { AddressInfo } from 'net';
import { ConflictError, ExpiredError, Pod, ServiceUnavailableError } from '../api';
import { Client, resourcePath } from './client';
import { Informer } from './informer';
import { lookupResource } from '../api';

/** A scripted HTTP server standing in for a master: each test says how it answers. */
interface FakeServer {
  url: string;
  requests: Array<{ method: string; url: string; body: string; auth: string | undefined }>;
  close(): Promise<void>;
}

async function fakeServer(
  handler: (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void,
): Promise<FakeServer> {
  const requests: FakeServer['requests'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method!, url: req.url!, body, auth: req.headers.authorization });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** An address where nothing listens: a master that is down. */
async function deadAddress(): Promise<string> {
  const server = await fakeServer(() => undefined);
  await server.close();
  return server.url;
}

function json(res: http.ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function pod(name: string, resourceVersion: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', resourceVersion },
    spec: { containers: [{ name: 'c', image: 'i' }] },
  } as Pod;
}

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: Parameters<typeof fakeServer>[0]): Promise<FakeServer> {
  const server = await fakeServer(handler);
  servers.push(server);
  return server;
}

describe('resourcePath', () => {
  it.each([
    ['pods', 'default', 'web', undefined, '/api/v1/namespaces/default/pods/web'],
    ['pods', undefined, undefined, undefined, '/api/v1/pods'],
    ['deployments', 'prod', 'web', 'scale', '/apis/apps/v1/namespaces/prod/deployments/web/scale'],
    ['nodes', 'ignored', 'node-1', 'status', '/api/v1/nodes/node-1/status'],
    [
      'leases',
      'kube-node-lease',
      'n1',
      undefined,
      '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n1',
    ],
  ])('%s %s %s %s → %s', (resource, namespace, name, sub, expected) => {
    expect(resourcePath(lookupResource(resource), namespace, name, sub)).toBe(expected);
  });
});

describe('Client', () => {
  it('sends the bearer token and decodes the object', async () => {
    const server = await serve((_req, _body, res) => json(res, 200, pod('web', '7')));
    const client = new Client({ servers: [server.url], token: 'secret-token' });
    const got = await client.resource('Pod').get('default', 'web');
    expect(got.metadata.resourceVersion).toBe('7');
    expect(server.requests[0]).toMatchObject({
      method: 'GET',
      url: '/api/v1/namespaces/default/pods/web',
      auth: 'Bearer secret-token',
    });
    client.close();
  });

  it('turns a Status answer into the ApiError of its reason', async () => {
    const server = await serve((_req, _body, res) =>
      json(res, 409, {
        kind: 'Status',
        apiVersion: 'v1',
        status: 'Failure',
        reason: 'Conflict',
        message: 'modified',
        code: 409,
      }),
    );
    const client = new Client({ servers: [server.url] });
    await expect(client.resource('Pod').update(pod('web', '1'))).rejects.toBeInstanceOf(ConflictError);
    client.close();
  });

  it('moves on to the next master when one is down, for any verb', async () => {
    const live = await serve((_req, body, res) => json(res, 201, JSON.parse(body)));
    const client = new Client({ randomStart: false, servers: [await deadAddress(), live.url] });
    const created = await client.resource('Pod').create(pod('web', ''));
    expect(created.metadata.name).toBe('web');
    expect(client.transport.server).toBe(live.url);
    client.close();
  });

  it('retries a 503 on another master', async () => {
    const electing = await serve((_req, _body, res) =>
      json(res, 503, {
        kind: 'Status',
        status: 'Failure',
        reason: 'ServiceUnavailable',
        message: 'no leader',
        code: 503,
      }),
    );
    const live = await serve((_req, _body, res) => json(res, 200, pod('web', '3')));
    const client = new Client({ randomStart: false, servers: [electing.url, live.url] });
    expect((await client.resource('Pod').get('default', 'web')).metadata.resourceVersion).toBe('3');
    client.close();
  });

  it('gives up with 503 when no master answers in time', async () => {
    const client = new Client({
      randomStart: false,
      servers: [await deadAddress(), await deadAddress()],
      retryForMs: 300,
    });
    await expect(client.resource('Pod').get('default', 'web')).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
    client.close();
  });

  it('fails at once after close, and stops retrying a request in flight', async () => {
    const client = new Client({ randomStart: false, servers: [await deadAddress()], retryForMs: 60_000 });
    const retrying = client.resource('Pod').get('default', 'web');
    const started = Date.now();
    client.close();
    await expect(retrying).rejects.toThrow(/the client is closed/);
    await expect(client.resource('Pod').get('default', 'web')).rejects.toBeInstanceOf(
      ServiceUnavailableError,
    );
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('does not retry a create whose connection broke after it was sent', async () => {
    const breaking = await serve((req) => req.socket.destroy());
    const live = await serve((_req, _body, res) => json(res, 200, pod('web', '4')));
    const client = new Client({ randomStart: false, servers: [breaking.url, live.url] });
    await expect(client.resource('Pod').create(pod('web', ''))).rejects.toThrow(
      /may or may not have been applied/,
    );
    expect(live.requests).toHaveLength(0);
    // A GET is safe to repeat: it goes on to the live master.
    expect((await client.resource('Pod').get('default', 'web')).metadata.resourceVersion).toBe('4');
    expect(live.requests.map((r) => r.method)).toEqual(['GET']);
    client.close();
  });
});

describe('Informer', () => {
  it('lists, then watches from the list revision, keeping the cache and calling handlers', async () => {
    let watchResponse: http.ServerResponse | undefined;
    const server = await serve((req, _body, res) => {
      const url = new URL(req.url!, 'http://x');
      if (url.searchParams.get('watch') === 'true') {
        expect(url.searchParams.get('resourceVersion')).toBe('10');
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write(JSON.stringify({ type: 'ADDED', object: pod('b', '11') }) + '\n');
        watchResponse = res;
        return;
      }
      json(res, 200, {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: '10' },
        items: [pod('a', '5')],
      });
    });
    const client = new Client({ servers: [server.url] });
    const informer = new Informer(client.resource('Pod'));
    const events: string[] = [];
    informer.addHandlers({
      add: (p) => events.push(`add ${p.metadata.name}`),
      update: (_old, p) => events.push(`update ${p.metadata.name}`),
      delete: (p) => events.push(`delete ${p.metadata.name}`),
    });
    const controller = new AbortController();
    const running = informer.run(controller.signal);
    await informer.waitForSync();
    await waitUntil(() => events.length === 2 && watchResponse !== undefined);
    watchResponse!.write(JSON.stringify({ type: 'MODIFIED', object: pod('a', '12') }) + '\n');
    watchResponse!.write(JSON.stringify({ type: 'DELETED', object: pod('b', '13') }) + '\n');
    watchResponse!.write(
      JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '20' } } }) + '\n',
    );
    await waitUntil(() => informer.resourceVersion === '20');
    expect(events).toEqual(['add a', 'add b', 'update a', 'delete b']);
    expect(informer.list().map((p) => p.metadata.name)).toEqual(['a']);
    expect(informer.get('default/a')?.metadata.resourceVersion).toBe('12');
    controller.abort();
    await running;
    client.close();
  });

  it('relists after 410 Expired and reports objects deleted while it was not watching', async () => {
    let lists = 0;
    const server = await serve((req, _body, res) => {
      const url = new URL(req.url!, 'http://x');
      if (url.searchParams.get('watch') === 'true') {
        if (lists === 1) {
          res.writeHead(200, { 'content-type': 'application/json' });
          const expired = {
            kind: 'Status',
            status: 'Failure',
            reason: 'Expired',
            message: 'too old resource version',
            code: 410,
          };
          res.end(JSON.stringify({ type: 'ERROR', object: expired }) + '\n');
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }); // stays open
        }
        return;
      }
      lists += 1;
      const items = lists === 1 ? [pod('a', '1'), pod('b', '2')] : [pod('a', '1'), pod('c', '9')];
      json(res, 200, { kind: 'PodList', metadata: { resourceVersion: String(lists * 10) }, items });
    });
    const client = new Client({ servers: [server.url] });
    const informer = new Informer(client.resource('Pod'));
    const events: string[] = [];
    informer.addHandlers({
      add: (p) => events.push(`add ${p.metadata.name}`),
      update: (_old, p) => events.push(`update ${p.metadata.name}`),
      delete: (p) => events.push(`delete ${p.metadata.name}`),
    });
    const controller = new AbortController();
    const running = informer.run(controller.signal);
    await waitUntil(() => informer.resourceVersion === '20');
    expect(events).toEqual(['add a', 'add b', 'add c', 'delete b']);
    controller.abort();
    await running;
    client.close();
  });

  it('rebuilds an ExpiredError from an ERROR watch event', async () => {
    const server = await serve((_req, _body, res) => {
      res.writeHead(200);
      res.end(
        JSON.stringify({
          type: 'ERROR',
          object: { kind: 'Status', reason: 'Expired', code: 410, message: 'too old' },
        }) + '\n',
      );
    });
    const client = new Client({ servers: [server.url] });
    const iterate = async () => {
      for await (const _event of client.resource('Pod').watch('default', { resourceVersion: '1' })) {
        // no events before the error
      }
    };
    await expect(iterate()).rejects.toBeInstanceOf(ExpiredError);
    client.close();
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
