/**
 * `bosun proxy`: the service proxy and cluster DNS for one Docker host (all agents on one
 * daemon share one pod network, so one proxy serves them all). Started by `bosun up`.
 */
import { parseArgs } from 'util';
import { Client } from '../client';
import { ClusterDns, hostResolvers } from '../proxy/dns';
import { proxyRegistry, serveMetrics } from '../proxy/metrics';
import { canManageAddresses, ensureBridgeNetwork, HostAddresses } from '../proxy/network';
import { KernelForwarder } from '../proxy/kernel';
import { ServiceProxy } from '../proxy/service-proxy';
import { logger } from '../util/log';
import { CommandIO, dockerClient, UsageError } from './io';
import { registerCommand } from './main';

const USAGE =
  'bosun proxy --server URL[,URL...] --token T --network NAME --node-address A[,B...] [--metrics-port 10249] [--metrics-address 127.0.0.1] [--cluster-domain cluster.local] [--dns-port 53] [--docker-label k=v ...]';

async function runProxy(args: string[], io: CommandIO): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        server: { type: 'string' },
        token: { type: 'string' },
        network: { type: 'string' },
        'node-address': { type: 'string' },
        'metrics-port': { type: 'string' },
        'metrics-address': { type: 'string' },
        'cluster-domain': { type: 'string' },
        'dns-port': { type: 'string' },
        'docker-label': { type: 'string', multiple: true },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\nUsage: ${USAGE}`);
  }
  const v = parsed.values;
  const token = v.token ?? io.env.BOSUN_TOKEN;
  if (!v.server || !token || !v.network)
    throw new UsageError(`--server, --token and --network are required\nUsage: ${USAGE}`);
  const labels = Object.fromEntries(
    (v['docker-label'] ?? []).map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new UsageError(`--docker-label takes key=value, not "${pair}"`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  const log = logger('proxy');
  const bridge = await ensureBridgeNetwork(await dockerClient(), v.network, labels);
  const privileged = canManageAddresses();
  if (!privileged) {
    log.warn(
      'not root on Linux: ClusterIPs are not added to the host, so Services are reached by NodePort and LoadBalancer address only (README, "Services")',
    );
  }
  const client = new Client({ servers: v.server.split(','), token, userAgent: 'bosun-proxy' });
  const proxy = new ServiceProxy({
    client,
    nodeAddresses: (v['node-address'] ?? '')
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean),
    addresses: privileged ? new HostAddresses(bridge.device) : undefined,
    kernel: privileged ? new KernelForwarder(bridge.device, bridge.subnet) : undefined,
  });
  await proxy.start();
  const dns = new ClusterDns({
    directory: {
      service: (ns, name) => proxy.services.get(`${ns}/${name}`),
      endpoints: (ns, name) => proxy.endpoints.get(`${ns}/${name}`),
    },
    domain: v['cluster-domain'] ?? 'cluster.local',
    upstreams: await hostResolvers(),
  });
  const dnsPort = Number(v['dns-port'] ?? 53);
  try {
    await dns.listen(dnsPort, bridge.gateway);
  } catch (error) {
    log.warn('cluster DNS cannot listen; pods will not resolve Service names', {
      address: `${bridge.gateway}:${dnsPort}`,
      error: (error as Error).message,
    });
  }
  const metrics = await serveMetrics(
    proxyRegistry(proxy),
    Number(v['metrics-port'] ?? 10249),
    v['metrics-address'] ?? '127.0.0.1',
  );
  log.info('service proxy running', {
    network: bridge.name,
    device: bridge.device,
    gateway: bridge.gateway,
    clusterIPs: privileged ? 'host addresses' : 'not served',
    metrics: `${v['metrics-address'] ?? '127.0.0.1'}:${metrics.port}`,
  });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  log.info('service proxy stopping');
  await dns.close();
  await proxy.stop();
  await metrics.close();
  client.close();
  return 0;
}

registerCommand({
  name: 'proxy',
  summary: 'Run the service proxy and cluster DNS for this Docker host (started by "bosun up")',
  usage: USAGE,
  run: runProxy,
});
