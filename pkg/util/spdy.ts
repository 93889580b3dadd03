/**
 * SPDY/3.1, as far as Kubernetes' streaming uses it: kubectl port-forward multiplexes every
 * forwarded connection as a pair of SPDY streams ("data" and "error") over one connection,
 * which kubectl 1.31+ tunnels through a WebSocket (subprotocol `SPDY/3.1+portforward.k8s.io`)
 * and older clients get by a plain `Upgrade: SPDY/3.1`.
 *
 * The Go side (moby/spdystream, which client-go uses) does no flow control: it never sends
 * WINDOW_UPDATE and ignores the ones it gets. Enforcing send windows here would stall every
 * stream after 64 KiB, so this implementation does not enforce them either.
 *
 * Header blocks are zlib-compressed against the dictionary of the SPDY/3 draft (§2.6.10.1),
 * one compression context per direction for the whole connection. Incoming blocks are
 * inflated synchronously: the peer ends every block with a sync flush, so each block is a
 * complete run of deflate blocks whose back-references reach at most 32 KiB into what came
 * before; raw inflate with that window as its preset dictionary decodes it exactly. Outgoing
 * blocks are written as stored (uncompressed) deflate blocks in one zlib stream without a
 * preset dictionary, which every zlib reader accepts and which needs no compressor state.
 */
import { EventEmitter } from 'events';
import { Duplex } from 'stream';
import zlib from 'zlib';

export const SPDY_VERSION = 3;

export const FrameType = {
  SynStream: 1,
  SynReply: 2,
  RstStream: 3,
  Settings: 4,
  Ping: 6,
  GoAway: 7,
  Headers: 8,
  WindowUpdate: 9,
} as const;

const FLAG_FIN = 0x01;
const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes. */
export const RstStatus = {
  ProtocolError: 1,
  InvalidStream: 2,
  RefusedStream: 3,
  Cancel: 5,
  InternalError: 6,
} as const;

/** Length-prefixed header names and values, then a run of common text: the SPDY/3 draft's dictionary. */
const DICTIONARY_WORDS = [
  'options',
  'head',
  'post',
  'put',
  'delete',
  'trace',
  'accept',
  'accept-charset',
  'accept-encoding',
  'accept-language',
  'accept-ranges',
  'age',
  'allow',
  'authorization',
  'cache-control',
  'connection',
  'content-base',
  'content-encoding',
  'content-language',
  'content-length',
  'content-location',
  'content-md5',
  'content-range',
  'content-type',
  'date',
  'etag',
  'expect',
  'expires',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'pragma',
  'proxy-authenticate',
  'proxy-authorization',
  'range',
  'referer',
  'retry-after',
  'server',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'vary',
  'via',
  'warning',
  'www-authenticate',
  'method',
  'get',
  'status',
  '200 OK',
  'version',
  'HTTP/1.1',
  'url',
  'public',
  'set-cookie',
  'keep-alive',
  'origin',
];
const DICTIONARY_TEXT =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request' +
  '401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented' +
  '503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ' +
  'Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,' +
  'application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=' +
  'gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

export const HEADER_DICTIONARY: Buffer = Buffer.concat([
  ...DICTIONARY_WORDS.map((word) => {
    const bytes = Buffer.from(word, 'latin1');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    return Buffer.concat([length, bytes]);
  }),
  Buffer.from(DICTIONARY_TEXT, 'latin1'),
]);

/** Adler-32, the checksum a zlib header names its preset dictionary by. */
export function adler32(data: Buffer): number {
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

export const HEADER_DICTIONARY_ADLER32 = adler32(HEADER_DICTIONARY);

const WINDOW = 32 * 1024;

export class SpdyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpdyProtocolError';
  }
}

/** Headers as SPDY carries them: lowercase names, each with one or more values. */
export type SpdyHeaders = Record<string, string[]>;

