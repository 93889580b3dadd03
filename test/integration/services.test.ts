/**
 * Services end to end on a real Docker daemon: an in-memory apiserver, two real `bosun agent`
 * processes on one Docker network, and a real `bosun proxy` (root: ClusterIPs on the bridge,
 * DNS on the gateway). The Endpoints controller is not part of this test: the test keeps each
 * Service's Endpoints up to date from the pods' readiness, as the controller would.
 */
import { execFileSync } from 'child_process';
import { promises as dnsPromises } from 'dns';
import { mkdtempSync, readFileSync } from 'fs';
import net from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { Endpoints, EndpointSubset, Pod, Service } from '../../pkg/api';
import { startLocalApiServer, LocalApiServer } from '../../pkg/apiserver/local';
import { Client } from '../../pkg/client';
import {
  buildImages,
  createTestNetwork,
  newTestRunId,
  removeTestResources,
  TEST_RUN_LABEL,
} from '../support/docker';
import { get, podOf, request } from '../support/http';
import { BosunProcess, spawnBosun } from '../support/process';
import { waitFor } from '../support/wait';
import { freePort } from '../../pkg/util/ports';
import { chainNames, KernelForwarder } from '../../pkg/proxy/kernel';

jest.setTimeout(300_000);

const runId = newTestRunId();
const network = `bosun-test-${runId}`;
const workdir = mkdtempSync(join(tmpdir(), 'bosun-services-test-'));
// Node addresses of this run's own (clusters of "bosun up" claim 127.0.1.x, 127.0.2.x, ... from the lowest).
const subnet = 100 + Math.floor(Math.random() * 150);
const nodes = [
  { name: `a-${runId}`, address: `127.0.${subnet}.1`, token: `node-a-${runId}` },
  { name: `b-${runId}`, address: `127.0.${subnet}.2`, token: `node-b-${runId}` },
];
const proxyToken = `proxy-${runId}`;
let metricsPort: number;
const HELLO = 'bosun/hello:local';

let api: LocalApiServer;
let client: Client;
let gateway: string;
let device: string;
const agents: BosunProcess[] = [];
let proxy: BosunProcess;
let endpointsLoop: Promise<void> | undefined;
const stopLoop = new AbortController();

function startProxy(): BosunProcess {
  return spawnBosun(
    [
      'proxy',
      '--server',
      api.url,
      '--token',
      proxyToken,
      '--network',
      network,
      '--node-address',
      nodes.map((n) => n.address).join(','),
      '--metrics-port',
      String(metricsPort),
      '--docker-label',
      `${TEST_RUN_LABEL}=${runId}`,
    ],
    join(workdir, 'proxy.log'),
    { BOSUN_LOG_LEVEL: 'debug' },
  );
}

beforeAll(async () => {
  metricsPort = await freePort();
  await buildImages();
  api = await startLocalApiServer([
    ...nodes.map((n) => ({
      token: n.token,
      identity: { user: `system:node:${n.name}`, role: 'node' as const, node: n.name },
    })),
    { token: proxyToken, identity: { user: 'system:bosun-proxy', role: 'proxy' as const } },
  ]);
  client = new Client({ servers: [api.url], token: api.adminToken });
  const created = await createTestNetwork(runId, network);
  const info = await created.inspect();
  gateway = info.IPAM!.Config![0].Gateway!;
  device = `br-${info.Id.slice(0, 12)}`;
  proxy = startProxy();
  for (const n of nodes) {
    agents.push(
      spawnBosun(
        [
          'agent',
          '--name',
          n.name,
          '--server',
          api.url,
          '--token',
          n.token,
          '--address',
          n.address,
          '--network',
          network,
          '--dns',
          gateway,
          '--data',
          join(workdir, n.name),
          '--docker-label',
          `${TEST_RUN_LABEL}=${runId}`,
        ],
        join(workdir, `${n.name}.log`),
      ),
    );
  }
  await waitFor(
    'both nodes Ready',
    async () => {
      const list = await client.resource('Node').list();
      return (
        list.items.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
          .length === 2
      );
    },
    { timeoutMs: 30_000 },
  );
  await waitFor('the proxy metrics endpoint', () => metrics(), { timeoutMs: 30_000 });
  endpointsLoop = maintainEndpoints(stopLoop.signal);
});

