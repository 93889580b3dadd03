/**
 * The ReplicaSet controller, with Kubernetes' semantics: it keeps `spec.replicas` active pods
 * matching each ReplicaSet's selector, adopting matching orphans and releasing pods that
 * stopped matching, creating in slow-start batches and deleting the least valuable pods first,
 * and reports replicas, fullyLabeledReplicas, readyReplicas, availableReplicas and the
 * ReplicaFailure condition. Informer handlers only enqueue keys; `sync(key)` does the work.
 */
import {
  ApiError,
  getControllerOf,
  objectKey,
  OwnerReference,
  Pod,
  ReplicaSet,
  ReplicaSetCondition,
  ReplicaSetStatus,
  Selector,
  selectorFromLabelSelector,
  splitObjectKey,
} from '../../api';
import { EventRecorder, Informer, WorkQueue } from '../../client';
import { logger } from '../../util/log';
import { Controller, ControllerContext } from '../context';
import { addOwnershipIndex, claimCandidates, controlledBy } from '../ownership';
import { claimObjects, recheckOwner } from './claim';
import { Expectations } from './expectations';
import { isPodActive, isPodReady, msUntilAvailable, podsToDelete } from './pods';

/** At most this many creates or deletes per sync, as kube-controller-manager's burstReplicas. */
export const BURST_REPLICAS = 500;

export interface ReplicaSetControllerOptions {
  workers?: number;
  burstReplicas?: number;
  /** The clock availability (minReadySeconds) and conditions are judged by. */
  now?: () => number;
}

const RS_API_VERSION = 'apps/v1';
const RS_KIND = 'ReplicaSet';

/** Runs `fn` count times in batches of 1, 2, 4, ...; stops after the first batch with a failure. */
export async function slowStartBatch(
  count: number,
  initialBatchSize: number,
  fn: () => Promise<void>,
): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  for (let size = Math.min(remaining, initialBatchSize); size > 0; size = Math.min(2 * size, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: size }, () => fn()));
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    successes += size - failures.length;
    if (failures.length > 0) return { successes, error: failures[0].reason };
    remaining -= size;
  }
  return { successes };
}

function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Whether a create failed only because the namespace is going away (Kubernetes ignores those). */
function namespaceTerminating(error: unknown): boolean {
  return (
    error instanceof ApiError &&
    error.code === 403 &&
    (error.details?.causes?.some((c) => c.reason === 'NamespaceTerminating') ||
      /because it is being terminated/.test(error.message))
  );
}

export class ReplicaSetController implements Controller {
  readonly name = 'replicaset';
  readonly expectations: Expectations;
  private readonly queue = new WorkQueue();
  private readonly pods: Informer<Pod>;
  private readonly replicaSets: Informer<ReplicaSet>;
  private readonly recorder: EventRecorder;
  private readonly workers: number;
  private readonly burstReplicas: number;
  private readonly now: () => number;
  private readonly log = logger('replicaset-controller');