/** Encodes a header block (before compression). */
export function encodeHeaderBlock(headers: Record<string, string | string[]>): Buffer {
  const parts: Buffer[] = [];
  const count = Buffer.alloc(4);
  const entries = Object.entries(headers);
  count.writeUInt32BE(entries.length);
  parts.push(count);
  for (const [name, value] of entries) {
    for (const text of [name.toLowerCase(), Array.isArray(value) ? value.join('\0') : value]) {
      const bytes = Buffer.from(text, 'utf8');
      const length = Buffer.alloc(4);
      length.writeUInt32BE(bytes.length);
      parts.push(length, bytes);
    }
  }
  return Buffer.concat(parts);
}

/** Decodes a decompressed header block. */
export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  let at = 0;
  const take = (n: number): Buffer => {
    if (at + n > block.length) throw new SpdyProtocolError('truncated header block');
    const slice = block.subarray(at, at + n);
    at += n;
    return slice;
  };
  const count = take(4).readUInt32BE();
  const headers: SpdyHeaders = {};
  for (let i = 0; i < count; i++) {
    const name = take(take(4).readUInt32BE()).toString('utf8').toLowerCase();
    const value = take(take(4).readUInt32BE()).toString('utf8');
    (headers[name] ??= []).push(...value.split('\0'));
  }
  if (at !== block.length) throw new SpdyProtocolError('trailing bytes after the header block');
  return headers;
}

/** The receiving half of a connection's header compression. */
export class HeaderInflater {
  private history: Buffer = HEADER_DICTIONARY;
  private started = false;

  inflate(compressed: Buffer): Buffer {
    let data = compressed;
    if (!this.started) {
      // The zlib header: CMF, FLG, and the preset dictionary's Adler-32 when FLG.FDICT is set.
      if (data.length < 2 || (data[0] & 0x0f) !== 8 || ((data[0] << 8) | data[1]) % 31 !== 0)
        throw new SpdyProtocolError('header block does not start a zlib stream');
      const skip = data[1] & 0x20 ? 6 : 2;
      if (skip === 6 && data.readUInt32BE(2) !== HEADER_DICTIONARY_ADLER32)
        throw new SpdyProtocolError('header block uses an unknown compression dictionary');
      data = data.subarray(skip);
      this.started = true;
    }
    let out: Buffer;
    try {
      out = zlib.inflateRawSync(data, {
        dictionary: this.history.subarray(Math.max(0, this.history.length - WINDOW)),
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
      });
    } catch (error) {
      throw new SpdyProtocolError(`cannot inflate a header block: ${(error as Error).message}`);
    }
    this.history = Buffer.concat([this.history, out]).subarray(-WINDOW);
    return out;
  }
}

/** A non-final stored deflate block: 3 header bits (zero) padded to a byte, LEN, NLEN, the bytes. */
function storedBlock(data: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt16LE(data.length, 1);
  header.writeUInt16LE(~data.length & 0xffff, 3);
  return Buffer.concat([header, data]);
}

/** The sending half: one zlib stream of stored blocks, so no compressor state is kept. */
export class HeaderDeflater {
  private started = false;

  deflate(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      // CMF 0x78 (deflate, 32 KiB window), FLG 0x01: no preset dictionary, check bits valid.
      parts.push(Buffer.from([0x78, 0x01]));
      this.started = true;
    }
    for (let at = 0; at < block.length; at += 0xffff)
      parts.push(storedBlock(block.subarray(at, at + 0xffff)));
    // An empty stored block ends the frame's data, as a sync flush does: inflaters (Go's
    // among them) hand out what they decoded only when they reach a block boundary like it.
    parts.push(storedBlock(Buffer.alloc(0)));
    return Buffer.concat(parts);
  }
}

// ---- frames ----

export type Frame =
  | { kind: 'data'; streamId: number; flags: number; data: Buffer }
  | { kind: 'control'; version: number; type: number; flags: number; payload: Buffer };

