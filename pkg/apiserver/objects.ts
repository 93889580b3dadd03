/**
 * The object layer of the apiserver: Kubernetes semantics on top of the replicated store,
 * with no HTTP in it (server.ts maps requests onto it). Every verb of every resource goes
 * through here: uid and timestamps, generation, optimistic concurrency, finalizers and
 * deletion marks, graceful pod deletion, selectors, consistent paging and watches.
 */
import { randomUUID } from 'crypto';
import {
  DeleteOptions,
  FieldSelector,
  generateName,
  KubeList,
  KubeObject,
  newAlreadyExists,
  newBadRequest,
  newConflict,
  newForbidden,
  newInternalError,
  newInvalid,
  newNotFound,
  newResourceExpired,
  newServiceUnavailable,
  newTimeout,
  FieldError,
  FieldPath,
  OPTIMISTIC_LOCK_MESSAGE,
  parseFieldSelector,
  parseSelector,
  ResourceInfo,
  lookupResource,
  Selector,
  ApiError,
  Scale,
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  PatchError,
} from '../api';
import { decodeBody, FieldValidation, mustBeValid, prepareForCreate, prepareForUpdate } from './admission';
import { decodeBytes, decodeStored, encodeObject, timestamp } from './codec';
import { objectStorageKey, resourcePrefix } from './keys';
import {
  KeyExistsError,
  KeyNotFoundError,
  RevisionCompactedError,
  ReadOptions,
  RevisionMismatchError,
  Storage,
  StorageEvent,
  StorageUnavailableError,
  TxnOperation,
  WatchHandle,
} from '../store/types';

export interface WriteOptions {
  dryRun?: boolean;
  fieldValidation?: FieldValidation;
}

export interface WriteResult<T = KubeObject> {
  object: T;
  warnings: string[];
}

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface WatchQuery {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export type PatchKind = 'merge' | 'json' | 'strategic';

/** Hooks for writes that must change more than the object (allocations), in the same transaction. */
export interface ObjectHooks {
  /** Extra operations, and the keys they expect absent, to store with a new object. */
  onCreate?(
    object: KubeObject,
    objects: ObjectStore,
  ): Promise<{ operations: TxnOperation[]; absentKeys: string[] }>;
  onUpdate?(
    next: KubeObject,
    previous: KubeObject,
    objects: ObjectStore,
  ): Promise<{ operations: TxnOperation[]; absentKeys: string[] }>;
  onDelete?(object: KubeObject): TxnOperation[];
}

export interface ObjectStoreOptions {
  clock?: () => Date;
  random?: () => number;
  /** Per-kind hooks (Services allocate cluster IPs and node ports). */
  hooks?: Partial<Record<string, ObjectHooks>>;
}

const FINALIZER_ORPHAN = 'orphan';
const FINALIZER_FOREGROUND = 'foregroundDeletion';
/**
 * How often a write retries after losing a race with another writer of the same object. Each
 * lost race means another write landed, so N concurrent writers need at most N-1 retries;
 * Kubernetes' GuaranteedUpdate has no bound at all, this one only guards against a bug looping.
 */
const MAX_CONFLICT_RETRIES = 64;

/**
 * A write from a local copy that ended without writing (nothing changed), so nothing proved
 * the copy current. It carries the answer it would give, which holds if the copy was current.
 */
class UnconfirmedByWrite extends Error {
  constructor(
    readonly key: string,
    readonly modRevision: number,
    readonly answer: unknown,
  ) {
    super(`${key} unchanged from a local copy at revision ${modRevision}`);
  }
}

function storageToApiError(info: ResourceInfo, name: string, error: unknown): never {
  if (error instanceof ApiError) throw error;
  if (error instanceof KeyExistsError) throw newAlreadyExists(info, name);
  if (error instanceof KeyNotFoundError) throw newNotFound(info, name);
  if (error instanceof RevisionMismatchError) throw newConflict(info, name, OPTIMISTIC_LOCK_MESSAGE);
  if (error instanceof RevisionCompactedError) {
    throw newResourceExpired(`too old resource version: ${error.requested} (${error.oldest})`);
  }
  if (error instanceof StorageUnavailableError) {
    throw error.maybeApplied
      ? newTimeout(`the write of ${info.resource} "${name}" did not complete in time: ${error.message}`, 1)
      : newServiceUnavailable(error.message);
  }
  throw newInternalError(error);
}

function parseRevision(value: string, what: string): number {
  if (!/^\d+$/.test(value))
    throw newBadRequest(`invalid ${what}: ${JSON.stringify(value)}: must be a non-negative integer`);
  return Number(value);
}

interface ContinueToken {
  rv: number;
  start: string;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'bosun/v1', ...token })).toString('base64url');
}

