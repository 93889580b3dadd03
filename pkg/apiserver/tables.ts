/**
 * Server-side printing: the meta.k8s.io/v1 Table of a list, with the columns Kubernetes'
 * own printers give each kind (kubectl asks for `as=Table` and prints what it gets, and so
 * does `bosun get`). Columns with priority 1 show only with `-o wide`.
 */
import { KubeObject, objectKey } from '../api';
import { humanDuration } from '../util/duration';

type Pod = Extract<KubeObject, { kind: 'Pod' }>;
type Node = Extract<KubeObject, { kind: 'Node' }>;
type Service = Extract<KubeObject, { kind: 'Service' }>;

export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: Array<string | number | boolean>;
  object: unknown;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: { resourceVersion?: string; continue?: string };
  columnDefinitions: TableColumn[];
  rows: TableRow[];
}

interface Column<T> {
  name: string;
  type?: TableColumn['type'];
  format?: string;
  wide?: boolean;
  description?: string;
  cell(object: T, now: Date): string | number | boolean;
}

// ---- formatting helpers, as Kubernetes' printers format ----

/** The first three, then how many more, as kubectl's printers abbreviate endpoint lists; `<unset>` for none. */
function listWithMore(list: readonly string[]): string {
  if (list.length === 0) return '<unset>';
  return list.length > 3 ? `${list.slice(0, 3).join(',')} + ${list.length - 3} more...` : list.join(',');
}

function age(timestamp: string | undefined, now: Date): string {
  if (!timestamp) return '<unknown>';
  return humanDuration(now.getTime() - new Date(timestamp).getTime());
}

function none(value: string | undefined): string {
  return value === undefined || value === '' ? '<none>' : value;
}

function labelString(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? '<none>' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

function selectorString(
  selector:
    | {
        matchLabels?: Record<string, string>;
        matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
      }
    | undefined,
): string {
  if (!selector) return '<none>';
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    if (e.operator === 'In') parts.push(`${e.key} in (${values})`);
    else if (e.operator === 'NotIn') parts.push(`${e.key} notin (${values})`);
    else if (e.operator === 'Exists') parts.push(e.key);
    else if (e.operator === 'DoesNotExist') parts.push(`!${e.key}`);
  }
  return parts.length === 0 ? '<none>' : parts.join(',');
}

interface WithTemplate {
  spec: { template?: { spec?: { containers: Array<{ name: string; image?: string }> } } };
}

const containersColumn = <T extends WithTemplate>(): Column<T> => ({
  name: 'Containers',
  wide: true,
  cell: (o) => (o.spec.template?.spec?.containers ?? []).map((c) => c.name).join(','),
});

const imagesColumn = <T extends WithTemplate>(): Column<T> => ({
  name: 'Images',
  wide: true,
  cell: (o) => (o.spec.template?.spec?.containers ?? []).map((c) => c.image ?? '').join(','),
});

// ---- Pods: kubectl's printPod ----

