/**
 * The Deployment controller, with Kubernetes' semantics: one ReplicaSet per pod template
 * (`<name>-<pod-template-hash>`), rolled over by RollingUpdate within maxSurge/maxUnavailable
 * or by Recreate, scaled proportionally when replicas change mid-rollout, paused on request,
 * old ReplicaSets pruned beyond revisionHistoryLimit, and progress reported through the
 * Progressing and Available conditions with progressDeadlineSeconds. It writes ReplicaSets
 * only; the ReplicaSet controller makes the pods.
 */
import {
  ApiError,
  Deployment,
  DeploymentStatus,
  getControllerOf,
  objectKey,
  OwnerReference,
  Pod,
  ReplicaSet,
  Selector,
  selectorFromLabelSelector,
  splitObjectKey,
} from '../../api';
import { EventRecorder, Informer, WorkQueue } from '../../client';
import { logger } from '../../util/log';
import { Controller, ControllerContext } from '../context';
import { addOwnershipIndex, controlledBy } from '../ownership';
import { claimObjects, recheckOwner } from '../replicaset/claim';
import {
  availableAtLeast,
  availableReplicas,
  byCreation,
  byRevision,
  bySizeNewer,
  bySizeOlder,
  computeHash,
  deploymentComplete,
  deploymentProgressing,
  deploymentTimedOut,
  desiredReplicasAnnotation,
  equalIgnoreHash,
  FAILED_RS_CREATE_REASON,
  findActiveOrLatest,
  findOldReplicaSets,
  FOUND_NEW_RS_REASON,
  getCondition,
  hasProgressDeadline,
  isActive,
  isRollingUpdate,
  isSaturated,
  MIN_AVAILABLE_REASON,
  MIN_UNAVAILABLE_REASON,
  maxRevision,
  maxSurge,
  maxUnavailable,
  NEW_RS_AVAILABLE_REASON,
  NEW_RS_REASON,
  newCondition,
  newReplicaSetReplicas,
  PAUSED_REASON,
  POD_TEMPLATE_HASH_LABEL,
  proportion,
  readyReplicas,
  removeCondition,
  replicasAnnotationsNeedUpdate,
  replicaSetToDeploymentCondition,
  replicasOf,
  REVISION_ANNOTATION,
  RESUMED_REASON,
  RS_UPDATED_REASON,
  setCondition,
  setDeploymentRevision,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  specReplicas,
  statusReplicas,
  TIMED_OUT_REASON,
} from './util';

export interface DeploymentControllerOptions {
  workers?: number;
  now?: () => number;
}

const D_API_VERSION = 'apps/v1';
const D_KIND = 'Deployment';

export class DeploymentController implements Controller {
  readonly name = 'deployment';
  private readonly queue = new WorkQueue();
  private readonly deployments: Informer<Deployment>;
  private readonly replicaSets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;
  private readonly recorder: EventRecorder;
  private readonly workers: number;
  private readonly now: () => number;
  private readonly log = logger('deployment-controller');

