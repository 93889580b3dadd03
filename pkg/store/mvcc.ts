/**
 * The store's state machine: a multi-version key-value map, applied one command at a time
 * at a given revision (the Raft index of the entry that carried it). It is deterministic:
 * every master applying the same entries holds the same state and computes the same
 * results, which is what lets the master that proposed a write answer its client from its
 * own apply.
 *
 * Besides the current value of every key it keeps recent history: older versions of keys
 * (reads at a past revision, for consistent paging) and the events of recent revisions
 * (watches that resume from a revision). History older than the compaction point is gone;
 * reading or watching from there fails with RevisionCompactedError, and the client relists.
 */
import {
  KeyExistsError,
  KeyNotFoundError,
  ListOptions,
  ListResult,
  RevisionCompactedError,
  RevisionMismatchError,
  StorageEvent,
  StoredValue,
  TxnCompare,
  TxnOperation,
  WatchHandle,
} from './types';

export type Command =
  | { op: 'create'; key: string; value: Uint8Array }
  | { op: 'update'; key: string; value: Uint8Array; expected?: number }
  | { op: 'delete'; key: string; expected?: number }
  | { op: 'txn'; compares: TxnCompare[]; operations: TxnOperation[] };

export type CommandResult =
  | { ok: true; revision: number; previous?: StoredValue; succeeded?: boolean }
  | { ok: false; error: KeyExistsError | KeyNotFoundError | RevisionMismatchError };

interface Version {
  createRevision: number;
  modRevision: number;
  /** null: deleted at modRevision (a tombstone, kept while history needs it). */
  value: Uint8Array | null;
}

interface Watcher {
  prefix: string;
  onEvent: (event: StorageEvent) => void;
  onClose: (reason: Error) => void;
}

export interface MvccOptions {
  /** Events kept for watches and past reads; older history is compacted. */
  historyEvents?: number;
}

/**
 * Keys are grouped by their resource prefix (`/registry/pods/`: up to the third slash, or up
 * to the last one for shorter keys), each group kept sorted, so inserting a key shifts only
 * its own group and a list reads only the group of its prefix.
 */
function bucketOf(key: string): string {
  let slashes = 0;
  let last = -1;
  for (let i = 0; i < key.length; i++) {
    if (key.charCodeAt(i) !== 47) continue;
    last = i;
    if (++slashes === 3) break;
  }
  return key.slice(0, last + 1);
}

function slashCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 47) count++;
  return count;
}

