/**
 * `bosun delete (-f FILE | KIND NAME... | KIND/NAME... | KIND -l SELECTOR | KIND --all)`:
 * deletes, prints `pod "web" deleted` like kubectl, and by default waits until each object
 * is really gone (a pod's containers stopped, finalizers done).
 */
import { parseArgs } from 'util';
import { ApiError, formatLocation, KubeObject, ResourceInfo } from '../api';
import { Client } from '../client';
import { clusterClient, CONNECTION_OPTIONS } from './cluster-config';
import { parseTargets } from './get';
import { CommandIO, UsageError } from './io';
import { registerCommand } from './main';
import { readManifests } from './manifests';

const USAGE =
  'bosun delete (-f FILE|DIR|- [-R] | KIND NAME... | KIND/NAME... | KIND (-l SELECTOR | --all)) [-n NS] [--grace-period N] [--cascade=background|foreground|orphan] [--wait=true|false] [--timeout 60s]';

interface Target {
  info: ResourceInfo;
  namespace: string | undefined;
  name: string;
}

function parseSeconds(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value);
  if (!match) throw new UsageError(`invalid duration "${value}": use e.g. 30s, 2m`);
  const n = Number(match[1]);
  return match[2] === 'ms' ? n / 1000 : match[2] === 'm' ? n * 60 : n;
}

async function runDelete(args: string[], io: CommandIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        recursive: { type: 'boolean', short: 'R' },
        namespace: { type: 'string', short: 'n' },
        selector: { type: 'string', short: 'l' },
        all: { type: 'boolean' },
        'grace-period': { type: 'string' },
        cascade: { type: 'string' },
        wait: { type: 'string' },
        timeout: { type: 'string' },
        'ignore-not-found': { type: 'boolean' },
        ...CONNECTION_OPTIONS,
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nUsage: ${USAGE}`);
  }
  const { values, positionals } = parsed;
  const namespace = values.namespace ?? 'default';
  const cascade = values.cascade ?? 'background';
  const policy = {
    background: 'Background',
    foreground: 'Foreground',
    orphan: 'Orphan',
    true: 'Background',
    false: 'Orphan',
  }[cascade];
  if (!policy) throw new UsageError(`invalid --cascade "${cascade}": use background, foreground or orphan`);
  const wait = (values.wait ?? 'true') !== 'false';
  const timeoutSeconds = parseSeconds(values.timeout ?? '60s');
  const gracePeriod = values['grace-period'] === undefined ? undefined : Number(values['grace-period']);
  let failed = false;
  const fail = (message: string) => {
    failed = true;
    io.stderr.write(`${message}\n`);
  };
  const client = await clusterClient(io, values);
  try {
    const targets: Target[] = [];
    if (values.filename?.length) {
      const entries = await readManifests(
        values.filename,
        { recursive: values.recursive ?? false },
        io,
        (m) => fail(`error: ${m}`),
      );
      for (const entry of entries) {
        if (entry.type !== 'object') {
          fail(
            `error: ${formatLocation(entry.location)}: ${entry.type === 'parse-error' ? entry.message : entry.errors.join('; ')}`,
          );
          continue;
        }
        const name = entry.object.metadata.name ?? '';
        targets.push({
          info: entry.info,
          namespace: entry.info.namespaced ? (entry.object.metadata.namespace ?? namespace) : undefined,
          name,
        });
      }
    } else {
      if (positionals.length === 0)
        throw new UsageError(
          `You must provide one or more resources by argument or filename.\nUsage: ${USAGE}`,
        );
      for (const { info, names } of parseTargets(positionals)) {
        const ns = info.namespaced ? namespace : undefined;
        if (names.length > 0) {
          targets.push(...names.map((name) => ({ info, namespace: ns, name })));
          continue;
        }
        if (!values.selector && !values.all) {
          throw new UsageError(
            'resource(s) were provided, but no name was specified; use NAME, -l SELECTOR or --all',
          );
        }
        const list = await client.resource(info.kind).listAll(ns, { labelSelector: values.selector });
        targets.push(
          ...list.items.map((item) => ({ info, namespace: ns, name: (item as KubeObject).metadata.name! })),
        );
      }
    }
    const deleted: Array<Target & { uid?: string }> = [];
    for (const target of targets) {
      try {
        const result = await client.resource(target.info.kind).delete(target.namespace, target.name, {
          propagationPolicy: policy as 'Background' | 'Foreground' | 'Orphan',
          ...(gracePeriod === undefined ? {} : { gracePeriodSeconds: gracePeriod }),
        });
        const uid =
          (result as KubeObject).metadata?.uid ?? (result as { details?: { uid?: string } }).details?.uid;
        const kind = target.info.group
          ? `${target.info.singular}.${target.info.group}`
          : target.info.singular;
        io.stdout.write(`${kind} "${target.name}" deleted\n`);
        deleted.push({ ...target, uid });
      } catch (error) {
        if (error instanceof ApiError && error.code === 404) {
          if (!values['ignore-not-found']) fail(`Error from server (NotFound): ${error.message}`);
          continue;
        }
        if (error instanceof ApiError) {
          fail(`Error from server (${error.reason}): ${error.message}`);
          continue;
        }
        throw error;
      }
    }
    if (wait) {
      const deadline = Date.now() + timeoutSeconds * 1000;
      for (const target of deleted) {
        if (!(await waitGone(client, target, deadline))) {
          fail(`error: timed out waiting for ${target.info.resource} "${target.name}" to be deleted`);
        }
      }
    }
  } finally {
    client.close();
  }
  return failed ? 1 : 0;
}

/** Waits until the object with this name (and uid, when known) no longer exists. */
async function waitGone(
  client: Client,
  target: Target & { uid?: string },
  deadline: number,
): Promise<boolean> {
  const resource = client.resource(target.info.kind);
  while (Date.now() < deadline) {
    try {
      const object = (await resource.get(target.namespace, target.name)) as KubeObject;
      if (target.uid && object.metadata.uid !== target.uid) return true; // a new object of the same name
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) return true;
      throw error;
    }
    // Polling a single object twice a second is cheap and survives master failover without a watch to resume.
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

registerCommand({
  name: 'delete',
  summary: 'Delete resources by file, name or selector',
  usage: USAGE,
  run: runDelete,
});
