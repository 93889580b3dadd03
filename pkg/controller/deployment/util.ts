/**
 * The Deployment bookkeeping Kubernetes keeps on ReplicaSets and Deployments, kept exactly so
 * the real `kubectl rollout history/undo` read bosun's objects as they read Kubernetes':
 * the pod-template-hash, revision annotations, desired/max replicas annotations, the surge and
 * unavailability fenceposts, and the Deployment conditions.
 */
import {
  Deployment,
  DeploymentCondition,
  DeploymentStatus,
  PodTemplateSpec,
  ReplicaSet,
  ReplicaSetCondition,
  scaledValueFromIntOrPercent,
} from '../../api';

export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY_ANNOTATION = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS_ANNOTATION = 'deployment.kubernetes.io/max-replicas';
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
export const DEPRECATED_ROLLBACK_TO_ANNOTATION = 'deprecated.deployment.rollback.to';
/** How long revision-history may grow before the oldest entries are dropped. */
export const MAX_REVISION_HISTORY_CHARS = 2000;

/** Deployment annotations the controller never copies onto its ReplicaSets. */
export const ANNOTATIONS_NOT_COPIED = new Set([
  LAST_APPLIED_ANNOTATION,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  DEPRECATED_ROLLBACK_TO_ANNOTATION,
]);

// Condition reasons, as Kubernetes names them.
export const NEW_RS_REASON = 'NewReplicaSetCreated';
export const FOUND_NEW_RS_REASON = 'FoundNewReplicaSet';
export const RS_UPDATED_REASON = 'ReplicaSetUpdated';
export const NEW_RS_AVAILABLE_REASON = 'NewReplicaSetAvailable';
export const TIMED_OUT_REASON = 'ProgressDeadlineExceeded';
export const PAUSED_REASON = 'DeploymentPaused';
export const RESUMED_REASON = 'DeploymentResumed';
export const FAILED_RS_CREATE_REASON = 'ReplicaSetCreateError';
export const MIN_AVAILABLE_REASON = 'MinimumReplicasAvailable';
export const MIN_UNAVAILABLE_REASON = 'MinimumReplicasUnavailable';

const INT32_MAX = 2147483647;

// ---- canonical form, hash, template equality ----

/**
 * The value with object keys sorted and empty maps, lists and absent values dropped, so two
 * templates that mean the same compare and hash the same (Kubernetes' semantic equality
 * treats nil and empty alike).
 */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const inner = canonical((value as Record<string, unknown>)[key]);
    if (inner === undefined) continue;
    if (Array.isArray(inner) && inner.length === 0) continue;
    if (inner !== null && typeof inner === 'object' && Object.keys(inner).length === 0) continue;
    out[key] = inner;
  }
  return out;
}

function fnv32a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let hash = seed;
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Consonants and digits, as Kubernetes' rand.SafeEncodeString: no vowels, no words. */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * The pod-template-hash: FNV-32a over the template's canonical JSON, plus the collision count
 * as 8 little-endian bytes when set, written with the safe alphabet (as Kubernetes' ComputeHash,
 * which hashes the Go struct's printed form instead).
 */
export function computeHash(template: PodTemplateSpec | undefined, collisionCount?: number): string {
  let hash = fnv32a(Buffer.from(JSON.stringify(canonical(template ?? {})), 'utf8'));
  if (collisionCount !== undefined) {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setUint32(0, collisionCount >>> 0, true);
    hash = fnv32a(bytes, hash);
  }
  return [...String(hash)].map((c) => SAFE_ALPHABET[c.charCodeAt(0) % SAFE_ALPHABET.length]).join('');
}

function withoutHashLabel(template: PodTemplateSpec | undefined): unknown {
  const copy = structuredClone(template ?? {}) as PodTemplateSpec;
  if (copy.metadata?.labels) delete copy.metadata.labels[POD_TEMPLATE_HASH_LABEL];
  return canonical(copy);
}

/** Whether two templates are the same once the pod-template-hash label is ignored. */
export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  return JSON.stringify(withoutHashLabel(a)) === JSON.stringify(withoutHashLabel(b));
}

// ---- revisions and annotations ----

/** The revision annotation as a number: 0 when absent, undefined when unparsable. */
export function revisionOf(object: {
  metadata: { annotations?: Record<string, string> };
}): number | undefined {
  const value = object.metadata.annotations?.[REVISION_ANNOTATION];
  if (value === undefined) return 0;
  return /^-?\d+$/.test(value) ? Number(value) : undefined;
}

