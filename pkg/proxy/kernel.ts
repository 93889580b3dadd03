/**
 * Kernel forwarding for a Service's ClusterIP (kube-proxy's iptables mode), for Services that
 * opt in with `bosun.dev/proxy-mode: kernel`. The nat table rewrites the first packet of each
 * connection to the ClusterIP to one ready endpoint (DNAT), and conntrack does the rest, so no
 * byte passes through this process. A new connection then costs the kernel's work alone: the
 * user-space relay spends about 0.2 ms of JavaScript per connection on top of it (BENCHMARKS.md,
 * "Service proxy"), which caps the rate of short connections on a small machine.
 *
 * What a kernel-mode ClusterIP gives up, and why it is opt-in:
 * - no retry on "connection refused": the client gets the refusal (the user-space relay moves
 *   it to another endpoint before any byte is sent);
 * - no PROXY protocol header (a Service that asks for one stays in user space);
 * - random balancing (`statistic`), not round robin or least connections;
 * - `bosun_proxy_connections_opened_total` is counted (the nat rules' packet counters: nat sees
 *   only a connection's first packet), bytes and active connections are not.
 * NodePorts and LoadBalancer addresses stay in user space.
 *
 * Every chain is named `BSN-<id>...`, `id` taken from the bridge device, so two clusters on one
 * host keep apart and a proxy finds (and removes) what an earlier run of itself left behind.
 * Rules are written with one `iptables-restore --noflush` per change: the chains it names are
 * replaced as a whole and atomically, nothing else in the table is touched.
 */
import { execFile, spawn } from 'child_process';
import { createHash } from 'crypto';
import { promisify } from 'util';
import { Endpoints, Service } from '../api';
import { logger } from '../util/log';
import { Serial } from '../util/serial';
import { Endpoint } from './balancer';
import { clientIPAffinitySeconds, kernelMode, tcpServicePorts } from './listeners';

const run = promisify(execFile);
const log = logger('proxy-kernel');

/**
 * The packet mark that asks for masquerade. A pod's connection to a ClusterIP that lands on a
 * pod of the same bridge would otherwise be answered pod to pod, past the host's conntrack
 * entry that undoes the DNAT (unless br_netfilter happens to be on).
 */
const MASQUERADE_MARK = '0x4000/0x4000';

/** One kernel-forwarded Service port: its ClusterIP and port, and where connections go. */
export interface KernelRoute {
  /** `namespace/name:port`, as the balancers are keyed. */
  key: string;
  namespace: string;
  service: string;
  /** The port's name, or its number (the metrics' `port` label). */
  port: string;
  clusterIP: string;
  servicePort: number;
  endpoints: Endpoint[];
  /** sessionAffinity ClientIP's timeout (0: none). */
  affinitySeconds: number;
}

