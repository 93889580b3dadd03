/**
 * Cluster DNS (CoreDNS's kubernetes plugin, the part bosun needs), over UDP and TCP:
 *
 * - `svc.ns.svc.<domain>` A: the ClusterIP, or for a headless Service every ready pod IP;
 *   pods' resolvers reach it from `svc`, `svc.ns` and `svc.ns.svc` through their search path
 *   (`<ns>.svc.<domain> svc.<domain> <domain>`, ndots:5).
 * - `host.svc.ns.svc.<domain>` A: one endpoint of a headless Service, by hostname or dashed IP.
 * - `_port._tcp.svc.ns.svc.<domain>` SRV for named ports: the Service name at the Service's
 *   port, or for a headless Service each ready pod at its own port.
 * - Any other name in the cluster domain: NXDOMAIN; a known name with no record of the asked
 *   type: NOERROR with no answer (as every authoritative server does).
 * - Everything else is forwarded, bytes unchanged, to the host's resolvers.
 *
 * Records have a 5 s TTL so a changed Service is seen quickly. Packets are parsed and built
 * with dns-packet.
 */
import dgram from 'dgram';
import { promises as fs } from 'fs';
import net from 'net';
import * as packet from 'dns-packet';
import { EndpointAddress, Endpoints, Service } from '../api';
import { logger } from '../util/log';

export const DNS_TTL_SECONDS = 5;

/** What the DNS server looks names up in: the proxy's informer caches. */
export interface ServiceDirectory {
  service(namespace: string, name: string): Service | undefined;
  endpoints(namespace: string, name: string): Endpoints | undefined;
}

export interface DnsServerOptions {
  directory: ServiceDirectory;
  domain?: string;
  /** Resolvers for names outside the cluster domain (`host:port` or `host`, port 53). */
  upstreams: string[];
  upstreamTimeoutMs?: number;
}

type Answer = packet.Answer;
type Result = { rcode: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL'; answers: Answer[] } | { forward: true };

const log = logger('dns');

/** The nameservers of a resolv.conf, for forwarding. */
export async function hostResolvers(path = '/etc/resolv.conf'): Promise<string[]> {
  const text = await fs.readFile(path, 'utf8').catch(() => '');
  return [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]);
}

function readyAddresses(service: Service, endpoints: Endpoints | undefined): EndpointAddress[] {
  const out: EndpointAddress[] = [];
  for (const subset of endpoints?.subsets ?? []) {
    out.push(...(subset.addresses ?? []));
    if (service.spec?.publishNotReadyAddresses) out.push(...(subset.notReadyAddresses ?? []));
  }
  const seen = new Set<string>();
  return out.filter((a) => !seen.has(a.ip) && seen.add(a.ip));
}

function isHeadless(service: Service): boolean {
  return service.spec?.clusterIP === 'None';
}

/** An endpoint's own name under its headless Service: its hostname, or its IP with dashes. */
function endpointLabel(address: EndpointAddress): string {
  return address.hostname || address.ip.replace(/[.:]/g, '-');
}

/**
 * The answer for one question, from the directory alone (pure, so table-tested). `forward`
 * means the name is outside the cluster domain.
 */
