/**
 * The write-ahead log of one master: term, vote and log entries, durable before they are
 * acted upon (a vote granted, an append acknowledged).
 *
 * Layout: `DIR/wal/<seq>.wal` segments, append-only, each record
 *   [u32 length][u32 CRC-32 of the rest][u8 type][payload]
 * with types entry, hard state and snapshot marker; `DIR/snap/<index>.snap` snapshot files
 * ([u32 CRC-32][snapshot]). One save is one write (all entries and the hard state of a Ready)
 * and, when the Ready asks for it, one fdatasync: batching is where throughput comes from.
 *
 * On open: a torn last record (a write cut short by a crash) is truncated and noted; a bad
 * CRC anywhere before it, a gap between segments or between entries is an error naming the
 * file and offset. Nothing is ever dropped silently.
 */
import { promises as fs } from 'fs';
import { join } from 'path';
import { crc32 } from 'zlib';
import { Logger } from '../../util/log';
import {
  decodeEntry,
  decodeHardState,
  decodeSnapshot,
  encodeEntry,
  encodeHardState,
  encodeSnapshot,
  Reader,
  Writer,
} from '../codec';
import { Entry, HardState, Snapshot } from '../types';

const RECORD_ENTRY = 1;
const RECORD_HARD_STATE = 2;
const RECORD_SNAPSHOT = 3;
const HEADER = 8;

export class WalCorruptError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WalCorruptError';
  }
}

export interface WalContents {
  hardState: HardState;
  /** The latest snapshot (with its data), when one was saved. */
  snapshot?: Snapshot;
  /** Entries after the snapshot, contiguous. */
  entries: Entry[];
}

export interface WalOptions {
  segmentBytes?: number;
  log?: Logger;
}