/** Every kernel route the given Services and Endpoints call for. */
export function kernelRoutes(
  services: Service[],
  endpointsOf: (namespace: string, name: string) => Endpoints | undefined,
): KernelRoute[] {
  const out: KernelRoute[] = [];
  for (const ref of tcpServicePorts(services, endpointsOf)) {
    if (!kernelMode(ref.service)) continue;
    out.push({
      key: ref.key,
      namespace: ref.namespace,
      service: ref.name,
      port: ref.label,
      clusterIP: ref.clusterIP,
      servicePort: ref.port.port,
      endpoints: ref.endpoints,
      affinitySeconds: clientIPAffinitySeconds(ref.service),
    });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

const hash = (text: string, length: number) =>
  createHash('sha256').update(text).digest('hex').slice(0, length).toUpperCase();

/** The chain names of one proxy (one bridge): at most 28 characters, iptables' limit. */
export function chainNames(device: string) {
  const prefix = `BSN-${hash(device, 6)}`;
  return {
    prefix,
    /** Jumped to from PREROUTING (pods) and OUTPUT (the host): matches ClusterIP:port. */
    services: prefix,
    /** Jumped to from POSTROUTING: masquerades what a service chain marked. */
    postrouting: `${prefix}-POST`,
    service: (key: string) => `${prefix}-S${hash(key, 12)}`,
    endpoint: (key: string, e: Endpoint) => `${prefix}-E${hash(`${key} ${e.host}:${e.port}`, 12)}`,
  };
}

/** The comment on the jumps from the built-in chains, by which they are found again. */
const jumpComment = (prefix: string) => `bosun service proxy ${prefix}`;

/**
 * The `iptables-restore --noflush` input that makes this proxy's chains say `routes`: every
 * chain it declares is emptied and refilled, and `stale` chains (ours, no longer wanted) are
 * emptied and deleted. A Service port without ready endpoints gets no rule: its connections
 * reach the ClusterIP itself, where nothing listens, and are refused.
 */
export function natRules(
  device: string,
  podSubnet: string,
  routes: KernelRoute[],
  stale: string[] = [],
): string {
  const names = chainNames(device);
  const chains = [names.services, names.postrouting];
  const rules: string[] = [`-A ${names.postrouting} -m mark --mark ${MASQUERADE_MARK} -j MASQUERADE`];
  for (const route of routes) {
    if (route.endpoints.length === 0) continue;
    const service = names.service(route.key);
    chains.push(service);
    rules.push(
      `-A ${names.services} -d ${route.clusterIP}/32 -p tcp -m tcp --dport ${route.servicePort} ` +
        `-m comment --comment "${route.key}" -j ${service}`,
    );
    if (podSubnet) rules.push(`-A ${service} -s ${podSubnet} -j MARK --set-xmark ${MASQUERADE_MARK}`);
    const endpointChains = route.endpoints.map((e) => names.endpoint(route.key, e));
    chains.push(...endpointChains);
    // A client seen within the affinity timeout goes back to its endpoint (the recent match
    // keeps, per endpoint chain, the source addresses that went there).
    if (route.affinitySeconds > 0)
      for (const chain of endpointChains)
        rules.push(
          `-A ${service} -m recent --name ${chain} --mask 255.255.255.255 --rsource --rcheck ` +
            `--seconds ${route.affinitySeconds} --reap -j ${chain}`,
        );
    // Rule i takes 1/(n-i) of what reaches it: each endpoint gets 1/n of all connections.
    endpointChains.forEach((chain, i) => {
      const left = endpointChains.length - i;
      const pick = left > 1 ? `-m statistic --mode random --probability ${(1 / left).toFixed(10)} ` : '';
      rules.push(`-A ${service} ${pick}-j ${chain}`);
    });
    route.endpoints.forEach((e, i) => {
      const chain = endpointChains[i];
      if (route.affinitySeconds > 0)
        rules.push(`-A ${chain} -m recent --name ${chain} --mask 255.255.255.255 --rsource --set`);
      rules.push(`-A ${chain} -p tcp -m tcp -j DNAT --to-destination ${e.host}:${e.port}`);
    });
  }
  const wanted = new Set(chains);
  const leaving = stale.filter((c) => !wanted.has(c));
  return [
    '*nat',
    ...[...chains, ...leaving].map((c) => `:${c} - [0:0]`),
    ...rules,
    ...leaving.map((c) => `-X ${c}`),
    'COMMIT',
    '',
  ].join('\n');
}

/** What `apply` last wrote when it removed everything (no route). */
const NOTHING = 'nothing';

/** The jumps from the built-in nat chains into this proxy's chains. */
function jumps(device: string): Array<{ chain: string; rule: string[] }> {
  const names = chainNames(device);
  const comment = ['-m', 'comment', '--comment', jumpComment(names.prefix)];
  return [
    { chain: 'PREROUTING', rule: [...comment, '-j', names.services] },
    { chain: 'OUTPUT', rule: [...comment, '-j', names.services] },
    { chain: 'POSTROUTING', rule: [...comment, '-j', names.postrouting] },
  ];
}

/** Counts of `-c PKTS BYTES` in `iptables -S -v` output, by the rule's comment. */
export function countersByComment(listing: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of listing.split('\n')) {
    const comment = /--comment "?([^"\s]+)"?/.exec(line);
    const counts = /-c (\d+) \d+/.exec(line);
    if (comment && counts) out.set(comment[1], Number(counts[1]));
  }
  return out;
}

