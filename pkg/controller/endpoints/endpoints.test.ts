import { Endpoints, EndpointSlice, EndpointSubset, Pod, Service } from '../../api';
import { Client, WatchEvent } from '../../client';
import {
  ControllerHarness,
  isGone,
  podManifest,
  startControllerHarness,
} from '../../../test/support/controllers';
import { waitFor } from '../../../test/support/wait';
import { computeSubsets, EndpointsController, resolveTargetPort } from './endpoints';

function service(name: string, spec: Partial<Service['spec']>, namespace = 'default'): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }], ...spec },
  } as Service;
}

async function runningPod(
  client: Client,
  name: string,
  labels: Record<string, string>,
  status: {
    ip?: string;
    ready?: boolean;
    phase?: NonNullable<Pod['status']>['phase'];
  },
  spec: Partial<Pod['spec']> = {},
): Promise<Pod> {
  const pods = client.resource('Pod');
  const created = await pods.create(podManifest(name, 'default', { labels, spec }));
  return setStatus(client, created, status);
}

function setStatus(
  client: Client,
  pod: Pod,
  status: { ip?: string; ready?: boolean; phase?: NonNullable<Pod['status']>['phase'] },
): Promise<Pod> {
  return client.resource('Pod').patch(
    'default',
    pod.metadata.name!,
    {
      status: {
        phase: status.phase ?? 'Running',
        ...(status.ip ? { podIP: status.ip, podIPs: [{ ip: status.ip }] } : {}),
        conditions: [{ type: 'Ready', status: status.ready ? 'True' : 'False' }],
      },
    },
    'strategic',
    { subresource: 'status' },
  );
}

function ips(subsets: EndpointSubset[] | undefined): {
  ready: string[][];
  notReady: string[][];
  ports: number[][];
} {
  return {
    ready: (subsets ?? []).map((s) => (s.addresses ?? []).map((a) => a.ip)),
    notReady: (subsets ?? []).map((s) => (s.notReadyAddresses ?? []).map((a) => a.ip)),
    ports: (subsets ?? []).map((s) => (s.ports ?? []).map((p) => p.port)),
  };
}

function namedPorts(port: number): Partial<Pod['spec']> {
  return {
    containers: [
      {
        name: 'app',
        image: 'bosun/hello:local',
        ports: [{ name: 'web', containerPort: port, protocol: 'TCP' }],
      },
    ],
  };
}

describe('computeSubsets (pure)', () => {
  const base = (name: string, ip: string | undefined, ready: boolean, extra: Partial<Pod> = {}): Pod =>
    ({
      ...podManifest(name, 'default', { spec: namedPorts(name.endsWith('9') ? 9090 : 8080) }),
      metadata: { name, namespace: 'default', uid: `uid-${name}` },
      status: {
        phase: 'Running',
        podIP: ip,
        conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      },
      ...extra,
    }) as Pod;

  it.each([
    ['no IP', 0, base('a', undefined, true)],
    ['terminating', 0, base('a', '10.0.0.1', true, { metadata: { name: 'a', deletionTimestamp: 'x' } })],
    ['succeeded', 0, { ...base('a', '10.0.0.1', true), status: { phase: 'Succeeded', podIP: '10.0.0.1' } }],
    ['failed', 0, { ...base('a', '10.0.0.1', true), status: { phase: 'Failed', podIP: '10.0.0.1' } }],
    ['ready', 1, base('a', '10.0.0.1', true)],
    ['not ready', 1, base('a', '10.0.0.1', false)],
  ] as Array<[string, number, Pod]>)('%s pod: %d address(es)', (_name, count, pod) => {
    const subsets = computeSubsets(service('s', { selector: { a: 'b' } }), [pod]);
    const total = subsets.reduce(
      (n, s) => n + (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0),
      0,
    );
    expect(total).toBe(count);
  });

  it('resolves targetPort by number, by name, and skips a name the pod lacks', () => {
    const pod = base('a', '10.0.0.1', true);
    expect(resolveTargetPort(pod, { port: 80 })).toBe(80);
    expect(resolveTargetPort(pod, { port: 80, targetPort: 81 })).toBe(81);
    expect(resolveTargetPort(pod, { port: 80, targetPort: 'web' })).toBe(8080);
    expect(resolveTargetPort(pod, { port: 80, targetPort: 'web', protocol: 'UDP' })).toBeUndefined();
    expect(resolveTargetPort(pod, { port: 80, targetPort: 'nope' })).toBeUndefined();
  });

  it('is independent of pod order', () => {
    const pods = [base('c', '10.0.0.3', true), base('a9', '10.0.0.1', false), base('b', '10.0.0.2', true)];
    const svc = service('s', { selector: { a: 'b' }, ports: [{ port: 80, targetPort: 'web' }] });
    expect(computeSubsets(svc, pods)).toEqual(computeSubsets(svc, [...pods].reverse()));
    expect(ips(computeSubsets(svc, pods))).toEqual({
      ready: [['10.0.0.2', '10.0.0.3'], []],
      notReady: [[], ['10.0.0.1']],
      ports: [[8080], [9090]],
    });
  });
});

