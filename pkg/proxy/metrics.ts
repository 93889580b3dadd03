/**
 * The proxy's Prometheus metrics, in a registry of its own (not the process-global one), read
 * from the balancers' counters at scrape time so the data path does no metrics work.
 */
import http from 'http';
import { AddressInfo } from 'net';
import { Counter, Gauge, Registry } from 'prom-client';
import { TcpBalancer } from './balancer';

type PortLabels = { namespace: string; service: string; port: string };

/** A Service port forwarded in the kernel: its ready endpoints, and (read from the kernel) its new connections. */
export interface KernelPort {
  labels: PortLabels;
  endpoints: number;
}

export interface MetricsSource {
  /** Every balancer with its labels. */
  balancers(): Array<{ labels: PortLabels; balancer: TcpBalancer }>;
  /** Every kernel-forwarded Service port (none without kernel forwarding). */
  kernelPorts?(): KernelPort[];
  /** Connections opened through each kernel-forwarded port; reads the rules' counters. */
  kernelOpened?(): Promise<Array<{ labels: PortLabels; opened: number }>>;
}

export function proxyRegistry(source: MetricsSource): Registry {
  const registry = new Registry();
  const labelNames = ['namespace', 'service', 'port'] as const;
  const counter = (name: string, help: string, value: (b: TcpBalancer) => number) =>
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        // Counters are read from the balancers, whose own counts only ever grow.
        this.reset();
        for (const { labels, balancer } of source.balancers()) this.inc(labels, value(balancer));
      },
    });
  new Counter({
    name: 'bosun_proxy_connections_opened_total',
    help: 'Connections accepted for a Service port (by the relay, or forwarded by the kernel).',
    labelNames,
    registers: [registry],
    async collect() {
      this.reset();
      for (const { labels, balancer } of source.balancers()) this.inc(labels, balancer.stats.opened);
      for (const port of (await source.kernelOpened?.()) ?? []) this.inc(port.labels, port.opened);
    },
  });
  counter(
    'bosun_proxy_connections_failed_total',
    'Connections closed because no ready endpoint took them.',
    (b) => b.stats.failed,
  );
  counter(
    'bosun_proxy_endpoint_connect_errors_total',
    'Connects to an endpoint that failed (refused, unreachable, timed out); each was tried on another endpoint.',
    (b) => b.stats.connectErrors,
  );
  counter('bosun_proxy_bytes_in_total', 'Bytes received from clients.', (b) => b.bytes().in);
  counter('bosun_proxy_bytes_out_total', 'Bytes sent to clients.', (b) => b.bytes().out);
  new Gauge({
    name: 'bosun_proxy_connections_active',
    help: 'Connections open to an endpoint now.',
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, balancer } of source.balancers()) this.set(labels, balancer.stats.active);
    },
  });
  new Gauge({
    name: 'bosun_proxy_endpoints',
    help: 'Ready endpoints of a Service port.',
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const { labels, balancer } of source.balancers()) this.set(labels, balancer.endpointCount);
      for (const port of source.kernelPorts?.() ?? []) this.set(port.labels, port.endpoints);
    },
  });
  return registry;
}

/** Serves `GET /metrics` (and `/healthz`) from the registry. */
export async function serveMetrics(
  registry: Registry,
  port: number,
  host: string,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
