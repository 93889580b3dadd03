/**
 * Raft messages between masters over TCP. Each master dials each peer for what it sends
 * (and a second connection for snapshots, so a large transfer never delays heartbeats), and
 * accepts connections for what it receives. Frames are [u32 length][encoded message].
 *
 * A connection starts with a mutual challenge-response on the cluster's shared secret
 * (HMAC-SHA256 over fresh nonces): a peer that does not know the secret is refused and
 * logged, and the secret itself never crosses the wire or reaches a log.
 *
 * When a connection to or from a peer drops, `onUnreachable` fires at once: when the
 * leader's process dies its sockets close immediately, and this is how followers learn it
 * in milliseconds instead of an election timeout.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'crypto';
import net from 'net';
import { Logger } from '../../util/log';
import { decodeMessage, encodeMessage } from '../codec';
import { Message, NodeId } from '../types';

export interface TransportOptions {
  id: NodeId;
  listen: { host: string; port: number };
  peers: Record<NodeId, { host: string; port: number }>;
  secret: string;
  log: Logger;
  onMessage(message: Message): void;
  onUnreachable(peer: NodeId): void;
  onReachable?(peer: NodeId): void;
  onSnapshotSent(peer: NodeId, ok: boolean): void;
  /** A connection was refused for not knowing the secret (for metrics and tests). */
  onPeerRefused?(remote: string): void;
  /** Bytes queued per peer before messages are dropped (Raft tolerates loss). */
  maxQueueBytes?: number;
}

const NONCE = 32;
const MAC = 32;
const MAX_FRAME = 1024 * 1024 * 1024;

function mac(secret: string, label: string, nonce: Buffer, name: string): Buffer {
  return createHmac('sha256', secret).update(label).update(nonce).update(name).digest();
}

/**
 * Reads the handshake from a socket: exact byte counts, in order. It owns the socket's
 * 'data' events until `release`, which hands over whatever arrived past the handshake.
 */
class HandshakeReader {
  private buffered = Buffer.alloc(0);
  private waiting: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly socket: net.Socket,
    timeoutMs = 5000,
  ) {
    socket.on('data', this.onData);
    socket.once('close', this.onClose);
    this.timer = setTimeout(() => this.fail(new Error('handshake timed out')), timeoutMs);
  }

  private readonly onData = (chunk: Buffer) => {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    this.check();
  };

  private readonly onClose = () => this.fail(new Error('connection closed during the handshake'));

  private fail(error: Error): void {
    this.failure = error;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
  }

  private check(): void {
    const waiting = this.waiting;
    if (!waiting || this.buffered.length < waiting.n) return;
    this.waiting = undefined;
    const out = this.buffered.subarray(0, waiting.n);
    this.buffered = this.buffered.subarray(waiting.n);
    waiting.resolve(out);
  }

  read(n: number): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { n, resolve, reject };
      this.check();
    });
  }

  /** Stops reading; returns the bytes received beyond the handshake. */
  release(): Buffer {
    clearTimeout(this.timer);
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onClose);
    return this.buffered;
  }
}

/** Splits a byte stream into frames. */
class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly onFrame: (frame: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    while (this.pendingBytes >= 4) {
      const head = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending);
      this.pending = [head];
      const length = head.readUInt32BE(0);
      if (length > MAX_FRAME) throw new Error(`frame of ${length} bytes is over the limit`);
      if (head.length < 4 + length) return;
      this.onFrame(head.subarray(4, 4 + length));
      const rest = head.subarray(4 + length);
      this.pending = rest.length > 0 ? [rest] : [];
      this.pendingBytes = rest.length;
    }
  }
}

type Channel = 'raft' | 'snapshot';

/** One outgoing connection to a peer: connects, authenticates, sends frames, reconnects. */
class PeerLink {
  private socket: net.Socket | undefined;
  private ready = false;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private connecting = false;
  private backoffMs = 50;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private flushScheduled = false;
  /** Snapshot channel: which snapshots are in flight, to report their fate. */
  private inflightSnapshots = 0;
  /** Whether this overflow was logged already (once per overflow, not per message). */
  overflowWarned = false;

