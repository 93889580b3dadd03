/**
 * `.bosun/config`: what `bosun up` wrote about the cluster it started (processes, addresses,
 * tokens), read by every command that talks to it. Tokens live only in this file (mode 0600)
 * and in `.bosun/kubeconfig`; they are never printed or logged.
 */
import { promises as fs } from 'fs';
import { join, resolve } from 'path';
import { Client } from '../client';
import { CommandIO, UsageError } from './io';

export interface ProcessRecord {
  name: string;
  pid: number;
  /** The command line that starts it again (`bosun start NAME`). */
  args: string[];
  log: string;
}

export interface MasterRecord extends ProcessRecord {
  api: string;
  peer: string;
  data: string;
}

export interface AgentRecord extends ProcessRecord {
  address: string;
}

export interface ClusterConfig {
  version: 1;
  dir: string;
  /** Labels the cluster's Docker containers and names its network. */
  clusterId: string;
  /** The front: the one API address that survives any one master's death (the kubeconfig's server). */
  server: string;
  front?: ProcessRecord & { address: string };
  masters: MasterRecord[];
  agents: AgentRecord[];
  /** The service proxy and cluster DNS of this Docker host (started with the agents). */
  proxy?: ProcessRecord & { metrics: string };
  adminToken: string;
  readonlyToken: string;
  /** Secret the masters authenticate each other with. */
  clusterSecret: string;
  nodeTokens: Record<string, string>;
  /**
   * Where ClusterIPs come from; absent: the masters' default 10.96.0.0/16. A second cluster on
   * a host gets another /16, so two clusters' proxies never put one address on two bridges.
   */
  serviceCIDR?: string;
  /** Extra flags every master gets (control-plane timings given to `bosun up`). */
  masterFlags?: string[];
  /** Extra `key=value` labels on every container, network and volume the agents create. */
  dockerLabels?: string[];
  /** The service proxy's token: reads everything, writes only Services' status and events. */
  proxyToken?: string;
}

export const DEFAULT_DIR = '.bosun';

export function clusterDir(io: CommandIO, dir?: string): string {
  return resolve(io.cwd, dir ?? io.env.BOSUN_DIR ?? DEFAULT_DIR);
}

export async function readClusterConfig(dir: string): Promise<ClusterConfig | undefined> {
  try {
    return JSON.parse(await fs.readFile(join(dir, 'config'), 'utf8')) as ClusterConfig;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new UsageError(`cannot read ${join(dir, 'config')}: ${(error as Error).message}`);
  }
}

export async function writeClusterConfig(config: ClusterConfig): Promise<void> {
  const path = join(config.dir, 'config');
  await fs.writeFile(`${path}.tmp`, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  await fs.rename(`${path}.tmp`, path);
}

/**
 * The kubeconfig for kubectl and the official clients: one cluster (the front, over TLS with
 * the cluster's own certificate as its authority), one admin user.
 */
export function kubeconfig(config: ClusterConfig, certificate: Buffer, name = 'bosun'): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${config.server}`,
    `    certificate-authority-data: ${certificate.toString('base64')}`,
    'users:',
    `- name: ${name}-admin`,
    '  user:',
    `    token: ${config.adminToken}`,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    `    user: ${name}-admin`,
    '    namespace: default',
    `current-context: ${name}`,
    '',
  ].join('\n');
}

export interface ConnectionFlags {
  server?: string;
  token?: string;
  dir?: string;
}

/**
 * A client for the cluster: `--server`/`--token` (or BOSUN_SERVER/BOSUN_TOKEN) when given,
 * else the masters and admin token of `.bosun/config`. The client knows every master and
 * fails over between them.
 */
export async function clusterClient(io: CommandIO, flags: ConnectionFlags = {}): Promise<Client> {
  const server = flags.server ?? io.env.BOSUN_SERVER;
  const token = flags.token ?? io.env.BOSUN_TOKEN;
  if (server) return new Client({ servers: server.split(','), token, userAgent: 'bosun-cli' });
  const dir = clusterDir(io, flags.dir);
  const config = await readClusterConfig(dir);
  if (!config) {
    throw new UsageError(
      `no cluster: ${join(dir, 'config')} does not exist. Start one with "bosun up", or pass --server and --token`,
    );
  }
  return new Client({
    servers: config.masters.map((m) => m.api),
    token: token ?? config.adminToken,
    userAgent: 'bosun-cli',
    retryForMs: 10_000,
  });
}

/** The connection options every cluster command takes, for util.parseArgs. */
export const CONNECTION_OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
  dir: { type: 'string' },
} as const;
