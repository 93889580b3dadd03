/**
 * `bosun apply -f FILE|DIR|-`. With `--dry-run=client` it works offline: it decodes,
 * defaults and validates every object and prints, like kubectl, `deployment.apps/web created
 * (dry run)` for each good one and, for each problem, one line
 *   error: FILE: document N: KIND/NAME: FIELD: MESSAGE
 * It reads everything before it stops, so one run shows every problem; the exit code is 1 if
 * there was any. Applying to a cluster comes with the apiserver (issue 4).
 */
import { promises as fs } from 'fs';
import { join, resolve } from 'path';
import { parseArgs } from 'util';
import {
  applyDefaults,
  decodeManifests,
  FieldError,
  formatLocation,
  KubeObject,
  ManifestEntry,
  objectDisplayName,
  unknownFieldMessage,
  validate,
  validateUpdate,
  withoutFollowUps,
} from '../api';
import { CommandIO, UsageError } from './io';
import { registerCommand } from './main';

const USAGE = 'bosun apply --dry-run=client -f FILE|DIR|- [-f ...] [-R] [--validate=strict|warn|ignore]';
const MANIFEST_FILE = /\.(ya?ml|json)$/;

type ValidationMode = 'strict' | 'warn' | 'ignore';

interface ApplyOptions {
  filenames: string[];
  recursive: boolean;
  validation: ValidationMode;
}

/** A file (or stdin) to read, named as the user will see it in messages. */
interface Source {
  name: string;
  read(): Promise<string>;
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
  if (dryRun !== 'client') {
    throw new UsageError(
      'bosun apply needs a running cluster, and bosun cannot run one yet (that comes with issue 4); ' +
        'use --dry-run=client to decode, default and validate the manifests offline',
    );
  }
  const validation = (values.validate ?? 'strict') as ValidationMode;
  if (!['strict', 'warn', 'ignore'].includes(validation)) {
    throw new UsageError(`invalid --validate value "${validation}"; use strict, warn or ignore`);
  }
  const filenames = values.filename ?? [];
  if (filenames.length === 0)
    throw new UsageError(`must specify at least one -f FILE|DIR|-\nUsage: ${USAGE}`);
  return { filenames, recursive: values.recursive ?? false, validation };
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** The files one `-f` names: the file, or a directory's manifest files (sorted; subdirectories with -R). */
async function expand(filename: string, options: ApplyOptions, io: CommandIO): Promise<Source[]> {
  if (filename === '-') return [{ name: '-', read: () => readStream(io.stdin) }];
  const absolute = resolve(io.cwd, filename);
  const stat = await fs.stat(absolute).catch(() => undefined);
  if (!stat) throw new MissingPathError(filename);
  if (!stat.isDirectory()) return [{ name: filename, read: () => fs.readFile(absolute, 'utf8') }];
  const entries = (await fs.readdir(absolute, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const sources: Source[] = [];
  for (const entry of entries) {
    const child = join(filename, entry.name);
    if (entry.isDirectory()) {
      if (options.recursive) sources.push(...(await expand(child, options, io)));
    } else if (MANIFEST_FILE.test(entry.name)) {
      sources.push({ name: child, read: () => fs.readFile(resolve(io.cwd, child), 'utf8') });
    }
  }
  return sources;
}

class MissingPathError extends Error {
  constructor(readonly path: string) {
    super(`the path ${JSON.stringify(path)} does not exist`);
  }
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
  const seen: Seen = new Map();
  for (const filename of options.filenames) {
    let sources: Source[];
    try {
      sources = await expand(filename, options, io);
    } catch (error) {
      if (!(error instanceof MissingPathError)) throw error;
      report.error(error.message);
      continue;
    }
    for (const source of sources) {
      let text: string;
      try {
        text = await source.read();
      } catch (error) {
        report.error(`${source.name}: ${(error as Error).message}`);
        continue;
      }
      for (const entry of decodeManifests(text, source.name)) checkEntry(entry, options, report, seen);
    }
  }
  if (report.objects === 0 && report.errors === 0) report.error('no objects passed to apply');
  return report.errors > 0 ? 1 : 0;
}

registerCommand({
  name: 'apply',
  summary: 'Apply manifests; today offline only: --dry-run=client decodes, defaults and validates them',
  usage: USAGE,
  run: runApply,
});
