/**
 * The Raft log of one node: a snapshot point (index and term of the last entry it covers)
 * followed by the entries after it, with the commit and apply positions, and how far the log
 * is known to be on disk (`stable`). Entries above `stable` are "unstable": handed to the
 * host in a Ready to persist. Everything is in memory; the WAL is the durable copy, and
 * compaction after a snapshot keeps memory bounded.
 */
import { Entry } from './types';

export class RaftLog {
  /** Index and term of the last entry covered by the snapshot (0, 0 for none). */
  snapshotIndex: number;
  snapshotTerm: number;
  /** entries[i] has index snapshotIndex + 1 + i. */
  private entries: Entry[];
  committed: number;
  applied: number;
  /** Highest index known persisted. */
  stable: number;

  constructor(snapshotIndex = 0, snapshotTerm = 0, entries: Entry[] = [], committed = snapshotIndex) {
    this.snapshotIndex = snapshotIndex;
    this.snapshotTerm = snapshotTerm;
    this.entries = entries;
    if (entries.length > 0 && entries[0].index !== snapshotIndex + 1) {
      throw new Error(`log entries start at ${entries[0].index}, want ${snapshotIndex + 1}`);
    }
    this.committed = committed;
    this.applied = snapshotIndex;
    this.stable = this.lastIndex();
  }

  firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  lastTerm(): number {
    return this.entries.length > 0 ? this.entries[this.entries.length - 1].term : this.snapshotTerm;
  }

  /** The term of the entry at `index`; undefined when compacted away or beyond the end. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshotIndex - 1].term;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Whether a log ending at (index, term) is at least as up to date as this one (§5.4.1). */
  isUpToDate(index: number, term: number): boolean {
    const lastTerm = this.lastTerm();
    return term > lastTerm || (term === lastTerm && index >= this.lastIndex());
  }

  /** Entries [lo, hi) no larger than maxBytes in data (at least one); undefined if lo was compacted. */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] | undefined {
    if (lo <= this.snapshotIndex) return undefined;
    hi = Math.min(hi, this.lastIndex() + 1);
    if (lo >= hi) return [];
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const entry = this.entries[i - this.snapshotIndex - 1];
      bytes += entry.data.length + 24;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(entry);
    }
    return out;
  }

  /** Appends entries whose indexes follow lastIndex (the leader's own proposals). */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    if (entries[0].index !== this.lastIndex() + 1) {
      throw new Error(`append at ${entries[0].index} after ${this.lastIndex()}`);
    }
    for (const entry of entries) this.entries.push(entry);
  }

  /**
   * A follower's append (§5.3): if the entry before `entries` matches (prevIndex, prevTerm),
   * drop any conflicting suffix and add what is new; returns the index of the last new entry,
   * or undefined when the logs do not match at prevIndex.
   */
  maybeAppend(prevIndex: number, prevTerm: number, entries: Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      if (entry.index <= this.snapshotIndex) continue; // covered by our snapshot: committed, hence equal
      const existing = this.term(entry.index);
      if (existing === entry.term) continue;
      if (existing !== undefined && entry.index <= this.committed) {
        throw new Error(`entry ${entry.index} conflicts with a committed entry`);
      }
      this.truncateFrom(entry.index);
      for (let j = i; j < entries.length; j++) this.entries.push(entries[j]);
      break;
    }
    return lastNew;
  }

  private truncateFrom(index: number): void {
    this.entries.length = index - this.snapshotIndex - 1;
    if (this.stable >= index) this.stable = index - 1;
  }

  /**
   * Where a follower that rejected an append at `index` (with our entry there having
   * `term`) may match: the last index ≤ index whose term ≤ term. Lets the leader skip a whole
   * term of mismatching entries per round trip instead of one entry.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    let i = Math.min(index, this.lastIndex());
    for (; i > this.snapshotIndex; i--) {
      const t = this.term(i)!;
      if (t <= term) return { index: i, term: t };
    }
    return { index: this.snapshotIndex, term: this.snapshotTerm };
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    if (index > this.lastIndex()) throw new Error(`commit ${index} beyond last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** Entries persisted by the host up to `index` (only if they are still the ones it wrote: same term). */
  stableTo(index: number, term: number): void {
    if (this.term(index) === term && index > this.stable) this.stable = index;
  }

  unstableEntries(): Entry[] {
    if (this.stable >= this.lastIndex()) return [];
    return this.entries.slice(Math.max(this.stable, this.snapshotIndex) - this.snapshotIndex);
  }

  /**
   * Committed and not yet applied. They may include entries of the same Ready that are not
   * on disk yet: the host persists a Ready's entries before it applies anything.
   */
  nextCommitted(maxBytes = Infinity): Entry[] {
    const hi = this.committed + 1;
    const lo = Math.max(this.applied + 1, this.firstIndex());
    return this.slice(lo, hi, maxBytes) ?? [];
  }

  appliedTo(index: number): void {
    if (index > this.committed) throw new Error(`applied ${index} beyond committed ${this.committed}`);
    if (index > this.applied) this.applied = index;
  }

  /** Drops entries up to `index` (covered by a snapshot the host took there). */
  compact(index: number): void {
    if (index <= this.snapshotIndex) return;
    if (index > this.applied) throw new Error(`compact ${index} beyond applied ${this.applied}`);
    const term = this.term(index)!;
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = term;
  }

  /** Replaces the whole log with a snapshot's point (a follower installing one). */
  restore(index: number, term: number): void {
    this.entries = [];
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.committed = index;
    this.applied = index;
    this.stable = index;
  }
}