export function resolveQuestion(
  question: packet.Question,
  directory: ServiceDirectory,
  domain = 'cluster.local',
): Result {
  const name = question.name.toLowerCase().replace(/\.$/, '');
  if (name !== domain && !name.endsWith(`.${domain}`)) return { forward: true };
  const labels = name === domain ? [] : name.slice(0, -(domain.length + 1)).split('.');
  const nx: Result = { rcode: 'NXDOMAIN', answers: [] };
  const empty: Result = { rcode: 'NOERROR', answers: [] };
  // The domain itself, `svc.<domain>` and `<ns>.svc.<domain>` exist (they have names under them).
  if (labels.length === 0 || (labels.length <= 2 && labels[labels.length - 1] === 'svc')) return empty;
  if (labels[labels.length - 1] !== 'svc' || labels.length < 3) return nx;
  const namespace = labels[labels.length - 2];
  const rest = labels.slice(0, -2);
  const a = (owner: string, ip: string): Answer => ({
    type: 'A',
    name: owner,
    ttl: DNS_TTL_SECONDS,
    class: 'IN',
    data: ip,
  });
  const fqdn = (...parts: string[]) => [...parts, namespace, 'svc', domain].join('.');

  if (rest.length === 1) {
    const service = directory.service(namespace, rest[0]);
    if (!service || service.spec?.type === 'ExternalName') {
      if (service?.spec?.externalName && (question.type === 'CNAME' || question.type === 'A')) {
        return {
          rcode: 'NOERROR',
          answers: [
            { type: 'CNAME', name, ttl: DNS_TTL_SECONDS, class: 'IN', data: service.spec.externalName },
          ],
        };
      }
      return service ? empty : nx;
    }
    if (question.type !== 'A' && question.type !== ('ANY' as packet.RecordType)) return empty;
    if (isHeadless(service)) {
      const endpoints = directory.endpoints(namespace, rest[0]);
      return { rcode: 'NOERROR', answers: readyAddresses(service, endpoints).map((e) => a(name, e.ip)) };
    }
    return { rcode: 'NOERROR', answers: service.spec?.clusterIP ? [a(name, service.spec.clusterIP)] : [] };
  }

  if (rest.length === 2 && rest[1] !== '_tcp' && rest[1] !== '_udp') {
    // host.svc.ns.svc.domain: one pod of a headless Service.
    const service = directory.service(namespace, rest[1]);
    if (!service || !isHeadless(service)) return nx;
    const match = readyAddresses(service, directory.endpoints(namespace, rest[1])).filter(
      (e) => endpointLabel(e) === rest[0],
    );
    if (match.length === 0) return nx;
    return question.type === 'A' ? { rcode: 'NOERROR', answers: match.map((e) => a(name, e.ip)) } : empty;
  }

  if (rest.length === 3 && rest[0].startsWith('_') && (rest[1] === '_tcp' || rest[1] === '_udp')) {
    const service = directory.service(namespace, rest[2]);
    const portName = rest[0].slice(1);
    const protocol = rest[1].slice(1).toUpperCase();
    const port = service?.spec?.ports?.find((p) => p.name === portName && (p.protocol ?? 'TCP') === protocol);
    if (!service || !port) return nx;
    if (question.type !== 'SRV') return empty;
    const srv = (target: string, targetPort: number): Answer => ({
      type: 'SRV',
      name,
      ttl: DNS_TTL_SECONDS,
      class: 'IN',
      data: { priority: 0, weight: 100, port: targetPort, target },
    });
    if (!isHeadless(service)) return { rcode: 'NOERROR', answers: [srv(fqdn(rest[2]), port.port)] };
    const answers: Answer[] = [];
    for (const subset of directory.endpoints(namespace, rest[2])?.subsets ?? []) {
      const endpointPort = subset.ports?.find(
        (p) => p.name === portName && (p.protocol ?? 'TCP') === protocol,
      );
      if (!endpointPort) continue;
      for (const address of subset.addresses ?? [])
        answers.push(srv(fqdn(endpointLabel(address), rest[2]), endpointPort.port));
    }
    return { rcode: 'NOERROR', answers };
  }
  return nx;
}

function soa(domain: string): Answer {
  return {
    type: 'SOA',
    name: domain,
    ttl: DNS_TTL_SECONDS,
    class: 'IN',
    data: {
      mname: `ns.dns.${domain}`,
      rname: `hostmaster.${domain}`,
      serial: 1,
      refresh: 7200,
      retry: 1800,
      expire: 86400,
      minimum: DNS_TTL_SECONDS,
    },
  };
}

const RCODES = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3 } as const;

export class ClusterDns {
  private readonly domain: string;
  private readonly udp: dgram.Socket[] = [];
  private readonly tcp: net.Server[] = [];
  private readonly tcpSockets = new Set<net.Socket>();
  private readonly pending = new Set<{ close(): void }>();
  private upstreamIndex = 0;

  constructor(private readonly options: DnsServerOptions) {
    this.domain = (options.domain ?? 'cluster.local').toLowerCase();
  }

  /** Listens on UDP and TCP at `host:port`; returns the port (useful with 0). */
  async listen(port: number, host: string): Promise<number> {
    const { udp, tcp } = await bindUdpAndTcp(port, host, (socket) => this.serveTcp(socket));
    udp.on('error', (error) => log.warn('dns socket error', { error: error.message }));
    udp.on('message', (message, remote) => {
      this.answer(message, 'udp').then(
        (reply) => {
          if (reply) udp.send(reply, remote.port, remote.address);
        },
        (error: Error) => log.debug('dns query failed', { error: error.message }),
      );
    });
    this.udp.push(udp);
    this.tcp.push(tcp);
    const bound = udp.address().port;
    log.info('cluster dns listening', { host, port: bound, domain: this.domain });
    return bound;
  }

  async close(): Promise<void> {
    for (const p of this.pending) p.close();
    for (const s of this.tcpSockets) s.destroy();
    await Promise.all([
      ...this.udp.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      ...this.tcp.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    ]);
  }

