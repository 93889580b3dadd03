/**
 * `bosun describe KIND NAME`: an object as a person reads it, laid out as kubectl's describers
 * do (aligned "Key:  value" lines, nested sections, the object's events at the end), for
 * pods, deployments, replicasets, services, endpoints and nodes, and a generic layout for the
 * other kinds.
 */
import { parseArgs } from 'util';
import { ApiError, Event, KubeObject, Node, Pod, ResourceInfo, Service } from '../api';
import { Client } from '../client';
import { humanDuration } from '../util/duration';
import { clusterClient, CONNECTION_OPTIONS } from './cluster-config';
import { parseTargets } from './get';
import { CommandIO, UsageError } from './io';
import { registerCommand } from './main';

const USAGE = 'bosun describe (KIND NAME... | KIND/NAME...) [-n NAMESPACE]';

type Line = [depth: number, key: string, value?: string];

/** Lines at one depth are aligned on their values, as kubectl's tabwriter does. */
function render(lines: Line[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    // A run of consecutive lines at the same depth with values aligns together.
    const depth = lines[i][0];
    let j = i;
    while (j < lines.length && lines[j][0] === depth && lines[j][2] !== undefined) j++;
    if (j === i) {
      out.push(`${'  '.repeat(depth)}${lines[i][1]}`);
      i++;
      continue;
    }
    const width = Math.max(...lines.slice(i, j).map(([, key]) => key.length)) + 2;
    for (const [d, key, value] of lines.slice(i, j))
      out.push(`${'  '.repeat(d)}${(key === '' ? '' : key + ':').padEnd(width + 1)}${value}`);
    i = j;
  }
  return out.join('\n') + '\n';
}

function none(value: string | number | undefined): string {
  return value === undefined || value === '' ? '<none>' : String(value);
}