afterAll(async () => {
  stopLoop.abort();
  await endpointsLoop;
  await Promise.all(agents.map((a) => a.stop()));
  await proxy?.stop();
  // The proxy removes its nat chains when it stops; this covers a proxy that died instead.
  if (device) await new KernelForwarder(device, '').remove();
  client?.close();
  await api?.close();
  await removeTestResources(runId);
});

afterEach(() => {
  if (expect.getState().assertionCalls > expect.getState().numPassingAsserts) {
    for (const log of [proxy.log, ...agents.map((a) => a.log)])
      process.stderr.write(`${log}:\n${readFileSync(log, 'utf8').split('\n').slice(-30).join('\n')}\n`);
  }
});

// ---- the test's stand-in for the Endpoints controller ----

const isReady = (p: Pod) =>
  !p.metadata.deletionTimestamp &&
  p.status?.podIP !== undefined &&
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

function endpointsFor(service: Service, pods: Pod[]): Endpoints {
  const selector = service.spec?.selector ?? {};
  const subsets: EndpointSubset[] = [];
  for (const pod of pods) {
    if (!pod.status?.podIP || pod.status.phase !== 'Running') continue;
    if (!Object.entries(selector).every(([k, v]) => pod.metadata.labels?.[k] === v)) continue;
    const ports = (service.spec?.ports ?? []).map((port) => {
      const target = port.targetPort ?? port.port;
      const number =
        typeof target === 'number'
          ? target
          : pod.spec.containers.flatMap((c) => c.ports ?? []).find((p) => p.name === target)?.containerPort;
      return { name: port.name, port: number ?? 0, protocol: port.protocol ?? ('TCP' as const) };
    });
    const address = {
      ip: pod.status.podIP,
      nodeName: pod.spec.nodeName,
      targetRef: { kind: 'Pod', namespace: 'default', name: pod.metadata.name, uid: pod.metadata.uid },
    };
    subsets.push(isReady(pod) ? { addresses: [address], ports } : { notReadyAddresses: [address], ports });
  }
  subsets.sort((a, b) =>
    JSON.stringify(a.addresses ?? a.notReadyAddresses).localeCompare(
      JSON.stringify(b.addresses ?? b.notReadyAddresses),
    ),
  );
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: service.metadata.name, namespace: 'default' },
    subsets,
  };
}

async function syncEndpoints(): Promise<void> {
  const pods = (await client.resource('Pod').list('default')).items;
  for (const service of (await client.resource('Service').list('default')).items) {
    if (!service.spec?.selector) continue;
    const want = endpointsFor(service, pods);
    const have = await client
      .resource('Endpoints')
      .get('default', service.metadata.name!)
      .catch(() => undefined);
    if (!have) await client.resource('Endpoints').create(want);
    else if (JSON.stringify(have.subsets ?? []) !== JSON.stringify(want.subsets))
      await client.resource('Endpoints').update({ ...want, metadata: have.metadata });
  }
}

async function maintainEndpoints(signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    await syncEndpoints().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// ---- helpers ----

async function metrics(): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  if (!response.ok) throw new Error(`metrics: ${response.status}`);
  return response.text();
}

async function shares(host: string, port: number, count: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const pod = podOf(await get(host, port));
    counts[pod] = (counts[pod] ?? 0) + 1;
  }
  return counts;
}

function helloPod(
  name: string,
  node: string,
  env: Record<string, string> = {},
  labels = { app: 'hello' },
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 2,
      containers: [
        {
          name: 'hello',
          image: HELLO,
          imagePullPolicy: 'IfNotPresent',
          ports: [{ name: 'http', containerPort: 8080 }],
          env: [
            { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            ...Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
          ],
          readinessProbe: {
            httpGet: { path: '/readyz', port: 'http' },
            periodSeconds: 1,
            failureThreshold: 1,
          },
        },
      ],
    },
  };
}

function withoutProbe(pod: Pod): Pod {
  delete pod.spec.containers[0].readinessProbe;
  return pod;
}

async function createService(service: Omit<Service, 'apiVersion' | 'kind'>): Promise<Service> {
  return client.resource('Service').create({ apiVersion: 'v1', kind: 'Service', ...service });
}

