/**
 * The Endpoints controller: for every Service with a selector, an Endpoints object of the
 * same name listing the pods it selects, ready ones under `addresses`, the others under
 * `notReadyAddresses`, grouped into subsets by identical port sets (a named targetPort
 * resolves per pod, so pods that number a port differently land in different subsets), as
 * Kubernetes' endpoints controller does. Services without a selector keep whatever Endpoints
 * their owner writes. Writes happen only when the content changes.
 *
 * The same sync also writes the Service's EndpointSlices (slices.ts): Kubernetes runs a
 * second controller for them, but both are a function of the same Service and pods, and one
 * pass keeps one index of Services and pods instead of two.
 */
import {
  ApiError,
  EndpointAddress,
  EndpointPort,
  Endpoints,
  EndpointSlice,
  EndpointSubset,
  objectKey,
  Pod,
  Selector,
  selectorFromLabelSelector,
  Service,
  ServicePort,
  splitObjectKey,
} from '../../api';
import { EventRecorder, Informer, WorkQueue } from '../../client';
import { logger } from '../../util/log';
import { Controller, ControllerContext } from '../context';
import { desiredSlices, MANAGED_BY, MANAGED_BY_LABEL, SERVICE_NAME_LABEL, sameSlice } from './slices';

export interface EndpointsControllerOptions {
  workers?: number;
}

/** Kubernetes labels the Endpoints of a headless Service so proxies can skip it. */
const HEADLESS_LABEL = 'service.kubernetes.io/headless';

const log = logger('endpoints-controller');