export function maxRevision(replicaSets: ReplicaSet[]): number {
  let max = 0;
  for (const rs of replicaSets) max = Math.max(max, revisionOf(rs) ?? 0);
  return max;
}

/** Copies the Deployment's own annotations (not the controller's bookkeeping) onto the ReplicaSet. */
function copyDeploymentAnnotations(d: Deployment, rs: ReplicaSet): boolean {
  let changed = false;
  const annotations = (rs.metadata.annotations ??= {});
  for (const [key, value] of Object.entries(d.metadata.annotations ?? {})) {
    if (ANNOTATIONS_NOT_COPIED.has(key) || annotations[key] === value) continue;
    annotations[key] = value;
    changed = true;
  }
  return changed;
}

export function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  const annotations = (rs.metadata.annotations ??= {});
  let changed = false;
  if (annotations[DESIRED_REPLICAS_ANNOTATION] !== String(desired)) {
    annotations[DESIRED_REPLICAS_ANNOTATION] = String(desired);
    changed = true;
  }
  if (annotations[MAX_REPLICAS_ANNOTATION] !== String(max)) {
    annotations[MAX_REPLICAS_ANNOTATION] = String(max);
    changed = true;
  }
  return changed;
}

export function replicasAnnotationsNeedUpdate(rs: ReplicaSet, desired: number, max: number): boolean {
  const annotations = rs.metadata.annotations;
  return (
    !annotations ||
    annotations[DESIRED_REPLICAS_ANNOTATION] !== String(desired) ||
    annotations[MAX_REPLICAS_ANNOTATION] !== String(max)
  );
}

/**
 * Sets the new ReplicaSet's annotations: the Deployment's own, the revision (only ever raised),
 * and when a revision is raised on a ReplicaSet that had one — a rollback to it — the old one
 * appended to revision-history. A ReplicaSet about to be created also gets the replicas ones.
 */
export function setNewReplicaSetAnnotations(
  d: Deployment,
  rs: ReplicaSet,
  newRevision: number,
  exists: boolean,
): boolean {
  let changed = copyDeploymentAnnotations(d, rs);
  const annotations = (rs.metadata.annotations ??= {});
  const oldRevision = annotations[REVISION_ANNOTATION];
  let oldRevisionNumber = 0;
  if (oldRevision !== undefined && oldRevision !== '') {
    if (!/^-?\d+$/.test(oldRevision)) return false;
    oldRevisionNumber = Number(oldRevision);
  }
  if (oldRevisionNumber < newRevision) {
    annotations[REVISION_ANNOTATION] = String(newRevision);
    changed = true;
    if (oldRevision !== undefined) {
      const history = annotations[REVISION_HISTORY_ANNOTATION] ?? '';
      if (history === '') annotations[REVISION_HISTORY_ANNOTATION] = oldRevision;
      else {
        const revisions = history.split(',');
        let total = history.length + oldRevision.length + 1;
        let start = 0;
        while (total > MAX_REVISION_HISTORY_CHARS && start < revisions.length) {
          total -= revisions[start].length + 1;
          start++;
        }
        if (total <= MAX_REVISION_HISTORY_CHARS)
          annotations[REVISION_HISTORY_ANNOTATION] = [...revisions.slice(start), oldRevision].join(',');
      }
    }
  }
  if (!exists && setReplicasAnnotations(rs, replicasOf(d), replicasOf(d) + maxSurge(d))) changed = true;
  return changed;
}

/** Sets the Deployment's revision annotation; true when it changed. */
export function setDeploymentRevision(d: Deployment, revision: string): boolean {
  const annotations = (d.metadata.annotations ??= {});
  if (annotations[REVISION_ANNOTATION] === revision) return false;
  annotations[REVISION_ANNOTATION] = revision;
  return true;
}

