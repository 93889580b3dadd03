/** `bosun exec POD -- CMD...`: runs a command in a pod's container, as `kubectl exec`; its exit code is ours. */
import { parseArgs } from 'util';
import { ApiError } from '../api';
import { execInPod } from '../client';
import { clusterClient, CONNECTION_OPTIONS } from './cluster-config';
import { CommandIO, UsageError } from './io';
import { registerCommand } from './main';

const USAGE = 'bosun exec POD [-c CONTAINER] [-i] [-n NAMESPACE] -- COMMAND [ARG...]';

async function runExec(args: string[], io: CommandIO): Promise<number> {
  const dashes = args.indexOf('--');
  if (dashes < 0 || dashes === args.length - 1)
    throw new UsageError(`give the command after "--"\nUsage: ${USAGE}`);
  const command = args.slice(dashes + 1);
  let parsed;
  try {
    parsed = parseArgs({
      args: args.slice(0, dashes),
      options: {
        container: { type: 'string', short: 'c' },
        stdin: { type: 'boolean', short: 'i' },
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
  if (positionals.length !== 1) throw new UsageError(`name one pod\nUsage: ${USAGE}`);
  const pod = positionals[0].replace(/^(pods?|po)\//, '');
  const client = await clusterClient(io, values);
  try {
    return await execInPod(client.transport, values.namespace ?? 'default', pod, {
      container: values.container,
      command,
      stdin: values.stdin ? io.stdin : undefined,
      stdout: io.stdout,
      stderr: io.stderr,
    });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    io.stderr.write(`Error from server (${error.reason}): ${error.message}\n`);
    return 1;
  } finally {
    // A terminal's stdin would otherwise keep the process alive after the command ended.
    if (values.stdin) (io.stdin as NodeJS.ReadStream).destroy?.();
    client.close();
  }
}

registerCommand({
  name: 'exec',
  summary: "Run a command in a pod's container",
  usage: USAGE,
  run: runExec,
});
