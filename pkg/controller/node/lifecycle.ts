/**
 * The node lifecycle controller, as Kubernetes' (node health, taints by condition, and taint
 * eviction in one):
 *
 * - A node whose Lease (`kube-node-lease/<node>`) has not been renewed for the grace period
 *   (nor its status posted, nor, for a node that never had a lease, since it registered) gets
 *   its conditions set to Unknown. Its pods are marked not ready at once, so Endpoints drop
 *   them.
 * - The Ready condition decides the taints: Unknown → `node.kubernetes.io/unreachable`,
 *   False → `node.kubernetes.io/not-ready`, each NoSchedule and NoExecute; True → neither.
 * - Pods on a node with NoExecute taints are evicted (deleted) once their toleration has run
 *   out, counted from the taint's timeAdded. A pod evicted from, or terminating on, a node
 *   that is unreachable is then force-deleted (grace 0): its agent is not there to confirm.
 * - Pods bound to a node that does not exist are force-deleted after a quarantine (as
 *   Kubernetes' pod GC does: a node may be re-registering).
 *
 * A new controller (a new leader) never declares a node Unknown before it has itself watched
 * for a full grace period: a lease that merely looks old at start may have been renewed while
 * no one was watching, and a leader failover must not taint healthy nodes.
 */
import { ApiError, Lease, Node, objectKey, Pod, Taint } from '../../api';
import { EventRecorder, Informer, WorkQueue } from '../../client';
import { logger } from '../../util/log';
import { Controller, ControllerContext } from '../context';
import { evictionDeadline, NodeHealth, reconcileTaints } from './taints';

export const LEASE_NAMESPACE = 'kube-node-lease';
const NODE_CONDITION_TYPES = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

export interface NodeLifecycleOptions {
  /** How long a node may go unheard of before it is Unknown. */
  nodeGracePeriodMs: number;
  /** How long a pod tolerates an unreachable or not-ready node when it says nothing itself. */
  podEvictionTimeoutMs: number;
  /** How long pods stay bound to a node that no longer exists before they are deleted (Kubernetes: 40 s). */
  orphanedPodQuarantineMs?: number;
  workers?: number;
  /** Milliseconds since the epoch; the same clock as the agents' renewTime (one machine). */
  now?: () => number;
}

type NodeCondition = NonNullable<NonNullable<Node['status']>['conditions']>[number];

const log = logger('node-lifecycle-controller');

function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function parseTime(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function readyCondition(node: Node): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready');
}

function healthOf(node: Node): NodeHealth {
  const status = readyCondition(node)?.status;
  return status === 'Unknown' ? 'unreachable' : status === 'False' ? 'not-ready' : 'healthy';
}

function podReadyStatus(pod: Pod): string | undefined {
  return pod.status?.conditions?.find((c) => c.type === 'Ready')?.status;
}

function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** One timer per key; asking for an earlier time replaces a later one, a later one waits its turn. */
class Deadlines {
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();

  constructor(
    private readonly fire: (key: string) => void,
    private readonly now: () => number,
  ) {}

