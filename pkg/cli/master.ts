/** `bosun master`: runs one master (Raft member, store, Kubernetes API, and on the leader the control loops). */
import { promises as fs } from 'fs';
import { resolve } from 'path';
import { parseArgs } from 'util';
import { ClusterTokens, Master } from '../master/master';
import { CommandIO, parseDuration, UsageError } from './io';
import { registerCommand } from './main';

const USAGE =
  'bosun master --name NAME --data DIR --peers NAME=HOST:PORT,... --api HOST:PORT (--secret-file FILE | env BOSUN_CLUSTER_SECRET) --tokens-file FILE [--join] [--tick 50ms] [--election-ticks 10] [--snapshot-every 10000] [--service-cidr 10.96.0.0/16] [--node-grace-period 10s] [--pod-eviction-timeout 30s] [--history-events 100000]';

export function parseAddress(value: string, flag: string): { host: string; port: number } {
  const at = value.lastIndexOf(':');
  const port = Number(value.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`${flag}: "${value}" is not HOST:PORT`);
  return { host: value.slice(0, at), port };
}

export function parsePeers(value: string): Record<string, { host: string; port: number }> {
  const peers: Record<string, { host: string; port: number }> = {};
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new UsageError(`--peers: "${part}" is not NAME=HOST:PORT`);
    peers[part.slice(0, eq)] = parseAddress(part.slice(eq + 1), '--peers');
  }
  return peers;
}

async function runMaster(args: string[], io: CommandIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        name: { type: 'string' },
        data: { type: 'string' },
        peers: { type: 'string' },
        api: { type: 'string' },
        'secret-file': { type: 'string' },
        'tokens-file': { type: 'string' },
        join: { type: 'boolean' },
        tick: { type: 'string' },
        'election-ticks': { type: 'string' },
        'snapshot-every': { type: 'string' },
        'service-cidr': { type: 'string' },
        'node-grace-period': { type: 'string' },
        'pod-eviction-timeout': { type: 'string' },
        'history-events': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nUsage: ${USAGE}`);
  }
  const v = parsed.values;
  if (!v.name || !v.data || !v.peers || !v.api || !v['tokens-file'])
    throw new UsageError(`--name, --data, --peers, --api and --tokens-file are required\nUsage: ${USAGE}`);
  const secret = v['secret-file']
    ? (await fs.readFile(resolve(io.cwd, v['secret-file']), 'utf8')).trim()
    : io.env.BOSUN_CLUSTER_SECRET;
  if (!secret)
    throw new UsageError('the cluster secret is required: --secret-file FILE or BOSUN_CLUSTER_SECRET');
  const tokens = JSON.parse(await fs.readFile(resolve(io.cwd, v['tokens-file']), 'utf8')) as ClusterTokens;
  const master = new Master({
    name: v.name,
    dataDir: resolve(io.cwd, v.data),
    peers: parsePeers(v.peers),
    api: parseAddress(v.api, '--api'),
    secret,
    tokens,
    join: v.join ?? false,
    tickMs: parseDuration(v.tick, 50, '--tick'),
    electionTicks: v['election-ticks'] ? Number(v['election-ticks']) : 10,
    snapshotEvery: v['snapshot-every'] ? Number(v['snapshot-every']) : 10_000,
    serviceCIDR: v['service-cidr'],
    historyEvents: v['history-events'] ? Number(v['history-events']) : undefined,
    controllers: {
      nodeGracePeriodMs: parseDuration(v['node-grace-period'], 10_000, '--node-grace-period'),
      podEvictionTimeoutMs: parseDuration(v['pod-eviction-timeout'], 30_000, '--pod-eviction-timeout'),
    },
  });
  await master.start();
  await new Promise<void>((resolveStop) => {
    process.once('SIGTERM', () => resolveStop());
    process.once('SIGINT', () => resolveStop());
  });
  master.log.info('master stopping');
  await master.stop(true);
  // Everything should be closed now; if the process lingers, say what holds it open.
  setTimeout(
    () => master.log.warn('master still running after stop', { resources: process.getActiveResourcesInfo() }),
    5000,
  ).unref();
  return 0;
}

registerCommand({
  name: 'master',
  summary: 'Run one master of a cluster (Raft member and API server)',
  usage: USAGE,
  run: runMaster,
});
