/**
 * The scheduler's filters: each says whether a pod fits a node and, when not, why, in the
 * words kube-scheduler uses, so a FailedScheduling event reads
 * "0/3 nodes are available: 2 Insufficient memory, 1 node(s) didn't match Pod's node affinity/selector."
 * Pure functions of the pod and what is known of the node.
 */
import { Node, NodeSelectorTerm, Pod, Taint, Toleration } from '../api';
import { hostPortsOf, NodeInfo, podRequests } from './node-info';

export interface Filter {
  name: string;
  /** undefined when the pod fits; otherwise the reasons, one per unmet requirement. */
  check(pod: Pod, node: NodeInfo): string[] | undefined;
}

const nodeReady: Filter = {
  name: 'NodeReady',
  check(_pod, info) {
    const ready = info.node.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status !== 'True') return ["node(s) weren't ready"];
    return undefined;
  },
};

const nodeUnschedulable: Filter = {
  name: 'NodeUnschedulable',
  check(pod, info) {
    if (!info.node.spec?.unschedulable) return undefined;
    const tolerated = (pod.spec.tolerations ?? []).some(
      (t) =>
        t.key === 'node.kubernetes.io/unschedulable' &&
        (t.operator === 'Exists' || t.operator === undefined) &&
        (!t.effect || t.effect === 'NoSchedule'),
    );
    return tolerated ? undefined : ['node(s) were unschedulable'];
  },
};

const nodeName: Filter = {
  name: 'NodeName',
  check(pod, info) {
    const wanted = pod.spec.nodeName;
    return wanted && wanted !== info.name ? ["node(s) didn't match the requested node name"] : undefined;
  },
};

const resourcesFit: Filter = {
  name: 'NodeResourcesFit',
  check(pod, info) {
    const want = podRequests(pod);
    const have = info.allocatable;
    const used = info.requested;
    const reasons: string[] = [];
    if (used.pods + 1 > have.pods) reasons.push('Too many pods');
    if (want.milliCPU > 0 && used.milliCPU + want.milliCPU > have.milliCPU) reasons.push('Insufficient cpu');
    if (want.memory > 0 && used.memory + want.memory > have.memory) reasons.push('Insufficient memory');
    return reasons.length > 0 ? reasons : undefined;
  },
};

function matchesExpression(
  labels: Record<string, string>,
  e: { key: string; operator: string; values?: string[] },
): boolean {
  const value = labels[e.key];
  switch (e.operator) {
    case 'In':
      return value !== undefined && (e.values ?? []).includes(value);
    case 'NotIn':
      return value === undefined || !(e.values ?? []).includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
      return value !== undefined && Number(value) > Number(e.values?.[0]);
    case 'Lt':
      return value !== undefined && Number(value) < Number(e.values?.[0]);
    default:
      return false;
  }
}

/** A node selector term matches when all its expressions (labels) and fields (metadata.name) do. */
export function termMatches(term: NodeSelectorTerm, node: Node): boolean {
  const labels = node.metadata.labels ?? {};
  const fields = { 'metadata.name': node.metadata.name ?? '' };
  const expressions = term.matchExpressions ?? [];
  const matchFields = term.matchFields ?? [];
  if (expressions.length === 0 && matchFields.length === 0) return false;
  return (
    expressions.every((e) => matchesExpression(labels, e)) &&
    matchFields.every((e) => matchesExpression(fields, e))
  );
}

const nodeAffinity: Filter = {
  name: 'NodeAffinity',
  check(pod, info) {
    const labels = info.node.metadata.labels ?? {};
    const selector = pod.spec.nodeSelector ?? {};
    const selectorOk = Object.entries(selector).every(([k, v]) => labels[k] === v);
    const required =
      pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
    // Terms are ORed: any one matching is enough.
    const affinityOk =
      !required || required.length === 0 || required.some((term) => termMatches(term, info.node));
    return selectorOk && affinityOk ? undefined : ["node(s) didn't match Pod's node affinity/selector"];
  },
};

export function tolerates(toleration: Toleration, taint: Taint): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.operator === 'Exists') return !toleration.key || toleration.key === taint.key;
  return toleration.key === taint.key && (toleration.value ?? '') === (taint.value ?? '');
}

const taintToleration: Filter = {
  name: 'TaintToleration',
  check(pod, info) {
    const tolerations = pod.spec.tolerations ?? [];
    for (const taint of info.node.spec?.taints ?? []) {
      if (taint.effect === 'PreferNoSchedule') continue;
      if (!tolerations.some((t) => tolerates(t, taint))) {
        return [`node(s) had untolerated taint {${taint.key}${taint.value ? `: ${taint.value}` : ''}}`];
      }
    }
    return undefined;
  },
};

const hostPorts: Filter = {
  name: 'NodePorts',
  check(pod, info) {
    for (const port of hostPortsOf(pod)) {
      const [protocol, ip, number] = port.split('/');
      const clash =
        info.hostPorts.has(port) ||
        (ip === '0.0.0.0'
          ? [...info.hostPorts].some((p) => p.startsWith(`${protocol}/`) && p.endsWith(`/${number}`))
          : info.hostPorts.has(`${protocol}/0.0.0.0/${number}`));
      if (clash) return ["node(s) didn't have free ports for the requested pod ports"];
    }
    return undefined;
  },
};

/** Every filter, in kube-scheduler's order. */
export const FILTERS: readonly Filter[] = [
  nodeReady,
  nodeUnschedulable,
  nodeName,
  resourcesFit,
  nodeAffinity,
  hostPorts,
  taintToleration,
];

/** The reasons a pod fits no node, summed per reason as kube-scheduler words it. */
export function explain(totalNodes: number, reasons: Map<string, number>): string {
  const parts = [...reasons]
    .sort(([a, na], [b, nb]) => nb - na || a.localeCompare(b))
    .map(([reason, count]) => `${count} ${reason}`);
  return `0/${totalNodes} nodes are available: ${parts.join(', ')}.`;
}
