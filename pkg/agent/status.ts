/**
 * A pod's status as the kubelet reports it, computed from what the runtime shows (the pod's
 * sandbox and containers), what the probes found, and why containers are waiting. Pure: the
 * pod worker gathers the facts, this turns them into phase, conditions and container
 * statuses exactly as Kubernetes shapes them.
 */
import { Container, ContainerState, ContainerStatus, Pod, PodCondition, PodStatus } from '../api';
import { RuntimeContainer } from './runtime/types';

export interface Waiting {
  reason: string;
  message?: string;
}

export interface ContainerView {
  spec: Container;
  /** The newest attempt of this container, if any. */
  current?: RuntimeContainer;
  /** The attempt before it (exited), for lastState. */
  previous?: RuntimeContainer;
  /** Why the agent is not running it now (ErrImagePull, CrashLoopBackOff, ...). */
  waiting?: Waiting;
  /** Readiness probe result (true when it has none and is running). */
  ready: boolean;
  /** Startup probe passed (true when it has none and is running). */
  started: boolean;
}

export interface PodFacts {
  sandbox?: RuntimeContainer;
  hostIP: string;
  init: ContainerView[];
  app: ContainerView[];
  now: Date;
}

function time(date: Date | undefined): string | undefined {
  return date ? date.toISOString().replace(/\.\d{3}Z$/, 'Z') : undefined;
}

export function containerID(container: RuntimeContainer): string {
  return `docker://${container.id}`;
}

function terminated(container: RuntimeContainer): ContainerState {
  return {
    terminated: {
      exitCode: container.exitCode,
      reason: container.oomKilled ? 'OOMKilled' : container.exitCode === 0 ? 'Completed' : 'Error',
      ...(container.error ? { message: container.error } : {}),
      startedAt: time(container.startedAt),
      finishedAt: time(container.finishedAt),
      containerID: containerID(container),
    },
  };
}

/** The state of one container: what it is doing now, and what happened to it last. */
function states(
  view: ContainerView,
  defaultWaiting: string,
): { state: ContainerState; lastState: ContainerState } {
  const { current, previous, waiting } = view;
  const last = current?.state === 'exited' && waiting ? current : previous;
  const lastState: ContainerState = last && last.state === 'exited' ? terminated(last) : {};
  if (waiting)
    return {
      state: {
        waiting: { reason: waiting.reason, ...(waiting.message ? { message: waiting.message } : {}) },
      },
      lastState,
    };
  if (current?.state === 'running')
    return { state: { running: { startedAt: time(current.startedAt) } }, lastState };
  if (current?.state === 'exited') return { state: terminated(current), lastState };
  return { state: { waiting: { reason: defaultWaiting } }, lastState };
}

function containerStatus(view: ContainerView, defaultWaiting: string): ContainerStatus {
  const { state, lastState } = states(view, defaultWaiting);
  const running = view.current?.state === 'running';
  return {
    name: view.spec.name,
    state,
    lastState,
    ready: running && view.ready && view.started,
    restartCount: view.current?.restartCount ?? 0,
    image: view.spec.image ?? '',
    imageID: view.current?.imageId ? `docker-pullable://${view.current.imageId}` : '',
    ...(view.current ? { containerID: containerID(view.current) } : {}),
    started: running && view.started,
  };
}

function succeeded(view: ContainerView): boolean {
  return view.current?.state === 'exited' && view.current.exitCode === 0;
}