function restore(input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('iptables-restore', ['--noflush', '--wait'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`iptables-restore failed (${code}): ${stderr.trim()}`)),
    );
    child.stdin.end(input);
  });
}

/**
 * This proxy's rules in the host's nat table. Changes are serialized; `apply` with the same
 * routes as last time writes nothing, so a periodic resync costs no iptables call.
 */
export class KernelForwarder {
  private readonly serial = new Serial();
  private applied = '';
  private readonly names;
  /** Connections opened before the rules were last rewritten (a rewrite zeroes the counters). */
  private readonly carried = new Map<string, number>();
  private routes: KernelRoute[] = [];

  constructor(
    private readonly device: string,
    private readonly podSubnet: string,
  ) {
    this.names = chainNames(device);
  }

  /** Our chains now in the nat table (left by an earlier run, or written by this one). */
  private async ownChains(): Promise<string[]> {
    const { stdout } = await run('iptables', ['-w', '-t', 'nat', '-S']);
    return [...stdout.matchAll(/^-N (\S+)/gm)]
      .map((m) => m[1])
      .filter((c) => c.startsWith(this.names.prefix));
  }

  /**
   * Writes the rules for `routes`, creating the chains and their jumps the first time. With no
   * route at all, the table holds nothing of this proxy's, not even the jumps: a cluster that
   * never asks for kernel mode leaves iptables as it found it (after removing what a crashed
   * run of this proxy left, on the first call).
   */
  apply(routes: KernelRoute[]): Promise<void> {
    return this.serial.run(async () => {
      if (routes.length === 0) {
        if (this.applied !== NOTHING) await this.clear();
        this.applied = NOTHING;
        return;
      }
      const input = natRules(this.device, this.podSubnet, routes);
      if (input === this.applied) return;
      await this.carryCounters();
      await restore(natRules(this.device, this.podSubnet, routes, await this.ownChains()));
      for (const jump of jumps(this.device)) {
        const exists = await run('iptables', ['-w', '-t', 'nat', '-C', jump.chain, ...jump.rule]).then(
          () => true,
          () => false,
        );
        if (!exists) await run('iptables', ['-w', '-t', 'nat', '-I', jump.chain, '1', ...jump.rule]);
      }
      this.applied = input;
      this.routes = routes;
      log.debug('kernel rules written', { chain: this.names.prefix, routes: routes.length });
    });
  }

  private async readCounters(): Promise<Map<string, number>> {
    if (!this.applied || this.applied === NOTHING) return new Map();
    const { stdout } = await run('iptables', ['-w', '-t', 'nat', '-S', this.names.services, '-v']);
    return countersByComment(stdout);
  }

  private async carryCounters(): Promise<void> {
    const counts = await this.readCounters().catch(() => new Map<string, number>());
    for (const [key, n] of counts) this.carried.set(key, (this.carried.get(key) ?? 0) + n);
  }

  /** Connections opened per route key since this proxy started (nat counts first packets only). */
  opened(): Promise<Map<string, number>> {
    return this.serial.run(async () => {
      const out = new Map(this.carried);
      for (const [key, n] of await this.readCounters()) out.set(key, (out.get(key) ?? 0) + n);
      return out;
    });
  }

  /** The routes last written. */
  get current(): KernelRoute[] {
    return this.routes;
  }

  /** Removes the jumps and every chain of this proxy, its own or left by an earlier run. */
  remove(): Promise<void> {
    return this.serial.run(async () => {
      await this.clear();
      this.applied = '';
      this.carried.clear();
    });
  }

  private async clear(): Promise<void> {
    await this.carryCounters();
    for (const jump of jumps(this.device)) {
      // Once per copy: a proxy killed between its check and its insert may have left two.
      while (
        await run('iptables', ['-w', '-t', 'nat', '-D', jump.chain, ...jump.rule]).then(
          () => true,
          () => false,
        )
      );
    }
    const chains = await this.ownChains().catch(() => []);
    if (chains.length > 0)
      await restore(
        ['*nat', ...chains.map((c) => `:${c} - [0:0]`), ...chains.map((c) => `-X ${c}`), 'COMMIT', ''].join(
          '\n',
        ),
      );
    this.routes = [];
  }
}