  constructor(
    private readonly transport: Transport,
    readonly peer: NodeId,
    private readonly channel: Channel,
  ) {}

  /** False when the queue is full and the frame was dropped. */
  send(frame: Buffer): boolean {
    const limit = this.transport.maxQueueBytes;
    if (this.queuedBytes + frame.length > limit && this.channel === 'raft') return false;
    this.overflowWarned = false;
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    if (this.channel === 'snapshot') this.inflightSnapshots++;
    if (this.ready) this.scheduleFlush();
    else this.connect();
    return true;
  }

  /** Writes queued frames together once per tick (many Ready messages share a syscall). */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    const socket = this.socket;
    if (!socket || !this.ready || this.queue.length === 0) return;
    const frames = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    const snapshots = this.channel === 'snapshot' ? frames.length : 0;
    socket.cork();
    for (const frame of frames) {
      const header = Buffer.allocUnsafe(4);
      header.writeUInt32BE(frame.length, 0);
      socket.write(header);
      socket.write(frame, snapshots > 0 ? () => this.snapshotDone(true) : undefined);
    }
    socket.uncork();
  }

  private snapshotDone(ok: boolean): void {
    if (this.inflightSnapshots === 0) return;
    this.inflightSnapshots--;
    this.transport.options.onSnapshotSent(this.peer, ok);
  }

  connect(): void {
    if (this.connecting || this.ready || this.stopped) return;
    this.connecting = true;
    const address = this.transport.options.peers[this.peer];
    const socket = net.connect({ host: address.host, port: address.port });
    socket.setNoDelay(true);
    this.socket = socket;
    let wasReady = false;
    socket.once('connect', () => {
      this.handshake(socket).then(
        () => {
          this.connecting = false;
          this.ready = true;
          wasReady = true;
          this.backoffMs = 50;
          this.transport.peerConnected(this.peer, this.channel);
          this.flush();
        },
        (error: Error) => {
          this.transport.options.log.warn('peer handshake failed', { peer: this.peer, error: error.message });
          socket.destroy();
        },
      );
    });
    socket.on('error', () => undefined); // 'close' follows and handles it
    socket.once('close', () => {
      this.connecting = false;
      this.ready = false;
      this.socket = undefined;
      // Snapshots flushed into a connection that broke are lost; the leader resends later.
      // Raft messages stay queued (bounded) for the next connection: stale ones are harmless.
      if (this.channel === 'snapshot') {
        while (this.inflightSnapshots > 0) this.snapshotDone(false);
        this.queue = [];
        this.queuedBytes = 0;
      }
      if (wasReady) this.transport.peerLost(this.peer, this.channel);
      if (this.stopped) return;
      this.retryTimer = setTimeout(() => this.connect(), this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, 1000);
    });
  }

  private async handshake(socket: net.Socket): Promise<void> {
    const { id, secret } = this.transport.options;
    const reader = new HandshakeReader(socket);
    try {
      await this.exchange(socket, reader, id, secret);
    } finally {
      reader.release();
    }
  }

  private async exchange(
    socket: net.Socket,
    reader: HandshakeReader,
    id: NodeId,
    secret: string,
  ): Promise<void> {
    const serverNonce = await reader.read(NONCE);
    const clientNonce = randomBytes(NONCE);
    const name = Buffer.from(`${id}\n${this.channel}`);
    const header = Buffer.allocUnsafe(2);
    header.writeUInt16BE(name.length, 0);
    socket.write(
      Buffer.concat([
        clientNonce,
        header,
        name,
        mac(secret, 'client', serverNonce, `${id}\n${this.channel}`),
      ]),
    );
    const proof = await reader.read(MAC);
    if (!timingSafeEqual(proof, mac(secret, 'server', clientNonce, this.peer))) {
      throw new Error(`peer ${this.peer} does not know the cluster secret`);
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.socket?.destroy();
  }
}