function decodeContinue(value: string): ContinueToken {
  try {
    const token = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as {
      v?: string;
    } & ContinueToken;
    if (token.v === 'bosun/v1' && Number.isInteger(token.rv) && typeof token.start === 'string') return token;
  } catch {
    // fall through
  }
  throw newBadRequest(
    'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)',
  );
}

interface Filter {
  labels: Selector | undefined;
  fields: FieldSelector | undefined;
}

function parseFilter(query: { labelSelector?: string; fieldSelector?: string }): Filter {
  try {
    return {
      labels: query.labelSelector ? parseSelector(query.labelSelector) : undefined,
      fields: query.fieldSelector ? parseFieldSelector(query.fieldSelector) : undefined,
    };
  } catch (error) {
    throw newBadRequest((error as Error).message);
  }
}

/**
 * Every watcher of a prefix receives the same storage event; decoding it once for all of them
 * (instead of once per watcher) is what lets a hundred agents each watch "my pods". Watchers
 * only read these objects (they are serialised), so sharing them is safe.
 */
const decodedEvents = new WeakMap<StorageEvent, { current?: KubeObject; previous?: KubeObject }>();

function decodeEvent(event: StorageEvent): { current?: KubeObject; previous?: KubeObject } {
  let decoded = decodedEvents.get(event);
  if (!decoded) {
    decoded = {
      current: event.value ? decodeBytes(event.value, event.modRevision) : undefined,
      previous: event.prevValue ? decodeBytes(event.prevValue, event.modRevision) : undefined,
    };
    decodedEvents.set(event, decoded);
  }
  return decoded;
}

function matches(filter: Filter, object: KubeObject): boolean {
  if (filter.labels && !filter.labels.matches(object.metadata.labels ?? {})) return false;
  if (filter.fields) {
    try {
      return filter.fields.matchesObject(object);
    } catch (error) {
      throw newBadRequest((error as Error).message);
    }
  }
  return true;
}

export class ObjectStore {
  private readonly clock: () => Date;
  private readonly random: () => number;
  private readonly hooks: Partial<Record<string, ObjectHooks>>;

  constructor(
    readonly storage: Storage,
    options: ObjectStoreOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.random = options.random ?? Math.random;
    this.hooks = options.hooks ?? {};
  }

  // ---- reads ----

  async get(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    consistent = true,
  ): Promise<KubeObject> {
    const stored = await this.storage
      .get(objectStorageKey(info, namespace, name), { consistent })
      .catch((e) => storageToApiError(info, name, e));
    if (!stored) throw newNotFound(info, name);
    return decodeStored(stored);
  }

