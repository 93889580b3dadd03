/**
 * EndpointSlices of a Service, as Kubernetes' EndpointSlice controller writes them: one slice
 * per set of resolved ports, every pod the Service selects as an endpoint with its
 * ready/serving/terminating conditions, labelled with the Service's name and owned by the
 * Service (so the garbage collector removes them with it). kubectl 1.32 reads a Service's
 * endpoints from these (`kubectl describe service`), not from Endpoints.
 *
 * Kubernetes names slices with generateName and remembers what it created; bosun derives the
 * random-looking suffix from the Service's uid and the port set instead, so a controller
 * whose cache lags (or a new leader's) re-creating a slice hits AlreadyExists, never a twin.
 */
import { createHash } from 'crypto';
import { Endpoint, EndpointSlice, EndpointSlicePort, generateName, Pod, Service } from '../../api';
import { podIsReady, resolveTargetPort } from './endpoints';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'endpointslice-controller.k8s.io';
const HEADLESS_LABEL = 'service.kubernetes.io/headless';

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function portsKey(ports: readonly EndpointSlicePort[]): string {
  return ports.map((p) => `${p.name ?? ''}/${p.port ?? ''}/${p.protocol ?? 'TCP'}`).join(',');
}

/** A stable stand-in for generateName's random source: the bytes of a hash, one per call. */
function hashedRandom(seed: string): () => number {
  const bytes = createHash('sha256').update(seed).digest();
  let next = 0;
  return () => bytes[next++ % bytes.length] / 256;
}

export function sliceLabels(service: Service): Record<string, string> {
  const labels: Record<string, string> = { ...service.metadata.labels };
  if (service.spec.clusterIP === 'None') labels[HEADLESS_LABEL] = '';
  else delete labels[HEADLESS_LABEL];
  labels[SERVICE_NAME_LABEL] = service.metadata.name!;
  labels[MANAGED_BY_LABEL] = MANAGED_BY;
  return labels;
}

function endpointOf(service: Service, pod: Pod, ip: string): Endpoint {
  const publishNotReady = service.spec.publishNotReadyAddresses === true;
  const terminating = pod.metadata.deletionTimestamp !== undefined;
  const serving = podIsReady(pod) || publishNotReady;
  const endpoint: Endpoint = {
    addresses: [ip],
    conditions: { ready: publishNotReady || (serving && !terminating), serving, terminating },
    targetRef: {
      kind: 'Pod',
      namespace: pod.metadata.namespace,
      name: pod.metadata.name,
      uid: pod.metadata.uid,
    },
  };
  if (pod.spec.hostname && pod.spec.subdomain === service.metadata.name)
    endpoint.hostname = pod.spec.hostname;
  if (pod.spec.nodeName) endpoint.nodeName = pod.spec.nodeName;
  return endpoint;
}

/** The slices a Service's pods make, in a canonical order (so equal contents compare equal). */
export function desiredSlices(service: Service, pods: readonly Pod[]): EndpointSlice[] {
  const byPorts = new Map<string, { ports: EndpointSlicePort[]; endpoints: Endpoint[] }>();
  for (const pod of pods) {
    const ip = pod.status?.podIP;
    if (!ip || ip.includes(':')) continue;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const ports: EndpointSlicePort[] = [];
    for (const servicePort of service.spec.ports ?? []) {
      const port = resolveTargetPort(pod, servicePort);
      if (port === undefined) continue;
      const slicePort: EndpointSlicePort = {
        name: servicePort.name ?? '',
        port,
        protocol: servicePort.protocol ?? 'TCP',
      };
      if (servicePort.appProtocol) slicePort.appProtocol = servicePort.appProtocol;
      ports.push(slicePort);
    }
    if ((service.spec.ports ?? []).length > 0 && ports.length === 0) continue;
    ports.sort((a, b) => compare(a.name ?? '', b.name ?? ''));
    const key = portsKey(ports);
    let group = byPorts.get(key);
    if (!group) byPorts.set(key, (group = { ports, endpoints: [] }));
    group.endpoints.push(endpointOf(service, pod, ip));
  }
  // A Service that selects nothing still has one (empty) slice of its ports, as in Kubernetes.
  if (byPorts.size === 0) byPorts.set('', { ports: [], endpoints: [] });
  const name = service.metadata.name!;
  return [...byPorts.entries()]
    .sort(([a], [b]) => compare(a, b))
    .map(([key, group]) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: generateName(`${name}-`, hashedRandom(`${service.metadata.uid}/${key}`)),
        namespace: service.metadata.namespace,
        labels: sliceLabels(service),
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'Service',
            name,
            uid: service.metadata.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      addressType: 'IPv4',
      endpoints: group.endpoints.sort((a, b) => compare(a.addresses[0], b.addresses[0])),
      ports: group.ports,
    }));
}

/** Whether an existing slice already says what a desired one says. */
export function sameSlice(current: EndpointSlice, desired: EndpointSlice): boolean {
  const view = (slice: EndpointSlice) =>
    JSON.stringify([
      Object.entries(slice.metadata.labels ?? {}).sort(([a], [b]) => compare(a, b)),
      [...(slice.endpoints ?? [])].sort((a, b) => compare(a.addresses[0] ?? '', b.addresses[0] ?? '')),
      slice.ports ?? [],
    ]);
  return view(current) === view(desired);
}