function mapLines(depth: number, key: string, map: Record<string, string> | undefined): Line[] {
  const entries = Object.entries(map ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return [[depth, key, '<none>']];
  return entries.map(([k, v], i) => [depth, i === 0 ? key : '', `${k}=${v}`] as Line);
}

function date(timestamp: string | undefined): string {
  if (!timestamp) return '<unset>';
  return new Date(timestamp).toUTCString().replace('GMT', '+0000');
}

function metaLines(object: KubeObject, namespaced: boolean): Line[] {
  const lines: Line[] = [[0, 'Name', object.metadata.name ?? '']];
  if (namespaced) lines.push([0, 'Namespace', object.metadata.namespace ?? '']);
  lines.push([0, 'CreationTimestamp', date(object.metadata.creationTimestamp)]);
  lines.push(...mapLines(0, 'Labels', object.metadata.labels));
  const annotations = { ...object.metadata.annotations };
  delete annotations['kubectl.kubernetes.io/last-applied-configuration'];
  lines.push(...mapLines(0, 'Annotations', annotations));
  return lines;
}

type ContainerStatus = NonNullable<NonNullable<Pod['status']>['containerStatuses']>[number];

function podTemplateLines(
  spec: Pod['spec'],
  depth: number,
  statuses = new Map<string, ContainerStatus>(),
): Line[] {
  const lines: Line[] = [];
  const containerLines = (title: string, containers: Pod['spec']['containers']) => {
    if (containers.length === 0) return;
    lines.push([depth, `${title}:`]);
    for (const c of containers) {
      lines.push([depth + 1, `${c.name}:`]);
      const status = statuses.get(c.name);
      if (status) lines.push([depth + 2, 'Container ID', none(status.containerID)]);
      lines.push([depth + 2, 'Image', c.image ?? '']);
      if (status) lines.push([depth + 2, 'Image ID', none(status.imageID)]);
      const ports = (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`);
      lines.push([depth + 2, 'Port', ports.length > 0 ? ports.join(', ') : '<none>']);
      const hostPorts = (c.ports ?? [])
        .filter((p) => p.hostPort)
        .map((p) => `${p.hostPort}/${p.protocol ?? 'TCP'}`);
      lines.push([depth + 2, 'Host Port', hostPorts.length > 0 ? hostPorts.join(', ') : '<none>']);
      if (c.command) lines.push([depth + 2, 'Command', c.command.join(' ')]);
      if (c.args) lines.push([depth + 2, 'Args', c.args.join(' ')]);
      if (status) lines.push(...statusLines(status, depth + 2));
      const limits = c.resources?.limits ?? {};
      const requests = c.resources?.requests ?? {};
      if (Object.keys(limits).length > 0) {
        lines.push([depth + 2, 'Limits:']);
        for (const [k, v] of Object.entries(limits)) lines.push([depth + 3, k, String(v)]);
      }
      if (Object.keys(requests).length > 0) {
        lines.push([depth + 2, 'Requests:']);
        for (const [k, v] of Object.entries(requests)) lines.push([depth + 3, k, String(v)]);
      }
      const env = c.env ?? [];
      if (env.length === 0) lines.push([depth + 2, 'Environment', '<none>']);
      else {
        lines.push([depth + 2, 'Environment:']);
        for (const e of env) {
          const from = e.valueFrom?.configMapKeyRef
            ? `<set to the key '${e.valueFrom.configMapKeyRef.key}' of config map '${e.valueFrom.configMapKeyRef.name}'>`
            : e.valueFrom?.secretKeyRef
              ? `<set to the key '${e.valueFrom.secretKeyRef.key}' in secret '${e.valueFrom.secretKeyRef.name}'>`
              : e.valueFrom?.fieldRef
                ? `(v1:${e.valueFrom.fieldRef.fieldPath})`
                : (e.value ?? '');
          lines.push([depth + 3, e.name, from]);
        }
      }
      const mounts = c.volumeMounts ?? [];
      if (mounts.length === 0) lines.push([depth + 2, 'Mounts', '<none>']);
      else {
        lines.push([depth + 2, 'Mounts:']);
        for (const m of mounts)
          lines.push([depth + 3, `${m.mountPath} from ${m.name} (${m.readOnly ? 'ro' : 'rw'})`]);
      }
    }
  };
  containerLines('Init Containers', spec.initContainers ?? []);
  containerLines('Containers', spec.containers);
  const volumes = spec.volumes ?? [];
  if (volumes.length === 0) lines.push([depth, 'Volumes', '<none>']);
  else {
    lines.push([depth, 'Volumes:']);
    for (const v of volumes) {
      lines.push([depth + 1, `${v.name}:`]);
      const source = Object.entries(v).find(([k]) => k !== 'name');
      if (source) lines.push([depth + 2, 'Type', `${source[0]}`]);
      if (source && source[1] && typeof source[1] === 'object')
        for (const [k, val] of Object.entries(source[1] as Record<string, unknown>))
          if (typeof val !== 'object') lines.push([depth + 2, k[0].toUpperCase() + k.slice(1), String(val)]);
    }
  }
  return lines;
}

function statusLines(s: ContainerStatus, depth: number): Line[] {
  const lines: Line[] = [];
  const state = s.state ?? {};
  if (state.running)
    lines.push([depth, 'State', 'Running'], [depth + 1, 'Started', date(state.running.startedAt)]);
  else if (state.waiting)
    lines.push([depth, 'State', 'Waiting'], [depth + 1, 'Reason', none(state.waiting.reason)]);
  else if (state.terminated)
    lines.push(
      [depth, 'State', 'Terminated'],
      [depth + 1, 'Reason', none(state.terminated.reason)],
      [depth + 1, 'Exit Code', String(state.terminated.exitCode)],
    );
  const last = s.lastState?.terminated;
  if (last)
    lines.push(
      [depth, 'Last State', 'Terminated'],
      [depth + 1, 'Reason', none(last.reason)],
      [depth + 1, 'Exit Code', String(last.exitCode)],
    );
  lines.push(
    [depth, 'Ready', s.ready ? 'True' : 'False'],
    [depth, 'Restart Count', String(s.restartCount ?? 0)],
  );
  return lines;
}

function describePod(pod: Pod, node?: Node): Line[] {
  const address = node?.status?.addresses?.find((a) => a.type === 'InternalIP')?.address;
  const lines: Line[] = [
    [0, 'Name', pod.metadata.name ?? ''],
    [0, 'Namespace', pod.metadata.namespace ?? ''],
    [0, 'Priority', String(pod.spec.priority ?? 0)],
    [0, 'Service Account', pod.spec.serviceAccountName ?? 'default'],
    [0, 'Node', pod.spec.nodeName ? `${pod.spec.nodeName}${address ? `/${address}` : ''}` : '<none>'],
    [0, 'Start Time', pod.status?.startTime ? date(pod.status.startTime) : '<none>'],
    ...mapLines(0, 'Labels', pod.metadata.labels),
    ...mapLines(0, 'Annotations', pod.metadata.annotations),
    [0, 'Status', pod.metadata.deletionTimestamp ? 'Terminating' : (pod.status?.phase ?? 'Pending')],
  ];
  if (pod.status?.reason) lines.push([0, 'Reason', pod.status.reason]);
  if (pod.status?.message) lines.push([0, 'Message', pod.status.message]);
  lines.push([0, 'IP', none(pod.status?.podIP)]);
  const ips = pod.status?.podIPs ?? [];
  if (ips.length > 0) {
    lines.push([0, 'IPs:']);
    for (const ip of ips) lines.push([1, 'IP', ip.ip]);
  } else lines.push([0, 'IPs', '<none>']);
  const controller = pod.metadata.ownerReferences?.find((o) => o.controller);
  lines.push([0, 'Controlled By', controller ? `${controller.kind}/${controller.name}` : '<none>']);
  const statuses = new Map(
    [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].map((s) => [
      s.name,
      s,
    ]),
  );
  lines.push(...podTemplateLines(pod.spec, 0, statuses));
  const conditions = pod.status?.conditions ?? [];
  if (conditions.length > 0) {
    lines.push([0, 'Conditions:']);
    const width = Math.max(4, ...conditions.map((c) => c.type.length)) + 3;
    lines.push([1, `${'Type'.padEnd(width)}Status`]);
    for (const c of conditions) lines.push([1, `${c.type.padEnd(width)}${c.status}`]);
  }
  lines.push(...mapLines(0, 'Node-Selectors', pod.spec.nodeSelector));
  const tolerations = (pod.spec.tolerations ?? []).map(
    (t) =>
      `${t.key ?? ''}${t.operator === 'Exists' ? '' : `=${t.value ?? ''}`}${t.effect ? `:${t.effect}` : ''}${t.tolerationSeconds !== undefined ? ` op=Exists for ${t.tolerationSeconds}s` : ''}`,
  );
  if (tolerations.length === 0) lines.push([0, 'Tolerations', '<none>']);
  else tolerations.forEach((t, i) => lines.push([0, i === 0 ? 'Tolerations' : '', t]));
  return lines;
}

function describeWorkload(object: KubeObject): Line[] {
  const w = object as Extract<KubeObject, { kind: 'Deployment' | 'ReplicaSet' | 'StatefulSet' }>;
  const lines = metaLines(object, true);
  const selector = w.spec.selector?.matchLabels ?? {};
  lines.push([
    0,
    'Selector',
    Object.entries(selector)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '<none>',
  ]);
  const status = w.status ?? {};
  if (object.kind === 'Deployment') {
    const d = object as Extract<KubeObject, { kind: 'Deployment' }>;
    const st = d.status ?? {};
    lines.push([
      0,
      'Replicas',
      `${d.spec.replicas ?? 1} desired | ${st.updatedReplicas ?? 0} updated | ${st.replicas ?? 0} total | ${st.availableReplicas ?? 0} available | ${st.unavailableReplicas ?? 0} unavailable`,
    ]);
    lines.push([0, 'StrategyType', d.spec.strategy?.type ?? 'RollingUpdate']);
    lines.push([0, 'MinReadySeconds', String(d.spec.minReadySeconds ?? 0)]);
    if ((d.spec.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
      const ru = d.spec.strategy?.rollingUpdate;
      lines.push([
        0,
        'RollingUpdateStrategy',
        `${ru?.maxUnavailable ?? '25%'} max unavailable, ${ru?.maxSurge ?? '25%'} max surge`,
      ]);
    }
  } else {
    lines.push([0, 'Replicas', `${status.replicas ?? 0} current / ${w.spec.replicas ?? 1} desired`]);
    const controller = object.metadata.ownerReferences?.find((o) => o.controller);
    if (controller) lines.push([0, 'Controlled By', `${controller.kind}/${controller.name}`]);
  }
  lines.push([0, 'Pod Template:']);
  const template = w.spec.template;
  if (template) {
    lines.push(...mapLines(1, 'Labels', template.metadata?.labels));
    lines.push(...podTemplateLines(template.spec as Pod['spec'], 1));
  }
  const conditions =
    (status as { conditions?: Array<{ type: string; status: string; reason?: string }> }).conditions ?? [];
  if (conditions.length > 0) {
    lines.push([0, 'Conditions:']);
    lines.push([1, 'Type           Status  Reason']);
    for (const c of conditions) lines.push([1, `${c.type.padEnd(15)}${c.status.padEnd(8)}${c.reason ?? ''}`]);
  }
  return lines;
}

function describeService(service: Service, endpoints?: KubeObject): Line[] {
  const lines = metaLines(service, true);
  lines.splice(2, 1); // kubectl shows no creation time for services
  lines.push(...mapLines(0, 'Selector', service.spec.selector));
  lines.push([0, 'Type', service.spec.type ?? 'ClusterIP']);
  lines.push([0, 'IP Family Policy', service.spec.ipFamilyPolicy ?? 'SingleStack']);
  lines.push([0, 'IP Families', (service.spec.ipFamilies ?? ['IPv4']).join(',')]);
  lines.push([0, 'IP', none(service.spec.clusterIP)]);
  lines.push([0, 'IPs', none((service.spec.clusterIPs ?? []).join(','))]);
  const ingress = service.status?.loadBalancer?.ingress ?? [];
  if (ingress.length > 0)
    lines.push([0, 'LoadBalancer Ingress', ingress.map((i) => i.ip ?? i.hostname).join(', ')]);
  const addresses = (
    (
      endpoints as
        | { subsets?: Array<{ addresses?: Array<{ ip: string }>; ports?: Array<{ port: number }> }> }
        | undefined
    )?.subsets ?? []
  ).flatMap((s) => (s.addresses ?? []).flatMap((a) => (s.ports ?? []).map((p) => `${a.ip}:${p.port}`)));
  for (const port of service.spec.ports ?? []) {
    lines.push([0, 'Port', `${port.name ?? '<unset>'}  ${port.port}/${port.protocol ?? 'TCP'}`]);
    lines.push([0, 'TargetPort', `${port.targetPort ?? port.port}/${port.protocol ?? 'TCP'}`]);
    if (port.nodePort)
      lines.push([0, 'NodePort', `${port.name ?? '<unset>'}  ${port.nodePort}/${port.protocol ?? 'TCP'}`]);
    lines.push([0, 'Endpoints', addresses.length > 0 ? addresses.join(',') : '<none>']);
  }
  lines.push([0, 'Session Affinity', service.spec.sessionAffinity ?? 'None']);
  return lines;
}

function describeNode(node: Node, pods: Pod[]): Line[] {
  const lines = metaLines(node, false);
  lines.push([0, 'Unschedulable', node.spec?.unschedulable ? 'true' : 'false']);
  const taints = (node.spec?.taints ?? []).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`);
  if (taints.length === 0) lines.push([0, 'Taints', '<none>']);
  else taints.forEach((t, i) => lines.push([0, i === 0 ? 'Taints' : '', t]));
  lines.push([0, 'Conditions:']);
  lines.push([1, 'Type             Status  Reason                       Message']);
  for (const c of node.status?.conditions ?? [])
    lines.push([
      1,
      `${c.type.padEnd(17)}${c.status.padEnd(8)}${(c.reason ?? '').padEnd(29)}${c.message ?? ''}`,
    ]);
  lines.push([0, 'Addresses:']);
  for (const a of node.status?.addresses ?? []) lines.push([1, a.type, a.address]);
  for (const [title, values] of [
    ['Capacity', node.status?.capacity],
    ['Allocatable', node.status?.allocatable],
  ] as const) {
    lines.push([0, `${title}:`]);
    for (const [k, v] of Object.entries(values ?? {})) lines.push([1, k, String(v)]);
  }
  const info = node.status?.nodeInfo;
  if (info) {
    lines.push([0, 'System Info:']);
    lines.push([1, 'Kernel Version', info.kernelVersion ?? '']);
    lines.push([1, 'Operating System', info.operatingSystem ?? '']);
    lines.push([1, 'Container Runtime Version', info.containerRuntimeVersion ?? '']);
    lines.push([1, 'Kubelet Version', info.kubeletVersion ?? '']);
  }
  lines.push([0, `Non-terminated Pods:          (${pods.length} in total)`]);
  lines.push([1, 'Namespace                   Name']);
  for (const p of pods) lines.push([1, `${(p.metadata.namespace ?? '').padEnd(28)}${p.metadata.name}`]);
  return lines;
}

function describeGeneric(object: KubeObject, info: ResourceInfo): Line[] {
  const lines = metaLines(object, info.namespaced);
  const walk = (value: unknown, depth: number, key: string) => {
    if (value === null || value === undefined) return;
    if (Array.isArray(value)) {
      lines.push([depth, `${key}:`]);
      for (const item of value) {
        if (item !== null && typeof item === 'object') walk(item, depth + 1, '-');
        else lines.push([depth + 1, `- ${String(item)}`]);
      }
    } else if (typeof value === 'object') {
      if (key !== '-') lines.push([depth, `${key}:`]);
      for (const [k, v] of Object.entries(value)) walk(v, key === '-' ? depth : depth + 1, k);
    } else lines.push([depth, key, String(value)]);
  };
  for (const [key, value] of Object.entries(object))
    if (!['apiVersion', 'kind', 'metadata'].includes(key))
      walk(value, 0, key[0].toUpperCase() + key.slice(1));
  return lines;
}

function eventsText(events: Event[], now: Date): string {
  if (events.length === 0) return 'Events:  <none>\n';
  const rows = events
    .sort((a, b) =>
      (a.lastTimestamp ?? a.eventTime ?? '').localeCompare(b.lastTimestamp ?? b.eventTime ?? ''),
    )
    .map((e) => {
      const last = e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp;
      const first = e.firstTimestamp ?? last;
      const lastAge = last ? humanDuration(now.getTime() - new Date(last).getTime()) : '<unknown>';
      const age =
        (e.count ?? 1) > 1 && first
          ? `${lastAge} (x${e.count} over ${humanDuration(now.getTime() - new Date(first).getTime())})`
          : lastAge;
      return [
        e.type ?? 'Normal',
        e.reason ?? '',
        age,
        e.source?.component ?? e.reportingComponent ?? '',
        e.message ?? '',
      ];
    });
  const header = ['Type', 'Reason', 'Age', 'From', 'Message'];
  const all = [header, header.map((h) => '-'.repeat(h.length)), ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return (
    'Events:\n' +
    all
      .map(
        (r) => '  ' + r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] + 2))).join(''),
      )
      .join('\n') +
    '\n'
  );
}

