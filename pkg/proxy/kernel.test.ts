import { Endpoints, Service } from '../api';
import { chainNames, countersByComment, KernelRoute, kernelRoutes, natRules } from './kernel';
import { desiredBalancers } from './listeners';

function service(name: string, spec: Service['spec'], annotations?: Record<string, string>): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default', annotations }, spec };
}

const kernel = { 'bosun.dev/proxy-mode': 'kernel' };
const webEndpoints: Endpoints = {
  apiVersion: 'v1',
  kind: 'Endpoints',
  metadata: { name: 'web', namespace: 'default' },
  subsets: [
    {
      addresses: [{ ip: '172.18.0.2' }, { ip: '172.18.0.3' }, { ip: '172.18.0.4' }],
      notReadyAddresses: [{ ip: '172.18.0.9' }],
      ports: [{ name: 'http', port: 8080 }],
    },
  ],
};
const endpointsOf = (_ns: string, name: string) => (name === 'web' ? webEndpoints : undefined);

function route(overrides: Partial<KernelRoute> = {}): KernelRoute {
  return {
    key: 'default/web:http',
    namespace: 'default',
    service: 'web',
    port: 'http',
    clusterIP: '10.96.3.4',
    servicePort: 80,
    endpoints: [
      { host: '172.18.0.2', port: 8080 },
      { host: '172.18.0.3', port: 8080 },
      { host: '172.18.0.4', port: 8080 },
    ],
    affinitySeconds: 0,
    ...overrides,
  };
}

const names = chainNames('br-0123456789ab');
const lines = (text: string) => text.split('\n');

describe('which Service ports are forwarded in the kernel', () => {
  const web = (annotations?: Record<string, string>, spec: Partial<NonNullable<Service['spec']>> = {}) =>
    service(
      'web',
      {
        clusterIP: '10.96.3.4',
        type: 'NodePort',
        ports: [
          { name: 'http', port: 80, targetPort: 'http', nodePort: 30080 },
          { name: 'dns', port: 53, protocol: 'UDP' },
        ],
        ...spec,
      },
      annotations,
    );

  it.each([
    ['no annotation', web(), 0],
    ['another mode', web({ 'bosun.dev/proxy-mode': 'userspace' }), 0],
    [
      'the PROXY protocol (only the relay can write its header)',
      web({ ...kernel, 'bosun.dev/proxy-protocol': 'v1' }),
      0,
    ],
    ['a headless Service', web(kernel, { clusterIP: 'None' }), 0],
    ['an ExternalName Service', web(kernel, { type: 'ExternalName', externalName: 'example.org' }), 0],
    ['kernel mode: its TCP ports only', web(kernel), 1],
  ])('%s', (_what, svc, count) => {
    expect(kernelRoutes([svc], endpointsOf)).toHaveLength(count);
  });

  it('takes the ready endpoints of each port and the ClientIP affinity timeout', () => {
    const [r] = kernelRoutes([web(kernel, { sessionAffinity: 'ClientIP' })], endpointsOf);
    expect(r).toEqual(route({ affinitySeconds: 10_800 }));
  });

  it('leaves a kernel-mode ClusterIP to the kernel, and keeps its NodePorts in the relay', () => {
    const context = { nodeAddresses: ['127.0.1.1'], clusterIPAddress: (ip: string) => ip };
    const relayed = desiredBalancers([web(kernel)], endpointsOf, { ...context, kernelForwarding: true });
    expect(relayed.get('default/web:http')?.listen).toEqual([{ host: '127.0.1.1', port: 30080 }]);
    // Without kernel forwarding (not root), the annotation changes nothing.
    const plain = desiredBalancers([web(kernel)], endpointsOf, context);
    expect(plain.get('default/web:http')?.listen).toEqual([
      { host: '10.96.3.4', port: 80 },
      { host: '127.0.1.1', port: 30080 },
    ]);
  });
});

