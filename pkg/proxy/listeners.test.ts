import { Endpoints, Service } from '../api';
import {
  BalancerSpec,
  desiredBalancers,
  diffBalancers,
  ListenerContext,
  loadBalancerAddress,
  readyEndpoints,
} from './listeners';

function service(name: string, spec: Service['spec'], annotations?: Record<string, string>): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', annotations }, spec };
}

function endpoints(name: string, subsets: Endpoints['subsets']): Endpoints {
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace: 'default' }, subsets };
}

const context: ListenerContext = {
  nodeAddresses: ['127.0.1.1', '127.0.1.2'],
  clusterIPAddress: (ip: string) => ip,
};

function desired(services: Service[], eps: Endpoints[], ctx = context) {
  return desiredBalancers(services, (_ns, name) => eps.find((e) => e.metadata.name === name), ctx);
}

describe('service → listener mapping', () => {
  const web = service('web', {
    clusterIP: '10.96.3.4',
    type: 'NodePort',
    ports: [
      { name: 'http', port: 80, targetPort: 'http', nodePort: 30080 },
      { name: 'metrics', port: 9090, targetPort: 9090, nodePort: 30090 },
      { name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 },
    ],
  });
  const webEndpoints = endpoints('web', [
    {
      // Named targetPorts resolve per pod: two pods may use different container ports.
      addresses: [{ ip: '172.18.0.2' }],
      notReadyAddresses: [{ ip: '172.18.0.9' }],
      ports: [
        { name: 'http', port: 8080 },
        { name: 'metrics', port: 9090 },
      ],
    },
    { addresses: [{ ip: '172.18.0.3' }], ports: [{ name: 'http', port: 8081 }] },
  ]);

  it('serves each TCP port on the ClusterIP and at the NodePort on every node address', () => {
    const specs = desired([web], [webEndpoints]);
    expect([...specs.keys()]).toEqual(['default/web:http', 'default/web:metrics']);
    expect(specs.get('default/web:http')).toMatchObject({
      namespace: 'default',
      service: 'web',
      port: 'http',
      listen: [
        { host: '10.96.3.4', port: 80 },
        { host: '127.0.1.1', port: 30080 },
        { host: '127.0.1.2', port: 30080 },
      ],
      endpoints: [
        { host: '172.18.0.2', port: 8080 },
        { host: '172.18.0.3', port: 8081 },
      ],
      policy: 'round-robin',
      affinityTimeoutMs: 0,
    });
    expect(specs.get('default/web:metrics')!.endpoints).toEqual([{ host: '172.18.0.2', port: 9090 }]);
  });

  it('uses ready addresses only', () => {
    const all = readyEndpoints(webEndpoints, { name: 'http', port: 80 });
    expect(all.map((e) => e.host)).not.toContain('172.18.0.9');
  });

  it('matches an unnamed single port to the unnamed endpoint port', () => {
    const s = service('one', { clusterIP: '10.96.0.7', ports: [{ port: 80, targetPort: 8080 }] });
    const e = endpoints('one', [{ addresses: [{ ip: '172.18.0.5' }], ports: [{ port: 8080 }] }]);
    expect(desired([s], [e]).get('default/one:80')!.endpoints).toEqual([{ host: '172.18.0.5', port: 8080 }]);
  });

  it('adds the LoadBalancer address at the Service port and maps annotations and affinity', () => {
    const s = service(
      'lb',
      {
        clusterIP: '10.96.12.34',
        type: 'LoadBalancer',
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
        ports: [{ port: 443, nodePort: 31443 }],
      },
      { 'bosun.dev/load-balancer': 'least-connections', 'bosun.dev/proxy-protocol': 'v2' },
    );
    expect(loadBalancerAddress('10.96.12.34')).toBe('127.2.12.34');
    expect(desired([s], []).get('default/lb:443')).toMatchObject({
      listen: [
        { host: '10.96.12.34', port: 443 },
        { host: '127.0.1.1', port: 31443 },
        { host: '127.0.1.2', port: 31443 },
        { host: '127.2.12.34', port: 443 },
      ],
      endpoints: [],
      policy: 'least-connections',
      affinityTimeoutMs: 60_000,
      proxyProtocol: 'v2',
    });
  });

  it('skips headless and ExternalName Services, and ClusterIPs this proxy cannot serve', () => {
    const headless = service('h', { clusterIP: 'None', ports: [{ port: 80 }] });
    const external = service('x', {
      type: 'ExternalName',
      externalName: 'example.org',
      ports: [{ port: 80 }],
    });
    const plain = service('p', { clusterIP: '10.96.0.9', ports: [{ port: 80 }] });
    expect(
      desired([headless, external, plain], [], {
        ...context,
        clusterIPAddress: (): string | undefined => undefined,
      }).size,
    ).toBe(0);
    expect([...desired([headless, external, plain], []).keys()]).toEqual(['default/p:80']);
  });
});

describe('diffBalancers', () => {
  const base: BalancerSpec = {
    key: 'default/web:80',
    namespace: 'default',
    service: 'web',
    port: '80',
    listen: [{ host: '10.96.0.5', port: 80 }],
    endpoints: [{ host: '172.18.0.2', port: 8080 }],
    policy: 'round-robin',
    affinityTimeoutMs: 0,
  };
  const map = (...specs: BalancerSpec[]) => new Map(specs.map((s) => [s.key, s]));

  it('reports nothing when nothing changed', () => {
    expect(diffBalancers(map(base), map({ ...base, listen: [...base.listen] }))).toEqual({
      create: [],
      remove: [],
      change: [],
    });
  });

  it('creates new, removes gone, and changes only what differs', () => {
    const other = { ...base, key: 'default/other:80' };
    const next = {
      ...base,
      listen: [{ host: '127.0.1.1', port: 30001 }],
      endpoints: [...base.endpoints, { host: '172.18.0.3', port: 8080 }],
    };
    const diff = diffBalancers(map(base, other), map(next, { ...base, key: 'default/new:80' }));
    expect(diff.create.map((s) => s.key)).toEqual(['default/new:80']);
    expect(diff.remove).toEqual(['default/other:80']);
    expect(diff.change).toEqual([
      {
        key: 'default/web:80',
        spec: next,
        listen: [{ host: '127.0.1.1', port: 30001 }],
        unlisten: [{ host: '10.96.0.5', port: 80 }],
        endpointsChanged: true,
        optionsChanged: false,
      },
    ]);
  });

  it('notices an endpoint set that only changed order or options', () => {
    const two = { ...base, endpoints: [...base.endpoints, { host: '172.18.0.3', port: 8080 }] };
    const swapped = { ...two, endpoints: [...two.endpoints].reverse() };
    expect(diffBalancers(map(two), map(swapped)).change[0].endpointsChanged).toBe(true);
    const sticky = { ...base, affinityTimeoutMs: 1000 };
    expect(diffBalancers(map(base), map(sticky)).change[0]).toMatchObject({
      optionsChanged: true,
      endpointsChanged: false,
    });
  });
});
