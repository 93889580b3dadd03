import http from 'http';
import { logger } from '../util/log';
import { Endpoint, TcpBalancer } from './balancer';

/**
 * The single address a kubeconfig names: a TCP front over every master's API port that sends
 * new connections only to masters whose /readyz answers, as HA Kubernetes puts a load
 * balancer before its API servers. A master that dies refuses connections at once, and the
 * balancer retries those on the next master, so clients see no error even before the next
 * health check marks it down.
 */
export interface FrontOptions {
  backends: Endpoint[];
  /** Serve TLS (what kubectl needs to send its token). */
  tls?: { cert: Buffer; key: Buffer };
  checkIntervalMs?: number;
  checkTimeoutMs?: number;
}

const log = logger('front');

function healthy(endpoint: Endpoint, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get(
      { host: endpoint.host, port: endpoint.port, path: '/readyz', timeout: timeoutMs },
      (response) => {
        response.resume();
        resolve(response.statusCode === 200);
      },
    );
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

export class ApiFront {
  readonly balancer: TcpBalancer;
  private timer: NodeJS.Timeout | undefined;
  private healthyKeys = '';

  constructor(private readonly options: FrontOptions) {
    this.balancer = new TcpBalancer({ name: 'api-front', drainTimeoutMs: 60_000, tls: options.tls });
    // Until the first check, every master is a candidate (refused connections are retried).
    this.balancer.setEndpoints(options.backends);
  }

  async start(port: number, host = '127.0.0.1'): Promise<number> {
    const address = await this.balancer.listen(port, host);
    await this.check();
    this.schedule();
    return address.port;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.check().finally(() => {
        if (this.timer) this.schedule();
      });
    }, this.options.checkIntervalMs ?? 500);
  }

  private async check(): Promise<void> {
    const results = await Promise.all(
      this.options.backends.map((b) => healthy(b, this.options.checkTimeoutMs ?? 400)),
    );
    const up = this.options.backends.filter((_, i) => results[i]);
    const keys = up.map((e) => `${e.host}:${e.port}`).join(',');
    if (keys !== this.healthyKeys) {
      log.info('healthy masters changed', { healthy: keys || 'none' });
      this.healthyKeys = keys;
    }
    // With none healthy (an election), keep trying them all rather than refusing everything.
    this.balancer.setEndpoints(up.length > 0 ? up : this.options.backends);
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.balancer.close();
  }
}