  async list(
    info: ResourceInfo,
    namespace: string | undefined,
    query: ListQuery = {},
  ): Promise<KubeList<KubeObject>> {
    const filter = parseFilter(query);
    const limit = query.limit && query.limit > 0 ? query.limit : undefined;
    let revision: number | undefined;
    let startAfter: string | undefined;
    let consistent = true;
    if (query.continue) {
      const token = decodeContinue(query.continue);
      revision = token.rv;
      startAfter = token.start;
    } else if (query.resourceVersion && query.resourceVersion !== '0') {
      const requested = parseRevision(query.resourceVersion, 'resourceVersion');
      if (query.resourceVersionMatch === 'Exact') revision = requested;
      // NotOlderThan (the default with a resourceVersion): the current state is not older.
    } else if (query.resourceVersion === '0') {
      consistent = false; // "any": served from this master's state, as Kubernetes serves it from cache
    }
    const prefix = resourcePrefix(info, namespace);
    const items: KubeObject[] = [];
    let listRevision: number;
    let more: boolean;
    let lastKey = startAfter;
    // Selectors filter after reading, so read pages until `limit` matches are found.
    for (;;) {
      const page = await this.storage
        .list(prefix, {
          revision,
          startAfter: lastKey,
          limit: limit ? limit - items.length : undefined,
          consistent,
        })
        .catch((e) => {
          if (e instanceof RevisionCompactedError && query.continue) {
            throw newResourceExpired(
              'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
            );
          }
          return storageToApiError(info, '', e);
        });
      listRevision = page.revision;
      revision = page.revision; // every further page at the same revision
      for (const stored of page.items) {
        lastKey = stored.key;
        const object = decodeStored(stored);
        if (matches(filter, object)) items.push(object);
      }
      more = page.more;
      if (!more || !limit || items.length >= limit) break;
    }
    const metadata: KubeList<KubeObject>['metadata'] = { resourceVersion: String(listRevision) };
    if (more && limit && lastKey) metadata.continue = encodeContinue({ rv: listRevision, start: lastKey });
    return { apiVersion: info.apiVersion, kind: info.listKind, metadata, items } as KubeList<KubeObject>;
  }

  // ---- create ----

  async create(
    info: ResourceInfo,
    namespace: string | undefined,
    body: unknown,
    options: WriteOptions = {},
  ): Promise<WriteResult> {
    const decoded = decodeBody(info, body, options.fieldValidation, { namespace });
    const object = decoded.object;
    const meta = object.metadata;
    if (!meta.name && meta.generateName) meta.name = generateName(meta.generateName, this.random);
    if (!meta.name) {
      throw newInvalid(info, '', [
        FieldError.required(FieldPath.root('metadata', 'name'), 'name or generateName is required'),
      ]);
    }
    if (info.namespaced) await this.mustAdmitToNamespace(info, meta.name, meta.namespace!);
    meta.uid = randomUUID();
    meta.creationTimestamp = timestamp(this.clock());
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    prepareForCreate(info, object);
    mustBeValid(info, decoded);
    if (options.dryRun) return { object, warnings: decoded.warnings };
    const key = objectStorageKey(info, meta.namespace, meta.name);
    const hook = this.hooks[info.kind]?.onCreate;
    try {
      let revision: number;
      if (hook) {
        const extra = await hook(object, this);
        const result = await this.storage.txn(
          [{ key, modRevision: 0 }, ...extra.absentKeys.map((k) => ({ key: k, modRevision: 0 }))],
          [{ type: 'put', key, value: encodeObject(object) }, ...extra.operations],
        );
        if (!result.succeeded) {
          if (await this.storage.get(key)) throw new KeyExistsError(key);
          throw newConflict(info, meta.name, 'an allocation was taken by another write; please retry');
        }
        revision = result.revision;
      } else {
        revision = await this.storage.create(key, encodeObject(object));
      }
      meta.resourceVersion = String(revision);
      return { object, warnings: decoded.warnings };
    } catch (error) {
      return storageToApiError(info, meta.name, error);
    }
  }

