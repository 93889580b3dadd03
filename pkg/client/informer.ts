import { ApiError, HasMetadata, objectKey, Selector } from '../api';
import { logger } from '../util/log';
import { ResourceClient, WatchEvent } from './client';
import { delay } from './transport';

export interface InformerHandlers<T> {
  add?(object: T): void;
  /** Also called on resync with the same object twice. */
  update?(previous: T, current: T): void;
  /** After a relist, an object deleted while the watch was down is reported with its last known state. */
  delete?(object: T): void;
}

export interface InformerOptions {
  /** One namespace; all namespaces when absent. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Every this often, every cached object is handed to `update` again (0: never). */
  resyncMs?: number;
  /** First back-off after a broken watch; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

type Cached = HasMetadata & { metadata: { resourceVersion?: string } };

/** The values an object is filed under in one index (client-go's IndexFunc); none leaves it out. */
export type IndexFunc<T> = (object: T) => string[];

interface Index<T> {
  fn: IndexFunc<T>;
  /** value → keys of the objects filed under it */
  buckets: Map<string, Set<string>>;
  /** key → the values its object is filed under now */
  values: Map<string, string[]>;
}

/**
 * List, then watch from the list's revision, keeping a local cache that handlers observe
 * (client-go's reflector + store + shared informer, in one). A broken watch resumes from the
 * last revision seen; 410 Expired (the revision was compacted) triggers a relist whose
 * differences with the cache are delivered as add/update/delete, so handlers never miss a
 * deletion. Handlers should only enqueue keys: they run on the informer's loop.
 */
export class Informer<T extends Cached> {
  private readonly cache = new Map<string, T>();
  private readonly indexes = new Map<string, Index<T>>();
  /** key → when it entered the cache: byIndex answers in the order list() would. */
  private readonly order = new Map<string, number>();
  private nextOrder = 0;
  private readonly handlers: InformerHandlers<T>[] = [];
  private synced = false;
  private readonly syncWaiters: Array<() => void> = [];
  private revision = '';
  private readonly log;

  constructor(
    private readonly client: ResourceClient<T>,
    private readonly options: InformerOptions = {},
  ) {
    this.log = logger('informer', { resource: client.info.resource, namespace: options.namespace ?? '' });
  }

  addHandlers(handlers: InformerHandlers<T>): void {
    this.handlers.push(handlers);
    // A handler added late still hears of everything already known, as in client-go.
    if (this.synced) for (const object of this.cache.values()) handlers.add?.(object);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list is in the cache. */
  waitForSync(signal?: AbortSignal): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncWaiters.push(resolve);
      signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  }

  /** The cached object `namespace/name` (or `name` for cluster-scoped kinds). */
  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  /** Cached objects, optionally of one namespace and matching a label selector. */
  list(namespace?: string, selector?: Selector): T[] {
    const out: T[] = [];
    for (const object of this.cache.values()) {
      if (namespace !== undefined && object.metadata.namespace !== namespace) continue;
      if (selector && !selector.matches(object.metadata.labels ?? {})) continue;
      out.push(object);
    }
    return out;
  }

  /**
   * Files every cached object (and every later one) under the values `fn` gives, for byIndex.
   * Informers are shared: an index of the same name added twice is kept as first added.
   */
  addIndex(name: string, fn: IndexFunc<T>): void {
    if (this.indexes.has(name)) return;
    const index: Index<T> = { fn, buckets: new Map(), values: new Map() };
    this.indexes.set(name, index);
    for (const [key, object] of this.cache) this.reindex(index, key, object);
  }

  /** Cached objects filed under any of `values` in the index `name`, in the order list() gives them. */
  byIndex(name: string, ...values: string[]): T[] {
    const index = this.indexes.get(name);
    if (!index) throw new Error(`informer of ${this.client.info.resource} has no index "${name}"`);
    const keys: string[] = [];
    for (const value of values) for (const key of index.buckets.get(value) ?? []) keys.push(key);
    if (keys.length > 1) keys.sort((a, b) => this.order.get(a)! - this.order.get(b)!);
    return keys.map((key) => this.cache.get(key)!);
  }

  /** The revision the cache reflects. */
  get resourceVersion(): string {
    return this.revision;
  }

