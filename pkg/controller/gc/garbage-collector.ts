/**
 * The garbage collector: ownerReferences cascade, as Kubernetes' garbage collector does.
 *
 * It keeps a graph of every object of every kind (one shared informer per kind) with an index
 * from owner uid to the uids of the objects that name it, so an event costs a look at the
 * object's own owners and dependents, never a scan. Three ways an owner goes:
 *
 * - Background: the owner is gone (deleted, or an object of that name has another uid). A
 *   dependent with no live owner left is deleted; one that still has a live owner only loses
 *   the dangling reference.
 * - Foreground: the owner carries the `foregroundDeletion` finalizer. Its dependents are
 *   deleted (in the foreground themselves) and, once none with `blockOwnerDeletion` remains,
 *   the finalizer is removed so the owner goes.
 * - Orphan: the owner carries the `orphan` finalizer. Its reference is removed from every
 *   dependent, then the finalizer, and the dependents live on.
 *
 * An owner missing from the caches is looked up live before anything is deleted on its
 * account: informers of different kinds are not in step, and a pod seen before its fresh
 * ReplicaSet must not be collected.
 */
import { ApiError, HasMetadata, Kind, objectKey, OwnerReference, resolveKind, RESOURCES } from '../../api';
import { EventRecorder, Informer, WorkQueue } from '../../client';
import { logger } from '../../util/log';
import { Controller, ControllerContext } from '../context';

export const FINALIZER_ORPHAN = 'orphan';
export const FINALIZER_FOREGROUND = 'foregroundDeletion';

/** Every kind that can be listed, watched and deleted: owners and dependents alike. */
export const COLLECTED_KINDS: readonly Kind[] = RESOURCES.filter(
  (info) => info.verbs.includes('watch') && info.verbs.includes('delete'),
).map((info) => info.kind);

type Cached = HasMetadata & { kind: string; apiVersion: string };

interface GraphNode {
  uid: string;
  kind: Kind;
  apiVersion: string;
  namespace?: string;
  name: string;
  owners: OwnerReference[];
  deleting: boolean;
  finalizers: string[];
}

type OwnerState = 'solid' | 'dangling' | 'waiting';

export interface GarbageCollectorOptions {
  workers?: number;
}

const log = logger('garbage-collector');

function toNode(object: Cached): GraphNode {
  return {
    uid: object.metadata.uid!,
    kind: object.kind as Kind,
    apiVersion: object.apiVersion,
    namespace: object.metadata.namespace,
    name: object.metadata.name!,
    owners: object.metadata.ownerReferences ?? [],
    deleting: object.metadata.deletionTimestamp !== undefined,
    finalizers: object.metadata.finalizers ?? [],
  };
}

function describe(node: { kind: string; namespace?: string; name: string }): string {
  return `${node.kind} ${node.namespace ? `${node.namespace}/` : ''}${node.name}`;
}

function waitsForDependents(node: GraphNode): boolean {
  return node.deleting && node.finalizers.includes(FINALIZER_FOREGROUND);
}

export class GarbageCollector implements Controller {
  readonly name = 'garbage-collector';
  private readonly informers = new Map<Kind, Informer<Cached>>();
  private readonly nodes = new Map<string, GraphNode>();
  /** owner uid → uids of objects whose ownerReferences name it (whether the owner exists or not). */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly queue = new WorkQueue();
  private readonly recorder: EventRecorder;

  constructor(
    private readonly context: ControllerContext,
    private readonly options: GarbageCollectorOptions = {},
  ) {
    this.recorder = context.recorder('garbage-collector-controller');
    for (const kind of COLLECTED_KINDS) {
      const informer = context.informers.informer(kind) as unknown as Informer<Cached>;
      this.informers.set(kind, informer);
      informer.addHandlers({
        add: (object) => this.observe(object),
        update: (old, object) => {
          if (old.metadata.resourceVersion !== object.metadata.resourceVersion) this.observe(object);
        },
        delete: (object) => this.forget(object),
      });
    }
  }

