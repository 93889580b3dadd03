/**
 * exec and port-forward through the apiserver to a real agent and real containers: the
 * apiserver in this process, a `bosun agent` process on Docker, clients speaking the wire
 * protocols (WebSocket channels, SPDY) directly.
 */
import http from 'http';
import { mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PassThrough, Duplex } from 'stream';
import WebSocket from 'ws';
import { Pod } from '../../pkg/api';
import { startLocalApiServer, LocalApiServer } from '../../pkg/apiserver/local';
import { Client, execInPod, Transport } from '../../pkg/client';
import { SpdySession, SpdyStream } from '../../pkg/util/spdy';
import { buildImages, newTestRunId, removeTestResources, TEST_RUN_LABEL } from '../support/docker';
import { BosunProcess, spawnBosun } from '../support/process';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

const runId = newTestRunId();
const nodeName = `node-${runId}`;
const nodeToken = `node-token-${runId}`;
const workdir = mkdtempSync(join(tmpdir(), 'bosun-streaming-test-'));
let api: LocalApiServer;
let client: Client;
let agent: BosunProcess;

const POD = 'shell';
const TWO = 'two';

beforeAll(async () => {
  await buildImages();
  api = await startLocalApiServer([
    { token: nodeToken, identity: { user: `system:node:${nodeName}`, role: 'node', node: nodeName } },
  ]);
  client = new Client({ servers: [api.url], token: api.adminToken });
  agent = spawnBosun(
    [
      'agent',
      '--name',
      nodeName,
      '--server',
      api.url,
      '--token',
      nodeToken,
      '--network',
      `bosun-test-${runId}`,
      '--data',
      join(workdir, 'data'),
      '--docker-label',
      `${TEST_RUN_LABEL}=${runId}`,
    ],
    join(workdir, 'agent.log'),
  );
  const pod = (name: string, containers: Pod['spec']['containers']): Pod =>
    ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: 'default' },
      spec: { nodeName, terminationGracePeriodSeconds: 1, containers },
    }) as Pod;
  await client.resource('Pod').create(pod(POD, [{ name: 'web', image: 'bosun/hello:local' }]));
  await client.resource('Pod').create(
    pod(TWO, [
      { name: 'a', image: 'bosun/hello:local', command: ['sleep', '3600'] },
      { name: 'b', image: 'bosun/hello:local', command: ['sleep', '3600'] },
    ]),
  );
  for (const name of [POD, TWO]) {
    await waitFor(
      `pod ${name} to be ready`,
      async () => {
        const p = await client.resource('Pod').get('default', name);
        return p.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  }
}, 180_000);

afterAll(async () => {
  await agent?.kill();
  client?.close();
  await api?.close();
  await removeTestResources(runId);
});

afterEach(() => {
  if (expect.getState().assertionCalls > expect.getState().numPassingAsserts) {
    process.stderr.write(
      `agent log:\n${readFileSync(agent.log, 'utf8').split('\n').slice(-30).join('\n')}\n`,
    );
  }
});

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function exec(
  command: string[],
  options: { stdin?: string | NodeJS.ReadableStream; token?: string; container?: string; pod?: string } = {},
) {
  const transport = new Transport({ servers: [api.url], token: options.token ?? api.adminToken });
  const out = collect();
  const err = collect();
  const stdin =
    typeof options.stdin === 'string'
      ? (() => {
          const s = new PassThrough();
          s.end(options.stdin);
          return s;
        })()
      : options.stdin;
  try {
    const code = await execInPod(transport, 'default', options.pod ?? POD, {
      command,
      container: options.container,
      stdin,
      stdout: out.stream,
      stderr: err.stream,
    });
    return { code, stdout: out.text(), stderr: err.text() };
  } finally {
    transport.close();
  }
}

/** A raw WebSocket to a pod subresource; every message kept with its channel. */
function openRaw(
  subresource: string,
  query: string,
  protocols: string[],
  token = api.adminToken,
): Promise<{ ws: WebSocket; messages: Buffer[]; closed: Promise<number> }> {
  const url = `${api.url.replace('http', 'ws')}/api/v1/namespaces/default/pods/${POD}/${subresource}?${query}`;
  const ws = new WebSocket(url, protocols, { headers: { authorization: `Bearer ${token}` } });
  const messages: Buffer[] = [];
  ws.on('message', (data: Buffer) => messages.push(data));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => reject(new Error(`${res.statusCode} ${body}`)));
    });
    ws.once('error', reject);
  });
}

function channel(messages: Buffer[], n: number): string {
  return Buffer.concat(messages.filter((m) => m[0] === n).map((m) => m.subarray(1))).toString('utf8');
}

