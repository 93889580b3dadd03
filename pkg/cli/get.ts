/**
 * `bosun get KIND[,KIND...] [NAME...] | KIND/NAME...`: tables from the server (the same
 * columns kubectl shows), or YAML, JSON, names; `-w` follows changes.
 */
import { parseArgs } from 'util';
import {
  ApiError,
  KubeList,
  KubeObject,
  lookupResource,
  ResourceInfo,
  RESOURCES,
  UnknownResourceError,
} from '../api';
import { Client, parseWatchStream, resourcePath } from '../client';
import { clusterClient, CONNECTION_OPTIONS } from './cluster-config';
import { CommandIO, UsageError } from './io';
import { registerCommand } from './main';
import {
  formatColumns,
  nameOf,
  OutputFormat,
  parseOutput,
  printObjects,
  Table,
  tableLines,
} from './printers';

const USAGE =
  'bosun get KIND[,KIND...] [NAME...] | KIND/NAME... [-n NS | -A] [-l SELECTOR] [--field-selector F] [-o wide|yaml|json|name] [-w] [--no-headers]';

export const TABLE_ACCEPT = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

/** What `get` was asked for: whole kinds, or named objects of a kind. */
interface Request {
  info: ResourceInfo;
  names: string[];
}

export function resolveResource(name: string): ResourceInfo {
  try {
    return lookupResource(name);
  } catch (error) {
    if (error instanceof UnknownResourceError) {
      throw new UsageError(`the server doesn't have a resource type "${name}"`);
    }
    throw error;
  }
}

/** `po`, `po,svc`, `all`, `deploy/web pod/x`, `po web db` into requests, in order. */
export function parseTargets(positionals: string[]): Request[] {
  if (positionals.length === 0) {
    throw new UsageError(
      `You must specify the type of resource to get. Use "bosun api-resources" for a complete list of supported resources.\nUsage: ${USAGE}`,
    );
  }
  if (positionals.every((p) => p.includes('/'))) {
    const requests: Request[] = [];
    for (const target of positionals) {
      const [kind, name] = target.split('/', 2);
      const info = resolveResource(kind);
      const existing = requests.find((r) => r.info === info);
      if (existing) existing.names.push(name);
      else requests.push({ info, names: [name] });
    }
    return requests;
  }
  if (positionals.slice(1).some((p) => p.includes('/'))) {
    throw new UsageError(
      'there is no need to specify a resource type as a separate argument when passing arguments in resource/name form',
    );
  }
  const [kinds, ...names] = positionals;
  const infos = kinds
    .split(',')
    .flatMap((kind) =>
      kind === 'all' ? RESOURCES.filter((r) => r.categories.includes('all')) : [resolveResource(kind)],
    );
  if (names.length > 0 && infos.length > 1)
    throw new UsageError('names cannot be given with several resource types; use KIND/NAME');
  return infos.map((info) => ({ info, names }));
}

interface GetOptions {
  namespace: string;
  allNamespaces: boolean;
  output: OutputFormat;
  labelSelector?: string;
  fieldSelector?: string;
  watch: boolean;
  headers: boolean;
}

async function fetchTable(
  client: Client,
  info: ResourceInfo,
  namespace: string | undefined,
  options: GetOptions,
  name?: string,
): Promise<Table> {
  return client.transport.request<Table>({
    method: 'GET',
    path: resourcePath(info, namespace, name),
    query: name
      ? {}
      : { labelSelector: options.labelSelector, fieldSelector: options.fieldSelector, limit: 500 },
    accept: TABLE_ACCEPT,
  });
}

function mergeTables(tables: Table[]): Table {
  return { ...tables[0], rows: tables.flatMap((t) => t.rows) };
}

