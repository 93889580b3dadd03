/**
 * Defaulting, as Kubernetes' pkg/apis/core/v1/defaults.go and pkg/apis/apps/v1/defaults.go:
 * the values the apiserver fills in before validation and storage.
 *
 * `applyDefaults` is pure: it returns a defaulted deep copy and never touches its argument.
 * Pod templates inside Deployments, ReplicaSets and StatefulSets get the PodSpec defaults;
 * the Pod-only ones (requests copied from limits, enableServiceLinks) apply to Pods only, as
 * in Kubernetes. Resource quantities are rounded up to milli precision and written in
 * canonical form (`0.5` becomes `500m`), which is what the apiserver stores.
 *
 * A few things are done here that Kubernetes does elsewhere on every create (its registry
 * strategies and conversion), so that a defaulted object is what would be stored: a
 * namespaced object without a namespace goes to `default` and a cluster-scoped one loses its
 * namespace; a Service's `clusterIPs` is filled from `clusterIP` (validation requires them to
 * agree); a Secret's write-only `stringData` is merged into `data`, base64-encoded.
 */
import { tryParseQuantity } from './quantity';
import type {
  Container,
  Deployment,
  KubeObject,
  Namespace,
  Node,
  PersistentVolumeClaim,
  Pod,
  PodSpec,
  Probe,
  ReplicaSet,
  ResourceList,
  Secret,
  Service,
  StatefulSet,
  Volume,
  EphemeralContainer,
} from './types';
import { VolumeSourceNames } from './types';
import { isNamespacedKind } from './registry';

export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';
export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;
export const DEFAULT_TERMINATION_MESSAGE_PATH = '/dev/termination-log';
/** 0644: the file mode of configMap, secret, projected and downwardAPI volume files. */
export const DEFAULT_VOLUME_FILE_MODE = 0o644;
export const DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800;
/** The label every namespace carries with its own name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/** A defaulted deep copy of `object`. */
export function applyDefaults<T extends KubeObject>(object: T): T {
  const copy = structuredClone(object);
  if (!isNamespacedKind(copy.kind)) delete copy.metadata.namespace;
  else if (!copy.metadata.namespace) copy.metadata.namespace = DEFAULT_NAMESPACE;
  defaultObject(copy);
  return copy;
}

