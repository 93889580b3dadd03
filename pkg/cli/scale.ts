/** `bosun scale KIND/NAME --replicas N` (or `KIND NAME`), through the scale subresource. */
import { parseArgs } from 'util';
import { ApiError, objectDisplayName } from '../api';
import { clusterClient, CONNECTION_OPTIONS } from './cluster-config';
import { parseTargets } from './get';
import { CommandIO, UsageError } from './io';
import { registerCommand } from './main';

const USAGE = 'bosun scale (KIND/NAME | KIND NAME) --replicas N [-n NAMESPACE]';

async function runScale(args: string[], io: CommandIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        replicas: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        ...CONNECTION_OPTIONS,
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nUsage: ${USAGE}`);
  }
  const { values, positionals } = parsed;
  const replicas = Number(values.replicas);
  if (values.replicas === undefined || !Number.isInteger(replicas) || replicas < 0) {
    throw new UsageError(
      `--replicas=COUNT is required, and COUNT must be greater than or equal to 0\nUsage: ${USAGE}`,
    );
  }
  const targets = parseTargets(positionals).flatMap(({ info, names }) =>
    names.map((name) => ({ info, name })),
  );
  if (targets.length === 0) throw new UsageError(`name the object to scale\nUsage: ${USAGE}`);
  const client = await clusterClient(io, values);
  let failed = false;
  try {
    for (const { info, name } of targets) {
      if (!info.subresources.includes('scale')) {
        io.stderr.write(`error: ${info.resource} "${name}" cannot be scaled\n`);
        failed = true;
        continue;
      }
      try {
        await client.resource(info.kind).updateScale(values.namespace ?? 'default', name, replicas);
        io.stdout.write(`${objectDisplayName(info, name)} scaled\n`);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
        io.stderr.write(`Error from server (${error.reason}): ${error.message}\n`);
        failed = true;
      }
    }
  } finally {
    client.close();
  }
  return failed ? 1 : 0;
}

registerCommand({
  name: 'scale',
  summary: 'Set the number of replicas of a Deployment, ReplicaSet or StatefulSet',
  usage: USAGE,
  run: runScale,
});