describe('exec through the apiserver and the agent', () => {
  it('relays stdout and stderr separately and reports the exit code', async () => {
    const result = await exec(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(result).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    expect(await exec(['true'])).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('feeds stdin and closes it at its end (v5), so cat and wc finish', async () => {
    const text = 'line one\nline two\n'.repeat(2000);
    const cat = await exec(['cat'], { stdin: text });
    expect(cat.code).toBe(0);
    expect(cat.stdout).toBe(text);
    // A stdin closed before anything was written.
    expect(await exec(['wc', '-c'], { stdin: '' })).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^\s*0\n$/),
    });
  });

  it('speaks v4 too: output, then a Status on the error channel, then a normal close', async () => {
    const { ws, messages, closed } = await openRaw(
      'exec',
      'command=sh&command=-c&command=echo%20v4%3B%20exit%207&stdout=true&stderr=true',
      ['v4.channel.k8s.io'],
    );
    expect(ws.protocol).toBe('v4.channel.k8s.io');
    expect(await closed).toBe(1000);
    expect(channel(messages, 1)).toBe('v4\n');
    expect(JSON.parse(channel(messages, 3))).toMatchObject({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '7' }] },
    });
  });

  it('picks the named container of a pod with two, and asks for one when none is named', async () => {
    expect(await exec(['sh', '-c', 'echo $HOSTNAME'], { pod: TWO, container: 'b' })).toMatchObject({
      code: 0,
      stdout: `${TWO}\n`,
    });
    await expect(exec(['true'], { pod: TWO })).rejects.toMatchObject({
      code: 400,
      message: `a container name must be specified for pod ${TWO}, choose one of: [a b]`,
    });
    await expect(exec(['true'], { pod: TWO, container: 'c' })).rejects.toMatchObject({
      code: 400,
      message: `container c is not valid for pod ${TWO}`,
    });
  });

  it('refuses a read-only token, a node token, a missing pod, no command and a request without upgrade', async () => {
    await expect(exec(['true'], { token: api.readonlyToken })).rejects.toMatchObject({
      code: 403,
      reason: 'Forbidden',
      message: expect.stringContaining('User "readonly" cannot create resource "pods/exec"'),
    });
    await expect(exec(['true'], { token: nodeToken })).rejects.toMatchObject({ code: 403 });
    await expect(exec(['true'], { pod: 'nope' })).rejects.toMatchObject({
      code: 404,
      message: 'pods "nope" not found',
    });
    await expect(exec([])).rejects.toMatchObject({
      code: 400,
      message: 'you must specify at least 1 command',
    });
    const plain = await fetch(`${api.url}/api/v1/namespaces/default/pods/${POD}/exec?command=true`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.adminToken}` },
    });
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as { message: string }).message).toBe('Upgrade request required');
  });
});

describe('port-forward through the apiserver and the agent', () => {
  const get = 'GET /json HTTP/1.0\r\n\r\n';

  it('forwards over the WebSocket channel protocol: the port first, then the data; errors on the error channel', async () => {
    const { messages, ws, closed } = await openRaw('portforward', 'ports=8080', ['v4.channel.k8s.io']);
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(get)]));
    expect(await closed).toBe(1000);
    // The port (little endian) opens both channels.
    expect(messages.slice(0, 2)).toEqual([Buffer.from([0, 0x90, 0x1f]), Buffer.from([1, 0x90, 0x1f])]);
    const response = Buffer.concat(
      messages
        .slice(2)
        .filter((m) => m[0] === 0)
        .map((m) => m.subarray(1)),
    );
    expect(response.toString()).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*"pod":"shell"/);

    const refused = await openRaw('portforward', 'ports=8081', ['v4.channel.k8s.io']);
    await waitFor('the error channel to report', () => channel(refused.messages, 1).length > 2);
    expect(channel(refused.messages, 1).slice(2)).toMatch(
      /^error forwarding port 8081 to pod shell, uid [0-9a-f-]+: connect ECONNREFUSED/,
    );
    expect(await refused.closed).toBe(1000);
  });

  it('refuses a read-only token', async () => {
    await expect(
      openRaw('portforward', 'ports=8080', ['v4.channel.k8s.io'], api.readonlyToken),
    ).rejects.toThrow(/^403 .*cannot create resource \\"pods\/portforward\\"/);
  });

  it('forwards two connections at once over one SPDY connection, and reports a port with nothing listening', async () => {
    const { session, socket } = await spdyConnection();
    try {
      const forward = (port: number, requestId: number, request: string) => {
        const error = session.openStream({
          streamtype: 'error',
          port: String(port),
          requestid: String(requestId),
        });
        error.end();
        const data = session.openStream({
          streamtype: 'data',
          port: String(port),
          requestid: String(requestId),
        });
        data.end(request);
        return Promise.all([readAll(data), readAll(error)]);
      };
      const [first, second] = await Promise.all([forward(8080, 0, get), forward(8080, 1, get)]);
      for (const [data, error] of [first, second]) {
        expect(data).toMatch(/^HTTP\/1\.1 200 OK[\s\S]*"pod":"shell"/);
        expect(error).toBe('');
      }
      const counts = [first[0], second[0]].map((r) => Number(/"count":(\d+)/.exec(r)![1]));
      expect(counts[0]).not.toBe(counts[1]);
      const [data, error] = await forward(9999, 2, get);
      expect(data).toBe('');
      expect(error).toMatch(/^error forwarding port 9999 to pod shell, uid [0-9a-f-]+: connect ECONNREFUSED/);
    } finally {
      socket.destroy();
    }
  });
});

/** A plain `Upgrade: SPDY/3.1` port-forward connection (what kubectl falls back to). */
function spdyConnection(): Promise<{ session: SpdySession; socket: Duplex }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${api.url}/api/v1/namespaces/default/pods/${POD}/portforward`);
    const request = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      headers: {
        authorization: `Bearer ${api.adminToken}`,
        connection: 'Upgrade',
        upgrade: 'SPDY/3.1',
        'x-stream-protocol-version': 'portforward.k8s.io',
      },
    });
    request.on('upgrade', (response: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      expect(response.headers['x-stream-protocol-version']).toBe('portforward.k8s.io');
      const session = new SpdySession({ server: false, write: (bytes, done) => socket.write(bytes, done) });
      socket.on('data', (chunk: Buffer) => session.receive(chunk));
      if (head.length > 0) session.receive(head);
      resolve({ session, socket });
    });
    request.on('response', (response) => reject(new Error(`no upgrade: ${response.statusCode}`)));
    request.on('error', reject);
    request.end();
  });
}

function readAll(stream: SpdyStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    stream.on('error', reject);
  });
}