export function podIsReady(pod: Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * The container port a service port targets on this pod: a number as is, a name looked up
 * among the pod's container ports of the same protocol, none when the name is not there.
 */
export function resolveTargetPort(pod: Pod, port: ServicePort): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = port.protocol ?? 'TCP';
  for (const container of pod.spec.containers) {
    for (const containerPort of container.ports ?? []) {
      if (containerPort.name === target && (containerPort.protocol ?? 'TCP') === protocol) {
        return containerPort.containerPort;
      }
    }
  }
  return undefined;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function portKey(port: EndpointPort): string {
  return `${port.name ?? ''}\u0000${port.port}\u0000${port.protocol ?? 'TCP'}`;
}

function addressKey(address: EndpointAddress): string {
  return `${address.ip}\u0000${address.targetRef?.uid ?? ''}`;
}

/**
 * Subsets in one canonical form (sorted addresses, ports and subsets, no empty lists), so two
 * equal contents compare equal whatever order they were built or stored in.
 */
export function canonicalSubsets(subsets: readonly EndpointSubset[] | undefined): EndpointSubset[] {
  const out: EndpointSubset[] = [];
  for (const subset of subsets ?? []) {
    const canonical: EndpointSubset = {};
    const addresses = [...(subset.addresses ?? [])].sort((a, b) => compare(addressKey(a), addressKey(b)));
    const notReady = [...(subset.notReadyAddresses ?? [])].sort((a, b) =>
      compare(addressKey(a), addressKey(b)),
    );
    const ports = [...(subset.ports ?? [])].sort((a, b) => compare(portKey(a), portKey(b)));
    if (addresses.length > 0) canonical.addresses = addresses.map(canonicalAddress);
    if (notReady.length > 0) canonical.notReadyAddresses = notReady.map(canonicalAddress);
    if (ports.length > 0) canonical.ports = ports.map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' }));
    if (canonical.addresses || canonical.notReadyAddresses) out.push(canonical);
  }
  const subsetKey = (s: EndpointSubset) => (s.ports ?? []).map(portKey).join('\u0001');
  return out.sort((a, b) => compare(subsetKey(a), subsetKey(b)));
}

function canonicalAddress(address: EndpointAddress): EndpointAddress {
  const out: EndpointAddress = { ip: address.ip };
  if (address.hostname) out.hostname = address.hostname;
  if (address.nodeName) out.nodeName = address.nodeName;
  if (address.targetRef) {
    const { kind, namespace, name, uid } = address.targetRef;
    out.targetRef = { kind, namespace, name, uid };
  }
  return out;
}

/** The subsets a Service's pods make, as Kubernetes' endpoints controller computes them. */
export function computeSubsets(service: Service, pods: readonly Pod[]): EndpointSubset[] {
  const publishNotReady = service.spec.publishNotReadyAddresses === true;
  const bySet = new Map<string, EndpointSubset>();
  for (const pod of pods) {
    const ip = pod.status?.podIP;
    if (!ip) continue;
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    // A terminating pod is on its way out, unless the Service asks for every pod it selects.
    if (pod.metadata.deletionTimestamp && !publishNotReady) continue;
    const ports: EndpointPort[] = [];
    for (const servicePort of service.spec.ports ?? []) {
      const port = resolveTargetPort(pod, servicePort);
      if (port === undefined) continue;
      const endpointPort: EndpointPort = { port, protocol: servicePort.protocol ?? 'TCP' };
      if (servicePort.name) endpointPort.name = servicePort.name;
      if (servicePort.appProtocol) endpointPort.appProtocol = servicePort.appProtocol;
      ports.push(endpointPort);
    }
    // A pod none of whose ports resolve serves nothing of this Service.
    if ((service.spec.ports ?? []).length > 0 && ports.length === 0) continue;
    ports.sort((a, b) => compare(portKey(a), portKey(b)));
    const address: EndpointAddress = {
      ip,
      targetRef: {
        kind: 'Pod',
        namespace: pod.metadata.namespace,
        name: pod.metadata.name,
        uid: pod.metadata.uid,
      },
    };
    if (pod.spec.nodeName) address.nodeName = pod.spec.nodeName;
    if (pod.spec.hostname && pod.spec.subdomain === service.metadata.name)
      address.hostname = pod.spec.hostname;
    const key = ports.map(portKey).join('\u0001');
    let subset = bySet.get(key);
    if (!subset) {
      subset = { ports };
      bySet.set(key, subset);
    }
    if (publishNotReady || podIsReady(pod)) (subset.addresses ??= []).push(address);
    else (subset.notReadyAddresses ??= []).push(address);
  }
  return canonicalSubsets([...bySet.values()]);
}

function hasSelector(service: Service): boolean {
  return Object.keys(service.spec?.selector ?? {}).length > 0;
}

function endpointLabels(service: Service): Record<string, string> {
  const labels: Record<string, string> = { ...service.metadata.labels };
  if (service.spec.clusterIP === 'None') labels[HEADLESS_LABEL] = '';
  else delete labels[HEADLESS_LABEL];
  return labels;
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const left = a ?? {};
  const keys = Object.keys(left);
  return keys.length === Object.keys(b).length && keys.every((k) => left[k] === b[k]);
}

/** What about a pod matters to Endpoints; an update that changes none of it enqueues nothing. */
function endpointView(pod: Pod): string {
  return JSON.stringify([
    pod.metadata.labels ?? {},
    pod.status?.podIP ?? '',
    podIsReady(pod),
    pod.status?.phase ?? '',
    pod.metadata.deletionTimestamp ?? '',
    pod.spec.nodeName ?? '',
    pod.spec.hostname ?? '',
    pod.spec.subdomain ?? '',
    pod.spec.containers.map((c) => c.ports ?? []),
  ]);
}

export class EndpointsController implements Controller {
  readonly name = 'endpoints';
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly endpoints: Informer<Endpoints>;
  private readonly slices: Informer<EndpointSlice>;
  /**
   * resourceVersions of slices this controller wrote whose watch event has not come back yet.
   * Re-syncing on them would compare against an Endpoints cache that may not have this sync's
   * own Endpoints write yet, and send a stale update.
   */
  private readonly ownSliceWrites = new Set<string>();
  private readonly queue = new WorkQueue();
  private readonly recorder: EventRecorder;
  /** namespace → service name → selector, so a pod change looks only at its namespace's Services. */
  private readonly selectors = new Map<string, Map<string, Selector>>();
  /** namespace → pod keys, so a sync lists only its namespace's pods. */
  private readonly podsByNamespace = new Map<string, Set<string>>();
  /**
   * Services seen deleted (or missing at start) whose Endpoints are to go. Endpoints without
   * a Service are otherwise left alone: a user may create them before their selector-less Service.
   */
  private readonly serviceGone = new Set<string>();

  constructor(
    private readonly context: ControllerContext,
    private readonly options: EndpointsControllerOptions = {},
  ) {
    this.recorder = context.recorder('endpoint-controller');
    this.services = context.informers.informer('Service');
    this.pods = context.informers.informer('Pod');
    this.endpoints = context.informers.informer('Endpoints');
    this.slices = context.informers.informer('EndpointSlice');
    this.services.addHandlers({
      add: (service) => this.serviceChanged(service),
      update: (_old, service) => this.serviceChanged(service),
      delete: (service) => {
        this.selectors.get(service.metadata.namespace!)?.delete(service.metadata.name!);
        this.serviceGone.add(objectKey(service));
        this.queue.add(objectKey(service));
      },
    });
    this.pods.addHandlers({
      add: (pod) => {
        this.indexPod(pod, true);
        this.enqueueServicesOf(pod);
      },
      update: (old, pod) => {
        if (old.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        if (endpointView(old) === endpointView(pod)) return;
        this.enqueueServicesOf(pod, old);
      },
      delete: (pod) => {
        this.indexPod(pod, false);
        this.enqueueServicesOf(pod);
      },
    });
    // Endpoints changed or deleted by someone else are put back.
    this.endpoints.addHandlers({
      add: (endpoints) => {
        if (this.serviceGone.has(objectKey(endpoints))) this.queue.add(objectKey(endpoints));
      },
      update: (old, endpoints) => {
        if (old.metadata.resourceVersion !== endpoints.metadata.resourceVersion)
          this.queue.add(objectKey(endpoints));
      },
      delete: (endpoints) => this.queue.add(objectKey(endpoints)),
    });
    // So are the slices this controller manages; its own writes coming back are not news.
    const enqueueSlice = (slice: EndpointSlice) => {
      if (this.ownSliceWrites.delete(slice.metadata.resourceVersion!)) return;
      const labels = slice.metadata.labels ?? {};
      const service = labels[SERVICE_NAME_LABEL];
      if (labels[MANAGED_BY_LABEL] === MANAGED_BY && service)
        this.queue.add(`${slice.metadata.namespace}/${service}`);
    };
    this.slices.addHandlers({
      update: (old, slice) => {
        if (old.metadata.resourceVersion !== slice.metadata.resourceVersion) enqueueSlice(slice);
      },
      delete: enqueueSlice,
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    // Services deleted while no controller ran leave their Endpoints behind: one pass at start.
    for (const endpoints of this.endpoints.list()) {
      const key = objectKey(endpoints);
      if (!this.services.get(key)) {
        this.serviceGone.add(key);
        this.queue.add(key);
      }
    }
    const stop = () => this.queue.shutDown();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await this.queue.run(
        this.options.workers ?? 2,
        (key) => this.sync(key),
        (key, error) =>
          log.warn('endpoints sync failed; retrying', { service: key, error: (error as Error).message }),
      );
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  private serviceChanged(service: Service): void {
    const namespace = service.metadata.namespace!;
    let selectors = this.selectors.get(namespace);
    if (!selectors) this.selectors.set(namespace, (selectors = new Map()));
    if (hasSelector(service))
      selectors.set(
        service.metadata.name!,
        selectorFromLabelSelector({ matchLabels: service.spec.selector }),
      );
    else selectors.delete(service.metadata.name!);
    this.queue.add(objectKey(service));
  }

  private indexPod(pod: Pod, present: boolean): void {
    const namespace = pod.metadata.namespace!;
    let keys = this.podsByNamespace.get(namespace);
    if (present) {
      if (!keys) this.podsByNamespace.set(namespace, (keys = new Set()));
      keys.add(objectKey(pod));
    } else if (keys) {
      keys.delete(objectKey(pod));
      if (keys.size === 0) this.podsByNamespace.delete(namespace);
    }
  }

  /** Every Service that selects the pod now or selected it before the change. */
  private enqueueServicesOf(pod: Pod, old?: Pod): void {
    const namespace = pod.metadata.namespace!;
    for (const [name, selector] of this.selectors.get(namespace) ?? []) {
      if (selector.matches(pod.metadata.labels ?? {}) || (old && selector.matches(old.metadata.labels ?? {})))
        this.queue.add(`${namespace}/${name}`);
    }
  }

  private podsOf(namespace: string, selector: Selector): Pod[] {
    const out: Pod[] = [];
    for (const key of this.podsByNamespace.get(namespace) ?? []) {
      const pod = this.pods.get(key);
      if (pod && selector.matches(pod.metadata.labels ?? {})) out.push(pod);
    }
    return out;
  }

  /** The slices this controller wrote for a Service, by the port set they hold. */
  private slicesOf(service: Service): EndpointSlice[] {
    return this.slices
      .list()
      .filter(
        (slice) =>
          slice.metadata.namespace === service.metadata.namespace &&
          slice.metadata.labels?.[SERVICE_NAME_LABEL] === service.metadata.name &&
          slice.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY &&
          slice.metadata.ownerReferences?.some((owner) => owner.uid === service.metadata.uid),
      );
  }

  private async syncSlices(service: Service, pods: readonly Pod[]): Promise<void> {
    const client = this.context.client.resource('EndpointSlice');
    const namespace = service.metadata.namespace!;
    const current = new Map(this.slicesOf(service).map((slice) => [slice.metadata.name!, slice]));
    for (const desired of desiredSlices(service, pods)) {
      const existing = current.get(desired.metadata.name!);
      current.delete(desired.metadata.name!);
      if (existing && sameSlice(existing, desired)) continue;
      try {
        const written = existing
          ? await client.update({
              ...existing,
              metadata: { ...existing.metadata, labels: desired.metadata.labels },
              endpoints: desired.endpoints,
              ports: desired.ports,
            })
          : await client.create(desired);
        const version = written.metadata.resourceVersion!;
        // Unless its event came back while the write was answered.
        const cached = this.slices.get(objectKey(written))?.metadata.resourceVersion;
        if (cached === undefined || Number(cached) < Number(version)) this.ownSliceWrites.add(version);
      } catch (error) {
        // A namespace being deleted refuses new objects: nothing to publish there any more.
        if (error instanceof ApiError && error.code === 403 && !existing) return;
        throw error;
      }
    }
    // Port sets no pod serves any more.
    for (const stale of current.values()) {
      try {
        await client.delete(namespace, stale.metadata.name!, { preconditions: { uid: stale.metadata.uid } });
      } catch (error) {
        if (!(error instanceof ApiError && (error.code === 404 || error.code === 409))) throw error;
      }
    }
  }

  private async sync(key: string): Promise<void> {
    const { namespace, name } = splitObjectKey(key);
    const client = this.context.client.resource('Endpoints');
    const service = this.services.get(key);
    const current = this.endpoints.get(key);
    if (!service) {
      // Not in the cache yet: its add event brings the key back.
      if (!current) return;
      if (!this.serviceGone.has(key)) return;
      try {
        await client.delete(namespace, name, { preconditions: { uid: current.metadata.uid } });
      } catch (error) {
        if (!(error instanceof ApiError && (error.code === 404 || error.code === 409))) throw error;
      }
      this.serviceGone.delete(key);
      return;
    }
    this.serviceGone.delete(key);
    if (service.spec.type === 'ExternalName') return;
    if (!hasSelector(service)) return;
    const selector = selectorFromLabelSelector({ matchLabels: service.spec.selector });
    const pods = this.podsOf(namespace, selector);
    await this.syncSlices(service, pods);
    const subsets = computeSubsets(service, pods);
    const labels = endpointLabels(service);
    if (
      current &&
      sameLabels(current.metadata.labels, labels) &&
      JSON.stringify(canonicalSubsets(current.subsets)) === JSON.stringify(subsets)
    ) {
      return;
    }
    try {
      if (current) {
        await client.update({
          ...current,
          metadata: { ...current.metadata, labels },
          subsets,
        });
      } else {
        await client.create({
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name, namespace, labels },
          subsets,
        } as Endpoints);
      }
    } catch (error) {
      // A namespace being deleted refuses new objects: nothing to publish there any more.
      if (error instanceof ApiError && error.code === 403 && !current) return;
      if (error instanceof ApiError && (error.code === 409 || error.code === 404)) {
        // The cache is behind: this key comes back with the newer object.
        throw error;
      }
      this.recorder.event(
        service,
        'Warning',
        'FailedToUpdateEndpoint',
        `Failed to update endpoint ${key}: ${(error as Error).message}`,
      );
      throw error;
    }
  }
}