  at(key: string, at: number): void {
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        this.fire(key);
      },
      Math.max(0, at - this.now()),
    );
    timer.unref?.();
    this.timers.set(key, { at, timer });
  }

  stop(): void {
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

export class NodeLifecycleController implements Controller {
  readonly name = 'node-lifecycle';
  private readonly nodes: Informer<Node>;
  private readonly leases: Informer<Lease>;
  private readonly pods: Informer<Pod>;
  private readonly queue = new WorkQueue({ baseDelayMs: 50, maxDelayMs: 10_000 });
  private readonly deadlines: Deadlines;
  private readonly recorder: EventRecorder;
  private readonly now: () => number;
  /** When this controller began to watch: no node is unheard of for longer than that. */
  private startedAt = Infinity;
  /** node name → keys of the pods bound to it. */
  private readonly podsByNode = new Map<string, Set<string>>();
  /** Nodes whose Ready went from True to False: their pods are marked not ready once. */
  private readonly becameNotReady = new Set<string>();
  /**
   * NoExecute taints by node: to the millisecond, when this controller added them (timeAdded
   * keeps whole seconds) or first saw them (taints others set without timeAdded).
   */
  private readonly taintTimes = new Map<string, number>();
  /** Deleted nodes with pods still bound: since when. */
  private readonly missingSince = new Map<string, number>();
  /** Uids of the pods this controller evicted: force-deleted at once if their node is unreachable. */
  private readonly evicted = new Set<string>();

  constructor(
    private readonly context: ControllerContext,
    private readonly options: NodeLifecycleOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.recorder = context.recorder('node-controller');
    this.deadlines = new Deadlines((key) => this.queue.add(key), this.now);
    this.nodes = context.informers.informer('Node');
    this.leases = context.informers.informer('Lease');
    this.pods = context.informers.informer('Pod');
    this.nodes.addHandlers({
      add: (node) => {
        this.recorder.event(
          node,
          'Normal',
          'RegisteredNode',
          `Node ${node.metadata.name} event: Registered Node ${node.metadata.name} in Controller`,
        );
        this.queue.add(node.metadata.name!);
      },
      update: (old, node) => {
        if (old.metadata.resourceVersion === node.metadata.resourceVersion) return;
        if (readyCondition(old)?.status === 'True' && readyCondition(node)?.status === 'False')
          this.becameNotReady.add(node.metadata.name!);
        this.queue.add(node.metadata.name!);
      },
      delete: (node) => {
        this.recorder.event(
          node,
          'Normal',
          'RemovingNode',
          `Node ${node.metadata.name} event: Removing Node ${node.metadata.name} from Controller`,
        );
        this.queue.add(node.metadata.name!);
      },
    });
    const leaseChanged = (lease: Lease) => {
      if (lease.metadata.namespace === LEASE_NAMESPACE) this.queue.add(lease.metadata.name!);
    };
    this.leases.addHandlers({
      add: leaseChanged,
      update: (old, lease) => {
        if (old.spec?.renewTime !== lease.spec?.renewTime) leaseChanged(lease);
      },
    });
    this.pods.addHandlers({
      add: (pod) => this.podChanged(undefined, pod),
      update: (old, pod) => this.podChanged(old, pod),
      delete: (pod) => this.podChanged(pod, undefined),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    this.startedAt = this.now();
    const stop = () => {
      this.deadlines.stop();
      this.queue.shutDown();
    };
    signal.addEventListener('abort', stop, { once: true });
    try {
      await this.queue.run(
        this.options.workers ?? 2,
        (name) => this.sync(name),
        (name, error) =>
          log.warn('node sync failed; retrying', { node: name, error: (error as Error).message }),
      );
    } finally {
      signal.removeEventListener('abort', stop);
      this.deadlines.stop();
    }
  }

  private podChanged(old: Pod | undefined, pod: Pod | undefined): void {
    const before = old?.spec.nodeName;
    const after = pod?.spec.nodeName;
    const key = objectKey((pod ?? old)!);
    if (before && before !== after) {
      const set = this.podsByNode.get(before);
      set?.delete(key);
      if (set?.size === 0) this.podsByNode.delete(before);
    }
    if (after && pod) {
      let set = this.podsByNode.get(after);
      if (!set) this.podsByNode.set(after, (set = new Set()));
      set.add(key);
    }
    if (!pod && old) this.evicted.delete(old.metadata.uid ?? '');
    // Only a node in trouble has anything to do for its pods.
    const nodeName = after ?? before;
    if (!nodeName) return;
    const node = this.nodes.get(nodeName);
    if (
      !node ||
      healthOf(node) !== 'healthy' ||
      (node.spec?.taints ?? []).some((t) => t.effect === 'NoExecute')
    )
      this.queue.add(nodeName);
  }

  private podsOn(nodeName: string): Pod[] {
    const out: Pod[] = [];
    for (const key of this.podsByNode.get(nodeName) ?? []) {
      const pod = this.pods.get(key);
      if (pod && pod.spec.nodeName === nodeName) out.push(pod);
    }
    return out;
  }

  /** The last sign of life: lease renewal, status heartbeat, registration, or this controller's start. */
  private lastHeard(node: Node): number {
    const lease = this.leases.get(`${LEASE_NAMESPACE}/${node.metadata.name}`);
    return Math.max(
      this.startedAt,
      parseTime(node.metadata.creationTimestamp) ?? 0,
      parseTime(lease?.spec?.renewTime) ?? 0,
      parseTime(readyCondition(node)?.lastHeartbeatTime) ?? 0,
    );
  }

  private async sync(name: string): Promise<void> {
    let node = this.nodes.get(name);
    if (!node) {
      await this.syncMissingNode(name);
      return;
    }
    this.missingSince.delete(name);
    const now = this.now();
    const heard = this.lastHeard(node);
    const unreachable = now - heard >= this.options.nodeGracePeriodMs;
    if (unreachable && readyCondition(node)?.status !== 'Unknown') node = await this.markUnknown(node, now);
    const health = healthOf(node);
    node = await this.ensureTaints(node, health, now);
    const pods = this.podsOn(name);
    const markPods = this.becameNotReady.delete(name) && health === 'not-ready';
    if (unreachable || markPods) await this.markPodsNotReady(node, pods, now);
    await this.evict(node, pods, unreachable, now);
    if (!unreachable) this.deadlines.at(name, heard + this.options.nodeGracePeriodMs);
  }

  private async markUnknown(node: Node, now: number): Promise<Node> {
    const name = node.metadata.name!;
    const previous = node.status?.conditions ?? [];
    const neverPosted = previous.length === 0;
    const types = neverPosted ? NODE_CONDITION_TYPES : previous.map((c) => c.type);
    const conditions = types.map((type) => {
      const old = previous.find((c) => c.type === type);
      return {
        type,
        status: 'Unknown',
        reason: neverPosted ? 'NodeStatusNeverUpdated' : 'NodeStatusUnknown',
        message: neverPosted ? 'Kubelet never posted node status.' : 'Kubelet stopped posting node status.',
        lastTransitionTime:
          old?.status === 'Unknown' && old.lastTransitionTime ? old.lastTransitionTime : timestamp(now),
        ...(old?.lastHeartbeatTime ? { lastHeartbeatTime: old.lastHeartbeatTime } : {}),
      } as NodeCondition;
    });
    log.info('node stopped posting status', { node: name });
    const updated = await this.context.client
      .resource('Node')
      .patch(undefined, name, { status: { conditions } }, 'strategic', { subresource: 'status' });
    this.recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
    return updated;
  }

  private async ensureTaints(node: Node, health: NodeHealth, now: number): Promise<Node> {
    const taints = reconcileTaints(node.spec?.taints ?? [], health, timestamp(now));
    if (!taints) return node;
    log.info('node taints changed', {
      node: node.metadata.name,
      health,
      taints: taints.map((t) => `${t.key}:${t.effect}`),
    });
    const name = node.metadata.name!;
    const before = node.spec?.taints ?? [];
    // Pinned to the version read: a taint someone else added meanwhile is not lost (409, retry).
    const updated = await this.context.client.resource('Node').patch(
      undefined,
      node.metadata.name!,
      {
        metadata: { resourceVersion: node.metadata.resourceVersion },
        spec: { taints: taints.length > 0 ? taints : null },
      },
      'merge',
    );
    for (const taint of taints) {
      if (taint.effect !== 'NoExecute') continue;
      if (before.some((t) => t.key === taint.key && t.effect === taint.effect)) continue;
      this.taintTimes.set(this.taintKey(name, taint), now);
    }
    return updated;
  }

  private async markPodsNotReady(node: Node, pods: Pod[], now: number): Promise<void> {
    for (const pod of pods) {
      if (isTerminal(pod)) continue;
      const ready = podReadyStatus(pod);
      if (ready === undefined || ready === 'False') continue;
      try {
        await this.context.client.resource('Pod').patch(
          pod.metadata.namespace,
          pod.metadata.name!,
          {
            status: {
              conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: timestamp(now) }],
            },
          },
          'strategic',
          { subresource: 'status' },
        );
      } catch (error) {
        if (error instanceof ApiError && error.code === 404) continue;
        throw error;
      }
      this.recorder.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
      log.info('pod marked not ready', { pod: objectKey(pod), node: node.metadata.name });
    }
  }

  private async evict(node: Node, pods: Pod[], unreachable: boolean, now: number): Promise<void> {
    const name = node.metadata.name!;
    const noExecute = (node.spec?.taints ?? [])
      .filter((t) => t.effect === 'NoExecute')
      .map((taint) => ({ taint, since: this.taintSince(name, taint, now) }));
    for (const key of [...this.taintTimes.keys()]) {
      if (
        key.startsWith(`${name}\u0000`) &&
        !noExecute.some(({ taint }) => key === this.taintKey(name, taint))
      )
        this.taintTimes.delete(key);
    }
    for (const pod of pods) {
      const uid = pod.metadata.uid!;
      if (pod.metadata.deletionTimestamp) {
        if (!unreachable) continue;
        // No agent will confirm this deletion: ours are forced at once, others once their grace is over.
        const due = this.evicted.has(uid) ? now : (parseTime(pod.metadata.deletionTimestamp) ?? now);
        if (due <= now) await this.forceDelete(node, pod);
        else this.deadlines.at(name, due);
        continue;
      }
      if (noExecute.length === 0) continue;
      const deadline = evictionDeadline(pod, noExecute, this.options.podEvictionTimeoutMs);
      if (deadline === Infinity) continue;
      if (deadline > now) {
        this.deadlines.at(name, deadline);
        continue;
      }
      try {
        await this.context.client
          .resource('Pod')
          .delete(pod.metadata.namespace, pod.metadata.name!, { preconditions: { uid } });
      } catch (error) {
        if (error instanceof ApiError && (error.code === 404 || error.code === 409)) continue;
        throw error;
      }
      this.evicted.add(uid);
      this.recorder.event(
        pod,
        'Normal',
        'TaintManagerEviction',
        `Marking for deletion Pod ${objectKey(pod)}`,
      );
      log.info('pod evicted', { pod: objectKey(pod), node: name });
      if (unreachable) await this.forceDelete(node, pod);
    }
  }

  private taintKey(node: string, taint: Taint): string {
    return `${node}\u0000${taint.key}\u0000${taint.value ?? ''}`;
  }

  private taintSince(node: string, taint: Taint, now: number): number {
    const key = this.taintKey(node, taint);
    const known = this.taintTimes.get(key);
    const added = parseTime(taint.timeAdded);
    if (added === undefined) {
      if (known === undefined) this.taintTimes.set(key, now);
      return known ?? now;
    }
    // Ours, known more precisely than timeAdded's second; else (another leader's) timeAdded.
    return known !== undefined && known >= added && known < added + 1000 ? known : added;
  }

  private async forceDelete(node: Node | undefined, pod: Pod, nodeName = node?.metadata.name): Promise<void> {
    try {
      await this.context.client.resource('Pod').delete(pod.metadata.namespace, pod.metadata.name!, {
        gracePeriodSeconds: 0,
        preconditions: { uid: pod.metadata.uid },
      });
    } catch (error) {
      if (error instanceof ApiError && (error.code === 404 || error.code === 409)) return;
      throw error;
    }
    this.evicted.delete(pod.metadata.uid!);
    const why = node ? `node ${nodeName} is unreachable` : `node ${nodeName} no longer exists`;
    this.recorder.event(
      pod,
      'Warning',
      'NodeLost',
      `Deleting pod ${objectKey(pod)} without its agent's confirmation: ${why}`,
    );
    log.info('pod force-deleted', { pod: objectKey(pod), node: nodeName, reason: why });
  }

  /** A deleted node's pods, once the quarantine has passed (it may be re-registering). */
  private async syncMissingNode(name: string): Promise<void> {
    const pods = this.podsOn(name);
    if (pods.length === 0) {
      this.missingSince.delete(name);
      return;
    }
    const now = this.now();
    let since = this.missingSince.get(name);
    if (since === undefined) this.missingSince.set(name, (since = Math.max(now, this.startedAt)));
    const quarantine = this.options.orphanedPodQuarantineMs ?? 40_000;
    if (now - since < quarantine) {
      this.deadlines.at(name, since + quarantine);
      return;
    }
    for (const pod of pods) await this.forceDelete(undefined, pod, name);
    this.missingSince.delete(name);
  }
}
