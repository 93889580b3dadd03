/**
 * `bosun rollout status|history|undo|restart|pause|resume deployment/NAME`, with kubectl
 * 1.32's messages and exit codes. Like kubectl, the CLI reads the controller's bookkeeping
 * (revision annotations, conditions) on its own — it shares no code with the controller —
 * and `undo` copies an old ReplicaSet's template back into the Deployment (apps/v1 has no
 * rollbackTo).
 */
import { parseArgs } from 'util';
import {
  ApiError,
  Deployment,
  isControlledBy,
  objectDisplayName,
  PodTemplateSpec,
  Probe,
  qualifiedKind,
  qualifiedResource,
  ReplicaSet,
  ResourceInfo,
  selectorFromLabelSelector,
  Toleration,
} from '../api';
import { Client } from '../client';
import { clusterClient, CONNECTION_OPTIONS } from './cluster-config';
import { resolveResource } from './get';
import { CommandIO, parseDuration, UsageError } from './io';
import { registerCommand } from './main';

const USAGE = [
  'bosun rollout SUBCOMMAND (deployment/NAME | deployment NAME) [-n NAMESPACE]',
  '  status   [--watch=true] [--timeout=DURATION] [--revision=N]',
  '  history  [--revision=N]',
  '  undo     [--to-revision=N]',
  '  restart | pause | resume',
].join('\n');

const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';
const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';
const HASH_LABEL = 'pod-template-hash';
/** Annotations of the Deployment that `undo` keeps, and ReplicaSet ones it does not copy back. */
const ANNOTATIONS_TO_SKIP = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION_ANNOTATION,
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

/** An error kubectl would print as `error: MESSAGE` and exit 1 with. */
class RolloutError extends Error {}

interface Target {
  info: ResourceInfo;
  name: string;
}

function parseTargetArgs(positionals: string[]): Target[] {
  if (positionals.length === 0) throw new UsageError(`required resource not specified\nUsage: ${USAGE}`);
  if (positionals.every((p) => p.includes('/')))
    return positionals.map((p) => {
      const [kind, name] = p.split('/', 2);
      return { info: resolveResource(kind), name };
    });
  const [kind, ...names] = positionals;
  if (names.length === 0) throw new UsageError(`name the ${kind} to act on\nUsage: ${USAGE}`);
  const info = resolveResource(kind);
  return names.map((name) => ({ info, name }));
}

// ---- Go durations, as --timeout takes them ----

function parseRevision(value: string | undefined, flag: string): number {
  if (value === undefined) return 0;
  if (!/^-?\d+$/.test(value))
    throw new UsageError(
      `invalid argument "${value}" for "--${flag}" flag: strconv.ParseInt: parsing "${value}": invalid syntax`,
    );
  return Number(value);
}

// ---- what the controller left on the objects ----

function revisionOf(object: { metadata: { annotations?: Record<string, string> } }): number | undefined {
  const value = object.metadata.annotations?.[REVISION_ANNOTATION];
  if (value === undefined) return 0;
  return /^-?\d+$/.test(value) ? Number(value) : undefined;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const inner = canonical((value as Record<string, unknown>)[key]);
    if (inner === undefined || (Array.isArray(inner) && inner.length === 0)) continue;
    if (inner !== null && typeof inner === 'object' && Object.keys(inner).length === 0) continue;
    out[key] = inner;
  }
  return out;
}

function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  const strip = (t: PodTemplateSpec | undefined) => {
    const copy = structuredClone(t ?? {}) as PodTemplateSpec;
    if (copy.metadata?.labels) delete copy.metadata.labels[HASH_LABEL];
    return JSON.stringify(canonical(copy));
  };
  return strip(a) === strip(b);
}

/** The Deployment's ReplicaSets: those its selector matches and it controls. */
async function replicaSetsOf(client: Client, d: Deployment): Promise<ReplicaSet[]> {
  const selector = selectorFromLabelSelector(d.spec.selector).toString();
  const list = await client.resource('ReplicaSet').list(d.metadata.namespace, { labelSelector: selector });
  return list.items.filter((rs) => isControlledBy(rs, d));
}

// ---- status ----

export interface StatusView {
  message: string;
  done: boolean;
}

