/**
 * The scheduler: binds each unscheduled pod to the best node it fits, or leaves it Pending with
 * a FailedScheduling event that says why, per node, as kube-scheduler does.
 *
 * Decisions are made one at a time against a cache of nodes and of the pods bound to them.
 * A decision is "assumed" into the cache at once and the binding is written in the background,
 * so the next decision already counts it: binds overlap while decisions never overcommit.
 * Pods that fit nowhere wait in an unschedulable set and go back to the queue when something
 * that could make them fit happens (a node added or changed, a bound pod gone or finished),
 * and at the latest after a minute, never in a busy loop.
 */
import { ApiError, objectKey, Pod, Node } from '../api';
import { EventRecorder, Informer, WorkQueue } from '../client';
import { Controller, ControllerContext } from '../controller/context';
import { logger } from '../util/log';
import { explain, FILTERS } from './filters';
import { NodeInfo } from './node-info';
import { pickNode } from './scores';

export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

export interface SchedulerOptions {
  /** Pods naming another schedulerName are left alone. */
  schedulerName?: string;
  /** Bindings written at once; a decision waits when this many are in flight. */
  bindConcurrency?: number;
  /** Unschedulable pods are retried at least this often even if nothing seems to change. */
  unschedulableRetryMs?: number;
}

const log = logger('scheduler');

function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/** What about a node can change whether a pod fits it. */
function schedulingSignature(node: Node): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  return JSON.stringify([
    node.status?.allocatable,
    node.metadata.labels,
    node.spec?.taints,
    node.spec?.unschedulable,
    ready,
  ]);
}

export class Scheduler implements Controller {
  readonly name = 'scheduler';
  private readonly schedulerName: string;
  private readonly bindConcurrency: number;
  private readonly retryMs: number;
  private readonly pods: Informer<Pod>;
  private readonly nodeInformer: Informer<Node>;
  private readonly recorder: EventRecorder;
  private readonly queue = new WorkQueue({ baseDelayMs: 50, maxDelayMs: 10_000 });
  /** Every node by name. A node known only from its pods (not yet seen itself) is not a candidate. */
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly knownNodes = new Set<string>();
  /** Pod key → the node its resources are counted on. */
  private readonly podNode = new Map<string, string>();
  /** Pods bound by a decision whose binding has not yet come back through the watch. */
  private readonly assumed = new Set<string>();
  /** Pods that fit no node, waiting for the cluster to change. */
  private readonly unschedulable = new Set<string>();
  /** The last FailedScheduling message written into each pod's status, so it is written once. */
  private readonly reported = new Map<string, string>();
  /** Failed bindings per pod: the queue forgets a key once its decision succeeds, the binding comes later. */
  private readonly bindFailures = new Map<string, number>();
  private bindsInFlight = 0;
  /** Decisions taken and bindings written, for metrics and for tests that check there is no busy loop. */
  readonly stats = { attempts: 0, bound: 0, unschedulable: 0 };
  private readonly bindSlots: Array<() => void> = [];