async function readyPod(name: string): Promise<Pod> {
  return waitFor(
    `pod ${name} Ready`,
    async () => {
      const p = await client.resource('Pod').get('default', name);
      return isReady(p) ? p : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}

async function readyEndpointIPs(service: string): Promise<string[]> {
  const e = await client
    .resource('Endpoints')
    .get('default', service)
    .catch(() => undefined);
  return (e?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort();
}

/** A connection kept open after one keep-alive GET, and the pod that answered it. */
function keptOpen(host: string, port: number): Promise<{ socket: net.Socket; pod: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, host, () => socket.write('GET / HTTP/1.1\r\nHost: hello\r\n\r\n'));
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
      const pod = podOf(answer);
      if (!pod.startsWith('?')) resolve({ socket, pod });
    });
    socket.on('error', reject);
  });
}

const helloNames = ['hello-1', 'hello-2', 'hello-3'];
let helloPods: Pod[] = [];
let hello: Service;

function hostAddresses(): string[] {
  const out = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', device], { encoding: 'utf8' });
  return [...out.matchAll(/inet (\S+)\/32/g)].map((m) => m[1]);
}

/**
 * Turns one of a Service's 3 pods unready and checks that new connections to the ClusterIP
 * stop reaching it within a second of the Endpoints change; then ready again, and that they
 * come back as fast.
 */
async function expectReadinessFollowed(service: string, victim: Pod): Promise<void> {
  const ip = (await client.resource('Service').get('default', service)).spec!.clusterIP!;
  const name = victim.metadata.name!;
  await get(victim.status!.podIP!, 8080, '/control/readiness/fail');
  // The agent's probe (1 s period) marks the pod unready; this test's Endpoints loop then
  // moves it to notReadyAddresses, as the Endpoints controller does.
  await waitFor(
    `${service} Endpoints without the unready pod`,
    async () => (await readyEndpointIPs(service)).length === 2,
    {
      timeoutMs: 15_000,
    },
  );
  const removedAt = Date.now();
  await waitFor(
    'new connections to stop reaching the unready pod',
    async () => (await shares(ip, 80, 6))[name] === undefined,
    { timeoutMs: 3000, intervalMs: 0 },
  );
  // Within a second of the Endpoints change (plus the six requests' own time).
  expect(Date.now() - removedAt).toBeLessThan(1500);
  const counts = await shares(ip, 80, 60);
  expect(counts[name]).toBeUndefined();
  expect(Object.keys(counts).length).toBe(2);

  await get(victim.status!.podIP!, 8080, '/control/readiness/ok');
  await waitFor(
    `${service} Endpoints with 3 pods again`,
    async () => (await readyEndpointIPs(service)).length === 3,
    {
      timeoutMs: 15_000,
    },
  );
  const back = Date.now();
  await waitFor(
    'the pod to get connections again',
    async () => (await shares(ip, 80, 6))[name] !== undefined,
    {
      timeoutMs: 3000,
      intervalMs: 0,
    },
  );
  expect(Date.now() - back).toBeLessThan(1500);
}

/** The nat chains of this run's proxy. */
function natChains(): string[] {
  const out = execFileSync('iptables', ['-w', '-t', 'nat', '-S'], { encoding: 'utf8' });
  const prefix = chainNames(device).prefix;
  return [...out.matchAll(/^-N (\S+)/gm)].map((m) => m[1]).filter((c) => c.startsWith(prefix));
}

const openedOf = (text: string, service: string) =>
  Number(
    new RegExp(
      `bosun_proxy_connections_opened_total\\{namespace="default",service="${service}",port="http"\\} (\\d+)`,
    ).exec(text)?.[1] ?? 0,
  );