/** kubectl's DeploymentStatusViewer: the line to print and whether the rollout is over. */
export function deploymentStatus(d: Deployment, revision = 0): StatusView {
  const name = d.metadata.name;
  if (revision > 0) {
    const current = revisionOf(d);
    if (current === undefined) throw new RolloutError(`cannot get the revision of deployment "${name}"`);
    if (current !== revision)
      throw new RolloutError(
        `desired revision (${revision}) is different from the running revision (${current})`,
      );
  }
  if ((d.metadata.generation ?? 0) <= (d.status?.observedGeneration ?? 0)) {
    const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing');
    if (progressing?.reason === 'ProgressDeadlineExceeded')
      throw new RolloutError(`deployment "${name}" exceeded its progress deadline`);
    const replicas = d.spec.replicas ?? 1;
    const updated = d.status?.updatedReplicas ?? 0;
    const total = d.status?.replicas ?? 0;
    const available = d.status?.availableReplicas ?? 0;
    if (updated < replicas)
      return {
        message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${replicas} new replicas have been updated...\n`,
        done: false,
      };
    if (total > updated)
      return {
        message: `Waiting for deployment "${name}" rollout to finish: ${total - updated} old replicas are pending termination...\n`,
        done: false,
      };
    if (available < updated)
      return {
        message: `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available...\n`,
        done: false,
      };
    return { message: `deployment "${name}" successfully rolled out\n`, done: true };
  }
  return { message: 'Waiting for deployment spec update to be observed...\n', done: false };
}

async function rolloutStatus(
  client: Client,
  target: Target,
  namespace: string,
  options: { watch: boolean; timeoutMs: number; revision: number },
  io: CommandIO,
): Promise<void> {
  if (target.info.kind !== 'Deployment')
    throw new RolloutError(`no status viewer has been implemented for ${qualifiedKind(target.info)}`);
  const deployments = client.resource('Deployment');
  const abort = new AbortController();
  const timer = options.timeoutMs > 0 ? setTimeout(() => abort.abort(), options.timeoutMs) : undefined;
  try {
    let d = await deployments.get(namespace, target.name);
    const show = (current: Deployment) => {
      const view = deploymentStatus(current, options.revision);
      io.stdout.write(view.message);
      return view.done;
    };
    if (show(d) || !options.watch) return;
    for (;;) {
      try {
        for await (const event of deployments.watch(
          namespace,
          { fieldSelector: `metadata.name=${target.name}`, resourceVersion: d.metadata.resourceVersion },
          abort.signal,
        )) {
          if (event.type === 'BOOKMARK') continue;
          if (event.type === 'DELETED') throw new RolloutError('object has been deleted');
          d = event.object;
          if (show(d)) return;
        }
      } catch (error) {
        if (abort.signal.aborted) throw new RolloutError('timed out waiting for the condition');
        if (!(error instanceof ApiError && error.code === 410)) throw error;
        d = await deployments.get(namespace, target.name);
        if (show(d)) return;
      }
      if (abort.signal.aborted) throw new RolloutError('timed out waiting for the condition');
    }
  } finally {
    if (timer) clearTimeout(timer);
  }
}

// ---- history ----

/** A tab-separated table aligned as Go's tabwriter (padding 2) aligns it. */
function tabbed(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows)
    row.slice(0, -1).forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return (
    rows
      .map((row) => row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i] + 2) : cell)).join(''))
      .join('\n') + '\n'
  );
}

function describeProbe(probe: Probe): string {
  let action = 'unknown';
  if (probe.exec) action = `exec [${(probe.exec.command ?? []).join(' ')}]`;
  else if (probe.httpGet) {
    const scheme = (probe.httpGet.scheme ?? 'HTTP').toLowerCase();
    action = `http-get ${scheme}://${probe.httpGet.host ?? ''}:${probe.httpGet.port}${probe.httpGet.path ?? ''}`;
  } else if (probe.tcpSocket) action = `tcp-socket ${probe.tcpSocket.host ?? ''}:${probe.tcpSocket.port}`;
  else if (probe.grpc) action = `grpc <pod>:${probe.grpc.port} ${probe.grpc.service ?? ''}`;
  return (
    `${action} delay=${probe.initialDelaySeconds ?? 0}s timeout=${probe.timeoutSeconds ?? 1}s ` +
    `period=${probe.periodSeconds ?? 10}s #success=${probe.successThreshold ?? 1} #failure=${probe.failureThreshold ?? 3}`
  );
}

function multiline(title: string, entries: Array<[string, string]>, separator: string): string {
  if (entries.length === 0) return `${title}:\t<none>\n`;
  return entries
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value], i) => `${i === 0 ? `${title}:\t` : '\t'}${key}${separator}${value}\n`)
    .join('');
}

