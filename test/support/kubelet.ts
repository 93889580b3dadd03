/**
 * A stand-in kubelet for controller tests against the in-memory apiserver: there are no
 * agents there, so this plays their part through the API only. It binds new pods to a node,
 * reports them Running and (by the policy given) Ready, finishes graceful deletions, and lets
 * a test flip a pod's readiness. Everything goes through the real REST API and informers.
 */
import { ApiError, objectKey, Pod, PodCondition, splitObjectKey } from '../../pkg/api';
import { Client, Informer, WorkQueue } from '../../pkg/client';

export interface FakeKubeletOptions {
  /** Node new pods are bound to; '' leaves them unscheduled (they are then deleted at once). */
  node?: string;
  /** Whether a new pod starts at all (else it stays Pending); default: every pod. */
  runs?(pod: Pod): boolean;
  /** Whether a running pod reports Ready; default: every pod. */
  ready?(pod: Pod): boolean;
  /** How long a deleted pod takes to stop before the kubelet removes it. */
  terminationDelayMs?: number;
}

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A pod's status as a kubelet reports it: Running, containers started, Ready as given. */
export function runningStatus(
  pod: Pod,
  ready: boolean,
  previous?: Pod['status'],
): NonNullable<Pod['status']> {
  const time = now();
  const keep = (type: string, status: 'True' | 'False'): PodCondition => {
    const old = previous?.conditions?.find((c) => c.type === type);
    return { type, status, lastTransitionTime: old?.status === status ? old.lastTransitionTime : time };
  };
  const readiness = ready ? 'True' : 'False';
  return {
    ...previous,
    phase: 'Running',
    startTime: previous?.startTime ?? time,
    conditions: [
      keep('PodScheduled', 'True'),
      keep('Initialized', 'True'),
      keep('ContainersReady', readiness),
      keep('Ready', readiness),
    ],
    containerStatuses: pod.spec.containers.map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready,
      started: true,
      restartCount: previous?.containerStatuses?.find((s) => s.name === c.name)?.restartCount ?? 0,
      state: { running: { startedAt: previous?.startTime ?? time } },
    })),
  };
}

export class FakeKubelet {
  private readonly informer: Informer<Pod>;
  private readonly queue = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 500 });
  /** Readiness a test set by hand, overriding the policy. */
  private readonly forced = new Map<string, boolean>();
  private readonly node: string;

  constructor(
    private readonly client: Client,
    private readonly options: FakeKubeletOptions = {},
  ) {
    this.node = options.node ?? 'node-1';
    this.informer = new Informer(client.resource('Pod'));
    const enqueue = (pod: Pod) => this.queue.add(objectKey(pod));
    this.informer.addHandlers({ add: enqueue, update: (_old, cur) => enqueue(cur) });
  }

  /** Runs until the signal aborts; resolves once its cache has synced. */
  async start(signal: AbortSignal): Promise<void> {
    void this.informer.run(signal);
    signal.addEventListener('abort', () => this.queue.shutDown(), { once: true });
    void this.queue.run(4, (key) => this.sync(key));
    await this.informer.waitForSync(signal);
  }

  /** Makes a pod ready or unready from now on, whatever the policy says. */
  setReady(pod: Pod | string, ready: boolean): void {
    const key = typeof pod === 'string' ? pod : objectKey(pod);
    this.forced.set(key, ready);
    this.queue.add(key);
  }

  private async sync(key: string): Promise<void> {
    const pod = this.informer.get(key);
    if (!pod) return;
    const { namespace, name } = splitObjectKey(key);
    const pods = this.client.resource('Pod');
    try {
      if (pod.metadata.deletionTimestamp) {
        const delay = this.options.terminationDelayMs ?? 0;
        const since =
          Date.parse(pod.metadata.deletionTimestamp) - (pod.metadata.deletionGracePeriodSeconds ?? 0) * 1000;
        const left = since + delay - Date.now();
        if (left > 0) {
          this.queue.addAfter(key, left);
          return;
        }
        await pods.delete(namespace, name, { gracePeriodSeconds: 0 });
        return;
      }
      if (!pod.spec.nodeName && this.node) {
        await this.client.bind(namespace, name, this.node);
        return;
      }
      if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
      if (this.options.runs && !this.options.runs(pod)) return;
      const ready = this.forced.get(key) ?? this.options.ready?.(pod) ?? true;
      const current = pod.status;
      const isReady = current?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      if (current?.phase === 'Running' && isReady === ready) return;
      await pods.updateStatus({ ...pod, status: runningStatus(pod, ready, current) });
    } catch (error) {
      // Gone, or our cache is behind (conflict, already bound): the next event brings us back.
      if (error instanceof ApiError && (error.code === 404 || error.code === 409)) return;
      throw error;
    }
  }
}