/** The STATUS column of a pod, as kubectl computes it. */
export function podStatusReason(pod: Pod): string {
  let reason = pod.status?.reason || pod.status?.phase || 'Unknown';
  const initStatuses = pod.status?.initContainerStatuses ?? [];
  const initCount = pod.spec.initContainers?.length ?? 0;
  let initializing = false;
  initStatuses.forEach((status, i) => {
    if (initializing) return;
    const terminated = status.state?.terminated;
    const waiting = status.state?.waiting;
    if (terminated && terminated.exitCode === 0) return;
    const restartable = pod.spec.initContainers?.[i]?.restartPolicy === 'Always';
    if (restartable && status.started) return;
    if (terminated) {
      reason = terminated.reason
        ? `Init:${terminated.reason}`
        : terminated.signal
          ? `Init:Signal:${terminated.signal}`
          : `Init:ExitCode:${terminated.exitCode}`;
    } else if (waiting?.reason && waiting.reason !== 'PodInitializing') {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initCount}`;
    }
    initializing = true;
  });
  if (!initializing) {
    let hasRunning = false;
    const statuses = pod.status?.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const state = statuses[i].state;
      if (state?.waiting?.reason) reason = state.waiting.reason;
      else if (state?.terminated?.reason) reason = state.terminated.reason;
      else if (state?.terminated)
        reason = state.terminated.signal
          ? `Signal:${state.terminated.signal}`
          : `ExitCode:${state.terminated.exitCode}`;
      else if (state?.running && statuses[i].ready) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) {
      const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      reason = ready ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata.deletionTimestamp) reason = pod.status?.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

function podRestarts(pod: Pod, now: Date): string {
  let restarts = 0;
  let last: string | undefined;
  for (const status of [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ]) {
    restarts += status.restartCount ?? 0;
    const finished = status.lastState?.terminated?.finishedAt;
    if (finished && (!last || finished > last)) last = finished;
  }
  return last && restarts > 0 ? `${restarts} (${age(last, now)} ago)` : String(restarts);
}

const podColumns: Column<Pod>[] = [
  {
    name: 'Ready',
    description: 'The aggregate readiness state of this pod for accepting traffic.',
    cell: (p) =>
      `${(p.status?.containerStatuses ?? []).filter((s) => s.ready).length}/${p.spec.containers.length}`,
  },
  {
    name: 'Status',
    description: 'The aggregate status of the containers in this pod.',
    cell: (p) => podStatusReason(p),
  },
  {
    name: 'Restarts',
    description:
      'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.',
    cell: (p, now) => podRestarts(p, now),
  },
  { name: 'Age', cell: (p, now) => age(p.metadata.creationTimestamp, now) },
  { name: 'IP', wide: true, cell: (p) => none(p.status?.podIP) },
  { name: 'Node', wide: true, cell: (p) => none(p.spec.nodeName) },
  { name: 'Nominated Node', wide: true, cell: (p) => none(p.status?.nominatedNodeName) },
  { name: 'Readiness Gates', wide: true, cell: () => '<none>' },
];

// ---- Nodes ----

function nodeStatus(node: Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  const parts = [ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown'];
  if (node.spec?.unschedulable) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(node: Node): string {
  const roles = Object.keys(node.metadata.labels ?? {})
    .filter((label) => label.startsWith('node-role.kubernetes.io/'))
    .map((label) => label.slice('node-role.kubernetes.io/'.length))
    .filter(Boolean);
  return roles.length === 0 ? '<none>' : roles.sort().join(',');
}

const nodeAddress = (type: string) => (node: Node) =>
  none(node.status?.addresses?.find((a) => a.type === type)?.address);

const nodeColumns: Column<Node>[] = [
  { name: 'Status', cell: nodeStatus },
  { name: 'Roles', cell: nodeRoles },
  { name: 'Age', cell: (n, now) => age(n.metadata.creationTimestamp, now) },
  { name: 'Version', cell: (n) => n.status?.nodeInfo?.kubeletVersion ?? '' },
  { name: 'Internal-IP', wide: true, cell: nodeAddress('InternalIP') },
  { name: 'External-IP', wide: true, cell: nodeAddress('ExternalIP') },
  { name: 'OS-Image', wide: true, cell: (n) => n.status?.nodeInfo?.osImage ?? '<unknown>' },
  { name: 'Kernel-Version', wide: true, cell: (n) => n.status?.nodeInfo?.kernelVersion ?? '<unknown>' },
  {
    name: 'Container-Runtime',
    wide: true,
    cell: (n) => n.status?.nodeInfo?.containerRuntimeVersion ?? '<unknown>',
  },
];

// ---- Services ----

function servicePorts(service: Service): string {
  const ports = service.spec?.ports ?? [];
  if (ports.length === 0) return '<none>';
  return ports.map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ''}/${p.protocol ?? 'TCP'}`).join(',');
}

function externalIP(service: Service): string {
  const type = service.spec?.type ?? 'ClusterIP';
  const external = service.spec?.externalIPs ?? [];
  if (type === 'ExternalName') return service.spec?.externalName ?? '<none>';
  if (type === 'LoadBalancer') {
    const ingress = (service.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || '');
    const all = [...ingress, ...external].filter(Boolean);
    return all.length > 0 ? all.join(',') : '<pending>';
  }
  return external.length > 0 ? external.join(',') : '<none>';
}

const serviceColumns: Column<Service>[] = [
  { name: 'Type', cell: (s) => s.spec?.type ?? 'ClusterIP' },
  { name: 'Cluster-IP', cell: (s) => none(s.spec?.clusterIP) },
  { name: 'External-IP', cell: externalIP },
  { name: 'Port(s)', cell: servicePorts },
  { name: 'Age', cell: (s, now) => age(s.metadata.creationTimestamp, now) },
  { name: 'Selector', wide: true, cell: (s) => labelString(s.spec?.selector) },
];

// ---- the other kinds ----

type ByKind = { [K in KubeObject['kind']]?: Column<Extract<KubeObject, { kind: K }>>[] };

const COLUMNS: ByKind = {
  Pod: podColumns,
  Node: nodeColumns,
  Service: serviceColumns,
  Deployment: [
    { name: 'Ready', cell: (d) => `${d.status?.readyReplicas ?? 0}/${d.spec.replicas ?? 1}` },
    { name: 'Up-to-date', type: 'integer', cell: (d) => d.status?.updatedReplicas ?? 0 },
    { name: 'Available', type: 'integer', cell: (d) => d.status?.availableReplicas ?? 0 },
    { name: 'Age', cell: (d, now) => age(d.metadata.creationTimestamp, now) },
    containersColumn(),
    imagesColumn(),
    { name: 'Selector', wide: true, cell: (d) => selectorString(d.spec.selector) },
  ],
  ReplicaSet: [
    { name: 'Desired', type: 'integer', cell: (r) => r.spec.replicas ?? 1 },
    { name: 'Current', type: 'integer', cell: (r) => r.status?.replicas ?? 0 },
    { name: 'Ready', type: 'integer', cell: (r) => r.status?.readyReplicas ?? 0 },
    { name: 'Age', cell: (r, now) => age(r.metadata.creationTimestamp, now) },
    containersColumn(),
    imagesColumn(),
    { name: 'Selector', wide: true, cell: (r) => selectorString(r.spec.selector) },
  ],
  StatefulSet: [
    { name: 'Ready', cell: (s) => `${s.status?.readyReplicas ?? 0}/${s.spec.replicas ?? 1}` },
    { name: 'Age', cell: (s, now) => age(s.metadata.creationTimestamp, now) },
    containersColumn(),
    imagesColumn(),
  ],
  Namespace: [
    { name: 'Status', cell: (n) => n.status?.phase ?? 'Active' },
    { name: 'Age', cell: (n, now) => age(n.metadata.creationTimestamp, now) },
  ],
  ConfigMap: [
    {
      name: 'Data',
      type: 'integer',
      cell: (c) => Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length,
    },
    { name: 'Age', cell: (c, now) => age(c.metadata.creationTimestamp, now) },
  ],
  Secret: [
    { name: 'Type', cell: (s) => s.type ?? 'Opaque' },
    {
      name: 'Data',
      type: 'integer',
      cell: (s) => Object.keys({ ...(s.data ?? {}), ...(s.stringData ?? {}) }).length,
    },
    { name: 'Age', cell: (s, now) => age(s.metadata.creationTimestamp, now) },
  ],
  Endpoints: [
    {
      name: 'Endpoints',
      cell: (e) => {
        const list = (e.subsets ?? []).flatMap((s) =>
          (s.addresses ?? []).flatMap((a) =>
            (s.ports ?? [{ port: undefined }]).map((p) => (p.port ? `${a.ip}:${p.port}` : a.ip)),
          ),
        );
        return list.length === 0 ? '<none>' : listWithMore(list);
      },
    },
    { name: 'Age', cell: (e, now) => age(e.metadata.creationTimestamp, now) },
  ],
  Event: [
    {
      name: 'Last Seen',
      cell: (e, now) => age(e.lastTimestamp || e.eventTime || e.metadata.creationTimestamp, now),
    },
    { name: 'Type', cell: (e) => e.type ?? '' },
    { name: 'Reason', cell: (e) => e.reason ?? '' },
    {
      name: 'Object',
      cell: (e) => `${(e.involvedObject.kind ?? '').toLowerCase()}/${e.involvedObject.name ?? ''}`,
    },
    { name: 'Subobject', wide: true, cell: (e) => e.involvedObject.fieldPath ?? '' },
    {
      name: 'Source',
      wide: true,
      cell: (e) => [e.source?.component, e.source?.host].filter(Boolean).join(', '),
    },
    { name: 'Message', cell: (e) => (e.message ?? '').trim() },
    {
      name: 'First Seen',
      wide: true,
      cell: (e, now) => age(e.firstTimestamp || e.eventTime || e.metadata.creationTimestamp, now),
    },
    { name: 'Count', type: 'integer', wide: true, cell: (e) => e.count ?? 1 },
    { name: 'Name', wide: true, cell: (e) => e.metadata.name ?? '' },
  ],
  EndpointSlice: [
    { name: 'AddressType', cell: (s) => s.addressType ?? '' },
    {
      name: 'Ports',
      cell: (s) => listWithMore((s.ports ?? []).map((p) => (p.port ? String(p.port) : p.name || '*'))),
    },
    {
      name: 'Endpoints',
      cell: (s) => listWithMore((s.endpoints ?? []).flatMap((e) => e.addresses ?? [])),
    },
    { name: 'Age', cell: (s, now) => age(s.metadata.creationTimestamp, now) },
  ],
  Lease: [
    { name: 'Holder', cell: (l) => l.spec?.holderIdentity ?? '' },
    { name: 'Age', cell: (l, now) => age(l.metadata.creationTimestamp, now) },
  ],
};

const NAME_COLUMN: TableColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description:
    'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  priority: 0,
};