  /** Kubernetes' NamespaceLifecycle admission: the namespace must exist and not be terminating. */
  private async mustAdmitToNamespace(info: ResourceInfo, name: string, namespace: string): Promise<void> {
    const namespaces = lookupResource('namespaces');
    const key = objectStorageKey(namespaces, undefined, namespace);
    const read = (consistent: boolean) =>
      this.storage.get(key, { consistent }).catch((e) => storageToApiError(namespaces, namespace, e));
    // Kubernetes' NamespaceLifecycle reads its informer and asks storage only when that says no:
    // a namespace this master already holds as active admits at once; a refusal is confirmed
    // from a linearizable read, since this master's copy may not yet have the namespace.
    const local = await read(false);
    let ns = local && decodeStored(local);
    if (!ns || ns.metadata.deletionTimestamp) {
      const stored = await read(true);
      if (!stored) throw newNotFound(namespaces, namespace);
      ns = decodeStored(stored);
    }
    if (ns.metadata.deletionTimestamp) {
      throw newForbidden(
        info,
        name,
        `unable to create new content in namespace ${namespace} because it is being terminated`,
      );
    }
  }

  // ---- update and patch ----

  /** PUT: replaces the object (or its status), with optimistic concurrency on resourceVersion. */
  async update(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    body: unknown,
    options: WriteOptions & { subresource?: 'status' | 'finalize' } = {},
  ): Promise<WriteResult> {
    const key = objectStorageKey(info, namespace, name);
    // A body that does not decode is refused here, once. commitUpdate prepares the object it is
    // given in place, so an attempt after the first decodes the body afresh.
    const decode = () => decodeBody(info, body, options.fieldValidation, { namespace, name });
    let firstDecode: ReturnType<typeof decodeBody> | undefined = decode();
    return this.readModifyWrite(options, async (read) => {
      const decoded = firstDecode ?? decode();
      firstDecode = undefined;
      const requested = decoded.object.metadata.resourceVersion;
      const stored = await this.storage.get(key, read).catch((e) => storageToApiError(info, name, e));
      if (!stored) throw newNotFound(info, name);
      const previous = decodeStored(stored);
      if (requested && requested !== previous.metadata.resourceVersion) {
        throw newConflict(info, name, OPTIMISTIC_LOCK_MESSAGE);
      }
      return this.commitUpdate(info, key, decoded, previous, stored.modRevision, options, read);
    });
  }

  /**
   * A read-modify-write that reads this master's own copy first, with no ReadIndex round, as
   * Kubernetes' GuaranteedUpdate starts from its watch cache. A write that commits proves the
   * copy was current, because its revision precondition held at commit. Any other outcome (a
   * refusal, a lost race, nothing to write) may come from a stale copy, so it is decided again
   * from a linearizable read. A dry run has no write to prove anything and reads linearizably.
   */
  private async readModifyWrite<T>(
    options: WriteOptions,
    attempt: (read: ReadOptions) => Promise<T>,
  ): Promise<T> {
    if (!options.dryRun) {
      try {
        return await attempt({ consistent: false });
      } catch (error) {
        if (error instanceof UnconfirmedByWrite) {
          // Nothing to write: a linearizable read that finds the same revision confirms it.
          const latest = await this.storage.get(error.key).catch(() => undefined);
          if (latest?.modRevision === error.modRevision) return error.answer as T;
        } else if (!(error instanceof ApiError && error.code < 500)) throw error;
      }
    }
    return attempt({ consistent: true });
  }

  /**
   * PATCH: read, patch, write with a precondition on the revision read; a concurrent writer
   * makes it read and patch again (the patch applies to the latest object, as in Kubernetes).
   */
  async patch(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    kind: PatchKind,
    patch: unknown,
    options: WriteOptions & { subresource?: 'status' | 'finalize' } = {},
  ): Promise<WriteResult> {
    return this.readModifyWrite(options, (read) =>
      this.patchFrom(read, info, namespace, name, kind, patch, options),
    );
  }

