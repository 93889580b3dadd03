/**
 * A TCP load balancer: accepts connections on one address and splices each to one of a set
 * of endpoints. It is the engine of both the Service proxy (kube-proxy's job) and the front
 * that `bosun up` puts before the masters' API ports.
 *
 * - Only the endpoints it is given are used; the caller gives only ready ones.
 * - Round robin by default, or least connections; optional client-IP affinity.
 * - A connection refused (or timed out) by an endpoint is retried on another one before any
 *   byte is forwarded, so an endpoint that just died costs the client nothing. Such an
 *   endpoint is then tried last by new connections for a cool-down (passive health checking,
 *   as HAProxy's `observe layer4` or Envoy's outlier detection): between a node's loss and
 *   the Endpoints change that removes its pods, only the first connection to each lost pod
 *   pays a connect timeout.
 * - Endpoints removed while connections to them are open are drained: those connections
 *   may finish, up to `drainTimeoutMs`, then they are closed.
 * - Half-close is passed through (allowHalfOpen); back-pressure pauses a side while the other
 *   cannot take more; idle connections are closed after `idleTimeoutMs`.
 * - Connect and idle timeouts are kept by one periodic sweep per balancer, not a Node timer
 *   per socket: a timer per socket is re-armed on every read and write, which costs more than
 *   the relay itself when connections are short. A timeout therefore fires up to one sweep
 *   period (`sweepIntervalMs`, 1 s or less) late.
 * - Optionally sends a PROXY protocol header (v1 or v2) so endpoints see the real client.
 */
import net from 'net';
import tls from 'tls';
import { logger } from '../util/log';

export interface Endpoint {
  host: string;
  port: number;
}

export type BalancePolicy = 'round-robin' | 'least-connections';

export interface BalancerOptions {
  name: string;
  policy?: BalancePolicy;
  /** Keep a client IP on the same endpoint for this long after its last connection (0: off). */
  affinityTimeoutMs?: number;
  proxyProtocol?: 'v1' | 'v2';
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  drainTimeoutMs?: number;
  /** How many endpoints a connection tries before it is given up (default: every one). */
  maxAttempts?: number;
  /** How long an endpoint whose connect failed is tried after the others (default 5 s). */
  failureCooldownMs?: number;
  /** The clock for affinity, cool-downs and timeouts (milliseconds; tests move it). */
  now?: () => number;
  /** How often connect and idle timeouts are checked (default: 1 s, or half the shortest timeout). */
  sweepIntervalMs?: number;
  /** Terminate TLS here (the API front): clients speak TLS, endpoints plain TCP. */
  tls?: { cert: Buffer; key: Buffer };
}

export interface BalancerStats {
  opened: number;
  active: number;
  failed: number;
  /** Connects to an endpoint that failed (refused, unreachable, timed out); each moved on to another. */
  connectErrors: number;
  bytesIn: number;
  bytesOut: number;
}

interface Connection {
  client: net.Socket;
  upstream: net.Socket;
  endpoint: string;
  /** Set by the relay on every chunk; the sweep turns it into `lastActive`. */
  busy: boolean;
  /** When the sweep last saw the connection busy (or when it opened). */
  lastActive: number;
  /** The idle timeout it was opened with (0: none). */
  idleMs: number;
}

interface PendingConnect {
  client: net.Socket;
  upstream: net.Socket;
  deadline: number;
}

/** The endpoints a connection tries: `count` of them from `list`, starting at `start`, wrapping. */
interface Attempts {
  list: Endpoint[];
  start: number;
  count: number;
}

const endpointKey = (e: Endpoint) => `${e.host}:${e.port}`;

export class TcpBalancer {
  private endpoints: Endpoint[] = [];
  private next = 0;
  private readonly active = new Map<string, number>();
  private readonly connections = new Set<Connection>();
  private readonly affinity = new Map<string, { endpoint: string; expires: number }>();
  /** Endpoints whose last connect failed, with when they stop being tried last. */
  private readonly failing = new Map<string, number>();
  private readonly drainTimers = new Set<NodeJS.Timeout>();
  private readonly connecting = new Set<PendingConnect>();
  private sweeper: NodeJS.Timeout | undefined;
  /** Listening sockets by `host:port`: one balancer may serve several addresses (a ClusterIP and NodePorts). */
  private readonly servers = new Map<string, net.Server>();
  readonly stats: BalancerStats = {
    opened: 0,
    active: 0,
    failed: 0,
    connectErrors: 0,
    bytesIn: 0,
    bytesOut: 0,
  };
  private readonly log;
  private options: BalancerOptions;

  constructor(options: BalancerOptions) {
    this.options = { ...options };
    this.log = logger('proxy', { balancer: options.name });
  }