describe('Services', () => {
  beforeAll(async () => {
    hello = await createService({
      metadata: { name: 'hello', namespace: 'default' },
      spec: {
        type: 'NodePort',
        selector: { app: 'hello' },
        ports: [{ name: 'http', port: 80, targetPort: 'http' }],
      },
    });
    await Promise.all(
      helloNames.map((name, i) => client.resource('Pod').create(helloPod(name, nodes[i % 2].name))),
    );
    helloPods = await Promise.all(helloNames.map(readyPod));
    await waitFor(
      'hello Endpoints with 3 ready pods',
      async () => (await readyEndpointIPs('hello')).length === 3,
      {
        timeoutMs: 10_000,
      },
    );
  });

  it('spreads 300 requests through the ClusterIP over all 3 pods in near-equal shares', async () => {
    const ip = hello.spec!.clusterIP!;
    expect(ip).toMatch(/^10\.96\./);
    await waitFor('the ClusterIP on the bridge', () => hostAddresses().includes(ip), { timeoutMs: 5000 });
    const counts = await shares(ip, 80, 300);
    expect(Object.keys(counts).sort()).toEqual(helloNames);
    for (const name of helloNames) expect(counts[name]).toBeGreaterThanOrEqual(80);
    // No Service asks for kernel mode yet: the proxy has written nothing to iptables.
    expect(natChains()).toEqual([]);
  });

  it('spreads requests through the NodePort on each node address likewise', async () => {
    const nodePort = hello.spec!.ports![0].nodePort!;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    for (const node of nodes) {
      const counts = await shares(node.address, nodePort, 150);
      expect(Object.keys(counts).sort()).toEqual(helloNames);
      for (const name of helloNames) expect(counts[name]).toBeGreaterThanOrEqual(35);
    }
  });

  it('stops sending new connections to a pod that turns unready within a second, and resumes when it is ready', async () => {
    await expectReadinessFollowed('hello', helloPods[1]);
  });

  it('lets a pod resolve another Service by its short name and call it at its own port, and gives it the Service variables', async () => {
    await createService({
      metadata: { name: 'other', namespace: 'default' },
      spec: { selector: { app: 'hello' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    await waitFor('other Endpoints', async () => (await readyEndpointIPs('other')).length === 3, {
      timeoutMs: 10_000,
    });
    await client
      .resource('Pod')
      .create(helloPod('front', nodes[1].name, { UPSTREAM_URL: 'http://other/' }, { app: 'front' } as never));
    const front = await readyPod('front');
    const body = await get(front.status!.podIP!, 8080, '/');
    expect(body).toMatch(/\| upstream: hello from hello-\d /);
    const env = JSON.parse(await get(front.status!.podIP!, 8080, '/env')) as Record<string, string>;
    expect(env.OTHER_SERVICE_HOST).toBe(
      (await client.resource('Service').get('default', 'other')).spec!.clusterIP,
    );
    expect(env.OTHER_SERVICE_PORT).toBe('80');
    expect(env.HELLO_SERVICE_HOST).toBe(hello.spec!.clusterIP);
    expect(env.HELLO_PORT_80_TCP).toBe(`tcp://${hello.spec!.clusterIP}:80`);
  });

  it('answers a headless Service with every ready pod IP, and names outside the cluster are forwarded', async () => {
    await createService({
      metadata: { name: 'hello-headless', namespace: 'default' },
      spec: { clusterIP: 'None', selector: { app: 'hello' }, ports: [{ name: 'http', port: 8080 }] },
    });
    const resolver = new dnsPromises.Resolver();
    resolver.setServers([gateway]);
    const expected = helloPods.map((p) => p.status!.podIP!).sort();
    await waitFor(
      'headless DNS to list the 3 pods',
      async () =>
        JSON.stringify((await resolver.resolve4('hello-headless.default.svc.cluster.local')).sort()) ===
        JSON.stringify(expected),
      { timeoutMs: 10_000 },
    );
    expect(await resolver.resolve4('hello.default.svc.cluster.local')).toEqual([hello.spec!.clusterIP]);
    await expect(resolver.resolve4('nothing.default.svc.cluster.local')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
  });

  it('serves a LoadBalancer Service at its ingress address and own port, written through the status subresource', async () => {
    const lb = await createService({
      metadata: { name: 'hello-lb', namespace: 'default' },
      spec: {
        type: 'LoadBalancer',
        selector: { app: 'hello' },
        ports: [{ name: 'http', port: 8081, targetPort: 8080 }],
      },
    });
    const ingress = await waitFor(
      'the LoadBalancer ingress',
      async () =>
        (await client.resource('Service').get('default', 'hello-lb')).status?.loadBalancer?.ingress?.[0]?.ip,
      { timeoutMs: 10_000 },
    );
    expect(ingress).toBe(`127.2.${lb.spec!.clusterIP!.split('.').slice(2).join('.')}`);
    await waitFor('hello-lb Endpoints', async () => (await readyEndpointIPs('hello-lb')).length === 3, {
      timeoutMs: 10_000,
    });
    const counts = await waitFor('answers at the ingress', () => shares(ingress, 8081, 30), {
      timeoutMs: 10_000,
    });
    expect(Object.keys(counts).sort()).toEqual(helloNames);
    // The proxy's token writes status, not spec.
    const asProxy = new Client({ servers: [api.url], token: proxyToken });
    const current = await asProxy.resource('Service').get('default', 'hello-lb');
    await expect(
      asProxy
        .resource('Service')
        .update({ ...current, spec: { ...current.spec, sessionAffinity: 'ClientIP' } }),
    ).rejects.toMatchObject({ code: 403 });
    asProxy.close();
  });

  it('sends the PROXY protocol to endpoints of a Service that asks for it, so the app sees the real client', async () => {
    await Promise.all(
      ['v1', 'v2'].map((v) =>
        client.resource('Pod').create(
          // No readiness probe: the app wants a PROXY header on every connection, the probe's too.
          withoutProbe(
            helloPod(`pp-${v}`, nodes[0].name, { PROXY_PROTOCOL: '1' }, { app: `pp-${v}` } as never),
          ),
        ),
      ),
    );
    for (const v of ['v1', 'v2'] as const) {
      const svc = await createService({
        metadata: { name: `pp-${v}`, namespace: 'default', annotations: { 'bosun.dev/proxy-protocol': v } },
        spec: { selector: { app: `pp-${v}` }, ports: [{ port: 80, targetPort: 8080 }] },
      });
      await waitFor(`pp-${v} Endpoints`, async () => (await readyEndpointIPs(`pp-${v}`)).length === 1, {
        timeoutMs: 60_000,
      });
      const { body, source } = await waitFor(`pp-${v} answering`, () => request(svc.spec!.clusterIP!, 80), {
        timeoutMs: 5000,
      });
      // Without the header the app would see the proxy's own address; with it, this very socket.
      expect(body).toContain(`from pp-${v} `);
      expect(body).toContain(`client ${source}`);
    }
  });

  it('counts connections and bytes per Service port in /metrics', async () => {
    const text = await metrics();
    const opened =
      /bosun_proxy_connections_opened_total\{namespace="default",service="hello",port="http"\} (\d+)/.exec(
        text,
      );
    expect(Number(opened?.[1])).toBeGreaterThanOrEqual(600);
    expect(text).toMatch(
      /bosun_proxy_bytes_out_total\{namespace="default",service="hello",port="http"\} [1-9]\d*/,
    );
    expect(text).toMatch(
      /bosun_proxy_connections_active\{namespace="default",service="hello",port="http"\} \d+/,
    );
    expect(text).toMatch(
      /bosun_proxy_connections_failed_total\{namespace="default",service="hello",port="http"\} \d+/,
    );
    expect(text).toMatch(/bosun_proxy_endpoints\{namespace="default",service="hello",port="http"\} 3/);
  });

  it('forwards a kernel-mode ClusterIP with nat rules: spread over the 3 pods, reached from a pod by name, counted in /metrics, never relayed', async () => {
    const fast = await createService({
      metadata: { name: 'fast', namespace: 'default', annotations: { 'bosun.dev/proxy-mode': 'kernel' } },
      spec: { selector: { app: 'hello' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    });
    const ip = fast.spec!.clusterIP!;
    await waitFor('fast Endpoints', async () => (await readyEndpointIPs('fast')).length === 3, {
      timeoutMs: 10_000,
    });
    await waitFor(
      'a DNAT rule per pod',
      () =>
        natChains().length === 2 + 1 + 3 &&
        execFileSync('iptables', ['-w', '-t', 'nat', '-S'], { encoding: 'utf8' }).includes(
          '--comment "default/fast:http"',
        ),
      { timeoutMs: 5000 },
    );
    const counts = await shares(ip, 80, 300);
    expect(Object.keys(counts).sort()).toEqual(helloNames);
    // Random choice with odds of 1/3 each: 100 expected, 60 is five standard deviations off.
    for (const name of helloNames) expect(counts[name]).toBeGreaterThanOrEqual(60);
    const text = await metrics();
    expect(openedOf(text, 'fast')).toBeGreaterThanOrEqual(300);
    expect(text).toMatch(/bosun_proxy_endpoints\{namespace="default",service="fast",port="http"\} 3/);
    // No byte went through the relay: it has no balancer for this Service at all.
    expect(text).not.toMatch(/bosun_proxy_bytes_out_total\{namespace="default",service="fast"/);

    // A pod calling it by name: its connection lands on a pod of the same bridge, and is
    // masqueraded so that the answer comes back through the host's conntrack entry.
    await client.resource('Pod').create(
      helloPod('front-fast', nodes[0].name, { UPSTREAM_URL: 'http://fast/' }, {
        app: 'front-fast',
      } as never),
    );
    const front = await readyPod('front-fast');
    // (The app keeps its upstream connection alive, so all its calls meet one pod.)
    for (let i = 0; i < 5; i++)
      expect(await get(front.status!.podIP!, 8080, '/')).toMatch(/\| upstream: hello from hello-\d /);
    await client.resource('Pod').delete('default', 'front-fast');
  });

  it('takes a pod that turns unready out of the kernel rules within a second, and puts it back when ready', async () => {
    await expectReadinessFollowed('fast', helloPods[2]);
  });

  it('keeps a client on one pod in kernel mode with sessionAffinity: ClientIP', async () => {
    const sticky = await createService({
      metadata: {
        name: 'sticky-kernel',
        namespace: 'default',
        annotations: { 'bosun.dev/proxy-mode': 'kernel' },
      },
      spec: {
        selector: { app: 'hello' },
        sessionAffinity: 'ClientIP',
        ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      },
    });
    await waitFor(
      'sticky-kernel Endpoints',
      async () => (await readyEndpointIPs('sticky-kernel')).length === 3,
      {
        timeoutMs: 10_000,
      },
    );
    const ip = sticky.spec!.clusterIP!;
    await waitFor('sticky-kernel answering', () => get(ip, 80), { timeoutMs: 5000 });
    // Random choice would put 30 connections on one pod once in 10^14 runs.
    expect(Object.keys(await shares(ip, 80, 30))).toHaveLength(1);
    await client.resource('Service').delete('default', 'sticky-kernel');
  });

  it('keeps each client address on one pod with sessionAffinity: ClientIP, and spreads new clients', async () => {
    const sticky = await createService({
      metadata: { name: 'sticky', namespace: 'default' },
      spec: {
        type: 'NodePort',
        selector: { app: 'hello' },
        sessionAffinity: 'ClientIP',
        ports: [{ name: 'http', port: 80, targetPort: 8080 }],
      },
    });
    await waitFor('sticky Endpoints', async () => (await readyEndpointIPs('sticky')).length === 3, {
      timeoutMs: 10_000,
    });
    const nodePort = sticky.spec!.ports![0].nodePort!;
    await waitFor('sticky answering', () => get(nodes[0].address, nodePort), { timeoutMs: 5000 });
    // Two clients, told apart by their source address (all of 127/8 is local). Two, not three:
    // taking turns, three clients would each meet the same pod again under round robin too.
    const podsOf: Record<string, Set<string>> = {};
    for (let round = 0; round < 10; round++) {
      for (const client of ['127.0.0.21', '127.0.0.22']) {
        const { body } = await request(nodes[round % 2].address, nodePort, '/', { localAddress: client });
        (podsOf[client] ??= new Set()).add(podOf(body));
      }
    }
    const chosen = Object.values(podsOf).map((set) => [...set]);
    expect(chosen.map((pods) => pods.length)).toEqual([1, 1]);
    // Each new client's first connection is balanced as usual: round robin gives each its own pod.
    expect(new Set(chosen.flat()).size).toBe(2);
    await client.resource('Service').delete('default', 'sticky');
  });

  it('sends new connections to the pod with the fewest open ones with the least-connections annotation', async () => {
    const least = await createService({
      metadata: {
        name: 'least',
        namespace: 'default',
        annotations: { 'bosun.dev/load-balancer': 'least-connections' },
      },
      spec: { selector: { app: 'hello' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    const ip = least.spec!.clusterIP!;
    await waitFor('least Endpoints', async () => (await readyEndpointIPs('least')).length === 3, {
      timeoutMs: 10_000,
    });
    await waitFor('least answering', () => get(ip, 80), { timeoutMs: 5000 });
    // Six connections kept open (one keep-alive request each, to learn its pod): 2 per pod.
    const held: Array<{ socket: net.Socket; pod: string }> = [];
    for (let i = 0; i < 6; i++) held.push(await keptOpen(ip, 80));
    const perPod = (pod: string) => held.filter((h) => h.pod === pod).length;
    expect(helloNames.map(perPod)).toEqual([2, 2, 2]);
    // Those of one pod close: it has 0 open, the others 2 each.
    const idle = held[0].pod;
    for (const h of held) if (h.pod === idle) h.socket.destroy();
    const active = /bosun_proxy_connections_active\{namespace="default",service="least",port="http"\} (\d+)/;
    await waitFor('4 active connections', async () => active.exec(await metrics())?.[1] === '4');
    // Round robin would spread these over all three; least connections sends them all to the
    // pod with fewest (a finished request's connection may still be closing: 1 at most, not 2).
    expect(await shares(ip, 80, 30)).toEqual({ [idle]: 30 });
    for (const h of held) h.socket.destroy();
    await client.resource('Service').delete('default', 'least');
  });

  it('loses no request of a 2,000-request loop while the Service scales from 3 pods to 1', async () => {
    const ip = hello.spec!.clusterIP!;
    let failures = 0;
    let done = 0;
    const errors: string[] = [];
    const loop = async () => {
      while (done < 2000) {
        done++;
        try {
          const body = await get(ip, 80);
          if (!body.startsWith('hello from')) throw new Error(body);
        } catch (error) {
          failures++;
          errors.push(`${Date.now() - t0} ${(error as Error).message}`);
        }
      }
    };
    const t0 = Date.now();
    const load = Promise.all([loop(), loop(), loop(), loop()]);
    await waitFor('some load', () => done > 200, { timeoutMs: 30_000 });
    process.stderr.write(`deleting at ${Date.now() - t0}\n`);
    await Promise.all(['hello-2', 'hello-3'].map((n) => client.resource('Pod').delete('default', n)));
    await load;
    expect(errors.slice(0, 5)).toEqual([]);
    expect(failures).toBe(0);
    expect(await readyEndpointIPs('hello')).toEqual([helloPods[0].status!.podIP]);
  });

  it('removes every ClusterIP and nat rule from the host when the proxy stops, and adds them back when it starts', async () => {
    const before = hostAddresses();
    expect(before).toContain(hello.spec!.clusterIP);
    expect(natChains().length).toBeGreaterThan(0);
    await proxy.stop();
    expect(hostAddresses()).toEqual([]);
    expect(natChains()).toEqual([]);
    expect(execFileSync('iptables', ['-w', '-t', 'nat', '-S'], { encoding: 'utf8' })).not.toContain(
      chainNames(device).prefix,
    );
    proxy = startProxy();
    await waitFor('the ClusterIPs back', () => hostAddresses().includes(hello.spec!.clusterIP!), {
      timeoutMs: 20_000,
    });
    expect(
      podOf(
        await waitFor('hello answering again', () => get(hello.spec!.clusterIP!, 80), { timeoutMs: 10_000 }),
      ),
    ).toBe('hello-1');
    const fast = (await client.resource('Service').get('default', 'fast')).spec!.clusterIP!;
    expect(podOf(await waitFor('fast answering again', () => get(fast, 80), { timeoutMs: 10_000 }))).toBe(
      'hello-1',
    );
    // Deleting a Service takes its address away.
    const other = (await client.resource('Service').get('default', 'other')).spec!.clusterIP!;
    expect(hostAddresses()).toContain(other);
    await client.resource('Service').delete('default', 'other');
    await waitFor('the deleted Service’s address gone', () => !hostAddresses().includes(other), {
      timeoutMs: 5000,
    });
  });
});