  private async patchFrom(
    read: ReadOptions,
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    kind: PatchKind,
    patch: unknown,
    options: WriteOptions & { subresource?: 'status' | 'finalize' },
  ): Promise<WriteResult> {
    const key = objectStorageKey(info, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const stored = await this.storage.get(key, read).catch((e) => storageToApiError(info, name, e));
      if (!stored) throw newNotFound(info, name);
      const previous = decodeStored(stored);
      let patched: unknown;
      try {
        patched =
          kind === 'merge'
            ? applyMergePatch(previous, patch)
            : kind === 'json'
              ? applyJsonPatch(previous, patch)
              : applyStrategicMergePatch(previous, patch, info.schema);
      } catch (error) {
        if (error instanceof PatchError) throw newBadRequest(error.message);
        throw error;
      }
      // Every patch applies to an object that carries its resourceVersion, so only a patch that
      // names one itself is a precondition; any other patch is re-applied after a race.
      const pinned = patchNamesResourceVersion(kind, patch);
      const patchedVersion = (patched as KubeObject).metadata?.resourceVersion;
      if (patchedVersion !== undefined && patchedVersion !== previous.metadata.resourceVersion)
        throw newConflict(info, name, OPTIMISTIC_LOCK_MESSAGE);
      const decoded = decodeBody(info, patched, options.fieldValidation, { namespace, name });
      try {
        return await this.commitUpdate(info, key, decoded, previous, stored.modRevision, options, read);
      } catch (error) {
        const raced = error instanceof ApiError && error.code === 409 && error.reason === 'Conflict';
        // A race lost from a local copy goes back to readModifyWrite, which reads linearizably.
        if (!raced || pinned || read.consistent === false || attempt >= MAX_CONFLICT_RETRIES) throw error;
      }
    }
  }

  private async commitUpdate(
    info: ResourceInfo,
    key: string,
    decoded: ReturnType<typeof decodeBody>,
    previous: KubeObject,
    previousRevision: number,
    options: WriteOptions & { subresource?: 'status' | 'finalize' },
    read: ReadOptions,
  ): Promise<WriteResult> {
    const next = decoded.object;
    prepareForUpdate(info, next, previous, options.subresource);
    mustBeValid(info, decoded, previous);
    delete next.metadata.resourceVersion;
    const name = next.metadata.name!;
    if (options.dryRun)
      return {
        object: {
          ...next,
          metadata: { ...next.metadata, resourceVersion: previous.metadata.resourceVersion },
        },
        warnings: decoded.warnings,
      };
    // Deleting, and the last finalizer is gone: the object goes (pods wait for their agent
    // instead, and a namespace for the namespace controller to empty its spec.finalizers).
    if (
      next.metadata.deletionTimestamp &&
      (next.metadata.finalizers ?? []).length === 0 &&
      !(next.metadata.deletionGracePeriodSeconds ?? 0) &&
      !(next.kind === 'Namespace' && (next.spec?.finalizers ?? []).length > 0)
    ) {
      await this.remove(info, key, next, previousRevision);
      return { object: next, warnings: decoded.warnings };
    }
    if (
      JSON.stringify({ ...next, metadata: { ...next.metadata } }) ===
      JSON.stringify({ ...previous, metadata: { ...previous.metadata, resourceVersion: undefined } })
    ) {
      // Nothing changed: no write, the revision stays (Kubernetes does the same). Without a
      // write nothing proves a local copy current, so that answer needs a linearizable read.
      const answer = { object: previous, warnings: decoded.warnings };
      if (read.consistent === false) throw new UnconfirmedByWrite(key, previousRevision, answer);
      return answer;
    }
    try {
      const hook = this.hooks[info.kind]?.onUpdate;
      let revision: number;
      if (hook) {
        const extra = await hook(next, previous, this);
        const result = await this.storage.txn(
          [
            { key, modRevision: previousRevision },
            ...extra.absentKeys.map((k) => ({ key: k, modRevision: 0 })),
          ],
          [{ type: 'put', key, value: encodeObject(next) }, ...extra.operations],
        );
        if (!result.succeeded) throw new RevisionMismatchError(key, previousRevision, -1);
        revision = result.revision;
      } else {
        revision = await this.storage.update(key, encodeObject(next), previousRevision);
      }
      next.metadata.resourceVersion = String(revision);
      return { object: next, warnings: decoded.warnings };
    } catch (error) {
      return storageToApiError(info, name, error);
    }
  }

  // ---- delete ----

