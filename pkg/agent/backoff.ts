/**
 * Kubernetes' restart back-off for crashing containers: 10 s after the first failure,
 * doubling up to 5 minutes, and forgotten once a container has run for 10 minutes.
 */
export const BACKOFF_INITIAL_MS = 10_000;
export const BACKOFF_MAX_MS = 300_000;
export const BACKOFF_RESET_AFTER_MS = 600_000;

export class RestartBackoff {
  private readonly entries = new Map<string, { failures: number; lastFailure: number }>();

  constructor(
    private readonly initialMs = BACKOFF_INITIAL_MS,
    private readonly maxMs = BACKOFF_MAX_MS,
    private readonly resetAfterMs = BACKOFF_RESET_AFTER_MS,
  ) {}

  /**
   * Notes that `key` (a pod's container) stopped at `finishedAt` after running since
   * `startedAt`; returns the delay before it may start again.
   */
  failed(key: string, startedAt: number, finishedAt: number): number {
    const entry = this.entries.get(key);
    const ranLongEnough = finishedAt - startedAt >= this.resetAfterMs;
    const failures = !entry || ranLongEnough ? 1 : entry.failures + 1;
    this.entries.set(key, { failures, lastFailure: finishedAt });
    return this.delayFor(failures);
  }

  delayFor(failures: number): number {
    return Math.min(this.initialMs * 2 ** Math.max(0, failures - 1), this.maxMs);
  }

  /** When `key` may restart (0: now), given the failure noted last. */
  readyAt(key: string): number {
    const entry = this.entries.get(key);
    return entry ? entry.lastFailure + this.delayFor(entry.failures) : 0;
  }

  forget(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }
}
