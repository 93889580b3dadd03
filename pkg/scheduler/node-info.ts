/**
 * What the scheduler knows of each node: the Node object and the resources and host ports
 * of the pods bound to it (including pods it has just bound itself and not yet seen come back
 * through the watch: "assumed" pods), so back-to-back decisions never overcommit a node.
 */
import { Node, parseQuantity, Pod } from '../api';

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

export class NodeInfo {
  requested: Resources = { milliCPU: 0, memory: 0, pods: 0 };
  readonly pods = new Map<string, Pod>();
  readonly hostPorts = new Set<string>();

  constructor(public node: Node) {}

  get name(): string {
    return this.node.metadata.name!;
  }

  get allocatable(): Resources {
    return nodeAllocatable(this.node);
  }

  addPod(key: string, pod: Pod): void {
    if (this.pods.has(key)) this.removePod(key);
    this.pods.set(key, pod);
    const r = podRequests(pod);
    this.requested = {
      milliCPU: this.requested.milliCPU + r.milliCPU,
      memory: this.requested.memory + r.memory,
      pods: this.requested.pods + 1,
    };
    for (const port of hostPortsOf(pod)) this.hostPorts.add(port);
  }

  removePod(key: string): void {
    const pod = this.pods.get(key);
    if (!pod) return;
    this.pods.delete(key);
    const r = podRequests(pod);
    this.requested = {
      milliCPU: this.requested.milliCPU - r.milliCPU,
      memory: this.requested.memory - r.memory,
      pods: this.requested.pods - 1,
    };
    this.hostPorts.clear();
    for (const other of this.pods.values()) for (const port of hostPortsOf(other)) this.hostPorts.add(port);
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
