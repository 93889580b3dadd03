/**
 * Binary encoding of what Raft writes to disk and sends between masters: entries, hard
 * state, snapshots and every message. Length-prefixed fields, entry data as raw bytes: no
 * JSON or base64 on the hot path. Decoding checks bounds and says what is wrong.
 */
import { ConfState, Entry, EntryType, HardState, Message, MessageType, Snapshot } from './types';

export class CodecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

export class Writer {
  private buffer: Buffer;
  private length = 0;

  constructor(capacity = 256) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  private ensure(extra: number): void {
    if (this.length + extra <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + extra));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  u8(value: number): this {
    this.ensure(1);
    this.buffer[this.length++] = value;
    return this;
  }

  /** Unsigned integers up to 2^53, 7 bits per byte. */
  uint(value: number): this {
    this.ensure(8);
    let v = value;
    while (v >= 0x80) {
      this.buffer[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buffer[this.length++] = v;
    return this;
  }

  bytes(value: Uint8Array): this {
    this.uint(value.length);
    this.ensure(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
    return this;
  }

  string(value: string): this {
    const length = Buffer.byteLength(value);
    this.uint(length);
    this.ensure(length);
    this.buffer.write(value, this.length, 'utf8');
    this.length += length;
    return this;
  }

  bool(value: boolean): this {
    return this.u8(value ? 1 : 0);
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

export class Reader {
  private offset = 0;

  constructor(private readonly buffer: Uint8Array) {}

  private need(n: number, what: string): void {
    if (this.offset + n > this.buffer.length) {
      throw new CodecError(
        `truncated ${what}: need ${n} bytes at offset ${this.offset}, have ${this.buffer.length - this.offset}`,
      );
    }
  }

  u8(what = 'byte'): number {
    this.need(1, what);
    return this.buffer[this.offset++];
  }

  uint(what = 'integer'): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8(what);
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 0x80;
    }
    throw new CodecError(`integer too long at offset ${this.offset}`);
  }

  bytes(what = 'bytes'): Uint8Array {
    const length = this.uint(what);
    this.need(length, what);
    const out = this.buffer.subarray(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  string(what = 'string'): string {
    return Buffer.from(this.bytes(what)).toString('utf8');
  }

  bool(what = 'flag'): boolean {
    return this.u8(what) !== 0;
  }

  get done(): boolean {
    return this.offset >= this.buffer.length;
  }
}

const ENTRY_TYPES: EntryType[] = ['normal', 'confChange'];

export function writeEntry(w: Writer, entry: Entry): void {
  w.uint(entry.index).uint(entry.term).u8(ENTRY_TYPES.indexOf(entry.type)).bytes(entry.data);
}

export function readEntry(r: Reader): Entry {
  const index = r.uint('entry index');
  const term = r.uint('entry term');
  const type = ENTRY_TYPES[r.u8('entry type')];
  if (!type) throw new CodecError('unknown entry type');
  // Copy: the entry outlives the buffer it was read from (a WAL segment, a socket chunk).
  const data = Uint8Array.from(r.bytes('entry data'));
  return { index, term, type, data };
}

export function encodeEntry(entry: Entry): Buffer {
  const w = new Writer(entry.data.length + 16);
  writeEntry(w, entry);
  return w.finish();
}

export function decodeEntry(data: Uint8Array): Entry {
  return readEntry(new Reader(data));
}

export function encodeHardState(state: HardState): Buffer {
  return new Writer(32).uint(state.term).string(state.vote).uint(state.commit).finish();
}

export function decodeHardState(data: Uint8Array): HardState {
  const r = new Reader(data);
  return { term: r.uint('term'), vote: r.string('vote'), commit: r.uint('commit') };
}

function writeConf(w: Writer, conf: ConfState): void {
  w.uint(conf.voters.length);
  for (const v of conf.voters) w.string(v);
  w.uint(conf.learners.length);
  for (const l of conf.learners) w.string(l);
}

function readConf(r: Reader): ConfState {
  const voters = Array.from({ length: r.uint('voter count') }, () => r.string('voter'));
  const learners = Array.from({ length: r.uint('learner count') }, () => r.string('learner'));
  return { voters, learners };
}

export function writeSnapshot(w: Writer, snapshot: Snapshot): void {
  w.uint(snapshot.meta.index).uint(snapshot.meta.term);
  writeConf(w, snapshot.meta.conf);
  w.bytes(snapshot.data);
}

export function readSnapshot(r: Reader): Snapshot {
  const index = r.uint('snapshot index');
  const term = r.uint('snapshot term');
  const conf = readConf(r);
  return { meta: { index, term, conf }, data: Uint8Array.from(r.bytes('snapshot data')) };
}

export function encodeSnapshot(snapshot: Snapshot): Buffer {
  const w = new Writer(snapshot.data.length + 64);
  writeSnapshot(w, snapshot);
  return w.finish();
}

export function decodeSnapshot(data: Uint8Array): Snapshot {
  return readSnapshot(new Reader(data));
}

const MESSAGE_TYPES: MessageType[] = [
  'append',
  'appendResponse',
  'vote',
  'preVote',
  'voteResponse',
  'preVoteResponse',
  'heartbeat',
  'heartbeatResponse',
  'snapshot',
  'timeoutNow',
  'propose',
  'readIndex',
  'readIndexResponse',
];

export function encodeMessage(m: Message): Buffer {
  const size =
    m.type === 'append' || m.type === 'propose'
      ? m.entries.reduce((n, e) => n + e.data.length + 16, 64)
      : m.type === 'snapshot'
        ? m.snapshot.data.length + 128
        : 64;
  const w = new Writer(size);
  w.u8(MESSAGE_TYPES.indexOf(m.type)).string(m.from).string(m.to).uint(m.term);
  switch (m.type) {
    case 'append':
      w.uint(m.index).uint(m.logTerm).uint(m.commit).uint(m.entries.length);
      for (const entry of m.entries) writeEntry(w, entry);
      break;
    case 'appendResponse':
      w.uint(m.index).bool(m.reject).uint(m.rejectHint).uint(m.logTerm);
      break;
    case 'vote':
    case 'preVote':
      w.uint(m.index).uint(m.logTerm).bool(m.transfer);
      break;
    case 'voteResponse':
    case 'preVoteResponse':
      w.bool(m.reject);
      break;
    case 'heartbeat':
      w.uint(m.commit).string(m.context);
      break;
    case 'heartbeatResponse':
      w.string(m.context);
      break;
    case 'snapshot':
      writeSnapshot(w, m.snapshot);
      break;
    case 'timeoutNow':
      break;
    case 'propose':
      w.uint(m.entries.length);
      for (const entry of m.entries) writeEntry(w, entry);
      break;
    case 'readIndex':
      w.string(m.context);
      break;
    case 'readIndexResponse':
      w.uint(m.index).string(m.context);
      break;
    default: {
      const unknown: never = m;
      throw new CodecError(`cannot encode message ${JSON.stringify(unknown)}`);
    }
  }
  return w.finish();
}

export function decodeMessage(data: Uint8Array): Message {
  const r = new Reader(data);
  const type = MESSAGE_TYPES[r.u8('message type')];
  if (!type) throw new CodecError(`unknown message type ${data[0]}`);
  const base = { from: r.string('from'), to: r.string('to'), term: r.uint('term') };
  const entries = () => Array.from({ length: r.uint('entry count') }, () => readEntry(r));
  let message: Message;
  switch (type) {
    case 'append': {
      const index = r.uint();
      const logTerm = r.uint();
      const commit = r.uint();
      message = { ...base, type, index, logTerm, commit, entries: entries() };
      break;
    }
    case 'appendResponse':
      message = { ...base, type, index: r.uint(), reject: r.bool(), rejectHint: r.uint(), logTerm: r.uint() };
      break;
    case 'vote':
    case 'preVote':
      message = { ...base, type, index: r.uint(), logTerm: r.uint(), transfer: r.bool() };
      break;
    case 'voteResponse':
    case 'preVoteResponse':
      message = { ...base, type, reject: r.bool() };
      break;
    case 'heartbeat':
      message = { ...base, type, commit: r.uint(), context: r.string() };
      break;
    case 'heartbeatResponse':
      message = { ...base, type, context: r.string() };
      break;
    case 'snapshot':
      message = { ...base, type, snapshot: readSnapshot(r) };
      break;
    case 'timeoutNow':
      message = { ...base, type };
      break;
    case 'propose':
      message = { ...base, type, entries: entries() };
      break;
    case 'readIndex':
      message = { ...base, type, context: r.string() };
      break;
    case 'readIndexResponse':
      message = { ...base, type, index: r.uint(), context: r.string() };
      break;
  }
  if (!r.done) throw new CodecError(`${type} message has trailing bytes`);
  return message;
}