export async function runGet(args: string[], io: CommandIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        namespace: { type: 'string', short: 'n' },
        'all-namespaces': { type: 'boolean', short: 'A' },
        output: { type: 'string', short: 'o' },
        selector: { type: 'string', short: 'l' },
        'field-selector': { type: 'string' },
        watch: { type: 'boolean', short: 'w' },
        'no-headers': { type: 'boolean' },
        ...CONNECTION_OPTIONS,
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nUsage: ${USAGE}`);
  }
  const { values, positionals } = parsed;
  let output: OutputFormat;
  try {
    output = parseOutput(values.output);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const options: GetOptions = {
    namespace: values.namespace ?? 'default',
    allNamespaces: values['all-namespaces'] ?? false,
    output,
    labelSelector: values.selector,
    fieldSelector: values['field-selector'],
    watch: values.watch ?? false,
    headers: !(values['no-headers'] ?? false),
  };
  const requests = parseTargets(positionals);
  const client = await clusterClient(io, values);
  try {
    if (options.watch) {
      if (requests.length !== 1) throw new UsageError('you may only watch one resource type at a time');
      return await watch(client, requests[0], options, io);
    }
    return await printRequests(client, requests, options, io);
  } finally {
    client.close();
  }
}

async function printRequests(
  client: Client,
  requests: Request[],
  options: GetOptions,
  io: CommandIO,
): Promise<number> {
  let failed = false;
  const objects: KubeObject[] = [];
  const single = requests.length === 1 && requests[0].names.length === 1;
  let printedTables = 0;
  const several = requests.length > 1;
  for (const { info, names } of requests) {
    const namespace = info.namespaced && !options.allNamespaces ? options.namespace : undefined;
    const withNamespace = info.namespaced && options.allNamespaces;
    if (options.output === 'table' || options.output === 'wide') {
      const tables: Table[] = [];
      if (names.length === 0) {
        tables.push(await fetchTable(client, info, namespace, options));
      } else {
        for (const name of names) {
          try {
            tables.push(await fetchTable(client, info, namespace, options, name));
          } catch (error) {
            if (!(error instanceof ApiError) || error.code !== 404) throw error;
            io.stderr.write(`Error from server (NotFound): ${error.message}\n`);
            failed = true;
          }
        }
      }
      const table = tables.length > 0 ? mergeTables(tables) : undefined;
      if (!table || table.rows.length === 0) continue;
      const kindPrefix = several
        ? nameOf(info, { metadata: { name: '' } } as KubeObject).slice(0, -1)
        : undefined;
      const rows = tableLines(table, {
        wide: options.output === 'wide',
        withNamespace,
        headers: options.headers,
        kindPrefix,
      });
      if (printedTables > 0) io.stdout.write('\n');
      io.stdout.write(formatColumns(rows) + '\n');
      printedTables += 1;
      continue;
    }
    const resource = client.resource(info.kind);
    if (names.length === 0) {
      const list: KubeList<KubeObject> = await resource.listAll(namespace, {
        labelSelector: options.labelSelector,
        fieldSelector: options.fieldSelector,
      });
      for (const item of list.items)
        objects.push({ ...item, apiVersion: info.apiVersion, kind: info.kind } as KubeObject);
    } else {
      for (const name of names) {
        try {
          objects.push((await resource.get(namespace, name)) as KubeObject);
        } catch (error) {
          if (!(error instanceof ApiError) || error.code !== 404) throw error;
          io.stderr.write(`Error from server (NotFound): ${error.message}\n`);
          failed = true;
        }
      }
    }
  }
  if (options.output === 'name') {
    for (const object of objects) io.stdout.write(`${nameOf(resolveResource(object.kind), object)}\n`);
  } else if (options.output === 'yaml' || options.output === 'json') {
    if (objects.length > 0 || !single) io.stdout.write(printObjects(objects, options.output, single));
  } else if (printedTables === 0 && !failed) {
    const scope =
      options.allNamespaces || requests.every((r) => !r.info.namespaced)
        ? ''
        : ` in ${options.namespace} namespace`;
    io.stderr.write(`No resources found${scope}.\n`);
  }
  return failed ? 1 : 0;
}

/** `-w`: the current table, then one row per change, until interrupted. */
async function watch(client: Client, request: Request, options: GetOptions, io: CommandIO): Promise<number> {
  const { info, names } = request;
  const namespace = info.namespaced && !options.allNamespaces ? options.namespace : undefined;
  const withNamespace = info.namespaced && options.allNamespaces;
  const fieldSelector =
    names.length === 1
      ? [`metadata.name=${names[0]}`, options.fieldSelector].filter(Boolean).join(',')
      : options.fieldSelector;
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  const widths = { headers: options.headers };
  try {
    const response = await client.transport.stream({
      method: 'GET',
      path: resourcePath(info, namespace),
      query: { watch: 'true', labelSelector: options.labelSelector, fieldSelector },
      accept: options.output === 'table' || options.output === 'wide' ? TABLE_ACCEPT : 'application/json',
      signal: controller.signal,
    });
    for await (const event of parseWatchStream<unknown>(response.body, controller.signal)) {
      if (event.type === 'BOOKMARK') continue;
      if (options.output === 'table' || options.output === 'wide') {
        const table = event.object as Table;
        const rows = tableLines(table, {
          wide: options.output === 'wide',
          withNamespace,
          headers: widths.headers,
        });
        widths.headers = false;
        io.stdout.write(formatColumns(rows) + '\n');
      } else if (options.output === 'name') {
        io.stdout.write(`${nameOf(info, event.object as KubeObject)}\n`);
      } else {
        io.stdout.write(
          printObjects([event.object as KubeObject], options.output, true) +
            (options.output === 'yaml' ? '---\n' : ''),
        );
      }
    }
  } finally {
    process.off('SIGINT', stop);
  }
  return 0;
}

registerCommand({
  name: 'get',
  summary: 'Display one or many resources',
  usage: USAGE,
  run: runGet,
});
