/** `bosun front`: the health-checked TCP front over the masters' API ports (started by `bosun up`). */
import { readFileSync } from 'fs';
import { parseArgs } from 'util';
import { ApiFront } from '../proxy/front';
import { logger } from '../util/log';
import { CommandIO, UsageError } from './io';
import { registerCommand } from './main';
import { parseAddress } from './master';

const USAGE =
  'bosun front --listen HOST:PORT --backends HOST:PORT,HOST:PORT,... [--tls-cert FILE --tls-key FILE]';

async function runFront(args: string[], _io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      listen: { type: 'string' },
      backends: { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
    },
    strict: true,
  });
  if (!values.listen || !values.backends)
    throw new UsageError(`--listen and --backends are required\nUsage: ${USAGE}`);
  const listen = parseAddress(values.listen, '--listen');
  const tls =
    values['tls-cert'] && values['tls-key']
      ? { cert: readFileSync(values['tls-cert']), key: readFileSync(values['tls-key']) }
      : undefined;
  const front = new ApiFront({
    backends: values.backends.split(',').map((b) => parseAddress(b, '--backends')),
    tls,
  });
  const port = await front.start(listen.port, listen.host);
  logger('front').info('API front listening', { address: `${listen.host}:${port}` });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await front.stop();
  return 0;
}

registerCommand({
  name: 'front',
  summary: 'Run the API front over the masters (started by "bosun up")',
  usage: USAGE,
  run: runFront,
});