/** Kubernetes' pod phase from its containers' states and its restart policy. */
function phaseOf(pod: Pod, facts: PodFacts): PodStatus['phase'] {
  const policy = pod.spec.restartPolicy ?? 'Always';
  const initDone = facts.init.every(succeeded);
  const initFailed = facts.init.some(
    (v) => v.current?.state === 'exited' && v.current.exitCode !== 0 && !v.waiting,
  );
  if (!initDone) return initFailed && policy === 'Never' ? 'Failed' : 'Pending';
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let ok = 0;
  for (const view of facts.app) {
    const state = view.current?.state;
    if (state === 'running') running++;
    else if (state === 'exited' && !view.waiting) {
      stopped++;
      if (view.current!.exitCode === 0) ok++;
    } else if (view.current?.state === 'exited' || view.previous) {
      running++; // restarting after a crash counts as running, as in Kubernetes
    } else waiting++;
  }
  if (waiting > 0) return 'Pending';
  if (running > 0) return 'Running';
  if (stopped > 0) {
    if (policy === 'Always') return 'Running';
    if (stopped === ok) return 'Succeeded';
    if (policy === 'OnFailure') return 'Running';
    return 'Failed';
  }
  return 'Pending';
}

/** Keeps a condition's lastTransitionTime when its status did not change. */
function condition(previous: PodCondition[] | undefined, next: PodCondition, now: Date): PodCondition {
  const old = previous?.find((c) => c.type === next.type);
  const transition = old && old.status === next.status ? old.lastTransitionTime : time(now);
  return { ...next, lastTransitionTime: transition };
}

export function computePodStatus(pod: Pod, facts: PodFacts): PodStatus {
  const previous = pod.status;
  const phase = phaseOf(pod, facts);
  const initStatuses = facts.init.map((v) => containerStatus(v, 'PodInitializing'));
  const initDone = facts.init.every(succeeded);
  const appStatuses = facts.app.map((v) =>
    containerStatus(v, initDone ? 'ContainerCreating' : 'PodInitializing'),
  );
  const incompleteInit = facts.init.filter((v) => !succeeded(v)).map((v) => v.spec.name);
  const unready = appStatuses.filter((s) => !s.ready).map((s) => s.name);
  const terminal = phase === 'Succeeded' || phase === 'Failed';
  const conditions: PodCondition[] = [
    condition(
      previous?.conditions,
      { type: 'PodReadyToStartContainers', status: facts.sandbox?.state === 'running' ? 'True' : 'False' },
      facts.now,
    ),
    condition(
      previous?.conditions,
      incompleteInit.length === 0
        ? { type: 'Initialized', status: 'True' }
        : {
            type: 'Initialized',
            status: 'False',
            reason: 'ContainersNotInitialized',
            message: `containers with incomplete status: [${incompleteInit.join(' ')}]`,
          },
      facts.now,
    ),
    condition(
      previous?.conditions,
      terminal
        ? { type: 'Ready', status: 'False', reason: 'PodCompleted' }
        : unready.length === 0
          ? { type: 'Ready', status: 'True' }
          : {
              type: 'Ready',
              status: 'False',
              reason: 'ContainersNotReady',
              message: `containers with unready status: [${unready.join(' ')}]`,
            },
      facts.now,
    ),
    condition(
      previous?.conditions,
      terminal
        ? { type: 'ContainersReady', status: 'False', reason: 'PodCompleted' }
        : unready.length === 0
          ? { type: 'ContainersReady', status: 'True' }
          : {
              type: 'ContainersReady',
              status: 'False',
              reason: 'ContainersNotReady',
              message: `containers with unready status: [${unready.join(' ')}]`,
            },
      facts.now,
    ),
    condition(previous?.conditions, { type: 'PodScheduled', status: 'True' }, facts.now),
  ];
  const podIP = facts.sandbox?.state === 'running' ? facts.sandbox.ip : (previous?.podIP ?? '');
  return {
    phase,
    conditions,
    hostIP: facts.hostIP,
    hostIPs: [{ ip: facts.hostIP }],
    ...(podIP ? { podIP, podIPs: [{ ip: podIP }] } : {}),
    startTime: previous?.startTime ?? time(facts.sandbox?.createdAt ?? facts.now),
    ...(initStatuses.length > 0 ? { initContainerStatuses: initStatuses } : {}),
    containerStatuses: appStatuses,
    qosClass: previous?.qosClass,
  } as PodStatus;
}