  /**
   * DELETE. Objects with finalizers (or asked to be deleted in the foreground or orphaning)
   * are only marked (deletionTimestamp) and stay until their finalizers are removed; a
   * scheduled pod is marked with a grace period and stays until its agent has stopped its
   * containers and deletes it with grace 0. Everything else goes at once.
   */
  async delete(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    options: DeleteOptions = {},
  ): Promise<{ object: KubeObject; deleted: boolean }> {
    const key = objectStorageKey(info, namespace, name);
    for (let attempt = 0; ; attempt++) {
      const stored = await this.storage.get(key).catch((e) => storageToApiError(info, name, e));
      if (!stored) throw newNotFound(info, name);
      const object = decodeStored(stored);
      const preconditions = options.preconditions;
      if (preconditions?.uid && preconditions.uid !== object.metadata.uid) {
        throw newConflict(
          info,
          name,
          `Precondition failed: UID in precondition: ${preconditions.uid}, UID in object meta: ${object.metadata.uid}`,
        );
      }
      if (
        preconditions?.resourceVersion &&
        preconditions.resourceVersion !== object.metadata.resourceVersion
      ) {
        throw newConflict(
          info,
          name,
          `Precondition failed: ResourceVersion in precondition: ${preconditions.resourceVersion}, ResourceVersion in object meta: ${object.metadata.resourceVersion}`,
        );
      }
      const marked = this.markForDeletion(info, object, options);
      if (options.dryRun?.length) return { object: marked ?? object, deleted: marked === undefined };
      try {
        if (marked === undefined) {
          await this.remove(info, key, object, stored.modRevision);
          return { object, deleted: true };
        }
        if (JSON.stringify(marked) === JSON.stringify(object)) return { object, deleted: false };
        delete marked.metadata.resourceVersion;
        const revision = await this.storage.update(key, encodeObject(marked), stored.modRevision);
        marked.metadata.resourceVersion = String(revision);
        return { object: marked, deleted: false };
      } catch (error) {
        if (
          error instanceof RevisionMismatchError &&
          !preconditions?.resourceVersion &&
          attempt < MAX_CONFLICT_RETRIES
        )
          continue;
        return storageToApiError(info, name, error);
      }
    }
  }

  /** The object marked for deletion, or undefined when it may be removed now. */
  private markForDeletion(
    info: ResourceInfo,
    object: KubeObject,
    options: DeleteOptions,
  ): KubeObject | undefined {
    const next = structuredClone(object);
    const meta = next.metadata;
    const finalizers = new Set(meta.finalizers ?? []);
    const policy = options.propagationPolicy ?? (options.orphanDependents ? 'Orphan' : undefined);
    if (policy === 'Orphan') finalizers.add(FINALIZER_ORPHAN);
    if (policy === 'Foreground') finalizers.add(FINALIZER_FOREGROUND);
    if (policy === 'Background') {
      finalizers.delete(FINALIZER_ORPHAN);
      finalizers.delete(FINALIZER_FOREGROUND);
    }
    if (object.kind === 'Namespace') {
      // The namespace controller empties it, then removes the "kubernetes" finalizer of its spec.
      const specFinalizers = (next as Extract<KubeObject, { kind: 'Namespace' }>).spec?.finalizers ?? [];
      if (specFinalizers.length > 0 || finalizers.size > 0) {
        meta.deletionTimestamp ??= timestamp(this.clock());
        const namespace = next as Extract<KubeObject, { kind: 'Namespace' }>;
        namespace.status = { ...namespace.status, phase: 'Terminating' };
        meta.finalizers = [...finalizers];
        if (meta.finalizers.length === 0) delete meta.finalizers;
        return next;
      }
      return undefined;
    }
    let grace = 0;
    if (object.kind === 'Pod') {
      const pod = object;
      const terminal = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
      const requested = options.gracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30;
      // Unscheduled or finished pods have no containers to stop: they go at once.
      grace = pod.spec.nodeName && !terminal ? Math.max(0, requested) : 0;
      const current = meta.deletionGracePeriodSeconds;
      if (current !== undefined && current < grace) grace = current; // a grace period only ever shortens
    }
    if (finalizers.size === 0 && grace === 0) return undefined;
    meta.finalizers = [...finalizers];
    if (meta.finalizers.length === 0) delete meta.finalizers;
    if (grace > 0 || meta.deletionGracePeriodSeconds !== undefined) meta.deletionGracePeriodSeconds = grace;
    if (!meta.deletionTimestamp || grace < (object.metadata.deletionGracePeriodSeconds ?? Infinity)) {
      meta.deletionTimestamp = timestamp(new Date(this.clock().getTime() + grace * 1000));
    }
    void info;
    return next;
  }

