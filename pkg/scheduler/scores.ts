/**
 * Scores for the nodes a pod fits, each 0..100, combined by weight: least allocated (spread
 * load), balanced allocation (keep cpu and memory use even), spreading the pods of one owner
 * across nodes, and preferred node affinity. Ties go to the node name, so the choice is
 * deterministic.
 */
import { Pod } from '../api';
import { getControllerOf } from '../api';
import { termMatches } from './filters';
import { NodeInfo, podRequests } from './node-info';

/** The "non-zero" requests kube-scheduler assumes for scoring pods that request nothing. */
const DEFAULT_MILLI_CPU = 100;
const DEFAULT_MEMORY = 200 * 1024 * 1024;

function scoringRequests(pod: Pod): { milliCPU: number; memory: number } {
  const r = podRequests(pod);
  return { milliCPU: r.milliCPU || DEFAULT_MILLI_CPU, memory: r.memory || DEFAULT_MEMORY };
}

function fractions(pod: Pod, info: NodeInfo): { cpu: number; memory: number } {
  const want = scoringRequests(pod);
  const have = info.allocatable;
  let usedCPU = want.milliCPU;
  let usedMemory = want.memory;
  for (const other of info.pods.values()) {
    const r = scoringRequests(other);
    usedCPU += r.milliCPU;
    usedMemory += r.memory;
  }
  return {
    cpu: have.milliCPU ? Math.min(1, usedCPU / have.milliCPU) : 1,
    memory: have.memory ? Math.min(1, usedMemory / have.memory) : 1,
  };
}

export interface Score {
  name: string;
  weight: number;
  score(pod: Pod, node: NodeInfo, all: NodeInfo[]): number;
}

const leastAllocated: Score = {
  name: 'LeastAllocated',
  weight: 1,
  score(pod, node) {
    const f = fractions(pod, node);
    return ((1 - f.cpu) * 100 + (1 - f.memory) * 100) / 2;
  },
};

const balancedAllocation: Score = {
  name: 'BalancedAllocation',
  weight: 1,
  score(pod, node) {
    const f = fractions(pod, node);
    return (1 - Math.abs(f.cpu - f.memory)) * 100;
  },
};

const spreadOwner: Score = {
  name: 'SelectorSpread',
  weight: 2,
  score(pod, node, all) {
    const owner = getControllerOf(pod)?.uid;
    if (!owner) return 100;
    const count = (info: NodeInfo) =>
      [...info.pods.values()].filter((p) => getControllerOf(p)?.uid === owner).length;
    const max = Math.max(...all.map(count));
    return max === 0 ? 100 : ((max - count(node)) / max) * 100;
  },
};

const preferredAffinity: Score = {
  name: 'NodeAffinityPreferred',
  weight: 2,
  score(pod, node) {
    const preferred = pod.spec.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    if (preferred.length === 0) return 0;
    const total = preferred.reduce((n, p) => n + p.weight, 0);
    const matched = preferred
      .filter((p) => termMatches(p.preference, node.node))
      .reduce((n, p) => n + p.weight, 0);
    return total ? (matched / total) * 100 : 0;
  },
};

export const SCORES: readonly Score[] = [leastAllocated, balancedAllocation, spreadOwner, preferredAffinity];

/** The best node for the pod among those it fits. */
export function pickNode(pod: Pod, feasible: NodeInfo[]): NodeInfo {
  let best: NodeInfo | undefined;
  let bestScore = -Infinity;
  for (const node of feasible) {
    const score = SCORES.reduce((sum, s) => sum + s.weight * s.score(pod, node, feasible), 0);
    if (score > bestScore || (score === bestScore && best && node.name < best.name)) {
      best = node;
      bestScore = score;
    }
  }
  return best!;
}
