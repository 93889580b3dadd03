/**
 * `bosun up | down | status | kill | start`: a whole local cluster as background processes on
 * loopback — masters, the API front (the kubeconfig's one address), and agents.
 */
import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { closeSync, openSync, promises as fs, readFileSync } from 'fs';
import { join } from 'path';
import { parseArgs } from 'util';
import { Client } from '../client';
import { KernelForwarder } from '../proxy/kernel';
import { bridgeDevice, canManageAddresses, ensureBridgeNetwork } from '../proxy/network';
import { ensureSelfSignedCertificate } from '../util/tls';
import { bosunExecutable } from '../util/version';
import {
  AgentRecord,
  ClusterConfig,
  clusterDir,
  kubeconfig,
  MasterRecord,
  ProcessRecord,
  readClusterConfig,
  writeClusterConfig,
} from './cluster-config';
import { CommandIO, dockerClient, parseDuration, UsageError } from './io';
import { registerCommand } from './main';
import { formatColumns } from './printers';
import {
  claimNodeSubnet,
  DEFAULT_SUBNET_REGISTRY,
  releaseNodeSubnets,
  SubnetRegistry,
  subnetOf,
} from './node-subnet';
import { freePort } from '../util/ports';

export const CLUSTER_LABEL = 'bosun.cluster';