  async run(signal: AbortSignal): Promise<void> {
    const stop = () => this.queue.shutDown();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await this.queue.run(
        this.options.workers ?? 4,
        (uid) => this.sync(uid),
        (uid, error) => {
          const node = this.nodes.get(uid);
          log.warn('garbage collection failed; retrying', {
            object: node ? describe(node) : uid,
            error: (error as Error).message,
          });
        },
      );
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  /** The uids of the objects that name this owner (tests and diagnostics). */
  dependentsOf(uid: string): string[] {
    return [...(this.dependents.get(uid) ?? [])];
  }

  // ---- the graph ----

  private observe(object: Cached): void {
    const uid = object.metadata.uid;
    if (!uid || !object.metadata.name) return;
    const node = toNode(object);
    const previous = this.nodes.get(uid);
    this.nodes.set(uid, node);
    const before = new Set(previous?.owners.map((r) => r.uid) ?? []);
    const after = new Set(node.owners.map((r) => r.uid));
    for (const owner of before) if (!after.has(owner)) this.unlink(owner, uid);
    for (const owner of after) {
      let set = this.dependents.get(owner);
      if (!set) this.dependents.set(owner, (set = new Set()));
      set.add(uid);
    }
    // As an owner: deleting with a finalizer the collector serves.
    if (
      node.deleting &&
      (node.finalizers.includes(FINALIZER_ORPHAN) || node.finalizers.includes(FINALIZER_FOREGROUND))
    ) {
      this.queue.add(uid);
    }
    // As a dependent: an owner missing, or waiting for its dependents to go.
    if (!node.deleting) {
      for (const reference of node.owners) {
        const owner = this.nodes.get(reference.uid);
        if (!owner || waitsForDependents(owner)) {
          this.queue.add(uid);
          break;
        }
      }
    }
    // A dependent that changed (deleted in the foreground, lost a reference) may unblock an owner.
    for (const owner of new Set([...before, ...after])) {
      const ownerNode = this.nodes.get(owner);
      if (ownerNode && waitsForDependents(ownerNode)) this.queue.add(owner);
    }
  }

  private forget(object: Cached): void {
    const uid = object.metadata.uid;
    if (!uid) return;
    const node = this.nodes.get(uid);
    this.nodes.delete(uid);
    for (const reference of node?.owners ?? []) {
      this.unlink(reference.uid, uid);
      const owner = this.nodes.get(reference.uid);
      if (owner && waitsForDependents(owner)) this.queue.add(owner.uid);
    }
    // Its dependents have lost an owner.
    for (const dependent of this.dependents.get(uid) ?? []) this.queue.add(dependent);
  }

  private unlink(owner: string, dependent: string): void {
    const set = this.dependents.get(owner);
    if (!set) return;
    set.delete(dependent);
    if (set.size === 0) this.dependents.delete(owner);
  }

  private cached(node: GraphNode): Cached | undefined {
    const key = objectKey({ metadata: { namespace: node.namespace, name: node.name } });
    const object = this.informers.get(node.kind)?.get(key);
    return object && object.metadata.uid === node.uid ? object : undefined;
  }

  // ---- work ----

  private async sync(uid: string): Promise<void> {
    const node = this.nodes.get(uid);
    if (!node) return;
    if (node.deleting && node.finalizers.includes(FINALIZER_ORPHAN)) {
      await this.orphanDependents(node);
      return;
    }
    if (waitsForDependents(node)) {
      await this.deleteDependentsFirst(node);
      return;
    }
    if (!node.deleting && node.owners.length > 0) await this.collect(node);
  }

  /** Whether an owner is alive, gone, or being deleted in the foreground; undefined when it cannot be told. */
  private async ownerState(dependent: GraphNode, reference: OwnerReference): Promise<OwnerState | undefined> {
    const known = this.nodes.get(reference.uid);
    if (known) return waitsForDependents(known) ? 'waiting' : 'solid';
    const resolved = resolveKind(reference.apiVersion, reference.kind);
    // A kind bosun does not serve cannot be checked: keep the reference, as Kubernetes does.
    if (!resolved.ok) return undefined;
    const info = resolved.info;
    try {
      const owner = await this.context.client
        .resource(info.kind)
        .get(info.namespaced ? dependent.namespace : undefined, reference.name);
      if (owner.metadata.uid !== reference.uid) return 'dangling';
      const meta = owner.metadata;
      return meta.deletionTimestamp && (meta.finalizers ?? []).includes(FINALIZER_FOREGROUND)
        ? 'waiting'
        : 'solid';
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) return 'dangling';
      throw error;
    }
  }

