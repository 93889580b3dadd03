/**
 * What the service proxy should serve, computed from Services and Endpoints alone (no I/O):
 * one balancer per TCP Service port, the addresses it listens on (ClusterIP:port, every node
 * address at the NodePort, the LoadBalancer address at the port) and its ready endpoints.
 * The proxy diffs this against what it runs, so an Endpoints change only swaps endpoints and a
 * Service change only opens or closes the listeners that changed.
 */
import { Endpoints, Service, ServicePort } from '../api';
import { BalancePolicy, Endpoint } from './balancer';

/** `bosun.dev/load-balancer: least-connections` picks least-connections; round robin otherwise. */
export const LOAD_BALANCER_ANNOTATION = 'bosun.dev/load-balancer';
/** `bosun.dev/proxy-protocol: v1|v2` sends a PROXY protocol header to the endpoints. */
export const PROXY_PROTOCOL_ANNOTATION = 'bosun.dev/proxy-protocol';
/**
 * `bosun.dev/proxy-mode: kernel` forwards the Service's ClusterIP in the kernel (kernel.ts);
 * its NodePorts and LoadBalancer address stay here.
 */
export const PROXY_MODE_ANNOTATION = 'bosun.dev/proxy-mode';
/** Kubernetes' default ClientIP affinity timeout: 3 hours. */
export const DEFAULT_AFFINITY_SECONDS = 10_800;

export interface ListenAddress {
  host: string;
  port: number;
}

export interface BalancerSpec {
  /** `namespace/name:port` (the port's name, or its number when unnamed). */
  key: string;
  namespace: string;
  service: string;
  /** The Service port's name, or its number when it has none (the metrics' `port` label). */
  port: string;
  listen: ListenAddress[];
  endpoints: Endpoint[];
  policy: BalancePolicy;
  affinityTimeoutMs: number;
  proxyProtocol?: 'v1' | 'v2';
}

export interface ListenerContext {
  /** Addresses NodePorts are served on (each node's address). */
  nodeAddresses: string[];
  /**
   * Where a ClusterIP is served: the ClusterIP itself when it is a real host address, or
   * undefined when this proxy cannot serve it (it is then reachable by NodePort only).
   */
  clusterIPAddress(clusterIP: string): string | undefined;
  /** Whether kernel-mode Services' ClusterIPs are forwarded in the kernel (and not served here). */
  kernelForwarding?: boolean;
}

/**
 * The address a LoadBalancer Service's ingress gets: `127.2.C.D` for ClusterIP `A.B.C.D`, a
 * loopback address every Linux host already has (all of 127/8 is local), unique per Service
 * for a service CIDR of /16 or smaller (the default 10.96.0.0/16), and served at the Service's
 * own port.
 */
export function loadBalancerAddress(clusterIP: string): string | undefined {
  const match = /^\d+\.\d+\.(\d+)\.(\d+)$/.exec(clusterIP);
  return match ? `127.2.${match[1]}.${match[2]}` : undefined;
}

function portLabel(port: ServicePort): string {
  return port.name || String(port.port);
}

function annotationPolicy(service: Service): BalancePolicy {
  return service.metadata.annotations?.[LOAD_BALANCER_ANNOTATION] === 'least-connections'
    ? 'least-connections'
    : 'round-robin';
}

/** How long `sessionAffinity: ClientIP` keeps a client on its endpoint, in seconds (0: no affinity). */
export function clientIPAffinitySeconds(service: Service): number {
  const spec = service.spec;
  return spec?.sessionAffinity === 'ClientIP'
    ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS)
    : 0;
}

/**
 * Whether a Service's ClusterIP is forwarded in the kernel. One that asks for the PROXY
 * protocol never is: only the user-space relay can write the header.
 */
export function kernelMode(service: Service): boolean {
  const annotations = service.metadata.annotations ?? {};
  return annotations[PROXY_MODE_ANNOTATION] === 'kernel' && !annotations[PROXY_PROTOCOL_ANNOTATION];
}

function annotationProxyProtocol(service: Service): 'v1' | 'v2' | undefined {
  const value = service.metadata.annotations?.[PROXY_PROTOCOL_ANNOTATION];
  return value === 'v1' || value === 'v2' ? value : undefined;
}

/**
 * The ready endpoints of one Service port. The Endpoints object names its ports after the
 * Service's ports (unnamed when the Service has one unnamed port), and has already resolved a
 * named targetPort to each pod's own container port, which may differ between subsets.
 */