function segmentName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.wal`;
}

function snapshotName(index: number): string {
  return `${String(index).padStart(16, '0')}.snap`;
}

function record(type: number, payload: Uint8Array): Buffer {
  const body = Buffer.allocUnsafe(1 + payload.length);
  body[0] = type;
  body.set(payload, 1);
  const header = Buffer.allocUnsafe(HEADER);
  header.writeUInt32BE(body.length, 0);
  header.writeUInt32BE(crc32(body), 4);
  return Buffer.concat([header, body]);
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class Wal {
  private handle: fs.FileHandle | undefined;
  private seq = 0;
  private size = 0;
  /** Last entry index written to each segment, for releasing segments a snapshot covers. */
  private readonly segmentLast = new Map<number, number>();
  private hardState: HardState = { term: 0, vote: '', commit: 0 };
  private readonly segmentBytes: number;
  private readonly log?: Logger;

  private constructor(
    private readonly dir: string,
    options: WalOptions,
  ) {
    this.segmentBytes = options.segmentBytes ?? 64 * 1024 * 1024;
    this.log = options.log;
  }

  get walDir(): string {
    return join(this.dir, 'wal');
  }

  get snapDir(): string {
    return join(this.dir, 'snap');
  }

  /** Opens (creating if new) the WAL in `dir` and reads back what it holds. */
  static async open(dir: string, options: WalOptions = {}): Promise<{ wal: Wal; contents: WalContents }> {
    const wal = new Wal(dir, options);
    await fs.mkdir(wal.walDir, { recursive: true });
    await fs.mkdir(wal.snapDir, { recursive: true });
    const contents = await wal.replay();
    await wal.openSegment(wal.seq === 0 ? 1 : wal.seq);
    return { wal, contents };
  }

  private async replay(): Promise<WalContents> {
    const snapshot = await this.latestSnapshot();
    const files = (await fs.readdir(this.walDir)).filter((f) => /^\d{16}\.wal$/.test(f)).sort();
    const seqs = files.map((f) => Number(f.slice(0, 16)));
    for (let i = 1; i < seqs.length; i++) {
      if (seqs[i] !== seqs[i - 1] + 1) {
        throw new WalCorruptError(
          `wal: segment ${segmentName(seqs[i - 1] + 1)} is missing in ${this.walDir} (have ${files[i - 1]} and ${files[i]})`,
        );
      }
    }
    let entries: Entry[] = [];
    // The index of the entry before entries[0]. Segments wholly covered by the snapshot were
    // released, so the log may begin anywhere up to the snapshot: what it covers is skipped.
    let base = snapshot?.meta.index ?? 0;
    let marker: { index: number; term: number } | undefined;
    for (let i = 0; i < files.length; i++) {
      const path = join(this.walDir, files[i]);
      const last = i === files.length - 1;
      const data = await fs.readFile(path);
      let offset = 0;
      let maxIndex = 0;
      while (offset < data.length) {
        const torn = (reason: string) => {
          if (!last)
            throw new WalCorruptError(
              `wal: ${reason} in ${path} at offset ${offset}, and later segments follow`,
            );
          this.log?.warn('truncating a torn record at the end of the WAL', {
            file: path,
            offset,
            reason,
            droppedBytes: data.length - offset,
          });
          return true;
        };
        if (offset + HEADER > data.length) {
          if (torn('incomplete record header')) {
            await fs.truncate(path, offset);
            break;
          }
        }
        const length = data.readUInt32BE(offset);
        const crc = data.readUInt32BE(offset + 4);
        const end = offset + HEADER + length;
        if (end > data.length) {
          if (torn(`record of ${length} bytes runs past the end of the file`)) {
            await fs.truncate(path, offset);
            break;
          }
        }
        const body = data.subarray(offset + HEADER, end);
        if (crc32(body) !== crc) {
          if (last && end === data.length) {
            torn('bad CRC on the last record');
            await fs.truncate(path, offset);
            break;
          }
          throw new WalCorruptError(
            `wal: bad CRC in ${path} at offset ${offset}: the log is corrupt; restore this master from a peer (remove its data directory and let it rejoin)`,
          );
        }
        const payload = body.subarray(1);
        switch (body[0]) {
          case RECORD_ENTRY: {
            const entry = decodeEntry(payload);
            const lastIndex = base + entries.length;
            if (entry.index <= base) break; // covered by a snapshot marker already seen
            if (entry.index > lastIndex + 1) {
              throw new WalCorruptError(
                `wal: entry ${entry.index} follows entry ${lastIndex} in ${path} at offset ${offset}: entries are missing`,
              );
            }
            // An entry at an index we have replaces it and everything after (a new leader's log won).
            entries.length = entry.index - base - 1;
            entries.push(entry);
            maxIndex = Math.max(maxIndex, entry.index);
            break;
          }
          case RECORD_HARD_STATE:
            this.hardState = decodeHardState(payload);
            break;
          case RECORD_SNAPSHOT: {
            const r = new Reader(payload);
            const index = r.uint();
            const term = r.uint();
            marker = { index, term };
            if (index > base) {
              entries = entries.filter((e) => e.index > index);
              if (entries.length > 0 && entries[0].index !== index + 1) entries = [];
              base = index;
            }
            break;
          }
          default:
            throw new WalCorruptError(`wal: unknown record type ${body[0]} in ${path} at offset ${offset}`);
        }
        offset = end;
      }
      this.segmentLast.set(seqs[i], maxIndex);
      this.seq = seqs[i];
    }
    if (marker && (!snapshot || snapshot.meta.index < marker.index)) {
      throw new WalCorruptError(
        `wal: the log refers to a snapshot at index ${marker.index}, but ${this.snapDir} has ${snapshot ? `only one at ${snapshot.meta.index}` : 'none'}`,
      );
    }
    return { hardState: this.hardState, snapshot, entries };
  }

  private async latestSnapshot(): Promise<Snapshot | undefined> {
    const files = (await fs.readdir(this.snapDir))
      .filter((f) => /^\d{16}\.snap$/.test(f))
      .sort()
      .reverse();
    for (const file of files) {
      const path = join(this.snapDir, file);
      const data = await fs.readFile(path);
      if (data.length >= 4 && crc32(data.subarray(4)) === data.readUInt32BE(0))
        return decodeSnapshot(data.subarray(4));
      // A damaged newest snapshot is set aside; an older one plus the log still gives the state.
      this.log?.error('snapshot file is damaged; using an older one', { file: path });
      await fs.rename(path, `${path}.broken`);
    }
    return undefined;
  }

  private async openSegment(seq: number): Promise<void> {
    await this.handle?.close();
    this.seq = seq;
    const path = join(this.walDir, segmentName(seq));
    this.handle = await fs.open(path, 'a');
    this.size = (await this.handle.stat()).size;
    if (!this.segmentLast.has(seq)) this.segmentLast.set(seq, 0);
  }

  /**
   * Appends entries and the hard state in one write; with `sync`, returns only once they are
   * on disk (fdatasync). Entries overwriting existing indexes are fine: replay keeps the last.
   */
  async save(entries: Entry[], hardState: HardState | undefined, sync: boolean): Promise<void> {
    if (this.size >= this.segmentBytes) await this.roll();
    const parts: Buffer[] = [];
    for (const entry of entries) parts.push(record(RECORD_ENTRY, encodeEntry(entry)));
    if (hardState) {
      parts.push(record(RECORD_HARD_STATE, encodeHardState(hardState)));
      this.hardState = hardState;
    }
    if (parts.length > 0) {
      const buffer = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      await this.handle!.write(buffer);
      this.size += buffer.length;
      if (entries.length > 0) {
        const last = entries[entries.length - 1].index;
        this.segmentLast.set(this.seq, Math.max(this.segmentLast.get(this.seq) ?? 0, last));
      }
    }
    if (sync) await this.handle!.datasync();
  }

  /** Starts a new segment; it begins with the current hard state, so older segments can go. */
  private async roll(): Promise<void> {
    await this.handle!.datasync();
    await this.openSegment(this.seq + 1);
    const hard = record(RECORD_HARD_STATE, encodeHardState(this.hardState));
    await this.handle!.write(hard);
    this.size += hard.length;
    await fsyncDir(this.walDir);
  }

  /**
   * Saves a snapshot (file first, then a marker in the log) and releases what it covers:
   * segments whose entries are all in it, and older snapshot files (the newest two are kept).
   */
  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    const payload = encodeSnapshot(snapshot);
    const file = Buffer.allocUnsafe(4 + payload.length);
    file.writeUInt32BE(crc32(payload), 0);
    file.set(payload, 4);
    const path = join(this.snapDir, snapshotName(snapshot.meta.index));
    const handle = await fs.open(`${path}.tmp`, 'w');
    try {
      await handle.write(file);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(`${path}.tmp`, path);
    await fsyncDir(this.snapDir);
    const marker = new Writer(16).uint(snapshot.meta.index).uint(snapshot.meta.term).finish();
    const markerRecord = record(RECORD_SNAPSHOT, marker);
    // The marker begins a fresh segment, with the hard state, so every older segment can go.
    await this.roll();
    await this.handle!.write(markerRecord);
    this.size += markerRecord.length;
    await this.handle!.datasync();
    for (const [seq, last] of [...this.segmentLast]) {
      if (seq < this.seq && last <= snapshot.meta.index) {
        await fs.rm(join(this.walDir, segmentName(seq)), { force: true });
        this.segmentLast.delete(seq);
      }
    }
    const snapshots = (await fs.readdir(this.snapDir)).filter((f) => /^\d{16}\.snap$/.test(f)).sort();
    for (const old of snapshots.slice(0, -2)) await fs.rm(join(this.snapDir, old), { force: true });
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}
