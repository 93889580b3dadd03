/**
 * What the workload controllers need to know about a pod: whether it counts (active), is
 * ready, is available (ready for minReadySeconds), and which pods are worth least when some
 * must go (kube-controller-manager's ActivePodsWithRanks ordering).
 */
import { Pod, PodCondition } from '../../api';

/** Neither finished nor being deleted: a pod that counts toward a controller's replicas. */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

export function readyCondition(pod: Pod): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready');
}

export function isPodReady(pod: Pod): boolean {
  return readyCondition(pod)?.status === 'True';
}

function parseTime(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * Milliseconds until a ready pod becomes available (0: it is), or undefined when it is not
 * ready. Available means ready for longer than minReadySeconds, as Kubernetes' IsPodAvailable.
 */
export function msUntilAvailable(pod: Pod, minReadySeconds: number, now: number): number | undefined {
  const ready = readyCondition(pod);
  if (ready?.status !== 'True') return undefined;
  if (minReadySeconds <= 0) return 0;
  const since = parseTime(ready.lastTransitionTime);
  // Ready with no transition time: Kubernetes cannot tell how long, so never available.
  if (since === undefined) return undefined;
  const at = since + minReadySeconds * 1000;
  return at < now ? 0 : at - now + 1;
}

export function isPodAvailable(pod: Pod, minReadySeconds: number, now: number): boolean {
  return msUntilAvailable(pod, minReadySeconds, now) === 0;
}

const PHASE_ORDINAL: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

function deletionCost(pod: Pod): number {
  const value = pod.metadata.annotations?.[POD_DELETION_COST_ANNOTATION];
  if (value === undefined || !/^-?\d+$/.test(value)) return 0;
  const cost = Number(value);
  return Number.isSafeInteger(cost) ? cost : 0;
}

function maxRestarts(pod: Pod): { regular: number; sidecar: number } {
  let regular = 0;
  for (const status of pod.status?.containerStatuses ?? []) regular = Math.max(regular, status.restartCount);
  const sidecars = new Set(
    (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name),
  );
  let sidecar = 0;
  for (const status of pod.status?.initContainerStatuses ?? [])
    if (sidecars.has(status.name)) sidecar = Math.max(sidecar, status.restartCount);
  return { regular, sidecar };
}

/**
 * -1, 0 or 1 comparing two timestamps by the log2 of their age in nanoseconds, so pods of
 * roughly the same age count as equal and the tie goes to a random-looking order (their
 * uid): scale-down then spreads over pods of similar age instead of always the newest.
 */
function logarithmicRankDiff(t1: number, t2: number, now: number): number {
  const rank = (t: number) => {
    const age = (now - t) * 1e6;
    return age > 0 ? Math.floor(Math.log2(age)) : -1;
  };
  return rank(t1) - rank(t2);
}

/** True when t1 should go first: an absent time first, else the later one. */
function afterOrZero(t1: number | undefined, t2: number | undefined): boolean {
  if (t1 === undefined || t2 === undefined) return t1 === undefined;
  return t1 > t2;
}

export interface RankedPod {
  pod: Pod;
  /** How many related pods share its node: doubled-up pods go first. */
  rank: number;
}

/**
 * Negative when `a` is worth less than `b` (deleted first): unscheduled before scheduled;
 * Pending before Unknown before Running; not ready before ready; lower deletion cost first;
 * more pods on the same node first; ready for less time first; more restarts first; newer
 * first. Times compare in logarithmic buckets with the uid as tie-break, as Kubernetes'
 * LogarithmicScaleDown (GA) does.
 */
export function comparePodsForDeletion(a: RankedPod, b: RankedPod, now: number): number {
  const before = (aFirst: boolean) => (aFirst ? -1 : 1);
  const pa = a.pod;
  const pb = b.pod;
  const nodeA = pa.spec.nodeName ?? '';
  const nodeB = pb.spec.nodeName ?? '';
  if (nodeA !== nodeB && (nodeA === '' || nodeB === '')) return before(nodeA === '');
  const phaseA = PHASE_ORDINAL[pa.status?.phase ?? ''] ?? 0;
  const phaseB = PHASE_ORDINAL[pb.status?.phase ?? ''] ?? 0;
  if (phaseA !== phaseB) return before(phaseA < phaseB);
  const readyA = isPodReady(pa);
  const readyB = isPodReady(pb);
  if (readyA !== readyB) return before(!readyA);
  const costA = deletionCost(pa);
  const costB = deletionCost(pb);
  if (costA !== costB) return before(costA < costB);
  if (a.rank !== b.rank) return before(a.rank > b.rank);
  const uidOrder = () => {
    const ua = pa.metadata.uid ?? '';
    const ub = pb.metadata.uid ?? '';
    return ua === ub ? 0 : before(ua < ub);
  };
  if (readyA && readyB) {
    const ta = parseTime(readyCondition(pa)?.lastTransitionTime);
    const tb = parseTime(readyCondition(pb)?.lastTransitionTime);
    if (ta !== tb) {
      if (ta === undefined || tb === undefined) return before(afterOrZero(ta, tb));
      const diff = logarithmicRankDiff(ta, tb, now);
      if (diff === 0) return uidOrder();
      return before(diff < 0);
    }
  }
  const restartsA = maxRestarts(pa);
  const restartsB = maxRestarts(pb);
  if (restartsA.regular !== restartsB.regular) return before(restartsA.regular > restartsB.regular);
  if (restartsA.sidecar !== restartsB.sidecar) return before(restartsA.sidecar > restartsB.sidecar);
  const ca = parseTime(pa.metadata.creationTimestamp);
  const cb = parseTime(pb.metadata.creationTimestamp);
  if (ca !== cb) {
    if (ca === undefined || cb === undefined) return before(afterOrZero(ca, cb));
    const diff = logarithmicRankDiff(ca, cb, now);
    if (diff === 0) return uidOrder();
    return before(diff < 0);
  }
  return 0;
}

/**
 * The `count` pods to delete out of `pods`: the least valuable, where a pod's rank is how
 * many of `related` (the pods of every ReplicaSet of the same owner) share its node.
 */
export function podsToDelete(pods: Pod[], related: Pod[], count: number, now: number): Pod[] {
  if (count >= pods.length) return pods.slice();
  const perNode = new Map<string, number>();
  for (const pod of related) {
    if (!isPodActive(pod)) continue;
    const node = pod.spec.nodeName ?? '';
    perNode.set(node, (perNode.get(node) ?? 0) + 1);
  }
  const ranked = pods.map((pod) => ({ pod, rank: perNode.get(pod.spec.nodeName ?? '') ?? 0 }));
  ranked.sort((a, b) => comparePodsForDeletion(a, b, now));
  return ranked.slice(0, count).map((r) => r.pod);
}
