/**
 * The service proxy (kube-proxy's job, in user space): it watches Services and Endpoints and
 * runs one TcpBalancer per TCP Service port, listening on the ClusterIP at the Service's port,
 * on every node address at the NodePort, and, for `type: LoadBalancer`, on the Service's
 * loopback ingress address at its port, which it also writes to `status.loadBalancer.ingress`.
 * Every watch event re-runs one reconcile, which diffs what should be served with what is, so
 * an endpoint that turns unready stops getting new connections as soon as its Endpoints
 * change arrives; its open connections drain (the balancer's job).
 *
 * With `addresses` (root on Linux), each ClusterIP is first added as a /32 to the host side of
 * the cluster's Docker bridge, so the host and the pods (whose default route is that bridge)
 * reach it. Without, ClusterIPs are not served here and Services are reached by NodePort or
 * LoadBalancer address (README, "Services").
 */
import { Endpoints, objectKey, Service } from '../api';
import { Client, Informer, WorkQueue } from '../client';
import { logger } from '../util/log';
import { TcpBalancer } from './balancer';
import { KernelForwarder, KernelRoute, kernelRoutes } from './kernel';
import { HostAddresses } from './network';
import {
  BalancerSpec,
  desiredBalancers,
  diffBalancers,
  ListenAddress,
  loadBalancerAddress,
} from './listeners';
import { KernelPort, MetricsSource } from './metrics';

export interface ServiceProxyOptions {
  client: Client;
  /** Addresses NodePorts are served on (each local node's address). */
  nodeAddresses: string[];
  /** Where ClusterIPs are added as host addresses; absent: ClusterIPs are not served. */
  addresses?: HostAddresses;
  /** Forwards the ClusterIPs of Services in kernel mode (needs `addresses`'s privileges). */
  kernel?: KernelForwarder;
  /** Write LoadBalancer Services' ingress (one proxy per cluster should). Default true. */
  writeStatus?: boolean;
  drainTimeoutMs?: number;
  idleTimeoutMs?: number;
  /** How often everything is reconciled even without events (listeners that failed are retried). */
  resyncMs?: number;
}

interface Running {
  spec: BalancerSpec;
  balancer: TcpBalancer;
}

const SYNC_KEY = 'all';
const kernelLabels = (route: KernelRoute) => ({
  namespace: route.namespace,
  service: route.service,
  port: route.port,
});
const sameAddress = (a: ListenAddress, b: ListenAddress) => a.host === b.host && a.port === b.port;

export class ServiceProxy implements MetricsSource {
  readonly services: Informer<Service>;
  readonly endpoints: Informer<Endpoints>;
  private readonly running = new Map<string, Running>();
  private readonly syncQueue = new WorkQueue({ baseDelayMs: 200, maxDelayMs: 5000 });
  private readonly statusQueue = new WorkQueue({ baseDelayMs: 200, maxDelayMs: 10_000 });
  private readonly controller = new AbortController();
  private readonly loops: Promise<void>[] = [];
  private resync: NodeJS.Timeout | undefined;
  private readonly log = logger('service-proxy');
  /** Listen failures already logged, so a port in use is reported once, not every resync. */
  private readonly reported = new Set<string>();
  private syncs = 0;

  constructor(private readonly options: ServiceProxyOptions) {
    this.services = new Informer(options.client.resource('Service'));
    this.endpoints = new Informer(options.client.resource('Endpoints'));
  }