export class Transport {
  readonly options: TransportOptions;
  private server: net.Server | undefined;
  private readonly links = new Map<string, PeerLink>();
  private readonly inbound = new Set<net.Socket>();
  readonly maxQueueBytes: number;
  private readonly connected = new Map<NodeId, number>();

  constructor(options: TransportOptions) {
    this.options = options;
    this.maxQueueBytes = options.maxQueueBytes ?? 64 * 1024 * 1024;
  }

  async start(): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.listen.port, this.options.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    for (const peer of Object.keys(this.options.peers)) {
      if (peer !== this.options.id) this.link(peer, 'raft').connect();
    }
  }

  private link(peer: NodeId, channel: Channel): PeerLink {
    const key = `${peer}/${channel}`;
    let link = this.links.get(key);
    if (!link) {
      link = new PeerLink(this, peer, channel);
      this.links.set(key, link);
    }
    return link;
  }

  /** Adds or changes a peer's address (membership changes). */
  setPeer(peer: NodeId, address: { host: string; port: number }): void {
    this.options.peers[peer] = address;
  }

  send(message: Message): void {
    if (!this.options.peers[message.to]) return;
    const frame = encodeMessage(message);
    const channel: Channel = message.type === 'snapshot' ? 'snapshot' : 'raft';
    const link = this.link(message.to, channel);
    if (!link.send(frame) && !link.overflowWarned) {
      link.overflowWarned = true;
      this.options.log.warn('send queue to peer is full; dropping messages', { peer: message.to });
      this.options.onUnreachable(message.to);
    }
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    socket.on('error', () => undefined);
    this.inbound.add(socket);
    socket.once('close', () => this.inbound.delete(socket));
    const { secret, id, log } = this.options;
    const serverNonce = randomBytes(NONCE);
    socket.write(serverNonce);
    const reader = new HandshakeReader(socket);
    (async () => {
      const clientNonce = await reader.read(NONCE);
      const length = (await reader.read(2)).readUInt16BE(0);
      const name = (await reader.read(length)).toString('utf8');
      const proof = await reader.read(MAC);
      const rest = reader.release();
      if (!timingSafeEqual(proof, mac(secret, 'client', serverNonce, name))) {
        const remote = `${socket.remoteAddress}:${socket.remotePort}`;
        log.warn('refused a peer that does not know the cluster secret', {
          remote,
          claimedName: name.split('\n')[0],
        });
        socket.destroy();
        this.options.onPeerRefused?.(remote);
        return;
      }
      const [peer, channel] = name.split('\n');
      socket.write(mac(secret, 'server', clientNonce, id));
      this.peerConnected(peer, channel as Channel);
      const frames = new FrameReader((frame) => {
        let message: Message;
        try {
          message = decodeMessage(frame);
        } catch (error) {
          log.error('undecodable message from peer; closing the connection', {
            peer,
            error: (error as Error).message,
          });
          socket.destroy();
          return;
        }
        this.options.onMessage(message);
      });
      const onData = (chunk: Buffer) => {
        try {
          frames.push(chunk);
        } catch (error) {
          log.error('bad frame from peer; closing the connection', { peer, error: (error as Error).message });
          socket.destroy();
        }
      };
      if (rest.length > 0) onData(rest);
      socket.on('data', onData);
      socket.once('close', () => this.peerLost(peer, channel as Channel));
    })().catch(() => {
      reader.release();
      socket.destroy();
    });
  }

  peerConnected(peer: NodeId, channel: Channel): void {
    if (channel !== 'raft') return;
    const count = (this.connected.get(peer) ?? 0) + 1;
    this.connected.set(peer, count);
    if (count === 1) {
      this.options.log.info('peer connected', { peer });
      this.options.onReachable?.(peer);
    }
  }

  peerLost(peer: NodeId, channel: Channel): void {
    if (channel !== 'raft') return;
    const count = Math.max(0, (this.connected.get(peer) ?? 1) - 1);
    this.connected.set(peer, count);
    this.options.log.info('peer unreachable', { peer });
    this.options.onUnreachable(peer);
  }

  async stop(): Promise<void> {
    for (const link of this.links.values()) link.stop();
    for (const socket of this.inbound) socket.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
