import { Pod } from '../api';
import { podDNSConfig } from './dns';

function pod(spec: Partial<Pod['spec']> = {}, namespace = 'shop'): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace },
    spec: { containers: [{ name: 'c', image: 'x' }], ...spec },
  };
}

const cluster = { server: '172.18.0.1', domain: 'cluster.local' };

describe('podDNSConfig', () => {
  it('puts the pod’s own namespace first in the search path (ClusterFirst, the default)', () => {
    expect(podDNSConfig(pod(), cluster)).toEqual({
      servers: ['172.18.0.1'],
      searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local'],
      options: ['ndots:5'],
    });
    expect(podDNSConfig(pod({}, 'default'), cluster)!.searches[0]).toBe('default.svc.cluster.local');
  });

  it('leaves Docker’s resolver for Default, host networking, or without cluster DNS', () => {
    expect(podDNSConfig(pod({ dnsPolicy: 'Default' }), cluster)).toBeUndefined();
    expect(podDNSConfig(pod({ hostNetwork: true }), cluster)).toBeUndefined();
    expect(podDNSConfig(pod(), undefined)).toBeUndefined();
  });

  it('merges dnsConfig, its options replacing those of the same name; None uses only it', () => {
    const dnsConfig = {
      nameservers: ['192.0.2.53'],
      searches: ['example.org'],
      options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
    };
    expect(podDNSConfig(pod({ dnsConfig }), cluster)).toEqual({
      servers: ['172.18.0.1', '192.0.2.53'],
      searches: ['shop.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'example.org'],
      options: ['ndots:2', 'edns0'],
    });
    expect(podDNSConfig(pod({ dnsPolicy: 'None', dnsConfig }), cluster)).toEqual({
      servers: ['192.0.2.53'],
      searches: ['example.org'],
      options: ['ndots:2', 'edns0'],
    });
  });
});