function lowerBound(sorted: string[], target: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < target) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MvccStore {
  private readonly versions = new Map<string, Version[]>();
  private readonly buckets = new Map<string, string[]>();
  private bucketNames: string[] = [];
  /** Events of revisions after `compacted`, in order. */
  private events: StorageEvent[] = [];
  private revision = 0;
  private compacted = 0;
  /** Keys with more than one version or a tombstone: the ones compaction must visit. */
  private readonly withHistory = new Set<string>();
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly historyEvents: number;

  constructor(options: MvccOptions = {}) {
    this.historyEvents = options.historyEvents ?? 100_000;
  }

  currentRevision(): number {
    return this.revision;
  }

  compactedRevision(): number {
    return this.compacted;
  }

  /** Number of live keys. */
  get size(): number {
    let count = 0;
    for (const versions of this.versions.values()) if (versions[versions.length - 1].value !== null) count++;
    return count;
  }

  // ---- reads ----

  private versionAt(key: string, revision: number): Version | undefined {
    const versions = this.versions.get(key);
    if (!versions) return undefined;
    for (let i = versions.length - 1; i >= 0; i--) {
      if (versions[i].modRevision <= revision) return versions[i];
    }
    return undefined;
  }

  private stored(key: string, version: Version | undefined): StoredValue | undefined {
    if (!version || version.value === null) return undefined;
    return {
      key,
      value: version.value,
      createRevision: version.createRevision,
      modRevision: version.modRevision,
    };
  }

  private checkRevision(revision: number): void {
    if (revision < this.compacted) throw new RevisionCompactedError(revision, this.compacted);
  }

  get(key: string, revision = this.revision): StoredValue | undefined {
    this.checkRevision(revision);
    return this.stored(key, this.versionAt(key, Math.min(revision, this.revision)));
  }

  list(prefix: string, options: Pick<ListOptions, 'revision' | 'startAfter' | 'limit'> = {}): ListResult {
    const revision = Math.min(options.revision ?? this.revision, this.revision);
    this.checkRevision(revision);
    const items: StoredValue[] = [];
    const limit = options.limit && options.limit > 0 ? options.limit : Infinity;
    const start =
      options.startAfter !== undefined && options.startAfter > prefix ? options.startAfter : prefix;
    let more = false;
    outer: for (const keys of this.bucketsFor(prefix)) {
      for (let i = lowerBound(keys, start); i < keys.length; i++) {
        const key = keys[i];
        if (!key.startsWith(prefix)) break;
        if (key === options.startAfter) continue;
        const value = this.stored(key, this.versionAt(key, revision));
        if (!value) continue;
        if (items.length >= limit) {
          more = true;
          break outer;
        }
        items.push(value);
      }
    }
    return { items, revision, more };
  }

  /** Sorted key arrays holding every key under `prefix`, in key order. */
  private bucketsFor(prefix: string): string[][] {
    if (slashCount(prefix) >= 3) {
      const own = this.buckets.get(bucketOf(prefix));
      return own ? [own] : [];
    }
    // A short prefix may span groups: merge the candidates into one sorted list (rare: dumps).
    const candidates = this.bucketNames.filter((name) => name.startsWith(prefix) || prefix.startsWith(name));
    if (candidates.length <= 1) return candidates.map((name) => this.buckets.get(name)!);
    return [candidates.flatMap((name) => this.buckets.get(name)!).sort()];
  }

  // ---- writes ----

  /** Applies a command at `revision` (which must be the next one). Failed commands change nothing but the revision. */
  apply(revision: number, command: Command | undefined): CommandResult {
    if (revision <= this.revision) throw new Error(`revision ${revision} applied after ${this.revision}`);
    this.revision = revision;
    if (!command) return { ok: true, revision };
    let result: CommandResult;
    switch (command.op) {
      case 'create':
        result = this.current(command.key)
          ? { ok: false, error: new KeyExistsError(command.key) }
          : this.put(command.key, command.value, revision);
        break;
      case 'update': {
        const current = this.current(command.key);
        if (!current) result = { ok: false, error: new KeyNotFoundError(command.key) };
        else if (command.expected !== undefined && current.modRevision !== command.expected) {
          result = {
            ok: false,
            error: new RevisionMismatchError(command.key, command.expected, current.modRevision),
          };
        } else result = this.put(command.key, command.value, revision);
        break;
      }
      case 'delete': {
        const current = this.current(command.key);
        if (!current) result = { ok: false, error: new KeyNotFoundError(command.key) };
        else if (command.expected !== undefined && current.modRevision !== command.expected) {
          result = {
            ok: false,
            error: new RevisionMismatchError(command.key, command.expected, current.modRevision),
          };
        } else result = this.remove(command.key, revision);
        break;
      }
      case 'txn': {
        const holds = command.compares.every(
          (c) => (this.current(c.key)?.modRevision ?? 0) === c.modRevision,
        );
        if (holds) {
          for (const operation of command.operations) {
            if (operation.type === 'put') this.put(operation.key, operation.value, revision);
            else if (this.current(operation.key)) this.remove(operation.key, revision);
          }
        }
        result = { ok: true, revision, succeeded: holds };
        break;
      }
      default: {
        const unknown: never = command;
        throw new Error(`unknown store command ${JSON.stringify(unknown)}`);
      }
    }
    this.maybeCompact();
    return result;
  }

  private current(key: string): StoredValue | undefined {
    const versions = this.versions.get(key);
    return versions ? this.stored(key, versions[versions.length - 1]) : undefined;
  }

  private put(key: string, value: Uint8Array, revision: number): CommandResult {
    let versions = this.versions.get(key);
    if (!versions) {
      versions = [];
      this.versions.set(key, versions);
      this.insertKey(key);
    }
    const last = versions[versions.length - 1];
    const previous = this.stored(key, last);
    const createRevision = previous ? previous.createRevision : revision;
    versions.push({ createRevision, modRevision: revision, value });
    if (versions.length > 1) this.withHistory.add(key);
    this.emit({ type: 'put', key, value, prevValue: previous?.value, modRevision: revision });
    return { ok: true, revision, previous };
  }

  private remove(key: string, revision: number): CommandResult {
    const versions = this.versions.get(key)!;
    const previous = this.stored(key, versions[versions.length - 1])!;
    versions.push({ createRevision: 0, modRevision: revision, value: null });
    this.withHistory.add(key);
    this.emit({ type: 'delete', key, prevValue: previous.value, modRevision: revision });
    return { ok: true, revision, previous };
  }

  private insertKey(key: string): void {
    const name = bucketOf(key);
    let keys = this.buckets.get(name);
    if (!keys) {
      keys = [];
      this.buckets.set(name, keys);
      this.bucketNames.splice(lowerBound(this.bucketNames, name), 0, name);
    }
    keys.splice(lowerBound(keys, key), 0, key);
  }

  private dropKey(key: string): void {
    this.versions.delete(key);
    this.withHistory.delete(key);
    const name = bucketOf(key);
    const keys = this.buckets.get(name);
    if (!keys) return;
    const at = lowerBound(keys, key);
    if (keys[at] === key) keys.splice(at, 1);
    if (keys.length === 0) {
      this.buckets.delete(name);
      this.bucketNames.splice(lowerBound(this.bucketNames, name), 1);
    }
  }

  // ---- watches ----

  private emit(event: StorageEvent): void {
    this.events.push(event);
    for (const [prefix, watchers] of this.watchers) {
      if (!event.key.startsWith(prefix)) continue;
      for (const watcher of watchers) watcher.onEvent(event);
    }
  }

  watch(
    prefix: string,
    fromRevision: number,
    onEvent: (event: StorageEvent) => void,
    onClose: (reason: Error) => void,
  ): WatchHandle {
    this.checkRevision(fromRevision);
    // Replay what happened since fromRevision, then hear of every new change as it is applied.
    let i = this.firstEventAfter(fromRevision);
    for (; i < this.events.length; i++) {
      const event = this.events[i];
      if (event.key.startsWith(prefix)) onEvent(event);
    }
    const watcher: Watcher = { prefix, onEvent, onClose };
    let set = this.watchers.get(prefix);
    if (!set) {
      set = new Set();
      this.watchers.set(prefix, set);
    }
    set.add(watcher);
    return {
      stop: () => {
        const watchers = this.watchers.get(prefix);
        if (!watchers) return;
        watchers.delete(watcher);
        if (watchers.size === 0) this.watchers.delete(prefix);
      },
    };
  }

  watcherCount(): number {
    let count = 0;
    for (const set of this.watchers.values()) count += set.size;
    return count;
  }

  private firstEventAfter(revision: number): number {
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid].modRevision <= revision) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  // ---- compaction ----

  private maybeCompact(): void {
    // Compact in batches (a tenth of the window at a time) so the cost is amortized.
    if (this.events.length <= this.historyEvents * 1.1) return;
    const drop = this.events.length - this.historyEvents;
    this.compact(this.events[drop - 1].modRevision);
  }

  /** Forgets history up to and including `revision`: reads and watches from before it fail. */
  compact(revision: number): void {
    if (revision <= this.compacted) return;
    revision = Math.min(revision, this.revision);
    this.events = this.events.slice(this.firstEventAfter(revision));
    for (const key of [...this.withHistory]) {
      const versions = this.versions.get(key)!;
      // Keep the newest version at or before `revision` (what a read at `revision` sees) and all after.
      let keepFrom = 0;
      for (let i = versions.length - 1; i >= 0; i--) {
        if (versions[i].modRevision <= revision) {
          keepFrom = i;
          break;
        }
      }
      const kept = versions.slice(keepFrom);
      if (kept[0].value === null && kept.length === 1) {
        this.dropKey(key);
        continue;
      }
      if (kept[0].value === null && kept[0].modRevision <= revision) kept.shift();
      this.versions.set(key, kept);
      if (kept.length <= 1 && kept[0]?.value !== null) this.withHistory.delete(key);
    }
    this.compacted = revision;
  }

  // ---- snapshots ----

  /**
   * The current state, deterministic byte for byte: `BSN1`, revision, then every live key in
   * key order with its create and mod revisions and value.
   */
  snapshot(): Uint8Array {
    const live: Array<{ key: Buffer; version: Version }> = [];
    let size = 4 + 8 + 4;
    for (const name of this.bucketNames) {
      for (const key of this.buckets.get(name)!) {
        const versions = this.versions.get(key)!;
        const version = versions[versions.length - 1];
        if (version.value === null) continue;
        const keyBytes = Buffer.from(key, 'utf8');
        live.push({ key: keyBytes, version });
        size += 4 + keyBytes.length + 8 + 8 + 4 + version.value.length;
      }
    }
    const out = Buffer.allocUnsafe(size);
    let at = out.write('BSN1', 0, 'latin1');
    at = out.writeDoubleBE(this.revision, at);
    at = out.writeUInt32BE(live.length, at);
    for (const { key, version } of live) {
      at = out.writeUInt32BE(key.length, at);
      at += key.copy(out, at);
      at = out.writeDoubleBE(version.createRevision, at);
      at = out.writeDoubleBE(version.modRevision, at);
      at = out.writeUInt32BE(version.value!.length, at);
      out.set(version.value!, at);
      at += version.value!.length;
    }
    return out;
  }

  /**
   * Replaces the whole state with a snapshot's. History is gone, so every open watch is
   * closed with RevisionCompactedError: its client must relist.
   */
  restore(snapshot: Uint8Array): void {
    const data = Buffer.from(snapshot.buffer, snapshot.byteOffset, snapshot.byteLength);
    if (data.length < 16 || data.toString('latin1', 0, 4) !== 'BSN1')
      throw new Error('not a bosun store snapshot');
    let at = 4;
    const revision = data.readDoubleBE(at);
    at += 8;
    const count = data.readUInt32BE(at);
    at += 4;
    const versions = new Map<string, Version[]>();
    const buckets = new Map<string, string[]>();
    for (let i = 0; i < count; i++) {
      const keyLength = data.readUInt32BE(at);
      at += 4;
      const key = data.toString('utf8', at, at + keyLength);
      at += keyLength;
      const createRevision = data.readDoubleBE(at);
      const modRevision = data.readDoubleBE(at + 8);
      const valueLength = data.readUInt32BE(at + 16);
      at += 20;
      if (at + valueLength > data.length) throw new Error('store snapshot is truncated');
      const value = new Uint8Array(data.subarray(at, at + valueLength));
      at += valueLength;
      versions.set(key, [{ createRevision, modRevision, value }]);
      const name = bucketOf(key);
      let keys = buckets.get(name);
      if (!keys) buckets.set(name, (keys = []));
      keys.push(key); // the snapshot is in key order
    }
    this.versions.clear();
    for (const [key, value] of versions) this.versions.set(key, value);
    this.buckets.clear();
    for (const [name, keys] of buckets) this.buckets.set(name, keys);
    this.bucketNames = [...buckets.keys()].sort();
    this.withHistory.clear();
    this.events = [];
    this.revision = revision;
    this.compacted = revision;
    const watchers = [...this.watchers.values()].flatMap((set) => [...set]);
    this.watchers.clear();
    for (const watcher of watchers) watcher.onClose(new RevisionCompactedError(revision, revision));
  }
}