const MAX_FRAME_PAYLOAD = 0xffffff;

/** Splits a byte stream into frames; keeps a partial frame until the rest arrives. */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Frame[] = [];
    while (this.pending.length >= 8) {
      const length = this.pending.readUInt32BE(4) & 0xffffff;
      if (this.pending.length < 8 + length) break;
      const first = this.pending.readUInt32BE(0);
      const flags = this.pending[4];
      const payload = this.pending.subarray(8, 8 + length);
      if (first & 0x80000000) {
        frames.push({
          kind: 'control',
          version: (first >>> 16) & 0x7fff,
          type: first & 0xffff,
          flags,
          payload,
        });
      } else {
        frames.push({ kind: 'data', streamId: first & 0x7fffffff, flags, data: payload });
      }
      this.pending = this.pending.subarray(8 + length);
    }
    return frames;
  }
}

export function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD) throw new SpdyProtocolError('control frame too large');
  const header = Buffer.alloc(8);
  header.writeUInt32BE((0x80000000 | (SPDY_VERSION << 16) | type) >>> 0, 0);
  header.writeUInt32BE(((flags << 24) | payload.length) >>> 0, 4);
  return Buffer.concat([header, payload]);
}

export function dataFrame(streamId: number, flags: number, data: Buffer): Buffer {
  if (data.length > MAX_FRAME_PAYLOAD) throw new SpdyProtocolError('data frame too large');
  const header = Buffer.alloc(8);
  header.writeUInt32BE(streamId & 0x7fffffff, 0);
  header.writeUInt32BE(((flags << 24) | data.length) >>> 0, 4);
  return Buffer.concat([header, data]);
}

function uint32s(...values: number[]): Buffer {
  const buffer = Buffer.alloc(values.length * 4);
  values.forEach((value, i) => buffer.writeUInt32BE(value >>> 0, i * 4));
  return buffer;
}

// ---- streams and sessions ----

/** Data frames are cut to this size so that one large write does not hold up every other stream. */
const DATA_CHUNK = 64 * 1024;

/**
 * One SPDY stream: a Duplex whose readable side is what the peer sends (ending at its FIN)
 * and whose writable side sends DATA frames (`end()` sends FIN).
 */
export class SpdyStream extends Duplex {
  /** Whether SYN_REPLY has gone out (streams the peer opened) or come in (streams opened here). */
  replied: boolean;
  private localFinished = false;
  private remoteFinished = false;
  private reset = false;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: SpdyHeaders,
    private readonly openedHere: boolean,
  ) {
    super({ allowHalfOpen: true });
    this.replied = false;
    this.once('end', () => {
      this.remoteFinished = true;
      this.maybeDone();
    });
  }

  /** The first value of a header. */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  /** Accepts a stream the peer opened (SYN_REPLY). Writing replies first when this was not called. */
  reply(headers: Record<string, string | string[]> = {}): void {
    if (this.openedHere || this.replied || this.reset) return;
    this.replied = true;
    this.session.sendHeaders(FrameType.SynReply, 0, this.id, headers);
  }

  /** Refuses or abandons the stream (RST_STREAM). */
  resetStream(status: number = RstStatus.Cancel): void {
    if (this.reset) return;
    this.reset = true;
    this.session.sendFrame(controlFrame(FrameType.RstStream, 0, uint32s(this.id, status)));
    this.destroy();
  }

  override _read(): void {
    // No flow control (see the file comment): data is pushed as it arrives.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.reset) return callback(new Error(`stream ${this.id} was reset`));
    this.reply();
    for (let at = 0; at < chunk.length; at += DATA_CHUNK) {
      const last = at + DATA_CHUNK >= chunk.length;
      this.session.sendFrame(
        dataFrame(this.id, 0, chunk.subarray(at, at + DATA_CHUNK)),
        last ? callback : undefined,
      );
    }
    if (chunk.length === 0) callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.reset) return callback();
    this.reply();
    this.localFinished = true;
    this.session.sendFrame(dataFrame(this.id, FLAG_FIN, Buffer.alloc(0)), () => callback());
    this.maybeDone();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.reset && !(this.localFinished && this.remoteFinished) && !this.session.closed) {
      this.reset = true;
      this.session.sendFrame(controlFrame(FrameType.RstStream, 0, uint32s(this.id, RstStatus.Cancel)));
    }
    this.session.forget(this.id);
    callback(error);
  }

  /** @internal a frame of the peer for this stream */
  receiveData(data: Buffer, fin: boolean): void {
    if (this.remoteFinished || this.readableEnded) return;
    if (data.length > 0) this.push(data);
    if (fin) this.push(null);
  }

  /** @internal the peer reset the stream */
  receiveReset(status: number): void {
    this.reset = true;
    this.destroy(
      status === RstStatus.Cancel ? undefined : new Error(`stream ${this.id} reset by peer (${status})`),
    );
  }

  private maybeDone(): void {
    if (this.localFinished && this.remoteFinished) this.session.forget(this.id);
  }
}