async function describeOne(
  client: Client,
  info: ResourceInfo,
  namespace: string,
  name: string,
): Promise<string> {
  const ns = info.namespaced ? namespace : undefined;
  const object = (await client.resource(info.kind).get(ns, name)) as KubeObject;
  let lines: Line[];
  switch (object.kind) {
    case 'Pod': {
      const node = object.spec.nodeName
        ? await client
            .resource('Node')
            .get(undefined, object.spec.nodeName)
            .catch(() => undefined)
        : undefined;
      lines = describePod(object, node);
      break;
    }
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
      lines = describeWorkload(object);
      break;
    case 'Service': {
      const endpoints = await client
        .resource('Endpoints')
        .get(namespace, name)
        .catch(() => undefined);
      lines = describeService(object, endpoints as KubeObject | undefined);
      break;
    }
    case 'Node': {
      const pods = (
        await client.resource('Pod').list(undefined, { fieldSelector: `spec.nodeName=${name}` })
      ).items.filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
      lines = describeNode(object, pods);
      break;
    }
    default:
      lines = describeGeneric(object, info);
  }
  const selector = [`involvedObject.name=${name}`, `involvedObject.kind=${object.kind}`];
  if (object.metadata.uid) selector.push(`involvedObject.uid=${object.metadata.uid}`);
  const events = await client
    .resource('Event')
    .list(info.namespaced ? namespace : undefined, { fieldSelector: selector.join(',') })
    .then((list) => list.items)
    .catch(() => [] as Event[]);
  return render(lines) + eventsText(events, new Date());
}

async function runDescribe(args: string[], io: CommandIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { namespace: { type: 'string', short: 'n' }, ...CONNECTION_OPTIONS },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nUsage: ${USAGE}`);
  }
  const targets = parseTargets(parsed.positionals).flatMap(({ info, names }) =>
    names.map((name) => ({ info, name })),
  );
  if (targets.length === 0) throw new UsageError(`name the object to describe\nUsage: ${USAGE}`);
  const client = await clusterClient(io, parsed.values);
  let failed = false;
  try {
    const texts: string[] = [];
    for (const { info, name } of targets) {
      try {
        texts.push(await describeOne(client, info, parsed.values.namespace ?? 'default', name));
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        io.stderr.write(`Error from server (${error.reason}): ${error.message}\n`);
        failed = true;
      }
    }
    io.stdout.write(texts.join('\n\n'));
  } finally {
    client.close();
  }
  return failed ? 1 : 0;
}

registerCommand({
  name: 'describe',
  summary: 'Show an object in detail, with its events',
  usage: USAGE,
  run: runDescribe,
});
