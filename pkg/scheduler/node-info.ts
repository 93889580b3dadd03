/**
 * What the scheduler knows of each node: the Node object and the resources and host ports
 * of the pods bound to it (including pods it has just bound itself and not yet seen come back
 * through the watch: "assumed" pods), so back-to-back decisions never overcommit a node.
 */
import { getControllerOf, Node, parseQuantity, Pod } from '../api';

export interface Resources {
  milliCPU: number;
  /** Bytes. */
  memory: number;
  pods: number;
}

export function podRequests(pod: Pod): Resources {
  const sum = (containers: Pod['spec']['containers']) =>
    containers.reduce(
      (acc, c) => ({
        milliCPU: acc.milliCPU + quantity(c.resources?.requests?.cpu, true),
        memory: acc.memory + quantity(c.resources?.requests?.memory, false),
      }),
      { milliCPU: 0, memory: 0 },
    );
  const app = sum(pod.spec.containers);
  // Init containers run one at a time before the app: the pod needs the larger of the two.
  let initCPU = 0;
  let initMemory = 0;
  for (const c of pod.spec.initContainers ?? []) {
    initCPU = Math.max(initCPU, quantity(c.resources?.requests?.cpu, true));
    initMemory = Math.max(initMemory, quantity(c.resources?.requests?.memory, false));
  }
  return { milliCPU: Math.max(app.milliCPU, initCPU), memory: Math.max(app.memory, initMemory), pods: 1 };
}

function quantity(value: string | undefined, milli: boolean): number {
  if (!value) return 0;
  const q = parseQuantity(value);
  return Number(milli ? q.milliValue() : q.value());
}

export function nodeAllocatable(node: Node): Resources {
  const allocatable = node.status?.allocatable ?? node.status?.capacity ?? {};
  return {
    milliCPU: quantity(allocatable.cpu, true),
    memory: quantity(allocatable.memory, false),
    pods: quantity(allocatable.pods, false) || 110,
  };
}

/** The "non-zero" requests kube-scheduler assumes when scoring pods that request nothing. */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

/** Requests as scoring sees them: a pod asking for nothing still occupies something. */
export function nonZeroRequests(pod: Pod): { milliCPU: number; memory: number } {
  const r = podRequests(pod);
  return { milliCPU: r.milliCPU || DEFAULT_MILLI_CPU_REQUEST, memory: r.memory || DEFAULT_MEMORY_REQUEST };
}

export class NodeInfo {
  requested: Resources = { milliCPU: 0, memory: 0, pods: 0 };
  /** The sum of nonZeroRequests of its pods, kept so scoring is O(1) per node. */
  nonZeroRequested = { milliCPU: 0, memory: 0 };
  readonly pods = new Map<string, Pod>();
  readonly hostPorts = new Set<string>();
  /** How many of its pods each controller (by uid) owns, for spreading. */
  readonly ownerCounts = new Map<string, number>();

  private nodeObject: Node;
  private cachedAllocatable: Resources;

  constructor(node: Node) {
    this.nodeObject = node;
    this.cachedAllocatable = nodeAllocatable(node);
  }

  get node(): Node {
    return this.nodeObject;
  }

  /** A newer version of the Node; allocatable is parsed once here, not on every decision. */
  set node(node: Node) {
    this.nodeObject = node;
    this.cachedAllocatable = nodeAllocatable(node);
  }

  get name(): string {
    return this.nodeObject.metadata.name!;
  }

  get allocatable(): Resources {
    return this.cachedAllocatable;
  }

  addPod(key: string, pod: Pod): void {
    if (this.pods.has(key)) this.removePod(key);
    this.pods.set(key, pod);
    this.account(pod, 1);
    for (const port of hostPortsOf(pod)) this.hostPorts.add(port);
  }

  removePod(key: string): void {
    const pod = this.pods.get(key);
    if (!pod) return;
    this.pods.delete(key);
    this.account(pod, -1);
    if (hostPortsOf(pod).length === 0) return;
    this.hostPorts.clear();
    for (const other of this.pods.values()) for (const port of hostPortsOf(other)) this.hostPorts.add(port);
  }

  private account(pod: Pod, sign: 1 | -1): void {
    const r = podRequests(pod);
    this.requested = {
      milliCPU: this.requested.milliCPU + sign * r.milliCPU,
      memory: this.requested.memory + sign * r.memory,
      pods: this.requested.pods + sign,
    };
    const n = nonZeroRequests(pod);
    this.nonZeroRequested = {
      milliCPU: this.nonZeroRequested.milliCPU + sign * n.milliCPU,
      memory: this.nonZeroRequested.memory + sign * n.memory,
    };
    const owner = getControllerOf(pod)?.uid;
    if (!owner) return;
    const count = (this.ownerCounts.get(owner) ?? 0) + sign;
    if (count > 0) this.ownerCounts.set(owner, count);
    else this.ownerCounts.delete(owner);
  }
}

/** "protocol/hostIP/port" of every host port a pod asks for. */
export function hostPortsOf(pod: Pod): string[] {
  const out: string[] = [];
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const p of c.ports ?? []) {
      if (p.hostPort) out.push(`${p.protocol ?? 'TCP'}/${p.hostIP || '0.0.0.0'}/${p.hostPort}`);
    }
  }
  return out;
}