describe('EndpointsController', () => {
  let harness: ControllerHarness;
  let client: Client;

  beforeAll(async () => {
    harness = await startControllerHarness();
    client = harness.client;
    await harness.start((context) => [new EndpointsController(context)]);
  });
  afterAll(() => harness.close());

  const endpointsOf = (name: string) => client.resource('Endpoints').get('default', name);
  const endpointsUpdates = async () =>
    (await harness.api.server.metrics.requests.get()).values
      .filter((v) => v.labels.resource === 'endpoints' && v.labels.verb === 'update')
      .reduce((n, v) => n + v.value, 0);

  it('splits ready and not-ready pods, leaving out pods without IP, finished pods and strangers', async () => {
    await client.resource('Service').create(service('split', { selector: { app: 'split' } }));
    const ready = await runningPod(client, 'split-ready', { app: 'split' }, { ip: '10.1.0.1', ready: true });
    await client.bind('default', 'split-ready', 'node-a');
    await runningPod(client, 'split-unready', { app: 'split' }, { ip: '10.1.0.2', ready: false });
    await runningPod(client, 'split-noip', { app: 'split' }, { ready: true });
    await runningPod(
      client,
      'split-done',
      { app: 'split' },
      { ip: '10.1.0.4', ready: false, phase: 'Succeeded' },
    );
    await runningPod(client, 'split-other', { app: 'other' }, { ip: '10.1.0.5', ready: true });
    const endpoints = await waitFor('endpoints with both pods', async () => {
      const e = await endpointsOf('split');
      const seen = ips(e.subsets);
      return seen.ready.flat().length === 1 && seen.notReady.flat().length === 1 ? e : undefined;
    });
    expect(endpoints.subsets).toEqual([
      {
        addresses: [
          {
            ip: '10.1.0.1',
            nodeName: 'node-a',
            targetRef: { kind: 'Pod', namespace: 'default', name: 'split-ready', uid: ready.metadata.uid },
          },
        ],
        notReadyAddresses: [
          expect.objectContaining({
            ip: '10.1.0.2',
            targetRef: expect.objectContaining({ name: 'split-unready' }),
          }),
        ],
        ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      },
    ]);
  });

  it('writes the EndpointSlices kubectl reads, owned by the Service, and puts back a deleted one', async () => {
    const svc = await client.resource('Service').create(service('sliced', { selector: { app: 'sliced' } }));
    const ready = await runningPod(client, 'sliced-a', { app: 'sliced' }, { ip: '10.7.0.1', ready: true });
    await runningPod(client, 'sliced-b', { app: 'sliced' }, { ip: '10.7.0.2', ready: false });
    const slicesOf = async () =>
      (
        await client
          .resource('EndpointSlice')
          .list('default', { labelSelector: 'kubernetes.io/service-name=sliced' })
      ).items;
    const [slice] = await waitFor('a slice with both pods', async () => {
      const slices = await slicesOf();
      return slices.length === 1 && slices[0].endpoints?.length === 2 ? slices : undefined;
    });
    expect(slice.metadata.name).toMatch(/^sliced-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(slice.metadata.labels).toEqual({
      'kubernetes.io/service-name': 'sliced',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
    expect(slice.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'Service', name: 'sliced', uid: svc.metadata.uid, controller: true }),
    ]);
    expect(slice.addressType).toBe('IPv4');
    expect(slice.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(slice.endpoints).toEqual([
      {
        addresses: ['10.7.0.1'],
        conditions: { ready: true, serving: true, terminating: false },
        targetRef: { kind: 'Pod', namespace: 'default', name: 'sliced-a', uid: ready.metadata.uid },
      },
      expect.objectContaining({
        addresses: ['10.7.0.2'],
        conditions: { ready: false, serving: false, terminating: false },
      }),
    ]);
    await client.resource('EndpointSlice').delete('default', slice.metadata.name!);
    const restored = await waitFor('the slice back', async () => {
      const slices: EndpointSlice[] = await slicesOf();
      return slices.length === 1 && slices[0].metadata.uid !== slice.metadata.uid ? slices[0] : undefined;
    });
    expect(restored.metadata.name).toBe(slice.metadata.name);
  });

  it('resolves a named targetPort per pod into one subset per port set', async () => {
    await client.resource('Service').create(
      service('named', {
        selector: { app: 'named' },
        ports: [{ name: 'http', port: 80, targetPort: 'web' }],
      }),
    );
    await runningPod(client, 'named-a', { app: 'named' }, { ip: '10.2.0.1', ready: true }, namedPorts(8080));
    await runningPod(client, 'named-b', { app: 'named' }, { ip: '10.2.0.2', ready: true }, namedPorts(9090));
    await runningPod(client, 'named-c', { app: 'named' }, { ip: '10.2.0.3', ready: true }, namedPorts(8080));
    // No port called "web": this pod serves nothing of the Service.
    await runningPod(client, 'named-d', { app: 'named' }, { ip: '10.2.0.4', ready: true });
    const endpoints = await waitFor('two subsets', async () => {
      const e = await endpointsOf('named');
      return ips(e.subsets).ready.flat().length === 3 ? e : undefined;
    });
    expect(ips(endpoints.subsets)).toEqual({
      ready: [['10.2.0.1', '10.2.0.3'], ['10.2.0.2']],
      notReady: [[], []],
      ports: [[8080], [9090]],
    });
  });

  it('publishes not-ready pods as addresses when the Service asks', async () => {
    await client
      .resource('Service')
      .create(service('publish', { selector: { app: 'publish' }, publishNotReadyAddresses: true }));
    await runningPod(client, 'publish-a', { app: 'publish' }, { ip: '10.3.0.1', ready: false });
    const endpoints = await waitFor('the not-ready pod published', async () => {
      const e = await endpointsOf('publish');
      return ips(e.subsets).ready.flat().length === 1 ? e : undefined;
    });
    expect(endpoints.subsets?.[0].notReadyAddresses).toBeUndefined();
  });

  it('follows readiness flips, label changes and deletions of pods promptly', async () => {
    await client.resource('Service').create(service('flip', { selector: { app: 'flip' } }));
    const pod = await runningPod(client, 'flip-a', { app: 'flip' }, { ip: '10.4.0.1', ready: false });
    await waitFor(
      'not ready',
      async () => ips((await endpointsOf('flip')).subsets).notReady.flat().length === 1,
    );
    const started = Date.now();
    await setStatus(client, pod, { ip: '10.4.0.1', ready: true });
    await waitFor('ready', async () => ips((await endpointsOf('flip')).subsets).ready.flat().length === 1, {
      timeoutMs: 3000,
      intervalMs: 20,
    });
    // Within a second on an idle machine; the margin is for a shared one.
    expect(Date.now() - started).toBeLessThan(3000);
    await client.resource('Pod').patch('default', 'flip-a', { metadata: { labels: { app: 'elsewhere' } } });
    await waitFor('unselected', async () => ((await endpointsOf('flip')).subsets ?? []).length === 0);
    await client.resource('Pod').patch('default', 'flip-a', { metadata: { labels: { app: 'flip' } } });
    await waitFor(
      'selected again',
      async () => ips((await endpointsOf('flip')).subsets).ready.flat().length === 1,
    );
    await client.resource('Pod').delete('default', 'flip-a');
    await waitFor('deleted pod gone', async () => ((await endpointsOf('flip')).subsets ?? []).length === 0);
  });

  it('deletes the Endpoints with the Service, and restores them when someone else deletes them', async () => {
    await client.resource('Service').create(service('gone', { selector: { app: 'gone' } }));
    await runningPod(client, 'gone-a', { app: 'gone' }, { ip: '10.5.0.1', ready: true });
    await waitFor(
      'endpoints',
      async () => ips((await endpointsOf('gone')).subsets).ready.flat().length === 1,
    );
    await client.resource('Endpoints').delete('default', 'gone');
    await waitFor('restored', async () => ips((await endpointsOf('gone')).subsets).ready.flat().length === 1);
    await client.resource('Service').delete('default', 'gone');
    await waitFor('endpoints deleted', () => isGone(endpointsOf('gone')));
  });

  it('leaves the Endpoints of a Service without a selector alone', async () => {
    await client.resource('Service').create(service('manual', {}));
    const manual = await client.resource('Endpoints').create({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'manual', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '192.0.2.1' }], ports: [{ port: 5432, protocol: 'TCP' }] }],
    } as Endpoints);
    // A selector-carrying Service after it proves the controller has been through both.
    await client.resource('Service').patch('default', 'manual', { metadata: { labels: { touched: 'yes' } } });
    await client.resource('Service').create(service('after-manual', { selector: { app: 'after-manual' } }));
    await waitFor('later service synced', async () => (await endpointsOf('after-manual')) !== undefined);
    const still = await endpointsOf('manual');
    expect(still.metadata.resourceVersion).toBe(manual.metadata.resourceVersion);
    expect(still.subsets).toEqual(manual.subsets);
  });

  it('keeps Endpoints made before their Service while running, and deletes those without one at start', async () => {
    const early = await client.resource('Endpoints').create({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'early', namespace: 'default' },
      subsets: [{ addresses: [{ ip: '192.0.2.2' }], ports: [{ port: 5432, protocol: 'TCP' }] }],
    } as Endpoints);
    await client.resource('Endpoints').patch('default', 'early', { metadata: { labels: { v: '2' } } });
    await client.resource('Service').create(service('left', { selector: { app: 'left' } }));
    await runningPod(client, 'left-a', { app: 'left' }, { ip: '10.7.0.1', ready: true });
    await waitFor(
      'endpoints',
      async () => ips((await endpointsOf('left')).subsets).ready.flat().length === 1,
    );
    expect((await endpointsOf('early')).metadata.uid).toBe(early.metadata.uid);

    await harness.stopControllers();
    await client.resource('Service').delete('default', 'left');
    await harness.start((context) => [new EndpointsController(context)]);
    await waitFor('leftover endpoints deleted', () => isGone(endpointsOf('left')));
    // At start, any Endpoints without a Service is a leftover, as for Kubernetes' controller.
    await waitFor('early ones too', () => isGone(endpointsOf('early')));
  });

  it('writes only when the content changes', async () => {
    await client.resource('Service').create(service('quiet', { selector: { app: 'quiet' } }));
    const pod = await runningPod(client, 'quiet-a', { app: 'quiet' }, { ip: '10.6.0.1', ready: true });
    await waitFor(
      'endpoints',
      async () => ips((await endpointsOf('quiet')).subsets).ready.flat().length === 1,
    );
    const abort = new AbortController();
    const events: Array<WatchEvent<Endpoints>> = [];
    const first = await endpointsOf('quiet');
    const updatesBefore = await endpointsUpdates();
    const watching = (async () => {
      for await (const event of client
        .resource('Endpoints')
        .watch(
          'default',
          { resourceVersion: first.metadata.resourceVersion, fieldSelector: 'metadata.name=quiet' },
          abort.signal,
        ))
        events.push(event);
    })().catch(() => undefined);
    try {
      // Changes that do not change the Endpoints: annotations, an unrelated label, a status
      // write with the same readiness, the Service's own labels... and a second pod without an IP.
      await client.resource('Pod').patch('default', 'quiet-a', { metadata: { annotations: { a: '1' } } });
      await client.resource('Pod').patch('default', 'quiet-a', { metadata: { labels: { extra: 'x' } } });
      await setStatus(client, pod, { ip: '10.6.0.1', ready: true });
      await client.resource('Service').patch('default', 'quiet', { metadata: { annotations: { b: '2' } } });
      await runningPod(client, 'quiet-b', { app: 'quiet' }, { ready: true });
      // Then one real change: exactly one write follows.
      await setStatus(client, pod, { ip: '10.6.0.1', ready: false });
      await waitFor('one write', () => events.length >= 1);
      const settled = await endpointsOf('quiet');
      expect(ips(settled.subsets).notReady.flat()).toEqual(['10.6.0.1']);
      // Every sync triggered above has run by now (the informer delivers in order); a resync
      // of everything must not write either.
      await client.resource('Service').patch('default', 'quiet', { metadata: { annotations: { b: '3' } } });
      await client.resource('Service').create(service('quiet-barrier', { selector: { app: 'qb' } }));
      await waitFor('barrier', async () => (await endpointsOf('quiet-barrier')) !== undefined);
      expect(events.map((e) => e.type)).toEqual(['MODIFIED']);
      // Not even a write the apiserver would have found unchanged was sent.
      expect((await endpointsUpdates()) - updatesBefore).toBe(1);
      expect((await endpointsOf('quiet')).metadata.resourceVersion).toBe(settled.metadata.resourceVersion);
    } finally {
      abort.abort();
      await watching;
    }
  });
});
