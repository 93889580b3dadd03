/** `bosun agent`: runs one worker node (bosun's kubelet) against the cluster's masters. */
import { resolve } from 'path';
import { parseArgs } from 'util';
import { parseQuantity } from '../api';
import { Agent, DEFAULT_LEASE_RENEW_MS } from '../agent/agent';
import { RestartBackoff } from '../agent/backoff';
import { HollowRuntime } from '../agent/runtime/hollow';
import { ContainerRuntime } from '../agent/runtime/types';
import { Client } from '../client';
import { CommandIO, parseDuration, UsageError } from './io';
import { registerCommand } from './main';

const USAGE =
  'bosun agent --name NODE --server URL[,URL...] --token T [--address 127.0.0.1] [--cpus N] [--memory 4Gi] [--max-pods 110] [--data DIR] [--network bosun] [--allow-host-path] [--label k=v ...] [--dns IP] [--cluster-domain cluster.local] [--backoff-initial 10s] [--lease-renew-interval 2.5s] [--hollow [--hollow-nodes N]]';

async function runAgent(args: string[], io: CommandIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        name: { type: 'string' },
        server: { type: 'string' },
        token: { type: 'string' },
        address: { type: 'string' },
        cpus: { type: 'string' },
        memory: { type: 'string' },
        'max-pods': { type: 'string' },
        data: { type: 'string' },
        network: { type: 'string' },
        'allow-host-path': { type: 'boolean' },
        label: { type: 'string', multiple: true },
        dns: { type: 'string' },
        'cluster-domain': { type: 'string' },
        'backoff-initial': { type: 'string' },
        'lease-renew-interval': { type: 'string' },
        'docker-label': { type: 'string', multiple: true },
        hollow: { type: 'boolean' },
        'hollow-nodes': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nUsage: ${USAGE}`);
  }
  const v = parsed.values;
  const token = v.token ?? io.env.BOSUN_TOKEN;
  if (!v.name || !v.server || !token)
    throw new UsageError(`--name, --server and --token are required\nUsage: ${USAGE}`);
  const pairs = (list: string[] | undefined, flag: string) =>
    Object.fromEntries(
      (list ?? []).map((pair) => {
        const at = pair.indexOf('=');
        if (at <= 0) throw new UsageError(`--${flag} takes key=value, not "${pair}"`);
        return [pair.slice(0, at), pair.slice(at + 1)];
      }),
    );
  const domain = v['cluster-domain'] ?? 'cluster.local';
  // One client per node, hollow ones too: each starts at a random master, so a hundred hollow
  // nodes spread their requests and watches over the masters as a hundred agents would.
  const servers = v.server.split(',');
  const clients: Client[] = [];
  const clientFor = (name: string) => {
    const client = new Client({ servers, token, userAgent: `bosun-agent/${name}` });
    clients.push(client);
    return client;
  };
  const initial = parseDuration(v['backoff-initial'], 10_000, '--backoff-initial');
  const leaseRenewMs = parseDuration(
    v['lease-renew-interval'],
    DEFAULT_LEASE_RENEW_MS,
    '--lease-renew-interval',
  );
  if (leaseRenewMs <= 0) throw new UsageError('--lease-renew-interval: a positive duration');
  const makeAgent = (name: string, runtime: ContainerRuntime) =>
    new Agent({
      name,
      client: clientFor(name),
      runtime,
      address: v.address ?? '127.0.0.1',
      cpus: v.cpus === undefined ? undefined : Number(v.cpus),
      memory: v.memory === undefined ? undefined : Number(parseQuantity(v.memory).value()),
      maxPods: v['max-pods'] === undefined ? undefined : Number(v['max-pods']),
      dataDir: resolve(io.cwd, v.data ?? `.bosun/agents/${v.name}`, v.hollow ? name : ''),
      network: v.network ?? 'bosun',
      allowHostPath: v['allow-host-path'] ?? false,
      dns: v.dns ? { server: v.dns, domain } : undefined,
      token,
      labels: pairs(v.label, 'label'),
      backoff: new RestartBackoff(initial, Math.max(initial, 300_000)),
      hollow: v.hollow ?? false,
      leaseRenewMs,
    });
  let agents: Agent[];
  if (v.hollow) {
    // Hollow nodes (kubemark's idea): the real agent over a runtime that starts nothing, many per
    // process, so the control plane can be measured with a hundred nodes on one machine.
    const count = Number(v['hollow-nodes'] ?? '1');
    if (!Number.isInteger(count) || count < 1) throw new UsageError('--hollow-nodes: a positive integer');
    const names = count === 1 ? [v.name] : Array.from({ length: count }, (_, i) => `${v.name}-${i}`);
    agents = names.map((name) => makeAgent(name, new HollowRuntime(name)));
  } else {
    // Loaded here: hollow agents and every other bosun process do without dockerode.
    const { DockerRuntime } = await import('../agent/runtime/docker');
    const runtime = new DockerRuntime({
      nodeName: v.name,
      sandboxImage: 'bosun/pause:local',
      extraLabels: pairs(v['docker-label'], 'docker-label'),
    });
    agents = [makeAgent(v.name, runtime)];
  }
  await Promise.all(agents.map((agent) => agent.start()));
  await new Promise<void>((resolveStop) => {
    const stop = () => resolveStop();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  agents[0].log.info('agent stopping', { nodes: agents.length });
  await Promise.all(agents.map((agent) => agent.stop()));
  for (const client of clients) client.close();
  return 0;
}

registerCommand({
  name: 'agent',
  summary: 'Run a worker node that starts pods through Docker',
  usage: USAGE,
  run: runAgent,
});
