/**
 * `bosun apply -f FILE|DIR|-`: creates or updates every object of the manifests in the
 * cluster, and prints, like kubectl, `deployment.apps/web created|configured|unchanged`.
 * With `--dry-run=client` it works offline: it decodes, defaults and validates every object
 * and prints `... created (dry run)`. Each problem is one line
 *   error: FILE: document N: KIND/NAME: FIELD: MESSAGE
 * It reads everything before it stops, so one run shows every problem; the exit code is 1 if
 * there was any.
 */
import { parseArgs } from 'util';
import {
  ApiError,
  applyDefaults,
  applyStrategicMergePatch,
  FieldError,
  formatLocation,
  fromUnstructured,
  KubeObject,
  ManifestEntry,
  objectDisplayName,
  unknownFieldMessage,
  validate,
  threeWayApplyPatch,
  validateUpdate,
  withoutFollowUps,
} from '../api';
import { Client } from '../client';
import { clusterClient, CONNECTION_OPTIONS, ConnectionFlags } from './cluster-config';
import { CommandIO, UsageError } from './io';
import { registerCommand } from './main';
import { readManifests } from './manifests';

const USAGE =
  'bosun apply -f FILE|DIR|- [-f ...] [-R] [-n NAMESPACE] [--dry-run=none|server|client] [--validate=strict|warn|ignore]';

type ValidationMode = 'strict' | 'warn' | 'ignore';

interface ApplyOptions {
  filenames: string[];
  recursive: boolean;
  validation: ValidationMode;
  dryRun: 'none' | 'server' | 'client';
  namespace: string;
  connection: ConnectionFlags;
}