  constructor(
    private readonly context: ControllerContext,
    options: SchedulerOptions = {},
  ) {
    this.schedulerName = options.schedulerName ?? DEFAULT_SCHEDULER_NAME;
    this.bindConcurrency = options.bindConcurrency ?? 64;
    this.retryMs = options.unschedulableRetryMs ?? 60_000;
    this.recorder = context.recorder('default-scheduler');
    this.pods = context.informers.informer('Pod');
    this.nodeInformer = context.informers.informer('Node');
    this.pods.addHandlers({
      add: (pod) => this.onPod(pod),
      update: (previous, pod) => this.onPod(pod, previous),
      delete: (pod) => this.onPodGone(pod),
    });
    this.nodeInformer.addHandlers({
      add: (node) => this.onNode(node),
      update: (previous, node) => this.onNode(node, previous),
      delete: (node) => this.onNodeGone(node),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    const retry = setInterval(() => this.retryUnschedulable('periodic retry'), this.retryMs);
    signal.addEventListener('abort', () => this.queue.shutDown(), { once: true });
    try {
      // One decision at a time: each must see the previous one's assumption.
      await this.queue.run(1, (key) => this.scheduleOne(key));
    } finally {
      clearInterval(retry);
      await this.recorder.flush();
    }
  }

  private ours(pod: Pod): boolean {
    return (pod.spec.schedulerName ?? DEFAULT_SCHEDULER_NAME) === this.schedulerName;
  }

  private needsScheduling(pod: Pod): boolean {
    return !pod.spec.nodeName && !pod.metadata.deletionTimestamp && !isTerminal(pod) && this.ours(pod);
  }

  private nodeInfo(name: string): NodeInfo {
    let info = this.nodes.get(name);
    if (!info) {
      info = new NodeInfo({ apiVersion: 'v1', kind: 'Node', metadata: { name } } as Node);
      this.nodes.set(name, info);
    }
    return info;
  }

  private onPod(pod: Pod, previous?: Pod): void {
    const key = objectKey(pod);
    if (pod.spec.nodeName) {
      this.assumed.delete(key);
      this.unschedulable.delete(key);
      this.reported.delete(key);
      if (isTerminal(pod)) {
        if (this.forget(key)) this.retryUnschedulable('a pod finished');
        return;
      }
      const counted = this.podNode.get(key);
      if (counted && counted !== pod.spec.nodeName) this.nodes.get(counted)?.removePod(key);
      this.nodeInfo(pod.spec.nodeName).addPod(key, pod);
      this.podNode.set(key, pod.spec.nodeName);
      return;
    }
    if (!this.needsScheduling(pod)) return;
    // Our own status write (PodScheduled=False) comes back as an update: only a change to the
    // pod's spec can make an unschedulable pod fit.
    if (this.unschedulable.has(key) && previous && JSON.stringify(previous.spec) === JSON.stringify(pod.spec))
      return;
    this.unschedulable.delete(key);
    this.queue.add(key);
  }

  private onPodGone(pod: Pod): void {
    const key = objectKey(pod);
    this.assumed.delete(key);
    this.unschedulable.delete(key);
    this.reported.delete(key);
    this.bindFailures.delete(key);
    if (this.forget(key)) this.retryUnschedulable('a pod was deleted');
  }

  /** Stops counting a pod's resources on its node; true when it was counted. */
  private forget(key: string): boolean {
    const node = this.podNode.get(key);
    if (!node) return false;
    this.podNode.delete(key);
    this.nodes.get(node)?.removePod(key);
    return true;
  }

  private onNode(node: Node, previous?: Node): void {
    const name = node.metadata.name!;
    this.nodeInfo(name).node = node;
    this.knownNodes.add(name);
    if (!previous || schedulingSignature(previous) !== schedulingSignature(node))
      this.retryUnschedulable(previous ? `node ${name} changed` : `node ${name} added`);
  }

  private onNodeGone(node: Node): void {
    const name = node.metadata.name!;
    this.knownNodes.delete(name);
    const info = this.nodes.get(name);
    if (info && info.pods.size === 0) this.nodes.delete(name);
  }

  private retryUnschedulable(why: string): void {
    if (this.unschedulable.size === 0) return;
    log.debug('retrying unschedulable pods', { pods: this.unschedulable.size, why });
    for (const key of this.unschedulable) this.queue.add(key);
    this.unschedulable.clear();
  }

  private async scheduleOne(key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (!pod || !this.needsScheduling(pod) || this.assumed.has(key)) return;
    this.stats.attempts++;
    const candidates = [...this.knownNodes].map((name) => this.nodes.get(name)!);
    const feasible: NodeInfo[] = [];
    const reasons = new Map<string, number>();
    for (const info of candidates) {
      let fits = true;
      for (const filter of FILTERS) {
        const failed = filter.check(pod, info);
        if (failed) {
          for (const reason of failed) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
          fits = false;
          break;
        }
      }
      if (fits) feasible.push(info);
    }
    if (feasible.length === 0) {
      const message =
        candidates.length === 0 ? 'no nodes available to schedule pods' : explain(candidates.length, reasons);
      this.markUnschedulable(key, pod, message);
      return;
    }
    const chosen = pickNode(pod, feasible).name;
    // Assume: count the pod on its node now, before the binding is written.
    const assumedPod: Pod = { ...pod, spec: { ...pod.spec, nodeName: chosen } };
    this.nodeInfo(chosen).addPod(key, assumedPod);
    this.podNode.set(key, chosen);
    this.assumed.add(key);
    await this.acquireBindSlot();
    void this.bind(key, pod, chosen).finally(() => this.releaseBindSlot());
  }

  private markUnschedulable(key: string, pod: Pod, message: string): void {
    this.unschedulable.add(key);
    this.stats.unschedulable++;
    if (this.reported.get(key) === message) return;
    this.reported.set(key, message);
    log.info('pod unschedulable', { pod: key, message });
    this.recorder.event(pod, 'Warning', 'FailedScheduling', message);
    const namespace = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    this.context.client
      .resource('Pod')
      .patch(
        namespace,
        name,
        {
          // Pinned to the version this decision saw: a pod bound meanwhile (by another
          // scheduler or by hand) must not be marked unschedulable after the fact.
          metadata: { resourceVersion: pod.metadata.resourceVersion },
          status: {
            conditions: [
              {
                type: 'PodScheduled',
                status: 'False',
                reason: 'Unschedulable',
                message,
                lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
              },
            ],
          },
        },
        'strategic',
        { subresource: 'status' },
      )
      .catch((error: unknown) => {
        // 404: the pod is gone; 409: it changed, and the informer brings it back if still pending.
        if (!(error instanceof ApiError && (error.code === 404 || error.code === 409)))
          log.warn('could not write the pod scheduling condition', {
            pod: key,
            error: (error as Error).message,
          });
      });
  }

  private async bind(key: string, pod: Pod, node: string): Promise<void> {
    const namespace = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    try {
      await this.context.client.bind(namespace, name, node);
      this.bindFailures.delete(key);
      this.stats.bound++;
      this.recorder.event(
        pod,
        'Normal',
        'Scheduled',
        `Successfully assigned ${namespace}/${name} to ${node}`,
      );
    } catch (error) {
      // Still assumed: the binding never came back through the watch, so undo the assumption.
      if (this.assumed.delete(key)) this.forget(key);
      if (error instanceof ApiError && (error.code === 404 || error.code === 409)) {
        this.bindFailures.delete(key);
        // Gone, or bound by someone else: the watch will tell the rest.
        log.debug('binding not needed', { pod: key, node, reason: error.reason });
        return;
      }
      log.warn('binding failed; will retry', { pod: key, node, error: (error as Error).message });
      this.recorder.event(
        pod,
        'Warning',
        'FailedScheduling',
        `Binding rejected: ${(error as Error).message}`,
      );
      const failures = this.bindFailures.get(key) ?? 0;
      this.bindFailures.set(key, failures + 1);
      this.queue.addAfter(key, this.queue.backoffFor(failures));
    }
  }

  private acquireBindSlot(): Promise<void> {
    if (this.bindsInFlight < this.bindConcurrency) {
      this.bindsInFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.bindSlots.push(resolve));
  }

  private releaseBindSlot(): void {
    const next = this.bindSlots.shift();
    if (next) next();
    else this.bindsInFlight--;
  }
}