  async start(): Promise<void> {
    const signal = this.controller.signal;
    const changed = () => this.syncQueue.add(SYNC_KEY);
    this.services.addHandlers({
      add: (s) => {
        changed();
        this.statusQueue.add(objectKey(s));
      },
      update: (_old, s) => {
        changed();
        this.statusQueue.add(objectKey(s));
      },
      delete: changed,
    });
    this.endpoints.addHandlers({ add: changed, update: changed, delete: changed });
    this.loops.push(this.services.run(signal), this.endpoints.run(signal));
    await Promise.all([this.services.waitForSync(signal), this.endpoints.waitForSync(signal)]);
    this.loops.push(
      this.syncQueue.run(
        1,
        () => this.sync(),
        (_key, error) => this.log.warn('sync failed; retrying', { error: (error as Error).message }),
      ),
    );
    if (this.options.writeStatus ?? true)
      this.loops.push(
        this.statusQueue.run(
          1,
          (key) => this.syncStatus(key),
          (key, error) =>
            this.log.warn('writing service status failed; retrying', {
              service: key,
              error: (error as Error).message,
            }),
        ),
      );
    this.syncQueue.add(SYNC_KEY);
    await this.synced(1);
    // Addresses left on the bridge by a proxy that died without cleaning up.
    await this.options.addresses?.sync(new Set(this.clusterIPs()));
    const every = this.options.resyncMs ?? 5000;
    const tick = () => {
      this.syncQueue.add(SYNC_KEY);
      this.resync = setTimeout(tick, every);
    };
    this.resync = setTimeout(tick, every);
  }

