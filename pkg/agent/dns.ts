/**
 * A pod's resolver configuration, as the kubelet writes it. With cluster DNS (`dnsPolicy:
 * ClusterFirst`, the default), the pod's own namespace comes first in the search path, so `web`
 * means `web.<its namespace>.svc.<domain>`, then `svc.<domain>` (so `web.other` works) and
 * `<domain>`; ndots:5 makes the resolver try those before a name's absolute form. `Default`
 * leaves Docker's resolver (the host's); `None` uses only the pod's `dnsConfig`, which is
 * merged into the others as in Kubernetes.
 */
import { Pod } from '../api';
import { DNSConfig } from './runtime/types';

export interface ClusterDNS {
  /** The cluster DNS server's address (the bridge gateway, where `bosun proxy` listens). */
  server: string;
  /** e.g. cluster.local */
  domain: string;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

export function podDNSConfig(pod: Pod, cluster: ClusterDNS | undefined): DNSConfig | undefined {
  const policy = pod.spec.dnsPolicy ?? 'ClusterFirst';
  const extra = pod.spec.dnsConfig;
  const extraOptions = (extra?.options ?? []).map((o) =>
    o.value === undefined ? o.name! : `${o.name}:${o.value}`,
  );
  let base: DNSConfig | undefined;
  if (policy === 'None') base = { servers: [], searches: [], options: [] };
  else if (policy === 'Default' || !cluster || pod.spec.hostNetwork) base = undefined;
  else {
    const namespace = pod.metadata.namespace ?? 'default';
    base = {
      servers: [cluster.server],
      searches: [`${namespace}.svc.${cluster.domain}`, `svc.${cluster.domain}`, cluster.domain],
      options: ['ndots:5'],
    };
  }
  if (!extra) return base;
  const merged = base ?? { servers: [], searches: [], options: [] };
  // A dnsConfig option replaces the base option of the same name (ndots:2 beats ndots:5).
  const names = new Set(extraOptions.map((o) => o.split(':')[0]));
  return {
    servers: unique([...merged.servers, ...(extra.nameservers ?? [])]),
    searches: unique([...merged.searches, ...(extra.searches ?? [])]),
    options: [...merged.options.filter((o) => !names.has(o.split(':')[0])), ...extraOptions],
  };
}