  constructor(
    private readonly context: ControllerContext,
    options: ReplicaSetControllerOptions = {},
  ) {
    this.workers = options.workers ?? 5;
    this.burstReplicas = options.burstReplicas ?? BURST_REPLICAS;
    this.now = options.now ?? Date.now;
    this.expectations = new Expectations(this.now);
    this.recorder = context.recorder('replicaset-controller');
    this.replicaSets = context.informers.informer('ReplicaSet');
    this.pods = context.informers.informer('Pod');
    addOwnershipIndex(this.pods);
    this.replicaSets.addHandlers({
      add: (rs) => this.enqueue(rs),
      update: (old, cur) => {
        if (old.metadata.uid !== cur.metadata.uid) this.expectations.forget(objectKey(old));
        this.enqueue(cur);
      },
      delete: (rs) => {
        this.expectations.forget(objectKey(rs));
        this.enqueue(rs);
      },
    });
    this.pods.addHandlers({
      add: (pod) => this.podAdded(pod),
      update: (old, cur) => this.podUpdated(old, cur),
      delete: (pod) => this.podDeleted(pod),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    const stop = () => this.queue.shutDown();
    signal.addEventListener('abort', stop, { once: true });
    if (signal.aborted) stop();
    this.log.info('starting', { workers: this.workers });
    await this.queue.run(
      this.workers,
      (key) => this.sync(key),
      (key, error) =>
        this.log.warn('sync failed; retrying', { replicaSet: key, error: (error as Error).message }),
    );
  }

  private enqueue(rs: ReplicaSet): void {
    this.queue.add(objectKey(rs));
  }

  /** The ReplicaSet a controller reference names, if it is in the cache with the same uid. */
  private resolve(namespace: string | undefined, ref: OwnerReference): ReplicaSet | undefined {
    if (ref.kind !== RS_KIND) return undefined;
    const rs = this.replicaSets.get(`${namespace}/${ref.name}`);
    return rs && rs.metadata.uid === ref.uid ? rs : undefined;
  }

  /** ReplicaSets whose selector matches an orphan pod; an empty selector matches nothing here. */
  private replicaSetsMatching(pod: Pod): ReplicaSet[] {
    return this.replicaSets.list(pod.metadata.namespace).filter((rs) => {
      const selector = safeSelector(rs);
      return selector !== undefined && !selector.isEmpty() && selector.matches(pod.metadata.labels);
    });
  }

  private podAdded(pod: Pod): void {
    // A pod that appears already being deleted (a relist after a restart) counts as a deletion.
    if (pod.metadata.deletionTimestamp) return this.podDeleted(pod);
    const ref = getControllerOf(pod);
    if (ref) {
      const rs = this.resolve(pod.metadata.namespace, ref);
      if (!rs) return;
      this.expectations.creationObserved(objectKey(rs));
      this.enqueue(rs);
      return;
    }
    for (const rs of this.replicaSetsMatching(pod)) this.enqueue(rs);
  }

  private podUpdated(old: Pod, cur: Pod): void {
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    const labelsChanged =
      JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(cur.metadata.labels ?? {});
    if (cur.metadata.deletionTimestamp) {
      // Graceful deletion: the pod is gone as far as replicas go, so count it as deleted now.
      this.podDeleted(cur);
      if (labelsChanged) this.podDeleted(old);
      return;
    }
    const curRef = getControllerOf(cur);
    const oldRef = getControllerOf(old);
    const refChanged = JSON.stringify(curRef) !== JSON.stringify(oldRef);
    if (refChanged && oldRef) {
      const rs = this.resolve(old.metadata.namespace, oldRef);
      if (rs) this.enqueue(rs);
    }
    if (curRef) {
      const rs = this.resolve(cur.metadata.namespace, curRef);
      if (rs) this.enqueue(rs);
      return;
    }
    if (labelsChanged || refChanged) for (const rs of this.replicaSetsMatching(cur)) this.enqueue(rs);
  }

  private podDeleted(pod: Pod): void {
    const ref = getControllerOf(pod);
    if (!ref) return;
    const rs = this.resolve(pod.metadata.namespace, ref);
    if (!rs) return;
    this.expectations.deletionObserved(objectKey(rs), objectKey(pod));
    this.enqueue(rs);
  }

  /** Brings one ReplicaSet toward its spec and writes its status. Throws to be retried with back-off. */
  async sync(key: string): Promise<void> {
    const cached = this.replicaSets.get(key);
    if (!cached) {
      this.expectations.forget(key);
      return;
    }
    const rs: ReplicaSet = { ...cached, apiVersion: RS_API_VERSION, kind: RS_KIND };
    const needsSync = this.expectations.satisfied(key);
    const selector = safeSelector(rs);
    if (!selector) {
      this.log.error('invalid selector; not syncing', { replicaSet: key });
      return;
    }
    const { namespace, name } = splitObjectKey(key);
    const active = claimCandidates(this.pods, namespace, rs.metadata.uid!).filter(isPodActive);
    const { claimed, errors } = await claimObjects(active, {
      owner: rs,
      matches: (pod) => selector.matches(pod.metadata.labels),
      client: this.context.client.resource('Pod'),
      canAdopt: recheckOwner(rs, () => this.context.client.resource('ReplicaSet').get(namespace, name)),
    });
    if (errors.length > 0) throw errors[0];

    let manageError: Error | undefined;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      manageError = await this.manageReplicas(claimed, rs).then(
        () => undefined,
        (error: unknown) => error as Error,
      );
    }
    const updated = await this.updateStatus(rs, this.calculateStatus(rs, claimed, manageError));
    if (manageError) throw manageError;
    this.requeueForAvailability(key, updated ?? rs, claimed);
  }

  private async manageReplicas(pods: Pod[], rs: ReplicaSet): Promise<void> {
    const key = objectKey(rs);
    const diff = pods.length - (rs.spec.replicas ?? 1);
    if (diff < 0) {
      const count = Math.min(-diff, this.burstReplicas);
      this.expectations.expectCreations(key, count);
      const { successes, error } = await slowStartBatch(count, 1, async () => {
        try {
          await this.createPod(rs);
        } catch (e) {
          if (namespaceTerminating(e)) return;
          throw e;
        }
      });
      // Creates never attempted (or failed) will never be observed: stop waiting for them.
      for (let skipped = count - successes; skipped > 0; skipped--) this.expectations.creationObserved(key);
      if (error) throw error;
      return;
    }
    if (diff > 0) {
      const count = Math.min(diff, this.burstReplicas);
      const victims = podsToDelete(pods, this.relatedPods(rs), count, this.now());
      this.expectations.expectDeletions(key, victims.map(objectKey));
      const results = await Promise.allSettled(victims.map((pod) => this.deletePod(rs, pod)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  }

  private async createPod(rs: ReplicaSet): Promise<void> {
    const template = rs.spec.template;
    const labels = { ...(template?.metadata?.labels ?? {}) };
    if (!template || Object.keys(labels).length === 0) throw new Error('unable to create pods, no labels');
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        generateName: `${rs.metadata.name}-`,
        namespace: rs.metadata.namespace,
        labels,
        ownerReferences: [
          {
            apiVersion: RS_API_VERSION,
            kind: RS_KIND,
            name: rs.metadata.name!,
            uid: rs.metadata.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: structuredClone(template.spec),
    };
    if (template.metadata?.annotations) pod.metadata.annotations = { ...template.metadata.annotations };
    if (template.metadata?.finalizers) pod.metadata.finalizers = [...template.metadata.finalizers];
    try {
      const created = await this.context.client.resource('Pod').create(pod);
      this.recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
    } catch (error) {
      if (!namespaceTerminating(error))
        this.recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${(error as Error).message}`);
      throw error;
    }
  }

  private async deletePod(rs: ReplicaSet, pod: Pod): Promise<void> {
    const name = pod.metadata.name!;
    try {
      await this.context.client.resource('Pod').delete(pod.metadata.namespace, name);
      this.recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
    } catch (error) {
      // The informer will not report a deletion that did not happen (or happened long ago).
      this.expectations.deletionObserved(objectKey(rs), objectKey(pod));
      if (error instanceof ApiError && error.code === 404) return;
      this.recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${(error as Error).message}`);
      throw error;
    }
  }

  /**
   * The pods of every ReplicaSet with the same owner (a Deployment's old and new ones): a pod
   * sharing a node with many of them is the better one to delete, to spread what remains.
   */
  private relatedPods(rs: ReplicaSet): Pod[] {
    const namespace = rs.metadata.namespace!;
    const owner = getControllerOf(rs);
    const uids = new Set<string>();
    if (!owner) uids.add(rs.metadata.uid!);
    else
      for (const other of this.replicaSets.list(namespace))
        if (getControllerOf(other)?.uid === owner.uid) uids.add(other.metadata.uid!);
    return [...uids].flatMap((uid) => controlledBy(this.pods, namespace, uid));
  }

  private calculateStatus(rs: ReplicaSet, pods: Pod[], manageError: Error | undefined): ReplicaSetStatus {
    const templateLabels = Selector.fromLabels(rs.spec.template?.metadata?.labels ?? {});
    const minReadySeconds = rs.spec.minReadySeconds ?? 0;
    const now = this.now();
    let fullyLabeled = 0;
    let ready = 0;
    let available = 0;
    for (const pod of pods) {
      if (templateLabels.matches(pod.metadata.labels)) fullyLabeled++;
      if (isPodReady(pod)) {
        ready++;
        if (msUntilAvailable(pod, minReadySeconds, now) === 0) available++;
      }
    }
    const status: ReplicaSetStatus = {
      ...(rs.status ?? { replicas: 0 }),
      replicas: pods.length,
      fullyLabeledReplicas: fullyLabeled,
      readyReplicas: ready,
      availableReplicas: available,
    };
    const conditions = [...(rs.status?.conditions ?? [])];
    const failure = conditions.find((c) => c.type === 'ReplicaFailure');
    if (manageError && !failure) {
      const diff = pods.length - (rs.spec.replicas ?? 1);
      const condition: ReplicaSetCondition = {
        type: 'ReplicaFailure',
        status: 'True',
        lastTransitionTime: timestamp(now),
        reason: diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '',
        message: manageError.message,
      };
      conditions.push(condition);
    } else if (!manageError && failure) {
      conditions.splice(conditions.indexOf(failure), 1);
    }
    if (conditions.length > 0) status.conditions = conditions;
    else delete status.conditions;
    return status;
  }

  /** Writes the status if it changed; on a conflict reads the ReplicaSet afresh and tries once more. */
  private async updateStatus(rs: ReplicaSet, status: ReplicaSetStatus): Promise<ReplicaSet | undefined> {
    const current = rs.status;
    if (
      current &&
      current.replicas === status.replicas &&
      (current.fullyLabeledReplicas ?? 0) === status.fullyLabeledReplicas &&
      (current.readyReplicas ?? 0) === status.readyReplicas &&
      (current.availableReplicas ?? 0) === status.availableReplicas &&
      current.observedGeneration === rs.metadata.generation &&
      JSON.stringify(current.conditions ?? []) === JSON.stringify(status.conditions ?? [])
    )
      return undefined;
    const client = this.context.client.resource('ReplicaSet');
    let target = rs;
    for (let attempt = 0; ; attempt++) {
      const next: ReplicaSet = {
        ...target,
        status: { ...status, observedGeneration: target.metadata.generation },
      };
      try {
        return await client.updateStatus(next);
      } catch (error) {
        if (attempt >= 1 || !(error instanceof ApiError && error.code === 409)) throw error;
        target = await client.get(rs.metadata.namespace, rs.metadata.name!);
      }
    }
  }

  /** Syncs again when the next ready pod has been ready for minReadySeconds, to count it available. */
  private requeueForAvailability(key: string, rs: ReplicaSet, pods: Pod[]): void {
    const minReadySeconds = rs.spec.minReadySeconds ?? 0;
    if (minReadySeconds <= 0) return;
    const now = this.now();
    let soonest: number | undefined;
    for (const pod of pods) {
      const wait = msUntilAvailable(pod, minReadySeconds, now);
      if (wait !== undefined && wait > 0) soonest = Math.min(soonest ?? wait, wait);
    }
    if (soonest !== undefined) this.queue.addAfter(key, soonest);
  }
}

function safeSelector(rs: ReplicaSet): Selector | undefined {
  try {
    return selectorFromLabelSelector(rs.spec.selector);
  } catch {
    return undefined;
  }
}