  /**
   * Changes how new connections are balanced (policy, affinity, PROXY protocol, timeouts);
   * open connections keep going as they are.
   */
  reconfigure(options: Omit<BalancerOptions, 'name' | 'tls'>): void {
    if ((options.affinityTimeoutMs ?? 0) === 0) this.affinity.clear();
    this.options = {
      name: this.options.name,
      tls: this.options.tls,
      now: this.options.now,
      sweepIntervalMs: this.options.sweepIntervalMs,
      ...options,
    };
    if (this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
      this.startSweeper();
    }
  }

  /** Bytes moved so far, open connections included (`stats` counts a connection's bytes when it ends). */
  bytes(): { in: number; out: number } {
    let bytesIn = this.stats.bytesIn;
    let bytesOut = this.stats.bytesOut;
    for (const c of this.connections) {
      bytesIn += c.client.bytesRead;
      bytesOut += c.client.bytesWritten;
    }
    return { in: bytesIn, out: bytesOut };
  }

  /** Replaces the endpoint set; connections to endpoints no longer in it are drained. */
  setEndpoints(endpoints: Endpoint[]): void {
    this.endpoints = [...endpoints];
    const current = new Set(this.endpoints.map(endpointKey));
    for (const key of this.failing.keys()) if (!current.has(key)) this.failing.delete(key);
    const leaving = [...this.connections].filter((c) => !current.has(c.endpoint));
    if (leaving.length === 0) return;
    const timer = setTimeout(() => {
      this.drainTimers.delete(timer);
      for (const connection of leaving) {
        if (!current.has(connection.endpoint)) this.closeConnection(connection);
      }
    }, this.options.drainTimeoutMs ?? 30_000);
    timer.unref();
    this.drainTimers.add(timer);
  }

  get endpointCount(): number {
    return this.endpoints.length;
  }