describe('nat rules', () => {
  it('names chains per bridge, within iptables’ 28 characters', () => {
    expect(names.prefix).toMatch(/^BSN-[0-9A-F]{6}$/);
    expect(chainNames('br-ffffffffffff').prefix).not.toBe(names.prefix);
    const longest = names.endpoint('default/a-very-long-service-name:https', {
      host: '172.18.0.2',
      port: 8443,
    });
    expect(longest.length).toBeLessThanOrEqual(28);
  });

  it('sends each new connection to one endpoint with equal odds, marked for masquerade when a pod made it', () => {
    const text = natRules('br-0123456789ab', '172.18.0.0/16', [route()]);
    const service = names.service('default/web:http');
    const [e1, e2, e3] = route().endpoints.map((e) => names.endpoint('default/web:http', e));
    expect(lines(text)).toEqual([
      '*nat',
      `:${names.services} - [0:0]`,
      `:${names.postrouting} - [0:0]`,
      `:${service} - [0:0]`,
      `:${e1} - [0:0]`,
      `:${e2} - [0:0]`,
      `:${e3} - [0:0]`,
      `-A ${names.postrouting} -m mark --mark 0x4000/0x4000 -j MASQUERADE`,
      `-A ${names.services} -d 10.96.3.4/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http" -j ${service}`,
      `-A ${service} -s 172.18.0.0/16 -j MARK --set-xmark 0x4000/0x4000`,
      `-A ${service} -m statistic --mode random --probability 0.3333333333 -j ${e1}`,
      `-A ${service} -m statistic --mode random --probability 0.5000000000 -j ${e2}`,
      `-A ${service} -j ${e3}`,
      `-A ${e1} -p tcp -m tcp -j DNAT --to-destination 172.18.0.2:8080`,
      `-A ${e2} -p tcp -m tcp -j DNAT --to-destination 172.18.0.3:8080`,
      `-A ${e3} -p tcp -m tcp -j DNAT --to-destination 172.18.0.4:8080`,
      'COMMIT',
      '',
    ]);
  });

  it('sends a client seen within the affinity timeout back to its endpoint', () => {
    const text = natRules('br-0123456789ab', '172.18.0.0/16', [route({ affinitySeconds: 60 })]);
    const service = names.service('default/web:http');
    const e1 = names.endpoint('default/web:http', route().endpoints[0]);
    const rules = lines(text);
    const check = rules.indexOf(
      `-A ${service} -m recent --name ${e1} --mask 255.255.255.255 --rsource --rcheck --seconds 60 --reap -j ${e1}`,
    );
    const pick = rules.findIndex((r) => r.startsWith(`-A ${service} -m statistic`));
    expect(check).toBeGreaterThan(0);
    // Remembered clients are matched before any new choice is made.
    expect(check).toBeLessThan(pick);
    expect(rules).toContain(`-A ${e1} -m recent --name ${e1} --mask 255.255.255.255 --rsource --set`);
  });

  it('gives a port without ready endpoints no rule, so its connections are refused', () => {
    const text = natRules('br-0123456789ab', '172.18.0.0/16', [route({ endpoints: [] })]);
    expect(text).not.toContain('--dport 80');
    expect(text).not.toContain('DNAT');
  });

  it('empties and deletes chains of ours that are no longer wanted, and only those', () => {
    const leaving = `${names.prefix}-SDEADBEEF0000`;
    const text = natRules('br-0123456789ab', '172.18.0.0/16', [route()], [names.services, leaving]);
    const rules = lines(text);
    expect(rules).toContain(`:${leaving} - [0:0]`);
    expect(rules.filter((r) => r.startsWith('-X '))).toEqual([`-X ${leaving}`]);
    // Deleted after every rule that could jump to it was replaced.
    const lastRule = Math.max(...rules.map((r, i) => (r.startsWith('-A ') ? i : -1)));
    expect(rules.indexOf(`-X ${leaving}`)).toBeGreaterThan(lastRule);
  });
});

describe('counters', () => {
  it('reads the packet count of each commented rule (nat sees a connection’s first packet only)', () => {
    const listing = [
      '-N BSN-0A1B2C',
      '-A BSN-0A1B2C -d 10.96.3.4/32 -p tcp -m tcp --dport 80 -m comment --comment "default/web:http" -c 312 18720 -j BSN-0A1B2C-S1',
      '-A BSN-0A1B2C -d 10.96.3.5/32 -p tcp -m tcp --dport 443 -m comment --comment default/api:443 -c 0 0 -j BSN-0A1B2C-S2',
    ].join('\n');
    expect(countersByComment(listing)).toEqual(
      new Map([
        ['default/web:http', 312],
        ['default/api:443', 0],
      ]),
    );
  });
});