  /** A dependent: deleted when no owner is alive, else relieved of references to the dead. */
  private async collect(node: GraphNode): Promise<void> {
    const solid: OwnerReference[] = [];
    const dangling: OwnerReference[] = [];
    const waiting: OwnerReference[] = [];
    for (const reference of node.owners) {
      const state = await this.ownerState(node, reference);
      if (state === 'dangling') dangling.push(reference);
      else if (state === 'waiting') waiting.push(reference);
      else solid.push(reference);
    }
    if (dangling.length === 0 && waiting.length === 0) return;
    const object = this.cached(node);
    if (!object) return;
    if (solid.length > 0) {
      const gone = new Set([...dangling, ...waiting].map((r) => r.uid));
      await this.removeOwnerReferences(node, object, gone);
      return;
    }
    // Every owner is gone or going. With one waiting in the foreground, this dependent goes
    // in the foreground too, so the owner waits for the whole subtree.
    const policy = waiting.length > 0 ? 'Foreground' : 'Background';
    const why = [...waiting, ...dangling].map((r) => `${r.kind} ${r.name}`).join(', ');
    log.info('deleting dependent', { object: describe(node), owners: why, propagationPolicy: policy });
    this.recorder.event(
      object as never,
      'Normal',
      'GarbageCollected',
      waiting.length > 0
        ? `Deleting ${describe(node)} in the foreground: no owner is left but ${why}, being deleted`
        : `Deleting ${describe(node)}: no owner is left (${why} gone)`,
    );
    await this.delete(node, policy);
  }

  private async deleteDependentsFirst(owner: GraphNode): Promise<void> {
    let blocking = 0;
    for (const uid of this.dependents.get(owner.uid) ?? []) {
      const dependent = this.nodes.get(uid);
      const reference = dependent?.owners.find((r) => r.uid === owner.uid);
      if (!dependent || !reference) continue;
      if (reference.blockOwnerDeletion) blocking++;
      if (!dependent.deleting) this.queue.add(uid);
    }
    if (blocking > 0) return;
    const object = this.cached(owner);
    if (!object) return;
    this.recorder.event(
      object as never,
      'Normal',
      'DependentsDeleted',
      `All dependents of ${describe(owner)} are deleted; removing the ${FINALIZER_FOREGROUND} finalizer`,
    );
    await this.removeFinalizer(owner, object, FINALIZER_FOREGROUND);
  }

  private async orphanDependents(owner: GraphNode): Promise<void> {
    const uids = [...(this.dependents.get(owner.uid) ?? [])];
    for (const uid of uids) {
      const dependent = this.nodes.get(uid);
      const object = dependent && this.cached(dependent);
      if (!dependent || !object) continue;
      await this.removeOwnerReferences(dependent, object, new Set([owner.uid]));
    }
    const object = this.cached(owner);
    if (!object) return;
    this.recorder.event(
      object as never,
      'Normal',
      'OrphanedDependents',
      `Removed the owner reference to ${describe(owner)} from ${uids.length} dependent${uids.length === 1 ? '' : 's'}`,
    );
    await this.removeFinalizer(owner, object, FINALIZER_ORPHAN);
  }

  // ---- writes (each pinned to the version it was computed from: a conflict retries) ----

  private async removeOwnerReferences(node: GraphNode, object: Cached, uids: Set<string>): Promise<void> {
    const remaining = (object.metadata.ownerReferences ?? []).filter((r) => !uids.has(r.uid));
    await this.patch(node, {
      metadata: {
        resourceVersion: object.metadata.resourceVersion,
        ownerReferences: remaining.length > 0 ? remaining : null,
      },
    });
  }

  private async removeFinalizer(node: GraphNode, object: Cached, finalizer: string): Promise<void> {
    const remaining = (object.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    await this.patch(node, {
      metadata: {
        resourceVersion: object.metadata.resourceVersion,
        finalizers: remaining.length > 0 ? remaining : null,
      },
    });
  }

  private async patch(node: GraphNode, patch: unknown): Promise<void> {
    try {
      await this.context.client.resource(node.kind).patch(node.namespace, node.name, patch, 'merge');
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) return;
      throw error;
    }
  }

  private async delete(node: GraphNode, propagationPolicy: 'Foreground' | 'Background'): Promise<void> {
    try {
      await this.context.client.resource(node.kind).delete(node.namespace, node.name, {
        propagationPolicy,
        preconditions: { uid: node.uid },
      });
    } catch (error) {
      // Gone already, or replaced by a namesake that is not ours to delete.
      if (error instanceof ApiError && (error.code === 404 || error.code === 409)) return;
      throw error;
    }
  }
}