  /** Runs until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const resync = this.options.resyncMs
      ? setInterval(() => this.resync(), this.options.resyncMs)
      : undefined;
    let needList = true;
    let backoff = this.options.backoffMs ?? 100;
    try {
      while (!signal.aborted) {
        try {
          if (needList) {
            await this.relist(signal);
            needList = false;
          }
          for await (const event of this.client.watch(
            this.options.namespace,
            {
              resourceVersion: this.revision,
              labelSelector: this.options.labelSelector,
              fieldSelector: this.options.fieldSelector,
              allowWatchBookmarks: true,
              // Spread watch renewals so many informers do not reconnect at the same moment.
              timeoutSeconds: 300 + Math.floor(Math.random() * 300),
            },
            signal,
          )) {
            this.apply(event);
            backoff = this.options.backoffMs ?? 100;
          }
        } catch (error) {
          if (signal.aborted) break;
          if (
            error instanceof ApiError &&
            (error.code === 410 || error.reason === 'Expired' || error.reason === 'Gone')
          ) {
            this.log.info('watch revision too old; relisting', { resourceVersion: this.revision });
            needList = true;
            continue;
          }
          this.log.debug('watch broke; resuming', { error: (error as Error).message, backoffMs: backoff });
          await delay(backoff * (0.5 + Math.random()), signal).catch(() => undefined);
          backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 5000);
        }
      }
    } finally {
      if (resync) clearInterval(resync);
    }
  }

  private async relist(signal: AbortSignal): Promise<void> {
    const list = await this.client.listAll(
      this.options.namespace,
      { labelSelector: this.options.labelSelector, fieldSelector: this.options.fieldSelector },
      signal,
    );
    const seen = new Set<string>();
    for (const object of list.items) {
      const key = objectKey(object);
      seen.add(key);
      const previous = this.cache.get(key);
      this.store(key, object);
      if (!previous) this.notify('add', object);
      else if (previous.metadata.resourceVersion !== object.metadata.resourceVersion)
        this.notify('update', object, previous);
    }
    for (const [key, object] of this.cache) {
      if (!seen.has(key)) {
        this.remove(key);
        this.notify('delete', object);
      }
    }
    this.revision = list.metadata?.resourceVersion ?? '';
    if (!this.synced) {
      this.synced = true;
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  private apply(event: WatchEvent<T>): void {
    if (event.type === 'BOOKMARK') {
      this.revision = event.object.metadata.resourceVersion;
      return;
    }
    const object = event.object;
    const key = objectKey(object);
    const previous = this.cache.get(key);
    if (event.type === 'DELETED') {
      this.remove(key);
      this.notify('delete', previous ?? object);
    } else {
      this.store(key, object);
      if (previous) this.notify('update', object, previous);
      else this.notify('add', object);
    }
    this.revision = object.metadata.resourceVersion ?? this.revision;
  }

  private store(key: string, object: T): void {
    if (!this.cache.has(key)) this.order.set(key, this.nextOrder++);
    this.cache.set(key, object);
    for (const index of this.indexes.values()) this.reindex(index, key, object);
  }

  private remove(key: string): void {
    if (!this.cache.delete(key)) return;
    this.order.delete(key);
    for (const index of this.indexes.values()) this.reindex(index, key, undefined);
  }

  private reindex(index: Index<T>, key: string, object: T | undefined): void {
    const before = index.values.get(key) ?? [];
    const after = object ? index.fn(object) : [];
    if (before.length === after.length && before.every((v, i) => v === after[i])) return;
    for (const value of before) {
      const keys = index.buckets.get(value);
      keys?.delete(key);
      if (keys?.size === 0) index.buckets.delete(value);
    }
    for (const value of after) {
      let keys = index.buckets.get(value);
      if (!keys) index.buckets.set(value, (keys = new Set()));
      keys.add(key);
    }
    if (after.length > 0) index.values.set(key, after);
    else index.values.delete(key);
  }

  private resync(): void {
    for (const object of this.cache.values()) this.notify('update', object, object);
  }

  private notify(kind: 'add' | 'update' | 'delete', object: T, previous?: T): void {
    for (const handlers of this.handlers) {
      try {
        if (kind === 'add') handlers.add?.(object);
        else if (kind === 'update') handlers.update?.(previous!, object);
        else handlers.delete?.(object);
      } catch (error) {
        this.log.error('informer handler failed', {
          event: kind,
          object: objectKey(object),
          error: (error as Error).message,
        });
      }
    }
  }
}