export interface SpdySessionOptions {
  /** Which end this is: servers open even stream ids and answer odd pings. */
  server: boolean;
  /** Sends bytes to the peer; `done` once they are handed to the transport. */
  write(bytes: Buffer, done?: (error?: Error | null) => void): void;
}

/**
 * One SPDY connection over any byte transport: feed it what arrives (`receive`), and it
 * emits 'stream' for every stream the peer opens; `openStream` opens one from this end.
 * 'close' is emitted once, on `close()` or a fatal protocol error ('error' first).
 */
export class SpdySession extends EventEmitter {
  closed = false;
  private readonly streams = new Map<number, SpdyStream>();
  private readonly reader = new FrameReader();
  private readonly inflater = new HeaderInflater();
  private readonly deflater = new HeaderDeflater();
  private nextStreamId: number;
  private lastRemoteStreamId = 0;
  private nextPingId: number;
  private readonly pings = new Map<number, () => void>();

  constructor(private readonly options: SpdySessionOptions) {
    super();
    this.nextStreamId = options.server ? 2 : 1;
    this.nextPingId = options.server ? 2 : 1;
  }

  /** Streams open now. */
  get streamCount(): number {
    return this.streams.size;
  }

  receive(chunk: Buffer): void {
    if (this.closed) return;
    try {
      for (const frame of this.reader.push(chunk)) this.handle(frame);
    } catch (error) {
      if (!(error instanceof SpdyProtocolError)) throw error;
      this.sendFrame(controlFrame(FrameType.GoAway, 0, uint32s(this.lastRemoteStreamId, 1)));
      this.emit('error', error);
      this.close();
    }
  }

  openStream(headers: Record<string, string | string[]>, options: { fin?: boolean } = {}): SpdyStream {
    if (this.closed) throw new Error('the SPDY session is closed');
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new SpdyStream(this, id, {}, true);
    this.streams.set(id, stream);
    const block = this.deflater.deflate(encodeHeaderBlock(headers));
    // stream id, associated stream id, priority (3 bits) and slot.
    const fixed = Buffer.concat([uint32s(id, 0), Buffer.from([0, 0])]);
    this.sendFrame(
      controlFrame(FrameType.SynStream, options.fin ? FLAG_FIN : 0, Buffer.concat([fixed, block])),
    );
    if (options.fin) stream.end();
    return stream;
  }

  /** Resolves when the peer answers the ping. */
  ping(): Promise<void> {
    const id = this.nextPingId;
    this.nextPingId += 2;
    return new Promise((resolve) => {
      this.pings.set(id, resolve);
      this.sendFrame(controlFrame(FrameType.Ping, 0, uint32s(id)));
    });
  }