  /** Accepts connections on one more address; resolves once listening. */
  listen(port: number, host = '127.0.0.1'): Promise<net.AddressInfo> {
    return new Promise((resolve, reject) => {
      const server = this.options.tls
        ? tls.createServer({ ...this.options.tls, allowHalfOpen: true, noDelay: true }, (client) => {
            client.pause();
            this.accept(client);
          })
        : net.createServer({ allowHalfOpen: true, pauseOnConnect: true, noDelay: true }, (client) =>
            this.accept(client),
          );
      // A client that fails the TLS handshake is its own problem, not the proxy's.
      server.on('tlsClientError', () => undefined);
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address() as net.AddressInfo;
        this.servers.set(`${address.address}:${address.port}`, server);
        // After listening, an error (EMFILE on accept) must not crash the process.
        server.on('error', (error) => this.log.warn('listener error', { error: error.message }));
        resolve(address);
      });
    });
  }

  /** Stops accepting and closes every connection. */
  async close(): Promise<void> {
    for (const timer of this.drainTimers) clearTimeout(timer);
    this.drainTimers.clear();
    // A destroy without an error emits no 'error', so the connect handler never runs: the
    // client is closed here, or server.close() would wait for it forever.
    for (const pending of this.connecting) {
      pending.upstream.destroy();
      pending.client.destroy();
    }
    this.connecting.clear();
    for (const connection of this.connections) this.closeConnection(connection);
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    const servers = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }

  /** The `host:port` addresses being served. */
  get addresses(): string[] {
    return [...this.servers.keys()];
  }

  /** Stops accepting on one address; connections accepted there keep going. */
  async unlisten(port: number, host: string): Promise<void> {
    const key = `${host}:${port}`;
    const server = this.servers.get(key);
    if (!server) return;
    this.servers.delete(key);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private closeConnection(connection: Connection): void {
    connection.client.destroy();
    connection.upstream.destroy();
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /**
   * Closes connections idle for their whole idle timeout and fails connects past their
   * deadline. A connection's `busy` flag, set by the relay, is read here so that a chunk
   * costs an assignment rather than a clock read or a timer re-arm.
   */
  sweep(): void {
    const now = this.now();
    for (const pending of this.connecting) {
      if (pending.deadline <= now) pending.upstream.destroy(new Error('connect timeout'));
    }
    for (const connection of this.connections) {
      if (connection.busy) {
        connection.busy = false;
        connection.lastActive = now;
      } else if (connection.idleMs > 0 && now - connection.lastActive >= connection.idleMs) {
        this.closeConnection(connection);
      }
    }
    if (this.connecting.size === 0 && this.connections.size === 0 && this.sweeper) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  /** Starts the sweep if it is not running; it stops itself when nothing is open. */
  private startSweeper(): void {
    if (this.sweeper) return;
    const shortest = Math.min(this.options.connectTimeoutMs ?? 3000, this.options.idleTimeoutMs || Infinity);
    const period = this.options.sweepIntervalMs ?? Math.max(10, Math.min(1000, Math.floor(shortest / 2)));
    this.sweeper = setInterval(() => this.sweep(), period);
    this.sweeper.unref();
  }

  /** The endpoints in the order a new connection from `clientIp` should try them. */
  private candidates(clientIp: string): Attempts {
    const preferred = this.preferred(clientIp);
    if (this.failing.size === 0) return preferred;
    // Endpoints that failed lately go last, in the same order among themselves: still tried
    // when nothing else answers, so a cool-down never makes a Service unreachable.
    const now = this.now();
    const good: Endpoint[] = [];
    const late: Endpoint[] = [];
    for (let i = 0; i < preferred.count; i++) {
      const e = preferred.list[(preferred.start + i) % preferred.list.length];
      const key = endpointKey(e);
      const until = this.failing.get(key);
      if (until !== undefined && until <= now) this.failing.delete(key);
      (until !== undefined && until > now ? late : good).push(e);
    }
    if (late.length === 0) return preferred;
    const list = [...good, ...late];
    return { list, start: 0, count: list.length };
  }

  /**
   * The endpoints in balancing order (affinity, then the policy), health not considered.
   * The common case allocates nothing: a start index into the current endpoint list.
   */
  private preferred(clientIp: string): Attempts {
    const endpoints = this.endpoints;
    if (endpoints.length === 0) return { list: endpoints, start: 0, count: 0 };
    const ttl = this.options.affinityTimeoutMs ?? 0;
    if (ttl > 0) {
      const sticky = this.affinity.get(clientIp);
      const found =
        sticky && sticky.expires > this.now()
          ? endpoints.find((e) => endpointKey(e) === sticky.endpoint)
          : undefined;
      if (found) {
        const list = [found, ...endpoints.filter((e) => e !== found)];
        return { list, start: 0, count: list.length };
      }
    }
    let first: number;
    if (this.options.policy === 'least-connections') {
      first = 0;
      let least = Infinity;
      // Ties go round robin, so equal endpoints share the load.
      for (let i = 0; i < endpoints.length; i++) {
        const index = (this.next + i) % endpoints.length;
        const count = this.active.get(endpointKey(endpoints[index])) ?? 0;
        if (count < least) {
          least = count;
          first = index;
        }
      }
      this.next = (first + 1) % endpoints.length;
    } else {
      first = this.next % endpoints.length;
      this.next = (first + 1) % endpoints.length;
    }
    return { list: endpoints, start: first, count: endpoints.length };
  }

  private accept(client: net.Socket): void {
    this.stats.opened++;
    const clientIp = client.remoteAddress ?? '';
    const attempts = this.candidates(clientIp);
    if (this.options.maxAttempts !== undefined)
      attempts.count = Math.min(attempts.count, this.options.maxAttempts);
    client.on('error', noop); // a reset client is normal; its upstream is closed below
    if (attempts.count === 0) {
      this.stats.failed++;
      client.destroy();
      return;
    }
    this.startSweeper();
    this.tryConnect(client, clientIp, attempts, 0);
  }

  private tryConnect(client: net.Socket, clientIp: string, attempts: Attempts, index: number): void {
    const endpoint = attempts.list[(attempts.start + index) % attempts.list.length];
    const upstream = net.connect({
      host: endpoint.host,
      port: endpoint.port,
      allowHalfOpen: true,
      noDelay: true,
    });
    const pending: PendingConnect = {
      client,
      upstream,
      deadline: this.now() + (this.options.connectTimeoutMs ?? 3000),
    };
    this.connecting.add(pending);
    const onConnectError = (error: Error) => {
      this.connecting.delete(pending);
      upstream.destroy();
      this.stats.connectErrors++;
      this.failing.set(endpointKey(endpoint), this.now() + (this.options.failureCooldownMs ?? 5000));
      if (client.destroyed) return;
      if (index + 1 < attempts.count) {
        this.log.debug('endpoint refused; trying the next', {
          endpoint: endpointKey(endpoint),
          error: error.message,
        });
        this.tryConnect(client, clientIp, attempts, index + 1);
        return;
      }
      this.stats.failed++;
      this.log.debug('no endpoint took the connection', { error: error.message });
      client.destroy();
    };
    upstream.once('error', onConnectError);
    upstream.once('connect', () => {
      this.connecting.delete(pending);
      upstream.off('error', onConnectError);
      if (this.failing.size > 0) this.failing.delete(endpointKey(endpoint));
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      this.splice(client, upstream, endpointKey(endpoint), clientIp);
    });
  }

  private splice(client: net.Socket, upstream: net.Socket, endpoint: string, clientIp: string): void {
    const connection: Connection = {
      client,
      upstream,
      endpoint,
      busy: false,
      lastActive: this.now(),
      idleMs: this.options.idleTimeoutMs ?? 0,
    };
    this.connections.add(connection);
    this.active.set(endpoint, (this.active.get(endpoint) ?? 0) + 1);
    this.stats.active++;
    if ((this.options.affinityTimeoutMs ?? 0) > 0) {
      const now = this.now();
      // Forget expired clients now and then, so many distinct clients cannot grow the map forever.
      if (this.affinity.size >= 1024 && this.stats.opened % 1024 === 0) {
        for (const [ip, entry] of this.affinity) if (entry.expires <= now) this.affinity.delete(ip);
      }
      this.affinity.set(clientIp, { endpoint, expires: now + this.options.affinityTimeoutMs! });
    }
    if (this.options.proxyProtocol) upstream.write(proxyHeader(this.options.proxyProtocol, client));
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      this.connections.delete(connection);
      this.active.set(endpoint, Math.max(0, (this.active.get(endpoint) ?? 1) - 1));
      this.stats.active--;
      this.stats.bytesIn += client.bytesRead;
      this.stats.bytesOut += client.bytesWritten;
      client.destroy();
      upstream.destroy();
    };
    // Each side's end is passed on to the other (half-close). A side that has closed
    // entirely can take no more data, so the other side is ended too; the connection is done
    // when both have closed, or at once on an error.
    client.on('error', finish);
    upstream.on('error', finish);
    let closedSides = 0;
    client.once('close', () => {
      if (!upstream.writableEnded) upstream.end();
      if (++closedSides === 2) finish();
    });
    upstream.once('close', () => {
      if (!client.writableEnded) client.end();
      if (++closedSides === 2) finish();
    });
    relay(client, upstream, connection);
    relay(upstream, client, connection);
    client.resume();
  }
}

const noop = () => undefined;

/**
 * Moves what `from` reads to `to`: what `pipe()` does, with three listeners and no
 * bookkeeping for several destinations. `from` pauses while `to` cannot take more and resumes
 * when it drains; `from`'s end ends `to` (half-close). Errors and closes are the caller's.
 */
function relay(from: net.Socket, to: net.Socket, connection: Connection): void {
  from.on('data', (chunk: Buffer) => {
    connection.busy = true;
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.on('end', () => to.end());
}

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

function stripMapped(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** The PROXY protocol header naming the client and the address it connected to. */
export function proxyHeader(version: 'v1' | 'v2', client: net.Socket): Buffer {
  const source = stripMapped(client.remoteAddress ?? '');
  const destination = stripMapped(client.localAddress ?? '');
  const ipv4 = net.isIPv4(source) && net.isIPv4(destination);
  if (version === 'v1') {
    const family = ipv4 ? 'TCP4' : 'TCP6';
    return Buffer.from(
      `PROXY ${family} ${source} ${destination} ${client.remotePort} ${client.localPort}\r\n`,
      'latin1',
    );
  }
  const addresses = ipv4 ? Buffer.alloc(12) : Buffer.alloc(36);
  if (ipv4) {
    Buffer.from(source.split('.').map(Number)).copy(addresses, 0);
    Buffer.from(destination.split('.').map(Number)).copy(addresses, 4);
    addresses.writeUInt16BE(client.remotePort ?? 0, 8);
    addresses.writeUInt16BE(client.localPort ?? 0, 10);
  } else {
    ipv6Bytes(source).copy(addresses, 0);
    ipv6Bytes(destination).copy(addresses, 16);
    addresses.writeUInt16BE(client.remotePort ?? 0, 32);
    addresses.writeUInt16BE(client.localPort ?? 0, 34);
  }
  const header = Buffer.alloc(16);
  V2_SIGNATURE.copy(header, 0);
  header[12] = 0x21; // version 2, PROXY command
  header[13] = ipv4 ? 0x11 : 0x21; // TCP over IPv4 or IPv6
  header.writeUInt16BE(addresses.length, 14);
  return Buffer.concat([header, addresses]);
}

function ipv6Bytes(address: string): Buffer {
  const [head, tail = ''] = address.split('::');
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const parts = [...headParts, ...Array(8 - headParts.length - tailParts.length).fill('0'), ...tailParts];
  const out = Buffer.alloc(16);
  parts.forEach((part, i) => out.writeUInt16BE(parseInt(part || '0', 16), i * 2));
  return out;
}