  private serveTcp(socket: net.Socket): void {
    this.tcpSockets.add(socket);
    socket.on('close', () => this.tcpSockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setTimeout(10_000, () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      // Each message is preceded by its 2-byte length (RFC 1035 4.2.2); several may be pipelined.
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0);
        const message = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        this.answer(message, 'tcp').then(
          (reply) => {
            if (!reply || socket.destroyed) return;
            const prefix = Buffer.alloc(2);
            prefix.writeUInt16BE(reply.length);
            socket.write(Buffer.concat([prefix, reply]));
          },
          () => socket.destroy(),
        );
      }
    });
  }

  /** The reply to one query message, or undefined to drop it (unparseable). */
  async answer(message: Buffer, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    let query: packet.DecodedPacket;
    try {
      query = packet.decode(message);
    } catch {
      return undefined;
    }
    const question = query.questions?.[0];
    if (query.type !== 'query' || !question) return undefined;
    let result: Result;
    try {
      result = resolveQuestion(question, this.options.directory, this.domain);
    } catch (error) {
      log.warn('dns lookup failed', { name: question.name, error: (error as Error).message });
      result = { rcode: 'SERVFAIL', answers: [] };
    }
    if ('forward' in result) return this.forward(message, transport, query);
    const flags =
      packet.AUTHORITATIVE_ANSWER |
      ((query.flags ?? 0) & packet.RECURSION_DESIRED) |
      packet.RECURSION_AVAILABLE |
      RCODES[result.rcode];
    let reply = packet.encode({
      type: 'response',
      id: query.id,
      flags,
      questions: [question],
      answers: result.answers,
      authorities: result.answers.length === 0 ? [soa(this.domain)] : [],
    });
    // A UDP answer over 512 bytes is truncated: the client retries over TCP (RFC 1035 4.2.1).
    if (transport === 'udp' && reply.length > 512) {
      reply = packet.encode({
        type: 'response',
        id: query.id,
        flags: flags | packet.TRUNCATED_RESPONSE,
        questions: [question],
      });
    }
    return reply;
  }

  /** Sends the query to the host's resolvers in turn until one answers. */
  private async forward(
    message: Buffer,
    transport: 'udp' | 'tcp',
    query: packet.DecodedPacket,
  ): Promise<Buffer | undefined> {
    const upstreams = this.options.upstreams;
    for (let i = 0; i < upstreams.length; i++) {
      const upstream = upstreams[(this.upstreamIndex + i) % upstreams.length];
      try {
        return await (transport === 'udp'
          ? this.forwardUdp(message, upstream)
          : this.forwardTcp(message, upstream));
      } catch (error) {
        log.debug('upstream resolver failed', { upstream, error: (error as Error).message });
        // Next query starts with the next resolver.
        this.upstreamIndex = (this.upstreamIndex + 1) % upstreams.length;
      }
    }
    return packet.encode({
      type: 'response',
      id: query.id,
      flags: (query.flags ?? 0) | RCODES.SERVFAIL,
      questions: query.questions,
    });
  }

  private parseUpstream(upstream: string): { host: string; port: number } {
    const match = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(upstream);
    if (net.isIP(upstream)) return { host: upstream, port: 53 };
    return { host: match?.[1] ?? upstream, port: Number(match?.[2] ?? 53) };
  }

  private forwardUdp(message: Buffer, upstream: string): Promise<Buffer> {
    const { host, port } = this.parseUpstream(upstream);
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      const done = { close: () => finish(new Error('closed')) };
      const timer = setTimeout(() => finish(new Error('timeout')), this.options.upstreamTimeoutMs ?? 2000);
      const finish = (error?: Error, reply?: Buffer) => {
        clearTimeout(timer);
        this.pending.delete(done);
        socket.close();
        if (error) reject(error);
        else resolve(reply!);
      };
      this.pending.add(done);
      socket.on('error', (error) => finish(error));
      socket.on('message', (reply) => {
        // Only the reply to this query (same id) counts.
        if (reply.length >= 2 && reply.readUInt16BE(0) === message.readUInt16BE(0)) finish(undefined, reply);
      });
      socket.send(message, port, host);
    });
  }

  private forwardTcp(message: Buffer, upstream: string): Promise<Buffer> {
    const { host, port } = this.parseUpstream(upstream);
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const done = { close: () => finish(new Error('closed')) };
      const timer = setTimeout(() => finish(new Error('timeout')), this.options.upstreamTimeoutMs ?? 2000);
      let buffered = Buffer.alloc(0);
      const finish = (error?: Error, reply?: Buffer) => {
        clearTimeout(timer);
        this.pending.delete(done);
        socket.destroy();
        if (error) reject(error);
        else resolve(reply!);
      };
      this.pending.add(done);
      socket.on('error', (error) => finish(error));
      socket.on('connect', () => {
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(message.length);
        socket.write(Buffer.concat([prefix, message]));
      });
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0))
          finish(undefined, buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
      });
      socket.on('end', () => finish(new Error('upstream closed the connection')));
    });
  }
}

const ANY_PORT_ATTEMPTS = 20;

/**
 * Binds a UDP socket and a TCP server to one port. With port 0 the OS picks a free UDP port,
 * which some other process may hold on TCP; then both are let go and another port is tried.
 */
export async function bindUdpAndTcp(
  port: number,
  host: string,
  onConnection: (socket: net.Socket) => void,
): Promise<{ udp: dgram.Socket; tcp: net.Server }> {
  for (let attempt = 1; ; attempt++) {
    const udp = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const tcp = net.createServer(onConnection);
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(udp.address().port, host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp };
    } catch (error) {
      await new Promise<void>((resolve) => udp.close(() => resolve()));
      const taken = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (port !== 0 || !taken || attempt >= ANY_PORT_ATTEMPTS) throw error;
    }
  }
}