  constructor(
    private readonly context: ControllerContext,
    options: DeploymentControllerOptions = {},
  ) {
    this.workers = options.workers ?? 5;
    this.now = options.now ?? Date.now;
    this.recorder = context.recorder('deployment-controller');
    this.deployments = context.informers.informer('Deployment');
    this.replicaSets = context.informers.informer('ReplicaSet');
    this.pods = context.informers.informer('Pod');
    addOwnershipIndex(this.pods);
    const enqueue = (d: Deployment) => this.queue.add(objectKey(d));
    this.deployments.addHandlers({ add: enqueue, update: (_old, cur) => enqueue(cur), delete: enqueue });
    this.replicaSets.addHandlers({
      add: (rs) => this.replicaSetAdded(rs),
      update: (old, cur) => this.replicaSetUpdated(old, cur),
      delete: (rs) => this.replicaSetDeleted(rs),
    });
    this.pods.addHandlers({ delete: (pod) => this.podDeleted(pod) });
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
        this.log.warn('sync failed; retrying', { deployment: key, error: (error as Error).message }),
    );
  }

  // ---- event handlers: enqueue the Deployment concerned ----

  private resolve(namespace: string | undefined, ref: OwnerReference): Deployment | undefined {
    if (ref.kind !== D_KIND) return undefined;
    const d = this.deployments.get(`${namespace}/${ref.name}`);
    return d && d.metadata.uid === ref.uid ? d : undefined;
  }

  private enqueue(d: Deployment | undefined): void {
    if (d) this.queue.add(objectKey(d));
  }

  /** Deployments whose selector matches an orphan ReplicaSet (an empty selector matches nothing here). */
  private deploymentsMatching(rs: ReplicaSet): Deployment[] {
    return this.deployments.list(rs.metadata.namespace).filter((d) => {
      const selector = safeSelector(d);
      return selector !== undefined && !selector.isEmpty() && selector.matches(rs.metadata.labels);
    });
  }

  private replicaSetAdded(rs: ReplicaSet): void {
    if (rs.metadata.deletionTimestamp) return this.replicaSetDeleted(rs);
    const ref = getControllerOf(rs);
    if (ref) return this.enqueue(this.resolve(rs.metadata.namespace, ref));
    for (const d of this.deploymentsMatching(rs)) this.enqueue(d);
  }

  private replicaSetUpdated(old: ReplicaSet, cur: ReplicaSet): void {
    if (old.metadata.resourceVersion === cur.metadata.resourceVersion) return;
    const curRef = getControllerOf(cur);
    const oldRef = getControllerOf(old);
    const refChanged = JSON.stringify(curRef) !== JSON.stringify(oldRef);
    if (refChanged && oldRef) this.enqueue(this.resolve(old.metadata.namespace, oldRef));
    if (curRef) return this.enqueue(this.resolve(cur.metadata.namespace, curRef));
    const labelsChanged =
      JSON.stringify(old.metadata.labels ?? {}) !== JSON.stringify(cur.metadata.labels ?? {});
    if (labelsChanged || refChanged) for (const d of this.deploymentsMatching(cur)) this.enqueue(d);
  }

  private replicaSetDeleted(rs: ReplicaSet): void {
    const ref = getControllerOf(rs);
    if (ref) this.enqueue(this.resolve(rs.metadata.namespace, ref));
  }

  /** A Recreate rollout waits for the old pods to be gone: their deletion may be what it waits for. */
  private podDeleted(pod: Pod): void {
    const rsRef = getControllerOf(pod);
    if (!rsRef || rsRef.kind !== 'ReplicaSet') return;
    const rs = this.replicaSets.get(`${pod.metadata.namespace}/${rsRef.name}`);
    const dRef = rs && getControllerOf(rs);
    const d = dRef && this.resolve(rs.metadata.namespace, dRef);
    if (d && d.spec.strategy?.type === 'Recreate') this.enqueue(d);
  }

  // ---- sync ----

  async sync(key: string): Promise<void> {
    const cached = this.deployments.get(key);
    if (!cached) return;
    // Our own copy: status writes below refresh it so later writes in the same sync do not conflict.
    const d: Deployment = { ...structuredClone(cached), apiVersion: D_API_VERSION, kind: D_KIND };
    const selector = safeSelector(d);
    if (!selector) {
      this.log.error('invalid selector; not syncing', { deployment: key });
      return;
    }
    if (selector.isEmpty()) {
      this.recorder.event(
        d,
        'Warning',
        'SelectingAll',
        'This deployment is selecting all pods. A non-empty selector is required.',
      );
      if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
        await this.writeStatus(d, { ...d.status, observedGeneration: d.metadata.generation });
      }
      return;
    }
    const sets = await this.replicaSetsFor(d, selector);
    if (d.metadata.deletionTimestamp) return this.syncStatusOnly(d, sets);
    await this.checkPausedConditions(d);
    if (d.spec.paused) return this.syncScaleAndStatus(d, sets);
    if (await this.isScalingEvent(d, sets)) return this.syncScaleAndStatus(d, sets);
    if (d.spec.strategy?.type === 'Recreate') return this.rolloutRecreate(d, sets);
    return this.rolloutRolling(d, sets);
  }

  /** The ReplicaSets this Deployment controls, adopting matching orphans and releasing strays. */
  private async replicaSetsFor(d: Deployment, selector: Selector): Promise<ReplicaSet[]> {
    const { namespace, name } = splitObjectKey(objectKey(d));
    const { claimed, errors } = await claimObjects(this.replicaSets.list(namespace), {
      owner: d,
      matches: (rs) => selector.matches(rs.metadata.labels),
      client: this.context.client.resource('ReplicaSet'),
      canAdopt: recheckOwner(d, () => this.context.client.resource('Deployment').get(namespace, name)),
    });
    if (errors.length > 0) throw errors[0];
    return claimed;
  }

  /** Pods of the given ReplicaSets by their uid, terminating ones included (Recreate waits for those). */
  private podsByReplicaSet(d: Deployment, sets: ReplicaSet[]): Map<string, Pod[]> {
    const selector = safeSelector(d);
    const namespace = d.metadata.namespace!;
    return new Map(
      sets.map((rs) => {
        const pods = controlledBy(this.pods, namespace, rs.metadata.uid!);
        return [rs.metadata.uid!, selector ? pods.filter((p) => selector.matches(p.metadata.labels)) : pods];
      }),
    );
  }

  private async writeStatus(d: Deployment, status: DeploymentStatus): Promise<void> {
    const updated = await this.context.client.resource('Deployment').updateStatus({ ...d, status });
    d.status = updated.status;
    d.metadata = { ...d.metadata, resourceVersion: updated.metadata.resourceVersion };
  }

  private async checkPausedConditions(d: Deployment): Promise<void> {
    if (!hasProgressDeadline(d)) return;
    const condition = getCondition(d.status, 'Progressing');
    if (condition?.reason === TIMED_OUT_REASON) return;
    const pausedShown = condition?.reason === PAUSED_REASON;
    const status: DeploymentStatus = structuredClone(d.status ?? {});
    if (d.spec.paused && !pausedShown)
      setCondition(
        status,
        newCondition('Progressing', 'Unknown', PAUSED_REASON, 'Deployment is paused', this.now()),
      );
    else if (!d.spec.paused && pausedShown)
      setCondition(
        status,
        newCondition('Progressing', 'Unknown', RESUMED_REASON, 'Deployment is resumed', this.now()),
      );
    else return;
    await this.writeStatus(d, status);
  }

  /** Whether replicas changed: an active ReplicaSet was sized for another desired count. */
  private async isScalingEvent(d: Deployment, sets: ReplicaSet[]): Promise<boolean> {
    const { newRS, old } = await this.allReplicaSets(d, sets, false);
    for (const rs of [...old, ...(newRS ? [newRS] : [])].filter(isActive)) {
      const desired = desiredReplicasAnnotation(rs);
      if (desired !== undefined && desired !== replicasOf(d)) return true;
    }
    return false;
  }

  /**
   * The new ReplicaSet (created when asked and missing) and all the old ones, with revisions
   * synced: the new one's revision is above every old one's, and the Deployment shows it.
   */
  private async allReplicaSets(
    d: Deployment,
    sets: ReplicaSet[],
    create: boolean,
  ): Promise<{ newRS?: ReplicaSet; old: ReplicaSet[] }> {
    const { all: old } = findOldReplicaSets(d, sets);
    const newRS = await this.newReplicaSet(d, sets, old, create);
    return { newRS, old };
  }

  private async newReplicaSet(
    d: Deployment,
    sets: ReplicaSet[],
    old: ReplicaSet[],
    create: boolean,
  ): Promise<ReplicaSet | undefined> {
    const rsClient = this.context.client.resource('ReplicaSet');
    const existing = findOldReplicaSets(d, sets).newRS;
    const newRevision = maxRevision(old) + 1;
    if (existing) {
      const copy = structuredClone(existing);
      const annotationsChanged = setNewReplicaSetAnnotations(d, copy, newRevision, true);
      const minReadyChanged = (copy.spec.minReadySeconds ?? 0) !== (d.spec.minReadySeconds ?? 0);
      if (annotationsChanged || minReadyChanged) {
        copy.spec.minReadySeconds = d.spec.minReadySeconds;
        return rsClient.update(copy);
      }
      const status: DeploymentStatus = structuredClone(d.status ?? {});
      const revisionChanged = setDeploymentRevision(
        d,
        copy.metadata.annotations?.[REVISION_ANNOTATION] ?? '',
      );
      let needsUpdate = revisionChanged;
      if (hasProgressDeadline(d) && !getCondition(status, 'Progressing')) {
        setCondition(
          status,
          newCondition(
            'Progressing',
            'True',
            FOUND_NEW_RS_REASON,
            `Found new replica set "${copy.metadata.name}"`,
            this.now(),
          ),
        );
        needsUpdate = true;
      }
      if (needsUpdate) await this.writeStatus(d, status);
      return copy;
    }
    if (!create) return undefined;

    const collisionCount = d.status?.collisionCount;
    const hash = computeHash(d.spec.template, collisionCount);
    const template = structuredClone(d.spec.template);
    template.metadata = {
      ...template.metadata,
      labels: { ...template.metadata?.labels, [POD_TEMPLATE_HASH_LABEL]: hash },
    };
    const selector = structuredClone(d.spec.selector ?? {});
    selector.matchLabels = { ...selector.matchLabels, [POD_TEMPLATE_HASH_LABEL]: hash };
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        labels: { ...template.metadata.labels },
        ownerReferences: [
          {
            apiVersion: D_API_VERSION,
            kind: D_KIND,
            name: d.metadata.name!,
            uid: d.metadata.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: { replicas: 0, minReadySeconds: d.spec.minReadySeconds, selector, template },
    };
    rs.spec.replicas = newReplicaSetReplicas(d, [...old, rs], rs);
    setNewReplicaSetAnnotations(d, rs, newRevision, false);

    let created: ReplicaSet;
    let alreadyExisted = false;
    try {
      created = await rsClient.create(rs);
    } catch (error) {
      if (error instanceof ApiError && error.code === 409 && error.reason === 'AlreadyExists') {
        const found =
          this.replicaSets.get(objectKey(rs)) ??
          (await rsClient.get(rs.metadata.namespace, rs.metadata.name!));
        if (
          getControllerOf(found)?.uid === d.metadata.uid &&
          equalIgnoreHash(d.spec.template, found.spec.template)
        ) {
          created = found;
          alreadyExisted = true;
        } else {
          // Another template hashes to the same name: bump collisionCount, and the next sync hashes anew.
          await this.writeStatus(d, { ...d.status, collisionCount: (collisionCount ?? 0) + 1 });
          this.log.info('hash collision; bumping collisionCount', { deployment: objectKey(d) });
          throw error;
        }
      } else if (error instanceof ApiError && error.code === 403 && /being terminated/.test(error.message)) {
        throw error;
      } else {
        const message = `Failed to create new replica set "${rs.metadata.name}": ${(error as Error).message}`;
        if (hasProgressDeadline(d)) {
          const status: DeploymentStatus = structuredClone(d.status ?? {});
          setCondition(
            status,
            newCondition('Progressing', 'False', FAILED_RS_CREATE_REASON, message, this.now()),
          );
          await this.writeStatus(d, status).catch(() => undefined);
        }
        this.recorder.event(d, 'Warning', FAILED_RS_CREATE_REASON, message);
        throw error;
      }
    }
    if (!alreadyExisted && replicasOf(created) > 0)
      this.recorder.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled up replica set ${created.metadata.name} to ${replicasOf(created)}`,
      );
    let needsUpdate = setDeploymentRevision(d, String(newRevision));
    const status: DeploymentStatus = structuredClone(d.status ?? {});
    if (!alreadyExisted && hasProgressDeadline(d)) {
      setCondition(
        status,
        newCondition(
          'Progressing',
          'True',
          NEW_RS_REASON,
          `Created new replica set "${created.metadata.name}"`,
          this.now(),
        ),
      );
      needsUpdate = true;
    }
    if (needsUpdate) await this.writeStatus(d, status);
    return created;
  }

  // ---- scaling ----

  /** Sets a ReplicaSet's size (and replicas annotations); records ScalingReplicaSet when the size changed. */
  private async scaleReplicaSet(
    rs: ReplicaSet,
    size: number,
    d: Deployment,
    operation: 'up' | 'down',
  ): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    const sizeChanged = replicasOf(rs) !== size;
    const desired = replicasOf(d);
    const max = desired + maxSurge(d);
    if (!sizeChanged && !replicasAnnotationsNeedUpdate(rs, desired, max)) return { scaled: false, rs };
    const oldSize = replicasOf(rs);
    const copy = structuredClone(rs);
    copy.spec.replicas = size;
    setReplicasAnnotations(copy, desired, max);
    const updated = await this.context.client.resource('ReplicaSet').update(copy);
    if (sizeChanged)
      this.recorder.event(
        d,
        'Normal',
        'ScalingReplicaSet',
        `Scaled ${operation} replica set ${rs.metadata.name} to ${size} from ${oldSize}`,
      );
    return { scaled: sizeChanged, rs: updated };
  }

  private scaleAndRecord(
    rs: ReplicaSet,
    size: number,
    d: Deployment,
  ): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    if (replicasOf(rs) === size) return Promise.resolve({ scaled: false, rs });
    return this.scaleReplicaSet(rs, size, d, replicasOf(rs) < size ? 'up' : 'down');
  }

  /**
   * Applies a change of replicas: the single active ReplicaSet takes it all; otherwise, during
   * a rolling update, every active ReplicaSet grows or shrinks in proportion to its size, the
   * rounding leftovers going to the largest, so a half-done rollout keeps its proportions.
   */
  private async scale(d: Deployment, newRS: ReplicaSet | undefined, old: ReplicaSet[]): Promise<void> {
    const only = findActiveOrLatest(newRS, old);
    if (only) {
      if (replicasOf(only) !== replicasOf(d)) await this.scaleAndRecord(only, replicasOf(d), d);
      return;
    }
    if (isSaturated(d, newRS)) {
      for (const rs of old.filter(isActive)) await this.scaleAndRecord(rs, 0, d);
      return;
    }
    if (!isRollingUpdate(d)) return;
    const active = [...old, ...(newRS ? [newRS] : [])].filter(isActive);
    const allowed = replicasOf(d) > 0 ? replicasOf(d) + maxSurge(d) : 0;
    const toAdd = allowed - specReplicas(active);
    if (toAdd > 0) active.sort(bySizeNewer);
    else if (toAdd < 0) active.sort(bySizeOlder);
    const operation = toAdd > 0 ? 'up' : 'down';
    let added = 0;
    const sizes = new Map<string, number>();
    for (const rs of active) {
      if (toAdd !== 0) {
        const change = proportion(rs, d, toAdd, added);
        sizes.set(rs.metadata.name!, replicasOf(rs) + change);
        added += change;
      } else sizes.set(rs.metadata.name!, replicasOf(rs));
    }
    for (const [i, rs] of active.entries()) {
      if (i === 0 && toAdd !== 0)
        sizes.set(rs.metadata.name!, Math.max(0, sizes.get(rs.metadata.name!)! + toAdd - added));
      await this.scaleReplicaSet(rs, sizes.get(rs.metadata.name!)!, d, operation);
    }
  }

  /** Scaling and status only: for paused Deployments and changes of replicas. */
  private async syncScaleAndStatus(d: Deployment, sets: ReplicaSet[]): Promise<void> {
    const { newRS, old } = await this.allReplicaSets(d, sets, false);
    await this.scale(d, newRS, old);
    if (d.spec.paused) await this.cleanup(d, old);
    await this.syncDeploymentStatus(d, this.current(old), this.current(newRS ? [newRS] : [])[0]);
  }

  private async syncStatusOnly(d: Deployment, sets: ReplicaSet[]): Promise<void> {
    const { newRS, old } = await this.allReplicaSets(d, sets, false);
    await this.syncDeploymentStatus(d, old, newRS);
  }

  /** The cached versions of ReplicaSets we may have just written (their status is the controller's). */
  private current(sets: ReplicaSet[]): ReplicaSet[] {
    return sets.map((rs) => {
      const cached = this.replicaSets.get(objectKey(rs));
      return cached && Number(cached.metadata.resourceVersion) > Number(rs.metadata.resourceVersion)
        ? cached
        : rs;
    });
  }

  // ---- rolling update ----

  private async rolloutRolling(d: Deployment, sets: ReplicaSet[]): Promise<void> {
    const { newRS, old } = await this.allReplicaSets(d, sets, true);
    const all = [...old, newRS!];
    if (await this.reconcileNewReplicaSet(all, newRS!, d)) return this.syncRolloutStatus(d, old, newRS);
    if (await this.reconcileOldReplicaSets(all, old.filter(isActive), newRS!, d))
      return this.syncRolloutStatus(d, old, newRS);
    if (deploymentComplete(d, d.status ?? {})) await this.cleanup(d, old);
    return this.syncRolloutStatus(d, old, newRS);
  }

  private async reconcileNewReplicaSet(
    all: ReplicaSet[],
    newRS: ReplicaSet,
    d: Deployment,
  ): Promise<boolean> {
    if (replicasOf(newRS) === replicasOf(d)) return false;
    if (replicasOf(newRS) > replicasOf(d)) return (await this.scaleAndRecord(newRS, replicasOf(d), d)).scaled;
    return (await this.scaleAndRecord(newRS, newReplicaSetReplicas(d, all, newRS), d)).scaled;
  }

  /**
   * Scales old ReplicaSets down as far as availability allows: first their unhealthy replicas
   * (which cost no availability), then healthy ones down to replicas - maxUnavailable.
   */
  private async reconcileOldReplicaSets(
    all: ReplicaSet[],
    old: ReplicaSet[],
    newRS: ReplicaSet,
    d: Deployment,
  ): Promise<boolean> {
    if (specReplicas(old) === 0) return false;
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const newUnavailable = Math.max(0, replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0));
    const maxScaledDown = specReplicas(all) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    const { sets: cleaned, scaledDown } = await this.cleanupUnhealthyReplicas(old, d, maxScaledDown);
    const scaled = await this.scaleDownOldForRollingUpdate([...cleaned, newRS], cleaned, d);
    return scaledDown + scaled > 0;
  }

  private async cleanupUnhealthyReplicas(
    old: ReplicaSet[],
    d: Deployment,
    maxCleanup: number,
  ): Promise<{ sets: ReplicaSet[]; scaledDown: number }> {
    const sets = [...old].sort(byCreation);
    let total = 0;
    for (const [i, rs] of sets.entries()) {
      if (total >= maxCleanup) break;
      const replicas = replicasOf(rs);
      const available = Math.min(rs.status?.availableReplicas ?? 0, replicas);
      if (replicas === 0 || replicas === available) continue;
      const count = Math.min(maxCleanup - total, replicas - available);
      sets[i] = (await this.scaleAndRecord(rs, replicas - count, d)).rs;
      total += count;
    }
    return { sets, scaledDown: total };
  }

  private async scaleDownOldForRollingUpdate(
    all: ReplicaSet[],
    old: ReplicaSet[],
    d: Deployment,
  ): Promise<number> {
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const available = availableAtLeast(all);
    if (available <= minAvailable) return 0;
    const toScaleDown = available - minAvailable;
    let total = 0;
    for (const rs of [...old].sort(byCreation)) {
      if (total >= toScaleDown) break;
      if (replicasOf(rs) === 0) continue;
      const count = Math.min(replicasOf(rs), toScaleDown - total);
      await this.scaleAndRecord(rs, replicasOf(rs) - count, d);
      total += count;
    }
    return total;
  }

  // ---- recreate ----

  private async rolloutRecreate(d: Deployment, sets: ReplicaSet[]): Promise<void> {
    let { newRS, old } = await this.allReplicaSets(d, sets, false);
    let scaledDown = false;
    for (const rs of old.filter(isActive))
      if ((await this.scaleAndRecord(rs, 0, d)).scaled) scaledDown = true;
    if (scaledDown) return this.syncRolloutStatus(d, old, newRS);
    if (this.oldPodsRunning(d, newRS, old, sets)) return this.syncRolloutStatus(d, old, newRS);
    if (!newRS) ({ newRS, old } = await this.allReplicaSets(d, sets, true));
    await this.scaleAndRecord(newRS!, replicasOf(d), d);
    if (deploymentComplete(d, d.status ?? {})) await this.cleanup(d, old);
    return this.syncRolloutStatus(d, old, newRS);
  }

  /** Whether any pod of an old ReplicaSet may still be running (terminating ones included). */
  private oldPodsRunning(
    d: Deployment,
    newRS: ReplicaSet | undefined,
    old: ReplicaSet[],
    sets: ReplicaSet[],
  ): boolean {
    if (statusReplicas(old) > 0) return true;
    for (const [uid, pods] of this.podsByReplicaSet(d, sets)) {
      if (newRS && uid === newRS.metadata.uid) continue;
      if (pods.some((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')) return true;
    }
    return false;
  }

  // ---- history ----

  /** Deletes the oldest old ReplicaSets beyond revisionHistoryLimit, only those fully scaled down. */
  private async cleanup(d: Deployment, old: ReplicaSet[]): Promise<void> {
    const limit = d.spec.revisionHistoryLimit;
    if (limit === undefined) return;
    const cleanable = old.filter((rs) => !rs.metadata.deletionTimestamp).sort(byRevision);
    const diff = cleanable.length - limit;
    for (let i = 0; i < diff; i++) {
      const rs = cleanable[i];
      if (
        (rs.status?.replicas ?? 0) !== 0 ||
        replicasOf(rs) !== 0 ||
        (rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)
      )
        continue;
      try {
        await this.context.client.resource('ReplicaSet').delete(rs.metadata.namespace, rs.metadata.name!);
      } catch (error) {
        if (!(error instanceof ApiError && error.code === 404)) throw error;
      }
    }
  }

  // ---- status ----

  private calculateStatus(d: Deployment, all: ReplicaSet[], newRS: ReplicaSet | undefined): DeploymentStatus {
    const available = availableReplicas(all);
    const status: DeploymentStatus = {
      observedGeneration: d.metadata.generation,
      replicas: statusReplicas(all),
      updatedReplicas: newRS ? statusReplicas([newRS]) : 0,
      readyReplicas: readyReplicas(all),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, specReplicas(all) - available),
    };
    if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
    if (d.status?.conditions) status.conditions = structuredClone(d.status.conditions);
    if (available >= replicasOf(d) - maxUnavailable(d))
      setCondition(
        status,
        newCondition(
          'Available',
          'True',
          MIN_AVAILABLE_REASON,
          'Deployment has minimum availability.',
          this.now(),
        ),
      );
    else
      setCondition(
        status,
        newCondition(
          'Available',
          'False',
          MIN_UNAVAILABLE_REASON,
          'Deployment does not have minimum availability.',
          this.now(),
        ),
      );
    return status;
  }

  private async syncDeploymentStatus(
    d: Deployment,
    old: ReplicaSet[],
    newRS: ReplicaSet | undefined,
  ): Promise<void> {
    const all = [...old, ...(newRS ? [newRS] : [])];
    const status = this.calculateStatus(d, all, newRS);
    if (sameStatus(d.status, status)) return;
    await this.writeStatus(d, status);
  }

  /** Status plus the Progressing condition: complete, progressing, or past its deadline. */
  private async syncRolloutStatus(
    d: Deployment,
    oldSets: ReplicaSet[],
    newSet: ReplicaSet | undefined,
  ): Promise<void> {
    const old = this.current(oldSets);
    const newRS = newSet && this.current([newSet])[0];
    const all = [...old, ...(newRS ? [newRS] : [])];
    const status = this.calculateStatus(d, all, newRS);
    const now = this.now();
    if (!hasProgressDeadline(d)) removeCondition(status, 'Progressing');
    const current = getCondition(d.status, 'Progressing');
    const complete =
      status.replicas === status.updatedReplicas &&
      current !== undefined &&
      current.reason === NEW_RS_AVAILABLE_REASON;
    if (hasProgressDeadline(d) && !complete) {
      const subject = newRS ? `ReplicaSet "${newRS.metadata.name}"` : `Deployment "${d.metadata.name}"`;
      if (deploymentComplete(d, status)) {
        setCondition(
          status,
          newCondition(
            'Progressing',
            'True',
            NEW_RS_AVAILABLE_REASON,
            `${subject} has successfully progressed.`,
            now,
          ),
        );
      } else if (deploymentProgressing(d, status)) {
        const condition = newCondition(
          'Progressing',
          'True',
          RS_UPDATED_REASON,
          `${subject} is progressing.`,
          now,
        );
        if (current) {
          if (current.status === 'True') condition.lastTransitionTime = current.lastTransitionTime;
          removeCondition(status, 'Progressing');
        }
        setCondition(status, condition);
      } else if (deploymentTimedOut(d, status, now)) {
        setCondition(
          status,
          newCondition(
            'Progressing',
            'False',
            TIMED_OUT_REASON,
            `${subject} has timed out progressing.`,
            now,
          ),
        );
      }
    }
    const failures = replicaFailures(all, newRS);
    if (failures) setCondition(status, failures);
    else removeCondition(status, 'ReplicaFailure');
    if (sameStatus(d.status, status)) {
      this.requeueStuck(d, status);
      return;
    }
    await this.writeStatus(d, status);
  }

  /**
   * A rollout that shows no progress is only noticed as timed out if something syncs it: come
   * back when its deadline passes.
   */
  private requeueStuck(d: Deployment, status: DeploymentStatus): void {
    const current = getCondition(d.status, 'Progressing');
    if (!hasProgressDeadline(d) || !current) return;
    if (deploymentComplete(d, status) || current.reason === TIMED_OUT_REASON) return;
    const from = Date.parse(current.lastUpdateTime ?? '');
    if (Number.isNaN(from)) return;
    const after = from + (d.spec.progressDeadlineSeconds ?? 0) * 1000 - this.now();
    // Timestamps have whole seconds: come back just after the deadline has surely passed.
    this.queue.addAfter(objectKey(d), Math.max(0, after) + 1000);
  }
}

function replicaFailures(all: ReplicaSet[], newRS: ReplicaSet | undefined) {
  const fromNew = newRS?.status?.conditions?.find((c) => c.type === 'ReplicaFailure');
  if (fromNew) return replicaSetToDeploymentCondition(fromNew);
  for (const rs of all) {
    const condition = rs.status?.conditions?.find((c) => c.type === 'ReplicaFailure');
    if (condition) return replicaSetToDeploymentCondition(condition);
  }
  return undefined;
}

function sameStatus(a: DeploymentStatus | undefined, b: DeploymentStatus): boolean {
  const norm = (s: DeploymentStatus | undefined) => {
    const c = structuredClone(s ?? {});
    for (const key of [
      'replicas',
      'updatedReplicas',
      'readyReplicas',
      'availableReplicas',
      'unavailableReplicas',
    ] as const)
      c[key] ??= 0;
    if (c.conditions?.length === 0) delete c.conditions;
    return JSON.stringify(Object.fromEntries(Object.entries(c).sort(([x], [y]) => (x < y ? -1 : 1))));
  };
  return norm(a) === norm(b);
}

function safeSelector(d: Deployment): Selector | undefined {
  try {
    return selectorFromLabelSelector(d.spec.selector);
  } catch {
    return undefined;
  }
}