function describeToleration(t: Toleration): string {
  let text = t.key ?? '';
  if (t.value) text += `=${t.value}`;
  if (t.effect) text += `:${t.effect}`;
  if (t.operator === 'Exists' && !t.value) text += ' op=Exists';
  if (t.tolerationSeconds !== undefined) text += ` for ${t.tolerationSeconds}s`;
  return text;
}

/** kubectl's DescribePodTemplate, as `rollout history --revision` prints it (tabs left in). */
export function describePodTemplate(template: PodTemplateSpec): string {
  let out = 'Pod Template:\n';
  out += multiline('  Labels', Object.entries(template.metadata?.labels ?? {}), '=');
  const annotations = Object.entries(template.metadata?.annotations ?? {}).map(([k, v]): [string, string] => [
    k,
    v.length > 140 ? `${v.slice(0, 140)}...` : v,
  ]);
  if (annotations.length > 0) out += multiline('  Annotations', annotations, ': ');
  const spec = template.spec;
  if (spec.serviceAccountName) out += `  Service Account:\t${spec.serviceAccountName}\n`;
  const containers = (label: string, list: PodTemplateSpec['spec']['containers']) => {
    out += `  ${label}:${list.length === 0 ? ' <none>' : ''}\n`;
    for (const c of list) {
      out += `   ${c.name}:\n`;
      const ports = (c.ports ?? []).map((p) => `${p.containerPort}/${p.protocol ?? 'TCP'}`).join(', ');
      const hostPorts = (c.ports ?? []).map((p) => `${p.hostPort ?? 0}/${p.protocol ?? 'TCP'}`).join(', ');
      out += `    Image:\t${c.image ?? ''}\n`;
      out += ports.includes(',') ? `    Ports:\t${ports}\n` : `    Port:\t${ports || '<none>'}\n`;
      out += hostPorts.includes(',')
        ? `    Host Ports:\t${hostPorts}\n`
        : `    Host Port:\t${hostPorts || '<none>'}\n`;
      if (c.command?.length) out += `    Command:\n${c.command.map((s) => `      ${s}\n`).join('')}`;
      if (c.args?.length) out += `    Args:\n${c.args.map((s) => `      ${s}\n`).join('')}`;
      for (const [kind, list2] of [
        ['Limits', c.resources?.limits],
        ['Requests', c.resources?.requests],
      ] as const) {
        const names = Object.keys(list2 ?? {}).sort();
        if (names.length > 0)
          out += `    ${kind}:\n${names.map((n) => `      ${n}:\t${String((list2 as Record<string, unknown>)[n])}\n`).join('')}`;
      }
      if (c.livenessProbe) out += `    Liveness:\t${describeProbe(c.livenessProbe)}\n`;
      if (c.readinessProbe) out += `    Readiness:\t${describeProbe(c.readinessProbe)}\n`;
      if (c.startupProbe) out += `    Startup:\t${describeProbe(c.startupProbe)}\n`;
      out += `    Environment:${c.env?.length ? '' : '\t<none>'}\n`;
      for (const e of c.env ?? []) {
        if (e.valueFrom?.fieldRef)
          out += `      ${e.name}:\t (${e.valueFrom.fieldRef.apiVersion ?? 'v1'}:${e.valueFrom.fieldRef.fieldPath})\n`;
        else if (e.valueFrom?.secretKeyRef)
          out += `      ${e.name}:\t<set to the key '${e.valueFrom.secretKeyRef.key}' in secret '${e.valueFrom.secretKeyRef.name}'>\tOptional: ${e.valueFrom.secretKeyRef.optional === true}\n`;
        else if (e.valueFrom?.configMapKeyRef)
          out += `      ${e.name}:\t<set to the key '${e.valueFrom.configMapKeyRef.key}' of config map '${e.valueFrom.configMapKeyRef.name}'>\tOptional: ${e.valueFrom.configMapKeyRef.optional === true}\n`;
        else out += `      ${e.name}:\t${e.value ?? ''}\n`;
      }
      out += `    Mounts:${c.volumeMounts?.length ? '' : '\t<none>'}\n`;
      for (const m of [...(c.volumeMounts ?? [])].sort((a, b) => (a.mountPath < b.mountPath ? -1 : 1))) {
        const flags = [m.readOnly ? 'ro' : 'rw', ...(m.subPath ? [`path="${m.subPath}"`] : [])];
        out += `      ${m.mountPath} from ${m.name} (${flags.join(',')})\n`;
      }
    }
  };
  if (spec.initContainers?.length) containers('Init Containers', spec.initContainers);
  containers('Containers', spec.containers ?? []);
  if (!spec.volumes?.length) out += '  Volumes:\t<none>\n';
  else {
    out += '  Volumes:\n';
    for (const v of spec.volumes) {
      out += `   ${v.name}:\n`;
      if (v.emptyDir)
        out += `    Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t${v.emptyDir.medium ?? ''}\n    SizeLimit:\t${v.emptyDir.sizeLimit ?? '<unset>'}\n`;
      else if (v.configMap)
        out += `    Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t${v.configMap.name ?? ''}\n    Optional:\t${v.configMap.optional === true}\n`;
      else if (v.secret)
        out += `    Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t${v.secret.secretName ?? ''}\n    Optional:\t${v.secret.optional === true}\n`;
      else if (v.hostPath)
        out += `    Type:\tHostPath (bare host directory volume)\n    Path:\t${v.hostPath.path}\n    HostPathType:\t${v.hostPath.type || '<none>'}\n`;
      else if (v.persistentVolumeClaim)
        out += `    Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t${v.persistentVolumeClaim.claimName}\n    ReadOnly:\t${v.persistentVolumeClaim.readOnly === true}\n`;
      else out += '  <unknown>\n';
    }
  }
  if (spec.priorityClassName) out += `  Priority Class Name:\t${spec.priorityClassName}\n`;
  out += multiline('  Node-Selectors', Object.entries(spec.nodeSelector ?? {}), '=');
  const tolerations = (spec.tolerations ?? []).map(describeToleration);
  out +=
    tolerations.length === 0
      ? '  Tolerations:\t<none>\n'
      : tolerations.map((t, i) => `${i === 0 ? '  Tolerations:\t' : '\t'}${t}\n`).join('');
  return out;
}