  private async remove(info: ResourceInfo, key: string, object: KubeObject, revision: number): Promise<void> {
    const extra = this.hooks[info.kind]?.onDelete?.(object) ?? [];
    if (extra.length === 0) {
      await this.storage.delete(key, revision);
      return;
    }
    const result = await this.storage.txn(
      [{ key, modRevision: revision }],
      [{ type: 'delete', key }, ...extra],
    );
    if (!result.succeeded) throw new RevisionMismatchError(key, revision, -1);
  }

  async deleteCollection(
    info: ResourceInfo,
    namespace: string | undefined,
    query: ListQuery,
    options: DeleteOptions = {},
  ): Promise<KubeList<KubeObject>> {
    const list = await this.list(info, namespace, {
      labelSelector: query.labelSelector,
      fieldSelector: query.fieldSelector,
    });
    const items: KubeObject[] = [];
    for (const object of list.items) {
      try {
        const result = await this.delete(info, object.metadata.namespace, object.metadata.name!, options);
        items.push(result.object);
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 404)) throw error;
      }
    }
    return { ...list, items };
  }

  // ---- subresources ----

  async getScale(info: ResourceInfo, namespace: string, name: string): Promise<Scale> {
    return scaleOf(await this.get(info, namespace, name));
  }

  /** Sets spec.replicas through the scale subresource; `body` is an autoscaling/v1 Scale (or a patch of one, applied by the caller). */
  async updateScale(
    info: ResourceInfo,
    namespace: string,
    name: string,
    scale: Scale,
    options: WriteOptions = {},
  ): Promise<Scale> {
    const replicas = scale.spec?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw newInvalid({ group: 'autoscaling', kind: 'Scale' }, name, [
        FieldError.invalid(
          FieldPath.root('spec', 'replicas'),
          replicas ?? null,
          'must be greater than or equal to 0',
        ),
      ]);
    }
    const patch: Record<string, unknown> = { spec: { replicas } };
    if (scale.metadata?.resourceVersion) patch.metadata = { resourceVersion: scale.metadata.resourceVersion };
    const { object } = await this.patch(info, namespace, name, 'merge', patch, options);
    return scaleOf(object);
  }

  /** pods/binding: sets spec.nodeName once; binding a bound pod is a conflict. */
  async bind(namespace: string, name: string, nodeName: string): Promise<KubeObject> {
    const pods = lookupResource('pods');
    const key = objectStorageKey(pods, namespace, name);
    return this.readModifyWrite({}, (read) => this.bindFrom(read, key, name, nodeName));
  }

  private async bindFrom(
    read: ReadOptions,
    key: string,
    name: string,
    nodeName: string,
  ): Promise<KubeObject> {
    const pods = lookupResource('pods');
    for (let attempt = 0; ; attempt++) {
      const stored = await this.storage.get(key, read).catch((e) => storageToApiError(pods, name, e));
      if (!stored) throw newNotFound(pods, name);
      const pod = decodeStored(stored) as Extract<KubeObject, { kind: 'Pod' }>;
      if (pod.metadata.deletionTimestamp)
        throw newConflict(pods, name, 'pod is being deleted, cannot be assigned to a host');
      if (pod.spec.nodeName)
        throw newConflict(pods, name, `pod ${name} is already assigned to node "${pod.spec.nodeName}"`);
      pod.spec.nodeName = nodeName;
      const conditions = (pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
      conditions.push({ type: 'PodScheduled', status: 'True', lastTransitionTime: timestamp(this.clock()) });
      pod.status = { ...pod.status, conditions };
      delete pod.metadata.resourceVersion;
      try {
        const revision = await this.storage.update(key, encodeObject(pod), stored.modRevision);
        pod.metadata.resourceVersion = String(revision);
        return pod;
      } catch (error) {
        const retry = error instanceof RevisionMismatchError && read.consistent !== false;
        if (retry && attempt < MAX_CONFLICT_RETRIES) continue;
        return storageToApiError(pods, name, error);
      }
    }
  }

  // ---- watch ----

  /**
   * Watches a resource (one namespace or all). With no resourceVersion (or "0"), the current
   * objects come first as ADDED, then every change; with one, every change after it. Label
   * and field selectors apply to both sides of a change, so an object that stops matching is
   * seen as DELETED and one that starts matching as ADDED, as Kubernetes does.
   */
  async watch(
    info: ResourceInfo,
    namespace: string | undefined,
    query: WatchQuery,
    onEvent: (type: WatchEventType, object: KubeObject) => void,
    onClose: (reason: Error) => void,
  ): Promise<{ handle: WatchHandle; revision: number }> {
    const filter = parseFilter(query);
    const prefix = resourcePrefix(info, namespace);
    let from: number;
    if (!query.resourceVersion || query.resourceVersion === '0') {
      const initial = await this.list(info, namespace, {
        labelSelector: query.labelSelector,
        fieldSelector: query.fieldSelector,
      });
      from = Number(initial.metadata?.resourceVersion ?? 0);
      for (const object of initial.items) onEvent('ADDED', object);
    } else {
      from = parseRevision(query.resourceVersion, 'resourceVersion');
    }
    const deliver = (event: StorageEvent) => {
      const { current, previous } = decodeEvent(event);
      const nowMatches = current !== undefined && matches(filter, current);
      const matchedBefore = previous !== undefined && matches(filter, previous);
      if (event.type === 'delete') {
        if (matchedBefore) onEvent('DELETED', previous!);
      } else if (nowMatches && matchedBefore) onEvent('MODIFIED', current!);
      else if (nowMatches) onEvent('ADDED', current!);
      else if (matchedBefore) onEvent('DELETED', current!);
    };
    try {
      const handle = this.storage.watch(
        prefix,
        from,
        (event) => {
          try {
            deliver(event);
          } catch (error) {
            onClose(error as Error);
          }
        },
        onClose,
      );
      return { handle, revision: from };
    } catch (error) {
      return storageToApiError(info, '', error);
    }
  }
}

function scaleOf(object: KubeObject): Scale {
  const workload = object as Extract<KubeObject, { kind: 'Deployment' | 'ReplicaSet' | 'StatefulSet' }>;
  const selector = workload.spec.selector?.matchLabels ?? {};
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: {
      name: object.metadata.name,
      namespace: object.metadata.namespace,
      uid: object.metadata.uid,
      resourceVersion: object.metadata.resourceVersion,
      creationTimestamp: object.metadata.creationTimestamp,
    },
    spec: { replicas: workload.spec.replicas ?? 1 },
    status: {
      replicas: workload.status?.replicas ?? 0,
      selector: Object.entries(selector)
        .map(([k, v]) => `${k}=${v}`)
        .join(','),
    },
  } as Scale;
}

/** Whether a patch sets metadata.resourceVersion itself, which makes it a precondition. */
export function patchNamesResourceVersion(kind: PatchKind, patch: unknown): boolean {
  if (kind === 'json') {
    return (
      Array.isArray(patch) &&
      patch.some((op) => (op as { path?: unknown } | null)?.path === '/metadata/resourceVersion')
    );
  }
  const metadata = (patch as { metadata?: { resourceVersion?: unknown } } | null)?.metadata;
  return metadata?.resourceVersion !== undefined;
}