export function desiredReplicasAnnotation(rs: ReplicaSet): number | undefined {
  const value = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

export function maxReplicasAnnotation(rs: ReplicaSet): number | undefined {
  const value = rs.metadata.annotations?.[MAX_REPLICAS_ANNOTATION];
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

// ---- sizes ----

export function replicasOf(object: Deployment | ReplicaSet): number {
  return object.spec.replicas ?? 1;
}

export function isRollingUpdate(d: Deployment): boolean {
  return (d.spec.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

/**
 * maxSurge rounded up and maxUnavailable rounded down out of `desired`; when both come to 0
 * (validation forbids asking for that, rounding can produce it) unavailability becomes 1.
 */
export function resolveFenceposts(d: Deployment, desired: number): { surge: number; unavailable: number } {
  const rolling = d.spec.strategy?.rollingUpdate;
  const surge = scaledValueFromIntOrPercent(rolling?.maxSurge ?? '25%', desired, true);
  let unavailable = scaledValueFromIntOrPercent(rolling?.maxUnavailable ?? '25%', desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export function maxSurge(d: Deployment): number {
  if (!isRollingUpdate(d)) return 0;
  return resolveFenceposts(d, replicasOf(d)).surge;
}

export function maxUnavailable(d: Deployment): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  return Math.min(resolveFenceposts(d, replicas).unavailable, replicas);
}

export const specReplicas = (sets: ReplicaSet[]) => sets.reduce((n, rs) => n + replicasOf(rs), 0);
export const statusReplicas = (sets: ReplicaSet[]) =>
  sets.reduce((n, rs) => n + (rs.status?.replicas ?? 0), 0);
export const readyReplicas = (sets: ReplicaSet[]) =>
  sets.reduce((n, rs) => n + (rs.status?.readyReplicas ?? 0), 0);
export const availableReplicas = (sets: ReplicaSet[]) =>
  sets.reduce((n, rs) => n + (rs.status?.availableReplicas ?? 0), 0);

/**
 * Pods the ReplicaSets may have right now: the larger of what each wants and what it last
 * reported. A ReplicaSet just scaled down still has its extra pods until its controller has
 * deleted them and said so; counting them keeps a rollout from surging past its bound meanwhile.
 */
export const podsAtMost = (sets: ReplicaSet[]) =>
  sets.reduce((n, rs) => n + Math.max(replicasOf(rs), rs.status?.replicas ?? 0), 0);

/**
 * Pods that may be counted on as available: a ReplicaSet's reported availability, but never
 * more than it wants — after a scale-down its status lags until the extra pods are gone, and
 * scaling down further on the strength of pods about to be deleted would go below the floor.
 */
export const availableAtLeast = (sets: ReplicaSet[]) =>
  sets.reduce((n, rs) => n + Math.min(rs.status?.availableReplicas ?? 0, replicasOf(rs)), 0);

export const isActive = (rs: ReplicaSet) => replicasOf(rs) > 0;

function createdAt(rs: ReplicaSet): number {
  return Date.parse(rs.metadata.creationTimestamp ?? '') || 0;
}

/** Oldest first; the name breaks ties. */
export function byCreation(a: ReplicaSet, b: ReplicaSet): number {
  const diff = createdAt(a) - createdAt(b);
  if (diff !== 0) return diff;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '')
    ? -1
    : (a.metadata.name ?? '') > (b.metadata.name ?? '')
      ? 1
      : 0;
}

/** Largest first; among equals the newest first (where to add replicas). */
export const bySizeNewer = (a: ReplicaSet, b: ReplicaSet) =>
  replicasOf(b) - replicasOf(a) || byCreation(b, a);
/** Largest first; among equals the oldest first (where to remove replicas). */
export const bySizeOlder = (a: ReplicaSet, b: ReplicaSet) =>
  replicasOf(b) - replicasOf(a) || byCreation(a, b);
/** Lowest revision first; creation time breaks ties. */
export const byRevision = (a: ReplicaSet, b: ReplicaSet) =>
  (revisionOf(a) ?? 0) - (revisionOf(b) ?? 0) || byCreation(a, b);

/** The oldest ReplicaSet whose template is the Deployment's. */
export function findNewReplicaSet(d: Deployment, sets: ReplicaSet[]): ReplicaSet | undefined {
  return [...sets].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
}

/** Every other ReplicaSet (all of them, and those with replicas). */
export function findOldReplicaSets(
  d: Deployment,
  sets: ReplicaSet[],
): { all: ReplicaSet[]; active: ReplicaSet[]; newRS?: ReplicaSet } {
  const newRS = findNewReplicaSet(d, sets);
  const all = sets.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid);
  return { all, active: all.filter(isActive), newRS };
}

/**
 * The replicas the new ReplicaSet may have now: for a rolling update as many as the surge
 * allows (never more than desired); for Recreate the desired count.
 */
export function newReplicaSetReplicas(d: Deployment, all: ReplicaSet[], newRS: ReplicaSet): number {
  if (!isRollingUpdate(d)) return replicasOf(d);
  const maxTotal = replicasOf(d) + maxSurge(d);
  const current = podsAtMost(all);
  if (current >= maxTotal) return replicasOf(newRS);
  const scaleUp = Math.min(maxTotal - current, replicasOf(d) - replicasOf(newRS));
  return replicasOf(newRS) + Math.max(0, scaleUp);
}

/** The ReplicaSet with the desired count and all available: the others may go to zero. */
export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  const desired = desiredReplicasAnnotation(rs);
  if (desired === undefined) return false;
  return (
    replicasOf(rs) === replicasOf(d) &&
    desired === replicasOf(d) &&
    (rs.status?.availableReplicas ?? 0) === replicasOf(d)
  );
}

/** The only active ReplicaSet; the newest one if none is active; undefined when several are. */
export function findActiveOrLatest(newRS: ReplicaSet | undefined, old: ReplicaSet[]): ReplicaSet | undefined {
  if (!newRS && old.length === 0) return undefined;
  const sortedOld = [...old].sort((a, b) => byCreation(b, a));
  const active = [...sortedOld, ...(newRS ? [newRS] : [])].filter(isActive);
  if (active.length === 0) return newRS ?? sortedOld[0];
  if (active.length === 1) return active[0];
  return undefined;
}

/** The change of a ReplicaSet's size, proportional to its share, when the Deployment's total changes. */
export function proportion(rs: ReplicaSet, d: Deployment, toAdd: number, added: number): number {
  if (replicasOf(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

function replicaSetFraction(rs: ReplicaSet, d: Deployment): number {
  if (replicasOf(d) === 0) return -replicasOf(rs);
  const deploymentReplicas = replicasOf(d) + maxSurge(d);
  const annotated = maxReplicasAnnotation(rs) ?? d.status?.replicas ?? 0;
  if (annotated === 0) return 0;
  const size = (replicasOf(rs) * deploymentReplicas) / annotated;
  return Math.round(size) - replicasOf(rs);
}

// ---- conditions ----

export function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function hasProgressDeadline(d: Deployment): boolean {
  const deadline = d.spec.progressDeadlineSeconds;
  return deadline !== undefined && deadline !== INT32_MAX;
}

export function getCondition(
  status: DeploymentStatus | undefined,
  type: string,
): DeploymentCondition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

export function newCondition(
  type: string,
  status: 'True' | 'False' | 'Unknown',
  reason: string,
  message: string,
  now: number,
): DeploymentCondition {
  const time = timestamp(now);
  return { type, status, lastUpdateTime: time, lastTransitionTime: time, reason, message };
}

/**
 * Sets a condition unless one of the same status and reason is there; keeps its transition
 * time when only the reason changes. The new condition goes last, as in Kubernetes.
 */
export function setCondition(status: DeploymentStatus, condition: DeploymentCondition): void {
  const current = getCondition(status, condition.type);
  if (current && current.status === condition.status && current.reason === condition.reason) return;
  if (current && current.status === condition.status)
    condition.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== condition.type), condition];
}

export function removeCondition(status: DeploymentStatus, type: string): void {
  if (!status.conditions) return;
  status.conditions = status.conditions.filter((c) => c.type !== type);
  if (status.conditions.length === 0) delete status.conditions;
}

export function replicaSetToDeploymentCondition(condition: ReplicaSetCondition): DeploymentCondition {
  return {
    type: condition.type,
    status: condition.status,
    lastTransitionTime: condition.lastTransitionTime,
    lastUpdateTime: condition.lastTransitionTime,
    reason: condition.reason,
    message: condition.message,
  };
}

/** Every replica updated, present and available, and the latest spec observed. */
export function deploymentComplete(d: Deployment, status: DeploymentStatus): boolean {
  const replicas = replicasOf(d);
  return (
    (status.updatedReplicas ?? 0) === replicas &&
    (status.replicas ?? 0) === replicas &&
    (status.availableReplicas ?? 0) === replicas &&
    (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

/** Whether the new status shows progress over the Deployment's current one. */
export function deploymentProgressing(d: Deployment, status: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (status.replicas ?? 0) - (status.updatedReplicas ?? 0);
  return (
    (status.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (status.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (status.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

export function deploymentTimedOut(d: Deployment, status: DeploymentStatus, now: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const condition = getCondition(status, 'Progressing');
  if (!condition) return false;
  if (condition.reason === NEW_RS_AVAILABLE_REASON) return false;
  if (condition.reason === TIMED_OUT_REASON) return true;
  const from = Date.parse(condition.lastUpdateTime ?? '');
  if (Number.isNaN(from)) return false;
  return from + (d.spec.progressDeadlineSeconds ?? 0) * 1000 < now;
}