async function rolloutHistory(
  client: Client,
  target: Target,
  namespace: string,
  revision: number,
): Promise<string> {
  if (target.info.kind !== 'Deployment')
    throw new RolloutError(`no history viewer has been implemented for "${qualifiedKind(target.info)}"`);
  let d: Deployment;
  try {
    d = await client.resource('Deployment').get(namespace, target.name);
  } catch (error) {
    throw new RolloutError(`failed to retrieve deployment ${target.name}: ${(error as Error).message}`);
  }
  const history = new Map<number, PodTemplateSpec>();
  for (const rs of await replicaSetsOf(client, d)) {
    const version = revisionOf(rs);
    if (version === undefined || !rs.spec.template) continue;
    const template = structuredClone(rs.spec.template);
    const cause = rs.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION];
    template.metadata = { ...template.metadata };
    if (cause)
      template.metadata.annotations = { ...template.metadata.annotations, [CHANGE_CAUSE_ANNOTATION]: cause };
    history.set(version, template);
  }
  if (history.size === 0) return 'No rollout history found.';
  if (revision > 0) {
    const template = history.get(revision);
    if (!template) throw new RolloutError('unable to find the specified revision');
    return describePodTemplate(template);
  }
  const rows = [['REVISION', 'CHANGE-CAUSE']];
  for (const version of [...history.keys()].sort((a, b) => a - b))
    rows.push([
      String(version),
      history.get(version)!.metadata?.annotations?.[CHANGE_CAUSE_ANNOTATION] || '<none>',
    ]);
  return tabbed(rows);
}

