/**
 * Scores for the nodes a pod fits, each 0..100, combined by weight: least allocated (spread
 * load), balanced allocation (keep cpu and memory use even), spreading the pods of one owner
 * across nodes, and preferred node affinity. Ties go to the node name, so the choice is
 * deterministic.
 */
import { Pod } from '../api';
import { getControllerOf } from '../api';
import { termMatches } from './filters';
import { NodeInfo, nonZeroRequests } from './node-info';

function fractions(pod: Pod, info: NodeInfo): { cpu: number; memory: number } {
  const want = nonZeroRequests(pod);
  const have = info.allocatable;
  const usedCPU = info.nonZeroRequested.milliCPU + want.milliCPU;
  const usedMemory = info.nonZeroRequested.memory + want.memory;
  return {
    cpu: have.milliCPU ? Math.min(1, usedCPU / have.milliCPU) : 1,
    memory: have.memory ? Math.min(1, usedMemory / have.memory) : 1,
  };
}

export interface Score {
  name: string;
  weight: number;
  /** Work done once per pod (over all feasible nodes); returns the per-node scorer. */
  prepare(pod: Pod, feasible: NodeInfo[]): (node: NodeInfo) => number;
}

const leastAllocated: Score = {
  name: 'LeastAllocated',
  weight: 1,
  prepare: (pod) => (node) => {
    const f = fractions(pod, node);
    return ((1 - f.cpu) * 100 + (1 - f.memory) * 100) / 2;
  },
};

const balancedAllocation: Score = {
  name: 'BalancedAllocation',
  weight: 1,
  prepare: (pod) => (node) => {
    const f = fractions(pod, node);
    return (1 - Math.abs(f.cpu - f.memory)) * 100;
  },
};

const spreadOwner: Score = {
  name: 'SelectorSpread',
  weight: 2,
  prepare(pod, feasible) {
    const owner = getControllerOf(pod)?.uid;
    if (!owner) return () => 100;
    const max = Math.max(0, ...feasible.map((info) => info.ownerCounts.get(owner) ?? 0));
    return (node) => (max === 0 ? 100 : ((max - (node.ownerCounts.get(owner) ?? 0)) / max) * 100);
  },
};

const preferredAffinity: Score = {
  name: 'NodeAffinityPreferred',
  weight: 2,
  prepare(pod) {
    const preferred = pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    const total = preferred.reduce((n, p) => n + p.weight, 0);
    if (total === 0) return () => 0;
    return (node) =>
      (preferred.filter((p) => termMatches(p.preference, node.node)).reduce((n, p) => n + p.weight, 0) /
        total) *
      100;
  },
};

export const SCORES: readonly Score[] = [leastAllocated, balancedAllocation, spreadOwner, preferredAffinity];

/** The best node for the pod among those it fits. */
export function pickNode(pod: Pod, feasible: NodeInfo[]): NodeInfo {
  let best: NodeInfo | undefined;
  let bestScore = -Infinity;
  const scorers = SCORES.map((s) => ({ weight: s.weight, score: s.prepare(pod, feasible) }));
  for (const node of feasible) {
    const score = scorers.reduce((sum, s) => sum + s.weight * s.score(node), 0);
    if (score > bestScore || (score === bestScore && best && node.name < best.name)) {
      best = node;
      bestScore = score;
    }
  }
  return best!;
}