export function readyEndpoints(endpoints: Endpoints | undefined, port: ServicePort): Endpoint[] {
  const out: Endpoint[] = [];
  const seen = new Set<string>();
  for (const subset of endpoints?.subsets ?? []) {
    const target = (subset.ports ?? []).find(
      (p) => (p.name ?? '') === (port.name ?? '') && (p.protocol ?? 'TCP') === (port.protocol ?? 'TCP'),
    );
    if (!target) continue;
    for (const address of subset.addresses ?? []) {
      const key = `${address.ip}:${target.port}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ host: address.ip, port: target.port });
    }
  }
  return out;
}

/** Every balancer the given Services and Endpoints call for. */
/** One TCP port of a Service that has a ClusterIP, with what both proxy modes key it by. */
export interface ServicePortRef {
  service: Service;
  spec: NonNullable<Service['spec']>;
  clusterIP: string;
  port: ServicePort;
  /** `namespace/name:port` (the port's name, or its number when unnamed). */
  key: string;
  namespace: string;
  name: string;
  /** The port's name, or its number (the metrics' `port` label). */
  label: string;
  /** The ready endpoints of this port. */
  endpoints: Endpoint[];
}

/**
 * Every TCP port of the Services that have a ClusterIP: what the relay (`desiredBalancers`) and
 * the kernel forwarder (`kernelRoutes`) each turn into what they serve.
 */
export function* tcpServicePorts(
  services: Service[],
  endpointsOf: (namespace: string, name: string) => Endpoints | undefined,
): Generator<ServicePortRef> {
  for (const service of services) {
    const spec = service.spec;
    const clusterIP = spec?.clusterIP;
    // Headless Services are DNS only; ExternalName ones are a CNAME elsewhere.
    if (!spec || (spec.type ?? 'ClusterIP') === 'ExternalName' || !clusterIP || clusterIP === 'None')
      continue;
    const namespace = service.metadata.namespace ?? 'default';
    const name = service.metadata.name ?? '';
    const endpoints = endpointsOf(namespace, name);
    for (const port of spec.ports ?? []) {
      if ((port.protocol ?? 'TCP') !== 'TCP') continue;
      const label = portLabel(port);
      yield {
        service,
        spec,
        clusterIP,
        port,
        key: `${namespace}/${name}:${label}`,
        namespace,
        name,
        label,
        endpoints: readyEndpoints(endpoints, port),
      };
    }
  }
}

/** Every balancer the given Services and Endpoints call for. */
export function desiredBalancers(
  services: Service[],
  endpointsOf: (namespace: string, name: string) => Endpoints | undefined,
  context: ListenerContext,
): Map<string, BalancerSpec> {
  const out = new Map<string, BalancerSpec>();
  for (const { service, spec, clusterIP, port, key, namespace, name, label, endpoints } of tcpServicePorts(
    services,
    endpointsOf,
  )) {
    const type = spec.type ?? 'ClusterIP';
    const clusterAddress =
      context.kernelForwarding && kernelMode(service) ? undefined : context.clusterIPAddress(clusterIP);
    const listen: ListenAddress[] = [];
    if (clusterAddress) listen.push({ host: clusterAddress, port: port.port });
    if (port.nodePort && (type === 'NodePort' || type === 'LoadBalancer')) {
      for (const host of context.nodeAddresses) listen.push({ host, port: port.nodePort });
    }
    const lbAddress = type === 'LoadBalancer' ? loadBalancerAddress(clusterIP) : undefined;
    if (lbAddress) listen.push({ host: lbAddress, port: port.port });
    if (listen.length === 0) continue;
    out.set(key, {
      key,
      namespace,
      service: name,
      port: label,
      listen,
      endpoints,
      policy: annotationPolicy(service),
      affinityTimeoutMs: clientIPAffinitySeconds(service) * 1000,
      proxyProtocol: annotationProxyProtocol(service),
    });
  }
  return out;
}

const listenKey = (a: ListenAddress) => `${a.host}:${a.port}`;

export interface BalancerChange {
  key: string;
  spec: BalancerSpec;
  /** Addresses to start serving. */
  listen: ListenAddress[];
  /** Addresses to stop serving. */
  unlisten: ListenAddress[];
  endpointsChanged: boolean;
  optionsChanged: boolean;
}

export interface BalancerDiff {
  create: BalancerSpec[];
  remove: string[];
  change: BalancerChange[];
}

function sameEndpoints(a: Endpoint[], b: Endpoint[]): boolean {
  return a.length === b.length && a.every((e, i) => e.host === b[i].host && e.port === b[i].port);
}

/** What turns the balancers `current` runs into `desired`. Unchanged balancers are not mentioned. */
export function diffBalancers(
  current: ReadonlyMap<string, BalancerSpec>,
  desired: ReadonlyMap<string, BalancerSpec>,
): BalancerDiff {
  const diff: BalancerDiff = { create: [], remove: [], change: [] };
  for (const key of current.keys()) if (!desired.has(key)) diff.remove.push(key);
  for (const [key, spec] of desired) {
    const before = current.get(key);
    if (!before) {
      diff.create.push(spec);
      continue;
    }
    const had = new Set(before.listen.map(listenKey));
    const wants = new Set(spec.listen.map(listenKey));
    const change: BalancerChange = {
      key,
      spec,
      listen: spec.listen.filter((a) => !had.has(listenKey(a))),
      unlisten: before.listen.filter((a) => !wants.has(listenKey(a))),
      endpointsChanged: !sameEndpoints(before.endpoints, spec.endpoints),
      optionsChanged:
        before.policy !== spec.policy ||
        before.affinityTimeoutMs !== spec.affinityTimeoutMs ||
        before.proxyProtocol !== spec.proxyProtocol,
    };
    if (change.listen.length || change.unlisten.length || change.endpointsChanged || change.optionsChanged)
      diff.change.push(change);
  }
  return diff;
}