// ---- undo ----

/** The ReplicaSet of the revision to go back to: the given one, or the one before the latest. */
function revisionToRestore(d: Deployment, sets: ReplicaSet[], toRevision: number): ReplicaSet {
  let latest: { rs?: ReplicaSet; revision: number } = { revision: -1 };
  let previous: { rs?: ReplicaSet; revision: number } = { revision: -1 };
  for (const rs of sets) {
    const version = revisionOf(rs);
    if (version === undefined) continue;
    if (toRevision === 0) {
      if (latest.revision < version) {
        previous = latest;
        latest = { rs, revision: version };
      } else if (previous.revision < version) previous = { rs, revision: version };
    } else if (toRevision === version) return rs;
  }
  if (toRevision > 0) throw new RolloutError(`unable to find specified revision ${toRevision} in history`);
  if (!previous.rs) throw new RolloutError(`no rollout history found for deployment "${d.metadata.name}"`);
  return previous.rs;
}

async function rolloutUndo(
  client: Client,
  target: Target,
  namespace: string,
  toRevision: number,
): Promise<string> {
  if (target.info.kind !== 'Deployment')
    throw new RolloutError(`no rollbacker has been implemented for "${qualifiedKind(target.info)}"`);
  if (toRevision < 0) throw new RolloutError(`unable to find specified revision ${toRevision} in history`);
  const deployments = client.resource('Deployment');
  let d: Deployment;
  try {
    d = await deployments.get(namespace, target.name);
  } catch (error) {
    throw new RolloutError(`failed to retrieve Deployment ${target.name}: ${(error as Error).message}`);
  }
  let sets: ReplicaSet[];
  try {
    sets = await replicaSetsOf(client, d);
  } catch (error) {
    throw new RolloutError(
      `failed to retrieve replica sets from deployment ${target.name}: ${(error as Error).message}`,
    );
  }
  const rs = revisionToRestore(d, sets, toRevision);
  if (d.spec.paused)
    throw new RolloutError(
      "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again",
    );
  if (equalIgnoreHash(rs.spec.template, d.spec.template))
    return 'skipped rollback (current template already matches revision)';
  const template = structuredClone(rs.spec.template!);
  if (template.metadata?.labels) delete template.metadata.labels[HASH_LABEL];
  const annotations: Record<string, string> = {};
  for (const key of ANNOTATIONS_TO_SKIP) {
    const value = d.metadata.annotations?.[key];
    if (value !== undefined) annotations[key] = value;
  }
  for (const [key, value] of Object.entries(rs.metadata.annotations ?? {}))
    if (!ANNOTATIONS_TO_SKIP.has(key)) annotations[key] = value;
  try {
    await deployments.patch(
      namespace,
      target.name,
      [
        { op: 'replace', path: '/spec/template', value: template },
        { op: 'replace', path: '/metadata/annotations', value: annotations },
      ],
      'json',
    );
  } catch (error) {
    throw new RolloutError(`failed restoring revision ${toRevision}: ${(error as Error).message}`);
  }
  return 'rolled back';
}

// ---- restart, pause, resume ----

/** Local time in RFC 3339 with its offset, as Go's time.Now().Format(time.RFC3339). */
export function rfc3339(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const offset = -date.getTimezoneOffset();
  const zone =
    offset === 0
      ? 'Z'
      : `${offset > 0 ? '+' : '-'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${zone}`
  );
}

type Mutation = 'restart' | 'pause' | 'resume';