function defaultObject(object: KubeObject): void {
  switch (object.kind) {
    case 'Pod':
      return defaultPod(object);
    case 'Service':
      return defaultService(object);
    case 'Secret':
      return defaultSecret(object);
    case 'Namespace':
      return defaultNamespace(object);
    case 'Node':
      return defaultNode(object);
    case 'Endpoints':
      for (const subset of object.subsets ?? [])
        for (const port of subset.ports ?? []) port.protocol ||= 'TCP';
      return;
    case 'EndpointSlice':
      // Kubernetes defaults a port's name to "" and its protocol to TCP.
      for (const port of object.ports ?? []) {
        port.name ??= '';
        port.protocol ||= 'TCP';
      }
      return;
    case 'Deployment':
      return defaultDeployment(object);
    case 'ReplicaSet':
      return defaultReplicaSet(object);
    case 'StatefulSet':
      return defaultStatefulSet(object);
    case 'ConfigMap':
    case 'Event':
    case 'Binding':
    case 'Lease':
      return;
    default:
      return assertNever(object);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled kind ${JSON.stringify(value)}`);
}

// ---- Pods ----

function defaultPod(pod: Pod): void {
  defaultPodSpec(pod.spec);
  // Only on Pods, not on templates: a Deployment's template keeps requests unset.
  for (const container of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])]) {
    const limits = container.resources?.limits;
    if (!limits) continue;
    const resources = (container.resources ??= {});
    const requests = (resources.requests ??= {});
    for (const [name, value] of Object.entries(limits)) if (!(name in requests)) requests[name] = value;
  }
  pod.spec.enableServiceLinks ??= true;
  if (pod.spec.hostNetwork) defaultHostNetworkPorts(pod.spec);
}

export function defaultPodSpec(spec: PodSpec): void {
  spec.dnsPolicy ||= 'ClusterFirst';
  spec.restartPolicy ||= 'Always';
  spec.securityContext ??= {};
  spec.terminationGracePeriodSeconds ??= DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS;
  spec.schedulerName ||= DEFAULT_SCHEDULER_NAME;
  for (const volume of spec.volumes ?? []) defaultVolume(volume);
  const containers: (Container | EphemeralContainer)[] = [
    ...spec.containers,
    ...(spec.initContainers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ];
  for (const container of containers) defaultContainer(container);
  if (spec.overhead) roundResourceList(spec.overhead);
  if (spec.resources) {
    if (spec.resources.limits) roundResourceList(spec.resources.limits);
    if (spec.resources.requests) roundResourceList(spec.resources.requests);
  }
}

/** With hostNetwork the container port is the host port. */
function defaultHostNetworkPorts(spec: PodSpec): void {
  for (const container of [...spec.containers, ...(spec.initContainers ?? [])]) {
    for (const port of container.ports ?? []) if (!port.hostPort) port.hostPort = port.containerPort;
  }
}

function defaultContainer(container: Container | EphemeralContainer): void {
  container.imagePullPolicy ||= imageTag(container.image ?? '') === 'latest' ? 'Always' : 'IfNotPresent';
  container.terminationMessagePath ||= DEFAULT_TERMINATION_MESSAGE_PATH;
  container.terminationMessagePolicy ||= 'File';
  for (const port of container.ports ?? []) port.protocol ||= 'TCP';
  for (const env of container.env ?? []) {
    const fieldRef = env.valueFrom?.fieldRef;
    if (fieldRef) fieldRef.apiVersion ||= 'v1';
  }
  for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe]) {
    if (probe) defaultProbe(probe);
  }
  for (const handler of [container.lifecycle?.postStart, container.lifecycle?.preStop]) {
    if (handler?.httpGet) {
      handler.httpGet.path ||= '/';
      handler.httpGet.scheme ||= 'HTTP';
    }
  }
  if (container.resources?.limits) roundResourceList(container.resources.limits);
  if (container.resources?.requests) roundResourceList(container.resources.requests);
}

/**
 * The tag of an image reference, as Kubernetes' ParseImageName sees it: `latest` when there
 * is neither a tag nor a digest, '' when there is only a digest.
 */
export function imageTag(image: string): string {
  const [name, digest] = image.split('@', 2);
  const lastSlash = name.lastIndexOf('/');
  const colon = name.indexOf(':', lastSlash + 1);
  if (colon >= 0) return name.slice(colon + 1);
  return digest === undefined ? 'latest' : '';
}

function defaultProbe(probe: Probe): void {
  // Kubernetes treats 0 as unset for these int32 fields (they are not pointers).
  if (!probe.timeoutSeconds) probe.timeoutSeconds = 1;
  if (!probe.periodSeconds) probe.periodSeconds = 10;
  if (!probe.successThreshold) probe.successThreshold = 1;
  if (!probe.failureThreshold) probe.failureThreshold = 3;
  if (probe.httpGet) {
    probe.httpGet.path ||= '/';
    probe.httpGet.scheme ||= 'HTTP';
  }
  if (probe.grpc) probe.grpc.service ??= '';
}

function defaultVolume(volume: Volume): void {
  if (VolumeSourceNames.every((source) => volume[source] === undefined)) volume.emptyDir = {};
  if (volume.hostPath) volume.hostPath.type ??= '';
  if (volume.secret) volume.secret.defaultMode ??= DEFAULT_VOLUME_FILE_MODE;
  if (volume.configMap) volume.configMap.defaultMode ??= DEFAULT_VOLUME_FILE_MODE;
  if (volume.downwardAPI) volume.downwardAPI.defaultMode ??= DEFAULT_VOLUME_FILE_MODE;
  if (volume.projected) {
    volume.projected.defaultMode ??= DEFAULT_VOLUME_FILE_MODE;
    for (const source of volume.projected.sources ?? []) {
      if (source.serviceAccountToken) source.serviceAccountToken.expirationSeconds ??= 3600;
    }
  }
  for (const item of [
    ...(volume.downwardAPI?.items ?? []),
    ...(volume.projected?.sources ?? []).flatMap((s) => s.downwardAPI?.items ?? []),
  ]) {
    if (item.fieldRef) item.fieldRef.apiVersion ||= 'v1';
  }
  if (volume.ephemeral?.volumeClaimTemplate)
    volume.ephemeral.volumeClaimTemplate.spec.volumeMode ??= 'Filesystem';
  if (volume.emptyDir?.sizeLimit !== undefined)
    volume.emptyDir.sizeLimit = roundedQuantity(volume.emptyDir.sizeLimit);
}

/** Kubernetes rounds every resource list up to milli precision; canonical form follows. */
function roundResourceList(list: ResourceList): void {
  for (const [name, value] of Object.entries(list)) list[name] = roundedQuantity(value);
}

function roundedQuantity(value: string): string {
  // An invalid quantity is left for decoding/validation to report.
  return tryParseQuantity(value.trim())?.roundUp(-3).toString() ?? value;
}

// ---- Services ----

function defaultService(service: Service): void {
  const spec = service.spec;
  spec.sessionAffinity ||= 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (
    spec.sessionAffinity === 'ClientIP' &&
    spec.sessionAffinityConfig?.clientIP?.timeoutSeconds === undefined
  ) {
    spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: DEFAULT_CLIENT_IP_AFFINITY_SECONDS } };
  }
  spec.type ||= 'ClusterIP';
  for (const port of spec.ports ?? []) {
    port.protocol ||= 'TCP';
    if (port.targetPort === undefined || port.targetPort === 0 || port.targetPort === '')
      port.targetPort = port.port;
  }
  const externallyAccessible =
    spec.type === 'LoadBalancer' ||
    spec.type === 'NodePort' ||
    (spec.type === 'ClusterIP' && (spec.externalIPs?.length ?? 0) > 0);
  if (externallyAccessible) spec.externalTrafficPolicy ||= 'Cluster';
  if (spec.type === 'ClusterIP' || spec.type === 'NodePort' || spec.type === 'LoadBalancer') {
    spec.internalTrafficPolicy ??= 'Cluster';
  }
  if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
  if (spec.clusterIP && !spec.clusterIPs?.length) spec.clusterIPs = [spec.clusterIP];
}

// ---- Other core kinds ----

function defaultSecret(secret: Secret): void {
  secret.type ||= 'Opaque';
  if (secret.stringData) {
    const data = (secret.data ??= {});
    for (const [key, value] of Object.entries(secret.stringData))
      data[key] = Buffer.from(value, 'utf8').toString('base64');
    delete secret.stringData;
  }
}

function defaultNamespace(namespace: Namespace): void {
  const name = namespace.metadata.name;
  if (name) namespace.metadata.labels = { ...namespace.metadata.labels, [NAMESPACE_NAME_LABEL]: name };
  namespace.status ??= {};
  namespace.status.phase ||= 'Active';
}

function defaultNode(node: Node): void {
  const status = node.status;
  if (!status) return;
  if (status.capacity) roundResourceList(status.capacity);
  if (status.allocatable) roundResourceList(status.allocatable);
  if (!status.allocatable && status.capacity) status.allocatable = { ...status.capacity };
}

// ---- apps/v1 ----

function defaultDeployment(deployment: Deployment): void {
  const spec = deployment.spec;
  spec.replicas ??= 1;
  const strategy = (spec.strategy ??= {});
  strategy.type ||= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const rollingUpdate = (strategy.rollingUpdate ??= {});
    rollingUpdate.maxUnavailable ??= '25%';
    rollingUpdate.maxSurge ??= '25%';
  }
  spec.revisionHistoryLimit ??= 10;
  spec.progressDeadlineSeconds ??= 600;
  defaultPodSpec(spec.template.spec);
}

function defaultReplicaSet(replicaSet: ReplicaSet): void {
  replicaSet.spec.replicas ??= 1;
  if (replicaSet.spec.template) defaultPodSpec(replicaSet.spec.template.spec);
}

function defaultStatefulSet(statefulSet: StatefulSet): void {
  const spec = statefulSet.spec;
  spec.podManagementPolicy ||= 'OrderedReady';
  const updateStrategy = (spec.updateStrategy ??= {});
  if (!updateStrategy.type) {
    updateStrategy.type = 'RollingUpdate';
    updateStrategy.rollingUpdate ??= {};
  }
  if (updateStrategy.type === 'RollingUpdate' && updateStrategy.rollingUpdate)
    updateStrategy.rollingUpdate.partition ??= 0;
  const retention = (spec.persistentVolumeClaimRetentionPolicy ??= {});
  retention.whenDeleted ||= 'Retain';
  retention.whenScaled ||= 'Retain';
  spec.replicas ??= 1;
  spec.revisionHistoryLimit ??= 10;
  defaultPodSpec(spec.template.spec);
  for (const claim of spec.volumeClaimTemplates ?? []) defaultClaimTemplate(claim);
}

function defaultClaimTemplate(claim: PersistentVolumeClaim): void {
  const spec = (claim.spec ??= {});
  spec.volumeMode ??= 'Filesystem';
  if (spec.resources?.requests) roundResourceList(spec.resources.requests);
  if (spec.resources?.limits) roundResourceList(spec.resources.limits);
}