function parseOptions(args: string[]): ApplyOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        recursive: { type: 'boolean', short: 'R' },
        'dry-run': { type: 'string' },
        validate: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        ...CONNECTION_OPTIONS,
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nUsage: ${USAGE}`);
  }
  const { values } = parsed;
  const dryRun = values['dry-run'] ?? 'none';
  if (!['none', 'server', 'client'].includes(dryRun)) {
    throw new UsageError(`Invalid dry-run value (${dryRun}). Must be "none", "server", or "client".`);
  }
  const validation = (values.validate ?? 'strict') as ValidationMode;
  if (!['strict', 'warn', 'ignore'].includes(validation)) {
    throw new UsageError(`invalid --validate value "${validation}"; use strict, warn or ignore`);
  }
  const filenames = values.filename ?? [];
  if (filenames.length === 0)
    throw new UsageError(`must specify at least one -f FILE|DIR|-\nUsage: ${USAGE}`);
  return {
    filenames,
    recursive: values.recursive ?? false,
    validation,
    dryRun: dryRun as ApplyOptions['dryRun'],
    namespace: values.namespace ?? 'default',
    connection: { server: values.server, token: values.token, dir: values.dir },
  };
}

/** Reports of one run: errors and warnings go to stderr as they come, results to stdout. */
class Report {
  errors = 0;
  objects = 0;

  constructor(private readonly io: CommandIO) {}

  error(text: string): void {
    this.errors += 1;
    this.io.stderr.write(`error: ${text}\n`);
  }

  warning(text: string): void {
    this.io.stderr.write(`Warning: ${text}\n`);
  }

  result(text: string): void {
    this.io.stdout.write(`${text}\n`);
  }
}

/** Objects seen earlier in this run, by kind/namespace/name: a second one is an update of the first. */
type Seen = Map<string, KubeObject>;

function checkEntry(entry: ManifestEntry, options: ApplyOptions, report: Report, seen: Seen): void {
  const where = formatLocation(entry.location);
  if (entry.type === 'parse-error') {
    const position = entry.line === undefined ? '' : `line ${entry.line}, column ${entry.column}: `;
    report.error(`${where}: ${position}${entry.message}`);
    return;
  }
  if (entry.type === 'unknown-kind') {
    for (const error of entry.errors)
      report.error(`${where}: ${entry.kind}/${entry.name}: ${error.toString()}`);
    return;
  }
  report.objects += 1;
  const object = entry.object;
  const subject = `${object.kind}/${object.metadata.name || '<no name>'}`;
  const problems: string[] = entry.errors.map(String);
  for (const field of entry.unknownFields) {
    if (options.validation === 'strict') problems.push(unknownFieldMessage(field));
    else if (options.validation === 'warn')
      report.warning(`${where}: ${subject}: ${unknownFieldMessage(field)}`);
  }
  const defaulted = applyDefaults(object);
  const key = `${object.kind}/${defaulted.metadata.namespace ?? ''}/${defaulted.metadata.name ?? ''}`;
  const previous = seen.get(key);
  const validationErrors = previous ? validateUpdate(previous, defaulted) : validate(defaulted);
  if (!object.metadata.name) {
    validationErrors.push(
      FieldError.required('metadata.name', 'apply needs a name; generateName only works with create'),
    );
  }
  for (const error of withoutFollowUps(validationErrors, entry.errors)) problems.push(error.toString());
  for (const problem of problems) report.error(`${where}: ${subject}: ${problem}`);
  if (problems.length > 0) return;
  seen.set(key, defaulted);
  report.result(
    `${objectDisplayName(entry.info, object.metadata.name ?? '')} ${previous ? 'configured' : 'created'} (dry run)`,
  );
}

export async function runApply(args: string[], io: CommandIO): Promise<number> {
  const options = parseOptions(args);
  const report = new Report(io);
  const entries = await readManifests(options.filenames, options, io, (message) => report.error(message));
  if (options.dryRun === 'client') {
    const seen: Seen = new Map();
    for (const entry of entries) checkEntry(entry, options, report, seen);
  } else {
    const client = await clusterClient(io, options.connection);
    try {
      for (const entry of entries) await applyEntry(client, entry, options, report);
    } finally {
      client.close();
    }
  }
  if (report.objects === 0 && report.errors === 0) report.error('no objects passed to apply');
  return report.errors > 0 ? 1 : 0;
}

/** The annotation kubectl keeps the last applied manifest in; bosun uses the same, so the two interoperate. */
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * Applies one manifest like `kubectl apply`: create it when absent; else patch the live
 * object with what the manifest says plus the removal of what the last applied manifest had
 * and this one has not (a strategic merge patch), or do nothing when that changes nothing.
 */
async function applyEntry(
  client: Client,
  entry: ManifestEntry,
  options: ApplyOptions,
  report: Report,
): Promise<void> {
  const where = formatLocation(entry.location);
  if (entry.type !== 'object') {
    checkEntry(entry, options, report, new Map());
    return;
  }
  report.objects += 1;
  const { info, raw } = entry;
  const manifest = structuredClone(raw) as {
    metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> };
  };
  manifest.metadata ??= {};
  const name = manifest.metadata.name;
  if (!name) {
    report.error(
      `${where}: ${info.kind}: metadata.name: Required value: apply needs a name; generateName only works with create`,
    );
    return;
  }
  const namespace = info.namespaced ? (manifest.metadata.namespace ?? options.namespace) : undefined;
  if (info.namespaced) manifest.metadata.namespace = namespace;
  const { [LAST_APPLIED]: _previous, ...annotations } = manifest.metadata.annotations ?? {};
  manifest.metadata.annotations = {
    ...annotations,
    [LAST_APPLIED]:
      JSON.stringify({
        ...manifest,
        metadata: {
          ...manifest.metadata,
          annotations: Object.keys(annotations).length ? annotations : undefined,
        },
      }) + '\n',
  };
  const resource = client.resource(info.kind);
  const display = objectDisplayName(info, name);
  const suffix = options.dryRun === 'server' ? ' (server dry run)' : '';
  const write = { dryRun: options.dryRun === 'server', fieldValidation: VALIDATION[options.validation] };
  try {
    let live: KubeObject | undefined;
    try {
      live = (await resource.get(namespace, name)) as KubeObject;
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 404)) throw error;
    }
    if (!live) {
      await resource.create(manifest as never, write);
      report.result(`${display} created${suffix}`);
      return;
    }
    const lastApplied = live.metadata.annotations?.[LAST_APPLIED];
    const original = lastApplied ? (JSON.parse(lastApplied) as unknown) : {};
    const patch = threeWayApplyPatch(original, manifest, info.schema);
    // Compared after defaulting, so "0.5" written where the server keeps "500m" is no change.
    const normalize = (object: unknown) =>
      JSON.stringify(applyDefaults(fromUnstructured(info.schema, object).value as KubeObject));
    if (normalize(applyStrategicMergePatch(live, patch, info.schema)) === normalize(live)) {
      report.result(`${display} unchanged${suffix}`);
      return;
    }
    await resource.patch(namespace, name, patch, 'strategic', write);
    report.result(`${display} configured${suffix}`);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    report.error(`${where}: ${info.kind}/${name}: ${error.message}`);
  }
}

const VALIDATION: Record<ValidationMode, 'Strict' | 'Warn' | 'Ignore'> = {
  strict: 'Strict',
  warn: 'Warn',
  ignore: 'Ignore',
};

registerCommand({
  name: 'apply',
  summary: 'Create or update objects from manifests (--dry-run=client checks them offline)',
  usage: USAGE,
  run: runApply,
});