  /** Ends the session: every stream is destroyed; the transport is the caller's to close. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const stream of [...this.streams.values()]) stream.destroy();
    this.streams.clear();
    this.emit('close');
  }

  /** @internal */
  sendFrame(bytes: Buffer, done?: (error?: Error | null) => void): void {
    if (this.closed) {
      done?.(new Error('the SPDY session is closed'));
      return;
    }
    this.options.write(bytes, done);
  }

  /** @internal SYN_REPLY or HEADERS */
  sendHeaders(
    type: number,
    flags: number,
    streamId: number,
    headers: Record<string, string | string[]>,
  ): void {
    const block = this.deflater.deflate(encodeHeaderBlock(headers));
    this.sendFrame(controlFrame(type, flags, Buffer.concat([uint32s(streamId), block])));
  }

  /** @internal */
  forget(id: number): void {
    this.streams.delete(id);
  }

  private handle(frame: Frame): void {
    if (frame.kind === 'data') {
      const stream = this.streams.get(frame.streamId);
      // Data for a stream already gone (reset here while frames were in flight) is dropped.
      stream?.receiveData(frame.data, (frame.flags & FLAG_FIN) !== 0);
      return;
    }
    if (frame.version !== SPDY_VERSION)
      throw new SpdyProtocolError(`unsupported SPDY version ${frame.version}`);
    const p = frame.payload;
    const need = (n: number) => {
      if (p.length < n) throw new SpdyProtocolError(`control frame ${frame.type} is too short`);
    };
    switch (frame.type) {
      case FrameType.SynStream: {
        need(10);
        const id = p.readUInt32BE(0) & 0x7fffffff;
        // The header block is inflated even for a stream refused below: the compression
        // context spans the whole connection.
        const headers = decodeHeaderBlock(this.inflater.inflate(p.subarray(10)));
        const fromPeer = this.options.server ? id % 2 === 1 : id % 2 === 0;
        if (id === 0 || !fromPeer || id <= this.lastRemoteStreamId) {
          this.sendFrame(controlFrame(FrameType.RstStream, 0, uint32s(id, RstStatus.ProtocolError)));
          return;
        }
        this.lastRemoteStreamId = id;
        const stream = new SpdyStream(this, id, headers, false);
        this.streams.set(id, stream);
        if (frame.flags & FLAG_FIN || frame.flags & FLAG_UNIDIRECTIONAL)
          stream.receiveData(Buffer.alloc(0), true);
        if (this.listenerCount('stream') === 0) stream.resetStream(RstStatus.RefusedStream);
        else this.emit('stream', stream);
        return;
      }
      case FrameType.SynReply:
      case FrameType.Headers: {
        need(4);
        const id = p.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(this.inflater.inflate(p.subarray(4)));
        const stream = this.streams.get(id);
        if (!stream) return;
        if (frame.type === FrameType.SynReply) {
          stream.replied = true;
          Object.assign(stream.headers, headers);
          stream.emit('reply', headers);
        }
        if (frame.flags & FLAG_FIN) stream.receiveData(Buffer.alloc(0), true);
        return;
      }
      case FrameType.RstStream: {
        need(8);
        const id = p.readUInt32BE(0) & 0x7fffffff;
        this.streams.get(id)?.receiveReset(p.readUInt32BE(4));
        return;
      }
      case FrameType.Ping: {
        need(4);
        const id = p.readUInt32BE(0);
        const ours = this.options.server ? id % 2 === 0 : id % 2 === 1;
        if (ours) {
          this.pings.get(id)?.();
          this.pings.delete(id);
        } else {
          this.sendFrame(controlFrame(FrameType.Ping, 0, uint32s(id)));
        }
        return;
      }
      case FrameType.GoAway:
        this.emit('goaway');
        return;
      default:
        // SETTINGS, WINDOW_UPDATE (see the file comment) and unknown control frames are ignored,
        // as the draft asks of unknown ones.
        return;
    }
  }
}
