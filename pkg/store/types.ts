/**
 * The store's contract with its users (the apiserver above all): a key-value store with
 * revisions, ranges, transactions and watches. Implemented by the replicated store (Raft on
 * the masters) and by the local store (one process, for tests and tools). Keys are
 * `/registry/<resource>/<namespace>/<name>` (cluster-scoped: `/registry/<resource>/<name>`);
 * values are the JSON of the object without its resourceVersion, which is the key's
 * modRevision: the Raft index of its last change.
 *
 * Writes on a follower are forwarded to the leader by the store itself, so the apiserver
 * never needs to know who leads.
 */

export interface StoredValue {
  key: string;
  value: Uint8Array;
  createRevision: number;
  modRevision: number;
}

export interface StorageEvent {
  type: 'put' | 'delete';
  key: string;
  /** The new value (put) */
  value?: Uint8Array;
  /** The value before this change, absent for a create. */
  prevValue?: Uint8Array;
  /** The revision of this change (for a delete: the revision of the deletion). */
  modRevision: number;
}

export interface ReadOptions {
  /** Linearizable (ReadIndex) when true, the default; local and possibly stale when false. */
  consistent?: boolean;
}

export interface ListOptions extends ReadOptions {
  /** Read at this past revision (consistent paging); the current one when absent. */
  revision?: number;
  /** Start after this key (exclusive): the continue position. */
  startAfter?: string;
  limit?: number;
}

export interface ListResult {
  items: StoredValue[];
  /** The revision the list reflects. */
  revision: number;
  /** More items follow the last one returned. */
  more: boolean;
}

export interface WatchHandle {
  stop(): void;
}

/** A compare of a transaction: the key's modRevision (0: the key does not exist). */
export interface TxnCompare {
  key: string;
  modRevision: number;
}

export type TxnOperation = { type: 'put'; key: string; value: Uint8Array } | { type: 'delete'; key: string };

/** A create of a key that exists. */
export class KeyExistsError extends Error {
  constructor(readonly key: string) {
    super(`key ${key} already exists`);
    this.name = 'KeyExistsError';
  }
}

/** An update or delete of a key that does not exist. */
export class KeyNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`key ${key} not found`);
    this.name = 'KeyNotFoundError';
  }
}

/** A precondition on modRevision did not hold. */
export class RevisionMismatchError extends Error {
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`key ${key} is at revision ${actual}, not ${expected}`);
    this.name = 'RevisionMismatchError';
  }
}

/** A read or watch at a revision older than the store keeps: relist. */
export class RevisionCompactedError extends Error {
  constructor(
    readonly requested: number,
    readonly oldest: number,
  ) {
    super(`revision ${requested} is too old: the oldest kept is ${oldest}`);
    this.name = 'RevisionCompactedError';
  }
}

/** No leader, or the write did not commit in time; `maybeApplied` when it may still commit. */
export class StorageUnavailableError extends Error {
  constructor(
    message: string,
    readonly maybeApplied: boolean,
  ) {
    super(message);
    this.name = 'StorageUnavailableError';
  }
}

export interface Storage {
  get(key: string, options?: ReadOptions): Promise<StoredValue | undefined>;
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /** Resolves to the new revision. */
  create(key: string, value: Uint8Array): Promise<number>;
  /** `expectedModRevision` undefined: unconditional. Resolves to the new revision. */
  update(key: string, value: Uint8Array, expectedModRevision?: number): Promise<number>;
  delete(key: string, expectedModRevision?: number): Promise<{ revision: number; previous: StoredValue }>;
  /** All compares hold → every operation applies, atomically; else nothing does and it resolves `succeeded: false`. */
  txn(compares: TxnCompare[], operations: TxnOperation[]): Promise<{ succeeded: boolean; revision: number }>;
  /**
   * Every change under `prefix` with modRevision > fromRevision, in order, with no gap.
   * Callbacks run synchronously as changes are applied: by the time currentRevision()
   * reports R, every event up to R has been handed to onEvent (bookmarks rely on this).
   * Throws RevisionCompactedError at once when fromRevision is older than the kept history.
   * `onClose` is called if the store ends the watch (the watcher fell too far behind: relist).
   */
  watch(
    prefix: string,
    fromRevision: number,
    onEvent: (event: StorageEvent) => void,
    onClose: (reason: Error) => void,
  ): WatchHandle;
  /** The last applied revision on this master. */
  currentRevision(): number;
}
