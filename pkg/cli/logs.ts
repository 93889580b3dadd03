/** `bosun logs POD`: a container's log through the pods/log subresource (streamed from its agent). */
import { parseArgs } from 'util';
import { ApiError } from '../api';
import { clusterClient, CONNECTION_OPTIONS } from './cluster-config';
import { CommandIO, UsageError } from './io';
import { registerCommand } from './main';

const USAGE =
  'bosun logs POD [-c CONTAINER] [-f] [--tail N] [--previous] [--timestamps] [--since-seconds N] [-n NAMESPACE]';

async function runLogs(args: string[], io: CommandIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        container: { type: 'string', short: 'c' },
        follow: { type: 'boolean', short: 'f' },
        tail: { type: 'string' },
        previous: { type: 'boolean', short: 'p' },
        timestamps: { type: 'boolean' },
        'since-seconds': { type: 'string' },
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
  const count = (value: string | undefined, flag: string) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} takes a whole number, not "${value}"`);
    return n;
  };
  const tailLines = count(values.tail, '--tail');
  const sinceSeconds = count(values['since-seconds'], '--since-seconds');
  const client = await clusterClient(io, values);
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  try {
    const body = await client.podLogs(
      values.namespace ?? 'default',
      pod,
      {
        container: values.container,
        follow: values.follow,
        previous: values.previous,
        timestamps: values.timestamps,
        tailLines,
        sinceSeconds,
      },
      abort.signal,
    );
    for await (const chunk of body) io.stdout.write(chunk as Buffer);
    return 0;
  } catch (error) {
    if (abort.signal.aborted) return 0;
    if (!(error instanceof ApiError)) throw error;
    io.stderr.write(`Error from server (${error.reason}): ${error.message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', stop);
    client.close();
  }
}

registerCommand({
  name: 'logs',
  summary: "Print a container's log (-f to follow it)",
  usage: USAGE,
  run: runLogs,
});