/** The Table of `objects` of one kind. `includeObject` decides what each row carries (kubectl asks for metadata only). */
export function toTable(
  kind: KubeObject['kind'],
  objects: KubeObject[],
  listMeta: { resourceVersion?: string; continue?: string },
  includeObject: 'None' | 'Metadata' | 'Object' = 'Metadata',
  now = new Date(),
): Table {
  const columns = (COLUMNS[kind] ?? [
    { name: 'Age', cell: (o: KubeObject) => age(o.metadata.creationTimestamp, now) },
  ]) as Column<KubeObject>[];
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: [
      NAME_COLUMN,
      ...columns.map((c) => ({
        name: c.name,
        type: c.type ?? 'string',
        format: c.format ?? '',
        description: c.description ?? c.name,
        priority: c.wide ? 1 : 0,
      })),
    ],
    rows: objects.map((object) => ({
      cells: [
        kind === 'Event' ? objectKey(object).split('/').pop()! : (object.metadata.name ?? ''),
        ...columns.map((c) => c.cell(object, now)),
      ],
      object: rowObject(object, includeObject),
    })),
  };
}

function rowObject(object: KubeObject, include: 'None' | 'Metadata' | 'Object'): unknown {
  if (include === 'None') return undefined;
  if (include === 'Object') return object;
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: object.metadata };
}