function alive(pid: number): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A process that exited but was not reaped yet (a zombie: "bosun up" has exited, and PID 1 of a
  // container may reap late) still takes signals; it is gone all the same.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/**
 * A master allocates a short-lived object graph per request and per watch event; with Node's
 * default young generation (16 MiB semi-spaces) it scavenges several times a second under load,
 * and GC was 13 % of a busy leader's time. 32 MiB halves the scavenges: 3,000 pods on 100 hollow
 * nodes bound 10-25 % faster at the same resident memory (BENCHMARKS.md, 2026-12-04). Agents and
 * the proxy are not allocation bound, so they keep the default. Flags in BOSUN_NODE_ARGS come
 * later and win.
 */
function heapArgs(args: string[]): string[] {
  return args[0] === 'master' ? ['--max-semi-space-size=32'] : [];
}

/** Starts a bosun process in the background, detached, its output appended to its log. */
function launch(record: ProcessRecord): number {
  const out = openSync(record.log, 'a');
  // BOSUN_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") reaches every process of the
  // cluster: how a benchmark profiles the masters, since Node refuses --cpu-prof in NODE_OPTIONS.
  const nodeArgs = (process.env.BOSUN_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(
    process.execPath,
    [...heapArgs(record.args), ...nodeArgs, bosunExecutable(), ...record.args],
    {
      detached: true,
      stdio: ['ignore', out, out],
      env: { ...process.env, BOSUN_LOG_LEVEL: process.env.BOSUN_LOG_LEVEL ?? 'info' },
    },
  );
  closeSync(out);
  child.unref();
  return child.pid ?? 0;
}

/** A process of the cluster died while `bosun up` waited for it: no use waiting on. */
class ProcessExited extends UsageError {}

/** Fails at once, with the end of its log, when a started process has exited. */
export function mustBeAlive(records: ProcessRecord[]): void {
  for (const record of records) {
    if (alive(record.pid)) continue;
    let tail = '';
    try {
      tail = readFileSync(record.log, 'utf8').trimEnd().split('\n').slice(-5).join('\n');
    } catch {
      // no log: nothing to show
    }
    throw new ProcessExited(
      `${record.name} (pid ${record.pid}) exited while starting; the end of ${record.log}:\n${tail}`,
    );
  }
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
  onWait?: () => void,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      if (error instanceof ProcessExited) throw error;
      // not yet
    }
    if (Date.now() > deadline)
      throw new UsageError(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    onWait?.();
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface MasterStatus {
  role: string;
  leader: string;
  term: number;
  commit: number;
  applied: number;
}

async function masterStatus(
  master: MasterRecord,
  token: string,
  timeoutMs = 500,
): Promise<MasterStatus | undefined> {
  const response = await fetch(`${master.api}/bosun/v1/status`, {
    headers: { authorization: `Bearer ${token}` },
    signal: AbortSignal.timeout(timeoutMs),
  });
  return response.ok ? ((await response.json()) as MasterStatus) : undefined;
}

function clusterNetwork(config: ClusterConfig): string {
  return `bosun-${config.clusterId}`;
}

function masterArgs(config: ClusterConfig, m: MasterRecord): string[] {
  const peers = config.masters.map((x) => `${x.name}=${x.peer}`).join(',');
  return [
    'master',
    '--name',
    m.name,
    '--data',
    m.data,
    '--peers',
    peers,
    '--api',
    m.api.replace(/^http:\/\//, ''),
    '--secret-file',
    join(config.dir, 'secret'),
    '--tokens-file',
    join(config.dir, 'tokens.json'),
    ...(config.serviceCIDR ? ['--service-cidr', config.serviceCIDR] : []),
    ...(config.masterFlags ?? []),
  ];
}

/**
 * An agent renews its Lease at a quarter of the masters' node grace period (the kubelet's
 * proportion of renewal to lease), so a grace period given to `bosun up` holds for its agents.
 */
export function leaseRenewArgs(config: ClusterConfig): string[] {
  const flags = config.masterFlags ?? [];
  const at = flags.indexOf('--node-grace-period');
  if (at < 0) return [];
  const graceMs = parseDuration(flags[at + 1], 0, '--node-grace-period');
  return graceMs > 0 ? ['--lease-renew-interval', `${Math.max(1, Math.floor(graceMs / 4))}ms`] : [];
}

function agentArgs(config: ClusterConfig, a: AgentRecord, dns: string | undefined): string[] {
  return [
    'agent',
    ...(dns ? ['--dns', dns] : []),
    ...leaseRenewArgs(config),
    '--name',
    a.name,
    '--server',
    config.masters.map((m) => m.api).join(','),
    '--token',
    config.nodeTokens[a.name],
    '--address',
    a.address,
    '--data',
    join(config.dir, 'agents', a.name),
    '--network',
    clusterNetwork(config),
    '--docker-label',
    `${CLUSTER_LABEL}=${config.clusterId}`,
    ...(config.dockerLabels ?? []).flatMap((label) => ['--docker-label', label]),
  ];
}

async function runUp(args: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      masters: { type: 'string' },
      agents: { type: 'string' },
      dir: { type: 'string' },
      quiet: { type: 'boolean', short: 'q' },
      'node-grace-period': { type: 'string' },
      'pod-eviction-timeout': { type: 'string' },
      'docker-label': { type: 'string', multiple: true },
    },
    strict: true,
  });
  const started = Date.now();
  const dir = clusterDir(io, values.dir);
  const progress = (line: string) => {
    if (!values.quiet) io.stderr.write(`${line}\n`);
  };
  let config = await readClusterConfig(dir);
  if (config) {
    const running = everyProcess(config).filter((p) => alive(p.pid));
    if (running.length > 0) {
      throw new UsageError(
        `a cluster is already running in ${dir} (${running.map((p) => p.name).join(', ')}): see "bosun status", or stop it with "bosun down"`,
      );
    }
    progress(`restarting the cluster in ${dir} from its data`);
    const subnet = config.agents.length > 0 ? subnetOf(config.agents[0].address) : undefined;
    if (subnet !== undefined) await claimNodeSubnet(subnetRegistry(io), dir, subnet);
  } else {
    const masters = Number(values.masters ?? 3);
    const agents = Number(values.agents ?? 0);
    if (!Number.isInteger(masters) || masters < 1 || masters > 7)
      throw new UsageError('--masters must be 1 to 7');
    if (!Number.isInteger(agents) || agents < 0 || agents > 20)
      throw new UsageError('--agents must be 0 to 20');
    await fs.mkdir(join(dir, 'logs'), { recursive: true });
    const masterRecords: MasterRecord[] = [];
    for (let i = 1; i <= masters; i++) {
      masterRecords.push({
        name: `m${i}`,
        pid: 0,
        args: [],
        log: join(dir, 'logs', `m${i}.log`),
        api: `http://127.0.0.1:${await freePort()}`,
        peer: `127.0.0.1:${await freePort()}`,
        data: join(dir, `m${i}`),
      });
    }
    // Node ports and host ports bind on node addresses: another cluster on this host gets its own /24.
    const subnet = agents > 0 ? await claimNodeSubnet(subnetRegistry(io), dir) : 1;
    const agentRecords: AgentRecord[] = Array.from({ length: agents }, (_, i) => ({
      name: `node-${i + 1}`,
      pid: 0,
      args: [],
      log: join(dir, 'logs', `node-${i + 1}.log`),
      // Each agent its own loopback address, so host ports of pods on different nodes never clash.
      address: `127.0.${subnet}.${i + 1}`,
    }));
    const frontPort = await freePort();
    config = {
      version: 1,
      dir,
      clusterId: randomBytes(3).toString('hex'),
      server: `https://127.0.0.1:${frontPort}`,
      front: {
        name: 'front',
        pid: 0,
        args: [],
        log: join(dir, 'logs', 'front.log'),
        address: `127.0.0.1:${frontPort}`,
      },
      masters: masterRecords,
      agents: agentRecords,
      adminToken: randomBytes(24).toString('hex'),
      readonlyToken: randomBytes(24).toString('hex'),
      clusterSecret: randomBytes(32).toString('hex'),
      nodeTokens: Object.fromEntries(agentRecords.map((a) => [a.name, randomBytes(24).toString('hex')])),
      serviceCIDR: serviceCIDRFor(subnet),
    };
    await fs.writeFile(join(dir, 'secret'), config.clusterSecret + '\n', { mode: 0o600 });
  }
  // A cluster made before the proxy existed gets its token now (the masters read the file at start).
  config.proxyToken ??= randomBytes(24).toString('hex');
  await fs.writeFile(
    join(dir, 'tokens.json'),
    JSON.stringify({
      admin: config.adminToken,
      readonly: config.readonlyToken,
      nodes: config.nodeTokens,
      proxy: config.proxyToken,
    }) + '\n',
    { mode: 0o600 },
  );
  // Control-plane timings given to this "up" apply from now on (they are kept in the config).
  const timings: string[] = [];
  for (const flag of ['node-grace-period', 'pod-eviction-timeout'] as const) {
    const value = values[flag];
    if (value === undefined) continue;
    parseDuration(value, 0, `--${flag}`);
    timings.push(`--${flag}`, value);
  }
  if (timings.length > 0) config.masterFlags = timings;
  // Extra labels on everything the agents create in Docker (a test run labels its resources).
  if (values['docker-label']) config.dockerLabels = values['docker-label'];
  const cluster = config;
  const certificate = await ensureSelfSignedCertificate(join(dir, 'tls'));
  for (const m of cluster.masters) {
    m.args = masterArgs(cluster, m);
    m.pid = launch(m);
  }
  if (cluster.front) {
    cluster.front.args = [
      'front',
      '--listen',
      cluster.front.address,
      '--backends',
      cluster.masters.map((m) => m.api.replace(/^http:\/\//, '')).join(','),
      '--tls-cert',
      certificate.cert,
      '--tls-key',
      certificate.key,
    ];
    cluster.front.pid = launch(cluster.front);
  }
  await writeClusterConfig(cluster);
  await fs.writeFile(join(dir, 'kubeconfig'), kubeconfig(cluster, await fs.readFile(certificate.cert)), {
    mode: 0o600,
  });
  progress(`started ${cluster.masters.length} masters; waiting for a leader`);

  const leader = await waitFor(
    'a leader and every master answering',
    async () => {
      mustBeAlive(cluster.masters);
      const statuses = await Promise.all(cluster.masters.map((m) => masterStatus(m, cluster.adminToken)));
      const leaders = new Set(statuses.map((s) => s?.leader));
      if (statuses.some((s) => !s) || leaders.size !== 1 || !statuses[0]!.leader) return undefined;
      return statuses[0]!.leader;
    },
    30_000,
  );
  const client = new Client({
    servers: cluster.masters.map((m) => m.api),
    token: cluster.adminToken,
    retryForMs: 2000,
  });
  try {
    await waitFor('the API', () => client.resource('Namespace').get(undefined, 'default'), 30_000);
    if (cluster.agents.length > 0) {
      await ensureDocker();
      const dns = await startProxy(cluster);
      progress(
        dns
          ? `service proxy started; cluster DNS at ${dns}`
          : 'service proxy started (not root: no ClusterIPs on the host and no cluster DNS; see README "Services")',
      );
      for (const a of cluster.agents) {
        a.args = agentArgs(cluster, a, dns);
        a.pid = launch(a);
      }
      await writeClusterConfig(cluster);
      progress(
        `leader ${leader} elected; started ${cluster.agents.length} agents, waiting for their nodes to be Ready`,
      );
      await waitFor(
        'every node to be Ready',
        async () => {
          const nodes = await client.resource('Node').list();
          const ready = nodes.items.filter((n) =>
            n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
          );
          return cluster.agents.every((a) => ready.some((n) => n.metadata.name === a.name))
            ? true
            : undefined;
        },
        60_000,
      );
    }
  } finally {
    client.close();
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  io.stdout.write(
    [
      `cluster up in ${seconds} s: ${cluster.masters.length} masters (leader ${leader})${cluster.agents.length ? `, ${cluster.agents.length} agents` : ''}`,
      `API: ${cluster.server}   (masters: ${cluster.masters.map((m) => m.api.replace('http://', '')).join(', ')})`,
      `kubectl: export KUBECONFIG=${join(dir, 'kubeconfig')}`,
      '',
    ].join('\n'),
  );
  return 0;
}

/**
 * Starts the cluster's service proxy (ClusterIPs, NodePorts on the agents' addresses, cluster
 * DNS) once the Docker network exists, and waits until it serves. Returns the cluster DNS
 * address to give the agents: the network's gateway, where the proxy listens when it can (root).
 */
async function startProxy(cluster: ClusterConfig): Promise<string | undefined> {
  const bridge = await ensureBridgeNetwork(await dockerClient(), clusterNetwork(cluster), {
    [CLUSTER_LABEL]: cluster.clusterId,
  });
  const metrics = cluster.proxy?.metrics ?? `127.0.0.1:${await freePort()}`;
  cluster.proxy = {
    name: 'proxy',
    pid: 0,
    log: join(cluster.dir, 'logs', 'proxy.log'),
    metrics,
    args: [
      'proxy',
      '--server',
      cluster.masters.map((m) => m.api).join(','),
      '--token',
      cluster.proxyToken!,
      '--network',
      clusterNetwork(cluster),
      '--node-address',
      cluster.agents.map((a) => a.address).join(','),
      '--metrics-address',
      metrics.split(':')[0],
      '--metrics-port',
      metrics.split(':')[1],
      '--docker-label',
      `${CLUSTER_LABEL}=${cluster.clusterId}`,
    ],
  };
  cluster.proxy.pid = launch(cluster.proxy);
  await writeClusterConfig(cluster);
  await waitFor(
    'the service proxy',
    async () => ((await fetch(`http://${metrics}/healthz`)).ok ? true : undefined),
    30_000,
  );
  return canManageAddresses() ? bridge.gateway : undefined;
}

async function ensureDocker(): Promise<void> {
  try {
    await (await dockerClient()).ping();
  } catch (error) {
    throw new UsageError(
      `agents need a Docker daemon, and none answers (${(error as Error).message}); start one (bash scripts/docker-engine.sh) or run with --agents 0`,
    );
  }
}

/**
 * ClusterIPs of the cluster on node subnet N: 10.96.0.0/16 for the first (Kubernetes'
 * default), 10.97.0.0/16 for the second, ...; each cluster's proxy puts them on its own bridge.
 */
export function serviceCIDRFor(subnet: number): string | undefined {
  return subnet > 1 && 95 + subnet <= 255 ? `10.${95 + subnet}.0.0/16` : undefined;
}

/** The host's node-subnet claims; a cluster holds its claim while any of its processes runs. */
function subnetRegistry(io: CommandIO): SubnetRegistry {
  return {
    dir: io.env.BOSUN_SUBNET_REGISTRY ?? DEFAULT_SUBNET_REGISTRY,
    isLive: async (dir) => {
      const config = await readClusterConfig(dir).catch(() => undefined);
      return config !== undefined && everyProcess(config).some((p) => alive(p.pid));
    },
  };
}

function everyProcess(config: ClusterConfig): ProcessRecord[] {
  return [
    ...config.agents,
    ...(config.proxy ? [config.proxy] : []),
    ...(config.front ? [config.front] : []),
    ...config.masters,
  ];
}

async function stopProcess(record: ProcessRecord, signal: NodeJS.Signals, timeoutMs = 10_000): Promise<void> {
  if (!alive(record.pid)) return;
  try {
    process.kill(record.pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (alive(record.pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  if (alive(record.pid)) process.kill(record.pid, 'SIGKILL');
}

async function loadConfig(io: CommandIO, dirFlag: string | undefined): Promise<ClusterConfig> {
  const config = await readClusterConfig(clusterDir(io, dirFlag));
  if (!config) throw new UsageError(`no cluster in ${clusterDir(io, dirFlag)}: start one with "bosun up"`);
  return config;
}

async function runDown(args: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { dir: { type: 'string' }, purge: { type: 'boolean' } },
    strict: true,
  });
  const dir = clusterDir(io, values.dir);
  const config = await readClusterConfig(dir);
  if (!config) {
    io.stderr.write(`no cluster in ${dir}\n`);
    return 0;
  }
  // Agents first (their pods' containers go below), then the front, then the masters.
  await Promise.all(config.agents.map((a) => stopProcess(a, 'SIGTERM')));
  // The proxy removes the ClusterIP addresses it added (removing the network below would too).
  if (config.proxy) await stopProcess(config.proxy, 'SIGTERM');
  if (config.front) await stopProcess(config.front, 'SIGTERM');
  await Promise.all(config.masters.map((m) => stopProcess(m, 'SIGTERM')));
  const removed = await removeClusterContainers(config.clusterId, values.purge ?? false);
  for (const p of everyProcess(config)) p.pid = 0;
  if (values.purge) {
    await fs.rm(dir, { recursive: true, force: true });
    await releaseNodeSubnets(subnetRegistry(io), dir);
    io.stdout.write(`cluster stopped${removed ? `, ${removed} containers removed` : ''}, ${dir} deleted\n`);
  } else {
    await writeClusterConfig(config);
    io.stdout.write(
      `cluster stopped${removed ? `, ${removed} containers removed` : ''}; its state is kept in ${dir} ("bosun up" resumes it, "bosun down --purge" deletes it)\n`,
    );
  }
  return 0;
}

/**
 * Removes the containers, network and pods' emptyDir volumes this cluster created (found by
 * label, never anything else); persistent claims' volumes only with --purge.
 */
async function removeClusterContainers(clusterId: string, purge: boolean): Promise<number> {
  const docker = await dockerClient();
  try {
    await docker.ping();
  } catch {
    return 0;
  }
  const filters = { label: [`${CLUSTER_LABEL}=${clusterId}`] };
  const containers = await docker.listContainers({ all: true, filters });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
  const { Volumes } = await docker.listVolumes({ filters });
  const doomed = (Volumes ?? []).filter((v) => purge || v.Labels?.['bosun.pod.uid']);
  await Promise.all(
    doomed.map((v) =>
      docker
        .getVolume(v.Name)
        .remove()
        .catch(() => undefined),
    ),
  );
  const networks = await docker.listNetworks({ filters });
  // Kernel-mode Services' nat rules: the proxy removes them on SIGTERM, but not when it was
  // killed, and nothing would start again on this bridge to replace them.
  if (canManageAddresses())
    for (const n of networks) await new KernelForwarder(bridgeDevice(n), '').remove().catch(() => undefined);
  await Promise.all(
    networks.map((n) =>
      docker
        .getNetwork(n.Id)
        .remove()
        .catch(() => undefined),
    ),
  );
  return containers.length;
}

async function runStatus(args: string[], io: CommandIO): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { dir: { type: 'string' }, output: { type: 'string', short: 'o' } },
    strict: true,
  });
  const config = await loadConfig(io, values.dir);
  const rows: Array<Record<string, string | number>> = [];
  for (const m of config.masters) {
    const status = alive(m.pid) ? await masterStatus(m, config.adminToken).catch(() => undefined) : undefined;
    rows.push({
      name: m.name,
      kind: 'master',
      pid: alive(m.pid) ? m.pid : 0,
      address: m.api.replace('http://', ''),
      role: status ? status.role : 'down',
      term: status?.term ?? '',
      commit: status?.commit ?? '',
      health: status ? 'ok' : alive(m.pid) ? 'not answering' : 'down',
    });
  }
  if (config.front) {
    rows.push({
      name: 'front',
      kind: 'front',
      pid: alive(config.front.pid) ? config.front.pid : 0,
      address: config.front.address,
      role: '',
      term: '',
      commit: '',
      health: alive(config.front.pid) ? 'ok' : 'down',
    });
  }
  if (config.proxy) {
    const up = alive(config.proxy.pid);
    const healthy = up
      ? await fetch(`http://${config.proxy.metrics}/healthz`, { signal: AbortSignal.timeout(500) })
          .then((r) => r.ok)
          .catch(() => false)
      : false;
    rows.push({
      name: 'proxy',
      kind: 'proxy',
      pid: up ? config.proxy.pid : 0,
      address: config.proxy.metrics,
      role: '',
      term: '',
      commit: '',
      health: !up ? 'down' : healthy ? 'ok' : 'not answering',
    });
  }
  let nodes: Map<string, boolean> = new Map();
  if (config.agents.length > 0) {
    const client = new Client({
      servers: config.masters.map((m) => m.api),
      token: config.adminToken,
      retryForMs: 2000,
    });
    try {
      const list = await client.resource('Node').list();
      nodes = new Map(
        list.items.map((n) => [
          n.metadata.name!,
          n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
        ]),
      );
    } catch {
      // no API: agents show as unknown
    } finally {
      client.close();
    }
  }
  for (const a of config.agents) {
    const ready = nodes.get(a.name);
    rows.push({
      name: a.name,
      kind: 'agent',
      pid: alive(a.pid) ? a.pid : 0,
      address: a.address,
      role: '',
      term: '',
      commit: '',
      health: !alive(a.pid) ? 'down' : ready === undefined ? 'unknown' : ready ? 'Ready' : 'NotReady',
    });
  }
  if (values.output === 'json') {
    io.stdout.write(JSON.stringify({ server: config.server, members: rows }, null, 2) + '\n');
    return 0;
  }
  const header = ['NAME', 'KIND', 'PID', 'ADDRESS', 'ROLE', 'TERM', 'COMMIT', 'HEALTH'];
  const body = rows.map((r) =>
    [
      r.name,
      r.kind,
      r.pid ? String(r.pid) : '-',
      r.address,
      r.role || '-',
      String(r.term === '' ? '-' : r.term),
      String(r.commit === '' ? '-' : r.commit),
      r.health,
    ].map(String),
  );
  io.stdout.write(formatColumns([header, ...body]) + `\n\nAPI: ${config.server}\n`);
  return 0;
}

function findProcess(config: ClusterConfig, name: string): ProcessRecord {
  const record = everyProcess(config).find((p) => p.name === name);
  if (!record)
    throw new UsageError(
      `no member named "${name}"; the cluster has ${everyProcess(config)
        .map((p) => p.name)
        .join(', ')}`,
    );
  return record;
}

async function runKill(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { dir: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('usage: bosun kill NAME|leader');
  const config = await loadConfig(io, values.dir);
  let name = positionals[0];
  if (name === 'leader') {
    // The master that leads right now, as its peers see it: the HA experiment people run most.
    const statuses = await Promise.all(
      config.masters.map((m) => masterStatus(m, config.adminToken).catch(() => undefined)),
    );
    const leader = config.masters.find((_, i) => statuses[i]?.role === 'leader');
    if (!leader) throw new UsageError('no master is leading right now (see "bosun status")');
    name = leader.name;
  }
  const record = findProcess(config, name);
  if (!alive(record.pid)) throw new UsageError(`${record.name} is not running`);
  process.kill(record.pid, 'SIGKILL');
  io.stdout.write(`${record.name} (pid ${record.pid}) killed\n`);
  record.pid = 0;
  await writeClusterConfig(config);
  return 0;
}

async function runStart(args: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { dir: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('usage: bosun start NAME');
  const config = await loadConfig(io, values.dir);
  const record = findProcess(config, positionals[0]);
  if (alive(record.pid)) throw new UsageError(`${record.name} is already running (pid ${record.pid})`);
  if (record.args.length === 0) throw new UsageError(`${record.name} was never started; use "bosun up"`);
  record.pid = launch(record);
  await writeClusterConfig(config);
  io.stdout.write(`${record.name} started (pid ${record.pid})\n`);
  return 0;
}

registerCommand({
  name: 'up',
  summary: 'Start a local cluster: masters, the API front, agents and the service proxy',
  usage:
    'bosun up [--masters 3] [--agents 0] [--dir .bosun] [-q] [--node-grace-period 10s] [--pod-eviction-timeout 30s] [--docker-label k=v ...]',
  run: runUp,
});
registerCommand({
  name: 'down',
  summary: 'Stop the local cluster (--purge also deletes its state)',
  usage: 'bosun down [--dir .bosun] [--purge]',
  run: runDown,
});
registerCommand({
  name: 'status',
  summary: 'Show every master, agent, the front and the service proxy of the local cluster',
  usage: 'bosun status [--dir .bosun] [-o json]',
  run: runStatus,
});
registerCommand({
  name: 'kill',
  summary: 'SIGKILL one master or agent (failover experiments)',
  usage: 'bosun kill NAME|leader [--dir .bosun]',
  run: runKill,
});
registerCommand({
  name: 'start',
  summary: 'Start again a master or agent that was killed',
  usage: 'bosun start NAME [--dir .bosun]',
  run: runStart,
});
