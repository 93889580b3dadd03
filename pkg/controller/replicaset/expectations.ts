/**
 * What a controller is waiting to see through its informer, per owner key, as Kubernetes'
 * UIDTrackingControllerExpectations: a count of creates, and the keys of the pods it asked
 * to delete. Until they are all observed (or the record is older than the TTL, in case an
 * event was lost) the controller does not act on its cache again, because the cache does not
 * yet show its own writes and it would create or delete twice.
 */
export const EXPECTATIONS_TTL_MS = 5 * 60 * 1000;

interface Expectation {
  adds: number;
  deletes: Set<string>;
  timestamp: number;
}

export class Expectations {
  private readonly records = new Map<string, Expectation>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly ttlMs = EXPECTATIONS_TTL_MS,
  ) {}

  /** Whether the owner's cache may be trusted: nothing in flight, or the record expired. */
  satisfied(key: string): boolean {
    const record = this.records.get(key);
    if (!record) return true;
    if (record.adds <= 0 && record.deletes.size === 0) return true;
    return this.now() - record.timestamp > this.ttlMs;
  }

  expectCreations(key: string, count: number): void {
    this.records.set(key, { adds: count, deletes: new Set(), timestamp: this.now() });
  }

  expectDeletions(key: string, podKeys: string[]): void {
    this.records.set(key, { adds: 0, deletes: new Set(podKeys), timestamp: this.now() });
  }

  creationObserved(key: string): void {
    const record = this.records.get(key);
    if (record && record.adds > 0) record.adds--;
  }

  /** Only a pod the owner asked to delete counts: another pod's deletion says nothing of ours. */
  deletionObserved(key: string, podKey: string): void {
    this.records.get(key)?.deletes.delete(podKey);
  }

  forget(key: string): void {
    this.records.delete(key);
  }

  /** For tests and logs: what is still awaited. */
  pending(key: string): { adds: number; deletes: number } | undefined {
    const record = this.records.get(key);
    return record && { adds: record.adds, deletes: record.deletes.size };
  }
}
