/**
 * Taints the node lifecycle controller manages and how long a pod tolerates NoExecute taints,
 * as Kubernetes' node lifecycle controller and taint eviction do it.
 */
import { Pod, Taint, Toleration } from '../../api';

export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
const MANAGED_KEYS = new Set([TAINT_UNREACHABLE, TAINT_NOT_READY]);

/** What the Ready condition says: Unknown → unreachable, False → not-ready, True or none → neither. */
export type NodeHealth = 'unreachable' | 'not-ready' | 'healthy';

export function taintKeyFor(health: NodeHealth): string | undefined {
  if (health === 'unreachable') return TAINT_UNREACHABLE;
  if (health === 'not-ready') return TAINT_NOT_READY;
  return undefined;
}

/** Whether a toleration tolerates a taint (key, value by operator, effect when given). */
export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.operator === 'Exists') return !toleration.key || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
}

/**
 * The node's taints with the managed ones (unreachable, not-ready; NoSchedule and NoExecute)
 * set for `health`: kept as they are when already right (their timeAdded is when eviction
 * clocks started), added with `now` as timeAdded for NoExecute, removed otherwise. Taints
 * others set are kept. Undefined when nothing changes.
 */
export function reconcileTaints(
  current: readonly Taint[],
  health: NodeHealth,
  now: string,
): Taint[] | undefined {
  const key = taintKeyFor(health);
  const wanted: Taint[] = key
    ? [
        { key, effect: 'NoSchedule' },
        { key, effect: 'NoExecute', timeAdded: now },
      ]
    : [];
  const managed = (t: Taint) =>
    MANAGED_KEYS.has(t.key) && (t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  const same = (a: Taint, b: Taint) => a.key === b.key && a.effect === b.effect;
  const next = current.filter((t) => !managed(t) || wanted.some((w) => same(w, t)));
  for (const taint of wanted) if (!next.some((t) => same(t, taint))) next.push(taint);
  const changed = next.length !== current.length || next.some((t, i) => !same(t, current[i]));
  return changed ? next : undefined;
}

/**
 * When the pod is to be evicted from a node with these NoExecute taints: for each taint, its
 * start plus the pod's toleration of it (the first toleration that matches; one without
 * tolerationSeconds tolerates forever, none at all means the default), the earliest of them.
 * Infinity when every taint is tolerated forever.
 */
export function evictionDeadline(
  pod: Pod,
  taints: ReadonlyArray<{ taint: Taint; since: number }>,
  defaultToleranceMs: number,
): number {
  let deadline = Infinity;
  for (const { taint, since } of taints) {
    const toleration = (pod.spec.tolerations ?? []).find((t) => tolerates(t, taint));
    let tolerance: number;
    if (!toleration) tolerance = defaultToleranceMs;
    else if (toleration.tolerationSeconds === undefined || toleration.tolerationSeconds === null)
      tolerance = Infinity;
    else tolerance = Math.max(0, toleration.tolerationSeconds) * 1000;
    deadline = Math.min(deadline, since + tolerance);
  }
  return deadline;
}