  /** Resolves once `count` reconciles have completed since the proxy started. */
  private async synced(count: number): Promise<void> {
    while (this.syncs < count && !this.controller.signal.aborted)
      await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /** Stops serving: closes every listener and connection and removes the addresses it added. */
  async stop(): Promise<void> {
    this.controller.abort();
    clearTimeout(this.resync);
    this.syncQueue.shutDown();
    this.statusQueue.shutDown();
    await Promise.allSettled(this.loops);
    await Promise.all([...this.running.values()].map((r) => r.balancer.close()));
    this.running.clear();
    await this.options.kernel?.remove();
    await this.options.addresses?.removeAll();
  }

  balancers(): ReturnType<MetricsSource['balancers']> {
    return [...this.running.values()].map(({ spec, balancer }) => ({
      labels: { namespace: spec.namespace, service: spec.service, port: spec.port },
      balancer,
    }));
  }

  kernelPorts(): KernelPort[] {
    return (this.options.kernel?.current ?? []).map((route) => ({
      labels: kernelLabels(route),
      endpoints: route.endpoints.length,
    }));
  }

  async kernelOpened(): Promise<Array<{ labels: KernelPort['labels']; opened: number }>> {
    const kernel = this.options.kernel;
    if (!kernel) return [];
    const opened = await kernel.opened();
    return kernel.current.map((route) => ({
      labels: kernelLabels(route),
      opened: opened.get(route.key) ?? 0,
    }));
  }

  /** The `host:port` addresses served for one Service port (for `status` and tests). */
  served(key: string): string[] {
    return this.running.get(key)?.balancer.addresses ?? [];
  }

  private clusterIPs(): string[] {
    const out: string[] = [];
    for (const service of this.services.list()) {
      const ip = service.spec?.clusterIP;
      const type = service.spec?.type ?? 'ClusterIP';
      if (ip && ip !== 'None' && type !== 'ExternalName') out.push(ip);
    }
    return out;
  }

  private async sync(): Promise<void> {
    const addresses = this.options.addresses;
    // Every ClusterIP is on the host before any listener binds to it.
    const wanted = new Set(addresses ? this.clusterIPs() : []);
    if (addresses) {
      const added = await Promise.allSettled([...wanted].map((ip) => addresses.add(ip)));
      added.forEach((result, i) => {
        if (result.status === 'rejected') this.reportOnce(`addr:${[...wanted][i]}`, result.reason);
      });
    }
    const desired = desiredBalancers(
      this.services.list(),
      (namespace, name) => this.endpoints.get(`${namespace}/${name}`),
      {
        nodeAddresses: this.options.nodeAddresses,
        clusterIPAddress: (ip) => (addresses?.has(ip) ? ip : undefined),
        kernelForwarding: this.options.kernel !== undefined,
      },
    );
    const current = new Map([...this.running].map(([key, r]) => [key, r.spec]));
    const diff = diffBalancers(current, desired);
    for (const key of diff.remove) {
      const running = this.running.get(key)!;
      this.running.delete(key);
      this.log.info('service port removed', { service: key });
      await running.balancer.close();
    }
    for (const spec of diff.create) {
      const balancer = new TcpBalancer({ name: spec.key, ...this.balancerOptions(spec) });
      balancer.setEndpoints(spec.endpoints);
      const running: Running = { spec: { ...spec, listen: [] }, balancer };
      this.running.set(spec.key, running);
      await this.listen(running, spec.listen);
      this.log.info('service port added', {
        service: spec.key,
        listen: balancer.addresses.join(','),
        endpoints: spec.endpoints.length,
      });
    }
    for (const change of diff.change) {
      const running = this.running.get(change.key)!;
      if (change.optionsChanged) running.balancer.reconfigure(this.balancerOptions(change.spec));
      if (change.endpointsChanged) {
        running.balancer.setEndpoints(change.spec.endpoints);
        this.log.debug('endpoints changed', {
          service: change.key,
          endpoints: change.spec.endpoints.map((e) => `${e.host}:${e.port}`).join(','),
        });
      }
      for (const address of change.unlisten) await running.balancer.unlisten(address.port, address.host);
      const kept = running.spec.listen.filter((a) => !change.unlisten.some((u) => sameAddress(a, u)));
      running.spec = { ...change.spec, listen: kept };
      await this.listen(running, change.listen);
    }
    if (this.options.kernel) {
      const routes = kernelRoutes(this.services.list(), (namespace, name) =>
        this.endpoints.get(`${namespace}/${name}`),
      );
      // A failed write is tried again on the next reconcile (the resync at the latest): the
      // forwarder only records what it wrote.
      await this.options.kernel.apply(routes).then(
        () => this.reported.delete('kernel'),
        (error) => this.reportOnce('kernel', error),
      );
    }
    if (addresses) {
      for (const ip of addresses.addresses) if (!wanted.has(ip)) await addresses.remove(ip);
    }
    this.syncs++;
  }

  private balancerOptions(spec: BalancerSpec) {
    return {
      policy: spec.policy,
      affinityTimeoutMs: spec.affinityTimeoutMs,
      proxyProtocol: spec.proxyProtocol,
      // A live pod on the local bridge answers a SYN in well under a millisecond; one whose
      // network namespace is already gone never does, and its connection should move on to
      // another endpoint before the client gives up.
      connectTimeoutMs: 1000,
      drainTimeoutMs: this.options.drainTimeoutMs ?? 30_000,
      idleTimeoutMs: this.options.idleTimeoutMs ?? 600_000,
    };
  }

  /**
   * Opens the given listeners; one that fails (a port taken by something else) is left out of
   * the running spec, so the next reconcile tries it again.
   */
  private async listen(running: Running, addresses: ListenAddress[]): Promise<void> {
    for (const address of addresses) {
      try {
        await running.balancer.listen(address.port, address.host);
        running.spec.listen.push(address);
        this.reported.delete(`${address.host}:${address.port}`);
      } catch (error) {
        this.reportOnce(`${address.host}:${address.port}`, error, running.spec.key);
      }
    }
  }

  private reportOnce(what: string, error: unknown, service?: string): void {
    if (this.reported.has(what)) return;
    this.reported.add(what);
    this.log.warn('cannot serve a service address; will retry', {
      address: what,
      service,
      error: (error as Error).message,
    });
  }

  /** Writes a LoadBalancer Service's ingress (or clears one this proxy wrote when the type changed). */
  private async syncStatus(key: string): Promise<void> {
    const service = this.services.get(key);
    if (!service) return;
    const ip =
      service.spec?.type === 'LoadBalancer' ? loadBalancerAddress(service.spec.clusterIP ?? '') : undefined;
    const ingress = service.status?.loadBalancer?.ingress ?? [];
    const want = ip ? [{ ip, ipMode: 'Proxy' as const }] : [];
    if (!ip && !ingress.some((i) => i.ip?.startsWith('127.2.'))) return;
    if (JSON.stringify(ingress) === JSON.stringify(want)) return;
    await this.options.client.resource('Service').updateStatus({
      ...service,
      status: { ...service.status, loadBalancer: { ingress: want } },
    });
    this.log.info('load balancer ingress set', { service: key, ingress: ip ?? 'none' });
  }
}
