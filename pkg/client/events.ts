/**
 * Records v1 Events about objects, as Kubernetes components do: one Event per distinct
 * (object, type, reason, message) within a window, whose `count` and `lastTimestamp` grow when
 * it happens again, so `describe` shows "BackOff (x12 over 5m)" instead of twelve lines.
 * Recording never blocks or fails the caller: writes happen in the background in order.
 *
 * Like client-go's spam filter, one source may tell about one object in a burst of 25 events,
 * then one per 5 minutes: a ReplicaSet creating a hundred pods records 25 SuccessfulCreate,
 * a crash-looping container a BackOff count that grows slowly, and the API is not flooded.
 */
import { randomBytes } from 'crypto';
import { ApiError, KubeObject } from '../api';
import { logger } from '../util/log';
import { Client } from './client';

export type EventType = 'Normal' | 'Warning';

export interface EventSource {
  component: string;
  host?: string;
}

interface Involved {
  kind: string;
  apiVersion: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

interface Recorded {
  name: string;
  namespace: string;
  count: number;
  firstTimestamp: string;
  lastSeen: number;
}

const DEDUP_WINDOW_MS = 10 * 60 * 1000;
const MAX_REMEMBERED = 4096;
/** client-go's defaultSpamBurst and defaultSpamQPS (one event per 300 s once the burst is spent). */
const SPAM_BURST = 25;
const SPAM_REFILL_PER_MS = 1 / 300_000;

/** Events one source may still record about one object, and when that was last worked out. */
interface SpamBucket {
  tokens: number;
  at: number;
}

const log = logger('events');

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Event writes in flight at once: enough to keep up with a scheduler binding hundreds of pods a second. */
const MAX_IN_FLIGHT = 16;

export class EventRecorder {
  private readonly recent = new Map<string, Recorded>();
  /** By involved object (the source is this recorder's): oldest first, at most MAX_REMEMBERED. */
  private readonly spam = new Map<string, SpamBucket>();
  /** The last write of each distinct event: repeats of one event go in order (create, then count++). */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();
  private pending = 0;
  private writing = 0;
  private readonly slots: Array<() => void> = [];

  constructor(
    private readonly client: Client,
    private readonly source: EventSource,
  ) {}

  /** Records an event about `object`, with an optional fieldPath (`spec.containers{web}`). */
  event(
    object: Pick<KubeObject, 'kind' | 'apiVersion' | 'metadata'>,
    type: EventType,
    reason: string,
    message: string,
    fieldPath?: string,
  ): void {
    const involved: Involved = {
      kind: object.kind,
      apiVersion: object.apiVersion,
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      uid: object.metadata.uid,
      resourceVersion: object.metadata.resourceVersion,
    };
    if (!this.allowed(involved)) return;
    // Keep the backlog bounded: a component in a tight failure loop must not grow memory.
    if (this.pending > 1000) return;
    this.pending++;
    const key = [
      involved.uid ?? `${involved.namespace || 'default'}/${involved.name}`,
      fieldPath ?? '',
      type,
      reason,
      message,
    ].join('\u0000');
    const chain: Promise<void> = (this.chains.get(key) ?? Promise.resolve())
      .then(() => this.withSlot(() => this.write(key, involved, type, reason, message, fieldPath)))
      .catch((error: unknown) => {
        log.warn('could not record event', {
          reason,
          object: `${involved.namespace}/${involved.name}`,
          error: (error as Error).message,
        });
      })
      .finally(() => {
        this.pending--;
        this.inFlight.delete(chain);
        if (this.chains.get(key) === chain) this.chains.delete(key);
      });
    this.chains.set(key, chain);
    this.inFlight.add(chain);
  }

  /** The spam filter: a token bucket per involved object. */
  private allowed(involved: Involved): boolean {
    const key = [involved.kind, involved.namespace, involved.name, involved.uid, involved.apiVersion].join(
      '\u0000',
    );
    const now = Date.now();
    const bucket = this.spam.get(key) ?? { tokens: SPAM_BURST, at: now };
    bucket.tokens = Math.min(SPAM_BURST, bucket.tokens + (now - bucket.at) * SPAM_REFILL_PER_MS);
    bucket.at = now;
    // Re-inserted: the map's order is least recently used first.
    this.spam.delete(key);
    this.spam.set(key, bucket);
    if (this.spam.size > MAX_REMEMBERED) this.spam.delete(this.spam.keys().next().value!);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Resolves when every event recorded so far has been written (tests, shutdown). */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  private async withSlot(write: () => Promise<void>): Promise<void> {
    if (this.writing >= MAX_IN_FLIGHT) await new Promise<void>((resolve) => this.slots.push(resolve));
    else this.writing++;
    try {
      await write();
    } finally {
      const next = this.slots.shift();
      if (next) next();
      else this.writing--;
    }
  }

  private async write(
    key: string,
    involved: Involved,
    type: EventType,
    reason: string,
    message: string,
    fieldPath?: string,
  ): Promise<void> {
    const namespace = involved.namespace || 'default';
    const events = this.client.resource('Event');
    const timestamp = now();
    const seen = this.recent.get(key);
    if (seen && Date.now() - seen.lastSeen < DEDUP_WINDOW_MS) {
      seen.count++;
      seen.lastSeen = Date.now();
      try {
        await events.patch(seen.namespace, seen.name, { count: seen.count, lastTimestamp: timestamp });
        return;
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 404)) throw error;
        // Deleted meanwhile (namespace cleanup, TTL): record it afresh below.
      }
    }
    // Many events about one object come within one millisecond (a controller's burst), so the
    // time alone does not tell them apart: 32 random bits do, where 12 collided in a burst of 25.
    const name = `${involved.name ?? 'unknown'}.${Date.now().toString(16)}${randomBytes(4).toString('hex')}`;
    await events.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace },
      involvedObject: { ...involved, ...(fieldPath ? { fieldPath } : {}) },
      reason,
      message,
      type,
      source: this.source,
      count: 1,
      firstTimestamp: timestamp,
      lastTimestamp: timestamp,
      reportingComponent: this.source.component,
      reportingInstance: this.source.host ?? '',
    } as never);
    this.recent.set(key, { name, namespace, count: 1, firstTimestamp: timestamp, lastSeen: Date.now() });
    if (this.recent.size > MAX_REMEMBERED) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }
}