async function mutate(client: Client, target: Target, namespace: string, what: Mutation): Promise<string> {
  const resource = qualifiedResource(target.info);
  const fail = (reason: string) => new RolloutError(`${resource} "${target.name}" ${reason}`);
  if (target.info.kind !== 'Deployment') {
    const verb = { restart: 'restarting', pause: 'pausing', resume: 'resuming' }[what];
    throw fail(`${verb} is not supported`);
  }
  const deployments = client.resource('Deployment');
  const d = await deployments.get(namespace, target.name);
  let patch: unknown;
  if (what === 'pause') {
    if (d.spec.paused) {
      throw fail('is already paused');
    }
    patch = { spec: { paused: true } };
  } else if (what === 'resume') {
    if (!d.spec.paused) throw fail('is not paused');
    patch = { spec: { paused: null } };
  } else {
    if (d.spec.paused) throw fail("can't restart paused deployment (run rollout resume first)");
    const now = rfc3339(new Date());
    if (d.spec.template.metadata?.annotations?.[RESTARTED_AT_ANNOTATION] === now)
      throw new RolloutError(
        `failed to create patch for ${target.name}: if restart has already been triggered within the past second, please wait before attempting to trigger another`,
      );
    patch = { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: now } } } } };
  }
  await deployments.patch(namespace, target.name, patch, 'strategic');
  return { restart: 'restarted', pause: 'paused', resume: 'resumed' }[what];
}

// ---- the command ----

const SUBCOMMANDS = ['status', 'history', 'undo', 'restart', 'pause', 'resume'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

/** `--watch` / `-w` alone mean true; kubectl also takes `--watch=false`. */
function normalizeWatch(args: string[]): string[] {
  return args.map((arg) =>
    arg === '--watch' || arg === '-w' ? '--watch=true' : arg.replace(/^-w=/, '--watch='),
  );
}

async function runRollout(args: string[], io: CommandIO): Promise<number> {
  const [sub, ...rest] = args;
  if (!SUBCOMMANDS.includes(sub as Subcommand))
    throw new UsageError(
      sub === undefined
        ? `a subcommand is required: ${SUBCOMMANDS.join(', ')}\nUsage: ${USAGE}`
        : `unknown command "${sub}" for "bosun rollout"\nUsage: ${USAGE}`,
    );
  let parsed;
  try {
    parsed = parseArgs({
      args: normalizeWatch(rest),
      options: {
        namespace: { type: 'string', short: 'n' },
        watch: { type: 'string' },
        timeout: { type: 'string' },
        revision: { type: 'string' },
        'to-revision': { type: 'string' },
        ...CONNECTION_OPTIONS,
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nUsage: ${USAGE}`);
  }
  const { values, positionals } = parsed;
  const watchValue = values.watch ?? 'true';
  if (!['true', 'false'].includes(watchValue))
    throw new UsageError(
      `invalid argument "${watchValue}" for "-w, --watch" flag: strconv.ParseBool: parsing "${watchValue}": invalid syntax`,
    );
  const timeoutMs = values.timeout === undefined ? 0 : parseDuration(values.timeout, 0, '--timeout');
  const revision = parseRevision(values.revision, 'revision');
  const toRevision = parseRevision(values['to-revision'], 'to-revision');
  const targets = parseTargetArgs(positionals);
  if (sub === 'status' && targets.length > 1)
    throw new UsageError('rollout status is only supported on individual resources and resource collections');
  const namespace = values.namespace ?? 'default';
  const client = await clusterClient(io, values);
  let failed = false;
  try {
    for (const target of targets) {
      const display = objectDisplayName(target.info, target.name);
      try {
        switch (sub as Subcommand) {
          case 'status':
            await rolloutStatus(
              client,
              target,
              namespace,
              { watch: watchValue === 'true', timeoutMs, revision },
              io,
            );
            break;
          case 'history': {
            const text = await rolloutHistory(client, target, namespace, revision);
            const withRevision = revision > 0 ? `with revision #${revision}` : '';
            io.stdout.write(`${display} ${withRevision}\n${text}\n`);
            break;
          }
          case 'undo':
            io.stdout.write(`${display} ${await rolloutUndo(client, target, namespace, toRevision)}\n`);
            break;
          default:
            io.stdout.write(`${display} ${await mutate(client, target, namespace, sub as Mutation)}\n`);
        }
      } catch (error) {
        failed = true;
        if (error instanceof RolloutError) io.stderr.write(`error: ${error.message}\n`);
        else if (error instanceof ApiError)
          io.stderr.write(`Error from server (${error.reason}): ${error.message}\n`);
        else throw error;
      }
    }
  } finally {
    client.close();
  }
  return failed ? 1 : 0;
}

registerCommand({
  name: 'rollout',
  summary: 'Manage the rollout of a Deployment: status, history, undo, restart, pause, resume',
  usage: USAGE,
  run: runRollout,
});
