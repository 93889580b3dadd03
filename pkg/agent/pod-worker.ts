/**
 * One pod on this node: a level-triggered loop that looks at the pod (desired) and at its
 * sandbox and containers in Docker (actual), takes the next steps toward the pod, and
 * reports status. It runs whenever something changes (the pod, a container event, a probe,
 * a back-off expiring) and never runs twice at once; other pods have their own workers, so
 * a slow pull here blocks no one else.
 */
import { createHash } from 'crypto';
import { ApiError, Container, parseQuantity, Pod, PodStatus } from '../api';
import { Client, EventRecorder } from '../client';
import { Logger } from '../util/log';
import { RestartBackoff } from './backoff';
import { containerEnvironment, EnvConfigError, EnvSources } from './env';
import { ContainerProbes, ProbeKind } from './probes';
import { ContainerRuntime, ImagePullError, PortBinding, RuntimeContainer } from './runtime/types';
import { ClusterDNS, podDNSConfig } from './dns';
import { computePodStatus, ContainerView, Waiting } from './status';
import { VolumeError, VolumeManager, VolumeSources } from './volumes';

export interface PodWorkerContext {
  nodeName: string;
  hostIP: string;
  network: string;
  dns?: ClusterDNS;
  runtime: ContainerRuntime;
  volumes: VolumeManager;
  backoff: RestartBackoff;
  recorder: EventRecorder;
  /** A hollow node: no Pulling, Pulled, Created or Started events for work it does not do. */
  hollow: boolean;
  client: Client;
  sources: EnvSources & VolumeSources;
  log: Logger;
}

/** The hash that tells whether a running container still matches its spec (an image change replaces it). */
export function containerSpecHash(container: Container): string {
  return createHash('sha256').update(JSON.stringify(container)).digest('hex').slice(0, 16);
}

interface PullState {
  failures: number;
  retryAt: number;
  message: string;
}

const PULL_BACKOFF_MS = [10_000, 20_000, 40_000, 80_000, 160_000, 300_000];

function latest(containers: RuntimeContainer[]): RuntimeContainer | undefined {
  return containers.reduce<RuntimeContainer | undefined>(
    (a, b) => (!a || b.restartCount > a.restartCount ? b : a),
    undefined,
  );
}

export class PodWorker {
  private pod: Pod | undefined;
  private running = false;
  private readonly idle: Array<() => void> = [];
  private dirty = false;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Infinity;
  private readonly probes = new Map<string, ContainerProbes>();
  /** Containers whose liveness or startup probe failed: killed and restarted on the next sync. */
  private readonly unhealthy = new Map<string, string>();
  private readonly pulls = new Map<string, PullState>();
  /** Exits already counted for back-off. */
  private readonly counted = new Set<string>();
  private lastStatus = '';
  /**
   * The pod as our last status patch left it. Until the watch brings that version back, the
   * informer's copy is older than what we wrote: status is computed from this instead, so
   * conditions keep the transition times already written and a stale copy causes no rewrite.
   */
  private written: Pod | undefined;
  private finished = false;
  private waiting = new Map<string, Waiting>();

  constructor(
    readonly uid: string,
    private readonly ctx: PodWorkerContext,
    private readonly onFinished: (uid: string) => void,
  ) {}

  /** The pod as the API has it now, or undefined once it is gone from the API. */
  update(pod: Pod | undefined): void {
    this.pod = pod;
    this.schedule();
  }

  schedule(): void {
    if (this.finished) return;
    if (this.running) {
      this.dirty = true;
      return;
    }
    this.running = true;
    void this.run();
  }

  /** Resolves once no sync is running or due (tests). */
  async settled(): Promise<void> {
    while (this.running) await new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private async run(): Promise<void> {
    do {
      this.dirty = false;
      try {
        await this.sync();
      } catch (error) {
        this.ctx.log.warn('pod sync failed', { pod: this.describe(), error: (error as Error).message });
        this.wakeIn(2000);
      }
    } while (this.dirty && !this.finished);
    this.running = false;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  private describe(): string {
    return this.pod ? `${this.pod.metadata.namespace}/${this.pod.metadata.name}` : this.uid;
  }

  /** Runs again at the latest in `ms` (back-off expiry, retries). */
  private wakeIn(ms: number): void {
    const at = Date.now() + ms;
    if (at >= this.wakeAt) return;
    clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeAt = Infinity;
      this.schedule();
    }, ms);
    this.wakeTimer.unref?.();
  }

  stop(): void {
    this.finished = true;
    clearTimeout(this.wakeTimer);
    for (const probe of this.probes.values()) probe.stop();
    this.probes.clear();
  }

  // ---- the sync ----

  private async sync(): Promise<void> {
    const containers = await this.ctx.runtime.listPodContainers(this.uid);
    const pod = this.pod;
    if (!pod) {
      // Gone from the API (force-deleted, or deleted while the agent was down): nothing may remain.
      await this.killAll(containers, 0, 'the pod no longer exists');
      await this.removeAll(containers, []);
      this.stop();
      this.onFinished(this.uid);
      return;
    }
    if (pod.metadata.deletionTimestamp) {
      await this.terminate(pod, containers);
      return;
    }
    this.waiting = new Map();
    const sandboxes = containers.filter((c) => c.role === 'sandbox');
    let sandbox = latest(sandboxes);
    const previousPhase = pod.status?.phase;
    if (previousPhase === 'Succeeded' || previousPhase === 'Failed') {
      // A finished pod keeps its exited containers (for logs) but not its sandbox.
      if (sandbox?.state === 'running') await this.ctx.runtime.stopContainer(sandbox.id, 0);
      await this.report(pod, containers, await this.ctx.runtime.inspect(sandbox?.id ?? ''));
      return;
    }
    try {
      await this.ctx.volumes.setUp(pod, this.ctx.sources);
    } catch (error) {
      if (!(error instanceof VolumeError)) throw error;
      this.ctx.recorder.event(pod, 'Warning', 'FailedMount', `MountVolume.SetUp failed: ${error.message}`);
      for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
        this.waiting.set(c.name, { reason: 'ContainerCreating' });
      }
      await this.report(pod, containers, sandbox);
      this.wakeIn(5000);
      return;
    }
    if (sandbox?.state !== 'running') {
      sandbox = await this.startSandbox(pod, containers, sandbox);
      if (!sandbox) return;
    }
    const current = await this.ensureContainers(pod, containers, sandbox);
    await this.report(pod, current, sandbox);
  }

  private portBindings(pod: Pod): PortBinding[] {
    const bindings: PortBinding[] = [];
    for (const container of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
      for (const port of container.ports ?? []) {
        if (!port.hostPort) continue;
        bindings.push({
          containerPort: port.containerPort,
          hostPort: port.hostPort,
          hostIP: port.hostIP || this.ctx.hostIP,
          protocol: (port.protocol ?? 'TCP') as PortBinding['protocol'],
        });
      }
    }
    return bindings;
  }

  /** A new sandbox; its containers (if a previous sandbox died) start again inside it. */
  private async startSandbox(
    pod: Pod,
    containers: RuntimeContainer[],
    dead: RuntimeContainer | undefined,
  ): Promise<RuntimeContainer | undefined> {
    if (dead) {
      this.ctx.recorder.event(
        pod,
        'Normal',
        'SandboxChanged',
        'Pod sandbox changed, it will be killed and re-created.',
      );
      await this.killAll(
        containers.filter((c) => c.role !== 'sandbox'),
        0,
        'the pod sandbox changed',
      );
    }
    try {
      return await this.ctx.runtime.runSandbox({
        pod: { uid: this.uid, namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name! },
        hostname: pod.spec.hostname ?? pod.metadata.name!,
        network: this.ctx.network,
        attempt: dead ? dead.restartCount + 1 : 0,
        portBindings: this.portBindings(pod),
        dns: podDNSConfig(pod, this.ctx.dns),
      });
    } catch (error) {
      this.ctx.recorder.event(
        pod,
        'Warning',
        'FailedCreatePodSandBox',
        `Failed to create pod sandbox: ${(error as Error).message}`,
      );
      this.wakeIn(5000);
      return undefined;
    }
  }

  /** Init containers in order, then app containers; returns the containers as they now are. */
  private async ensureContainers(
    pod: Pod,
    containers: RuntimeContainer[],
    sandbox: RuntimeContainer,
  ): Promise<RuntimeContainer[]> {
    const policy = pod.spec.restartPolicy ?? 'Always';
    for (const spec of pod.spec.initContainers ?? []) {
      const attempts = containers.filter((c) => c.role === 'init' && c.name === spec.name);
      const last = latest(attempts);
      if (last?.state === 'exited' && last.exitCode === 0) continue;
      if (last?.state === 'running') return containers;
      if (last?.state === 'exited') {
        this.countExit(pod, last);
        if (policy === 'Never') return containers; // the pod has failed: status says so
        if (!(await this.backoffAllows(pod, spec, last))) return containers;
      }
      await this.startContainer(pod, spec, 'init', sandbox, last);
      return this.ctx.runtime.listPodContainers(this.uid);
    }
    let changed = false;
    for (const spec of pod.spec.containers) {
      const attempts = containers.filter((c) => c.role === 'app' && c.name === spec.name);
      const last = latest(attempts);
      if (last?.state === 'running') {
        const reason = this.unhealthy.get(last.id);
        const outdated = last.specHash !== containerSpecHash(spec);
        if (!reason && !outdated) {
          this.ensureProbes(pod, spec, last, sandbox);
          continue;
        }
        const why = reason ?? `Container ${spec.name} definition changed, will be restarted`;
        this.ctx.recorder.event(pod, 'Normal', 'Killing', why, `spec.containers{${spec.name}}`);
        await this.stopContainer(last, pod.spec.terminationGracePeriodSeconds ?? 30);
        this.unhealthy.delete(last.id);
        changed = true;
        // A liveness failure restarts under Always and OnFailure (the container did not succeed).
        if (policy === 'Never') continue;
        const stopped = (await this.ctx.runtime.inspect(last.id)) ?? last;
        this.countExit(pod, stopped);
        if (!outdated && !(await this.backoffAllows(pod, spec, stopped))) continue;
        await this.startContainer(pod, spec, 'app', sandbox, stopped);
        continue;
      }
      if (last?.state === 'created') {
        await this.ctx.runtime
          .startContainer(last.id)
          .catch((error: unknown) => this.runFailed(pod, spec, error));
        changed = true;
        continue;
      }
      if (last?.state === 'exited') {
        this.countExit(pod, last);
        const restart = policy === 'Always' || (policy === 'OnFailure' && last.exitCode !== 0);
        if (!restart) continue;
        if (!(await this.backoffAllows(pod, spec, last))) continue;
      }
      await this.startContainer(pod, spec, 'app', sandbox, last);
      changed = true;
    }
    return changed ? this.ctx.runtime.listPodContainers(this.uid) : containers;
  }

  /** Notes a container's exit for back-off once, and reports it. */
  private countExit(pod: Pod, container: RuntimeContainer): void {
    if (this.counted.has(container.id)) return;
    this.counted.add(container.id);
    this.stopProbes(container.id);
    this.ctx.backoff.failed(
      `${this.uid}/${container.name}`,
      container.startedAt?.getTime() ?? 0,
      container.finishedAt?.getTime() ?? Date.now(),
    );
    if (container.oomKilled)
      this.ctx.recorder.event(
        pod,
        'Warning',
        'OOMKilled',
        `Container ${container.name} was OOM-killed (memory limit exceeded)`,
      );
  }

  /** Whether the restart back-off of this container has expired; if not, it waits (CrashLoopBackOff). */
  private async backoffAllows(pod: Pod, spec: Container, last: RuntimeContainer): Promise<boolean> {
    const readyAt = this.ctx.backoff.readyAt(`${this.uid}/${spec.name}`);
    const wait = readyAt - Date.now();
    if (wait <= 0) return true;
    const seconds = Math.round((readyAt - (last.finishedAt?.getTime() ?? Date.now())) / 1000);
    const message = `back-off ${seconds}s restarting failed container=${spec.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${this.uid})`;
    this.waiting.set(spec.name, { reason: 'CrashLoopBackOff', message });
    this.ctx.recorder.event(
      pod,
      'Warning',
      'BackOff',
      `Back-off restarting failed container ${spec.name} in pod ${pod.metadata.name}_${pod.metadata.namespace}(${this.uid})`,
      `spec.containers{${spec.name}}`,
    );
    this.wakeIn(wait);
    return false;
  }

  /** Pulls the image when the policy says so; false (and a waiting reason) when it cannot be had. */
  private async ensureImage(pod: Pod, spec: Container): Promise<boolean> {
    const image = spec.image ?? '';
    const policy = spec.imagePullPolicy ?? 'IfNotPresent';
    const field = `spec.containers{${spec.name}}`;
    const present = (await this.ctx.runtime.imageId(image)) !== undefined;
    if (policy === 'Never' || (policy === 'IfNotPresent' && present)) {
      if (present) {
        this.workEvent(pod, 'Pulled', `Container image "${image}" already present on machine`, field);
        return true;
      }
      const message = `Container image "${image}" is not present with pull policy of Never`;
      this.waiting.set(spec.name, { reason: 'ErrImageNeverPull', message });
      this.ctx.recorder.event(pod, 'Warning', 'ErrImageNeverPull', message, field);
      return false;
    }
    const state = this.pulls.get(image);
    if (state && Date.now() < state.retryAt) {
      this.waiting.set(spec.name, {
        reason: 'ImagePullBackOff',
        message: `Back-off pulling image "${image}": ${state.message}`,
      });
      this.ctx.recorder.event(pod, 'Normal', 'BackOff', `Back-off pulling image "${image}"`, field);
      this.wakeIn(state.retryAt - Date.now());
      return false;
    }
    this.workEvent(pod, 'Pulling', `Pulling image "${image}"`, field);
    const started = Date.now();
    try {
      await this.ctx.runtime.pullImage(image);
      this.pulls.delete(image);
      this.workEvent(
        pod,
        'Pulled',
        `Successfully pulled image "${image}" in ${Date.now() - started}ms`,
        field,
      );
      return true;
    } catch (error) {
      if (!(error instanceof ImagePullError)) throw error;
      const failures = (state?.failures ?? 0) + 1;
      const delay = PULL_BACKOFF_MS[Math.min(failures - 1, PULL_BACKOFF_MS.length - 1)];
      this.pulls.set(image, { failures, retryAt: Date.now() + delay, message: error.message });
      const message = `Failed to pull image "${image}": ${error.message}`;
      this.waiting.set(spec.name, { reason: 'ErrImagePull', message });
      this.ctx.recorder.event(pod, 'Warning', 'Failed', message, field);
      this.ctx.recorder.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull', field);
      this.wakeIn(delay);
      return false;
    }
  }

  private async startContainer(
    pod: Pod,
    spec: Container,
    role: 'init' | 'app',
    sandbox: RuntimeContainer,
    previous: RuntimeContainer | undefined,
  ): Promise<void> {
    const field = `spec.${role === 'init' ? 'initContainers' : 'containers'}{${spec.name}}`;
    if (!(await this.ensureImage(pod, spec))) return;
    let env: Array<[string, string]>;
    try {
      env = containerEnvironment(pod, spec, this.ctx.sources, {
        nodeName: this.ctx.nodeName,
        hostIP: this.ctx.hostIP,
        podIP: sandbox.ip,
      });
    } catch (error) {
      if (!(error instanceof EnvConfigError)) throw error;
      this.waiting.set(spec.name, { reason: 'CreateContainerConfigError', message: error.message });
      this.ctx.recorder.event(pod, 'Warning', 'Failed', `Error: ${error.message}`, field);
      this.wakeIn(5000);
      return;
    }
    const attempt = previous ? previous.restartCount + 1 : 0;
    const limits = spec.resources?.limits ?? {};
    const requests = spec.resources?.requests ?? {};
    const milli = (q: string | undefined) => (q ? Number(parseQuantity(q).milliValue()) : undefined);
    let id: string;
    try {
      // A hollow container never runs, so it has no termination message to leave.
      const terminationLog = this.ctx.hollow
        ? undefined
        : await this.ctx.volumes.terminationLog(this.uid, spec.name, attempt);
      id = await this.ctx.runtime.createContainer(sandbox.id, {
        pod: { uid: this.uid, namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name! },
        name: spec.name,
        role,
        restartCount: attempt,
        specHash: containerSpecHash(spec),
        image: spec.image ?? '',
        command: spec.command,
        args: spec.args,
        workingDir: spec.workingDir,
        env,
        mounts: this.ctx.volumes.mounts(pod, spec, terminationLog),
        cpuLimitMilli: milli(limits.cpu),
        cpuRequestMilli: milli(requests.cpu),
        memoryLimitBytes: limits.memory ? Number(parseQuantity(limits.memory).value()) : undefined,
        user:
          spec.securityContext?.runAsUser === undefined ? undefined : String(spec.securityContext.runAsUser),
        privileged: spec.securityContext?.privileged ?? false,
        tty: spec.tty,
        stdin: spec.stdin,
      });
    } catch (error) {
      if (!(error instanceof VolumeError)) {
        this.waiting.set(spec.name, { reason: 'CreateContainerError', message: (error as Error).message });
        this.ctx.recorder.event(pod, 'Warning', 'Failed', `Error: ${(error as Error).message}`, field);
        this.wakeIn(5000);
        return;
      }
      this.waiting.set(spec.name, { reason: 'CreateContainerConfigError', message: error.message });
      this.ctx.recorder.event(pod, 'Warning', 'FailedMount', error.message, field);
      return;
    }
    this.workEvent(pod, 'Created', `Created container ${spec.name}`, field);
    try {
      await this.ctx.runtime.startContainer(id);
      this.workEvent(pod, 'Started', `Started container ${spec.name}`, field);
    } catch (error) {
      this.runFailed(pod, spec, error);
    }
    // Keep the attempt before this one (for `logs --previous`) and nothing older.
    const stale = (await this.ctx.runtime.listPodContainers(this.uid)).filter(
      (c) => c.role === role && c.name === spec.name && c.restartCount < attempt - 1,
    );
    for (const old of stale) await this.ctx.runtime.removeContainer(old.id);
  }

  private runFailed(pod: Pod, spec: Container, error: unknown): void {
    const message = (error as Error).message;
    this.waiting.set(spec.name, { reason: 'RunContainerError', message });
    this.ctx.recorder.event(pod, 'Warning', 'Failed', `Error: ${message}`, `spec.containers{${spec.name}}`);
  }

  // ---- probes ----

  private ensureProbes(
    pod: Pod,
    spec: Container,
    container: RuntimeContainer,
    sandbox: RuntimeContainer,
  ): void {
    if (this.probes.has(container.id)) return;
    if (!spec.livenessProbe && !spec.readinessProbe && !spec.startupProbe) return;
    const field = `spec.containers{${spec.name}}`;
    const names: Record<ProbeKind, string> = {
      liveness: 'Liveness',
      readiness: 'Readiness',
      startup: 'Startup',
    };
    const probes = new ContainerProbes(
      spec,
      { podIP: sandbox.ip, containerId: container.id },
      this.ctx.runtime,
      {
        failed: (kind, message) => {
          this.ctx.recorder.event(
            pod,
            'Warning',
            'Unhealthy',
            `${names[kind]} probe failed: ${message}`,
            field,
          );
        },
        changed: (kind, healthy) => {
          if (!healthy && kind !== 'readiness') {
            this.unhealthy.set(
              container.id,
              `Container ${spec.name} failed ${kind} probe, will be restarted`,
            );
          }
          this.schedule();
        },
      },
    );
    this.probes.set(container.id, probes);
    probes.start();
  }

  private stopProbes(containerId: string): void {
    this.probes.get(containerId)?.stop();
    this.probes.delete(containerId);
  }

  // ---- termination ----

  private async stopContainer(container: RuntimeContainer, graceSeconds: number): Promise<void> {
    this.stopProbes(container.id);
    await this.ctx.runtime.stopContainer(container.id, graceSeconds);
  }

  private async killAll(containers: RuntimeContainer[], graceSeconds: number, why: string): Promise<void> {
    const running = containers.filter((c) => c.state === 'running' && c.role !== 'sandbox');
    if (running.length > 0)
      this.ctx.log.info('stopping containers', { pod: this.describe(), why, count: running.length });
    await Promise.all(running.map((c) => this.stopContainer(c, graceSeconds)));
    const sandboxes = containers.filter((c) => c.state === 'running' && c.role === 'sandbox');
    await Promise.all(sandboxes.map((c) => this.ctx.runtime.stopContainer(c.id, 0)));
  }

  private async removeAll(containers: RuntimeContainer[], volumeNames: string[]): Promise<void> {
    for (const container of containers) await this.ctx.runtime.removeContainer(container.id);
    await this.ctx.volumes.tearDown(this.uid, volumeNames);
    this.ctx.backoff.forget(`${this.uid}/`);
  }

  /**
   * Graceful deletion: SIGTERM the containers, SIGKILL those still running when the grace
   * period is over, remove everything, then delete the pod object for good (grace 0), which
   * is the signal to the API that this node has let go of it.
   */
  private async terminate(pod: Pod, containers: RuntimeContainer[]): Promise<void> {
    const deadline = new Date(pod.metadata.deletionTimestamp!).getTime();
    const grace = Math.max(
      0,
      Math.min(pod.metadata.deletionGracePeriodSeconds ?? 30, (deadline - Date.now()) / 1000),
    );
    for (const c of containers.filter((c) => c.state === 'running' && c.role === 'app')) {
      this.ctx.recorder.event(
        pod,
        'Normal',
        'Killing',
        `Stopping container ${c.name}`,
        `spec.containers{${c.name}}`,
      );
    }
    await this.killAll(containers, grace, 'the pod is being deleted');
    await this.removeAll(
      containers,
      (pod.spec.volumes ?? []).filter((v) => v.emptyDir && v.emptyDir.medium !== 'Memory').map((v) => v.name),
    );
    try {
      await this.ctx.client.resource('Pod').delete(pod.metadata.namespace, pod.metadata.name!, {
        gracePeriodSeconds: 0,
        preconditions: { uid: this.uid },
      });
    } catch (error) {
      if (!(error instanceof ApiError && (error.code === 404 || error.code === 409))) throw error;
    }
    this.stop();
    this.onFinished(this.uid);
  }

  /** A Normal event that reports pulling or starting; a hollow node does neither, so records none. */
  private workEvent(pod: Pod, reason: string, message: string, field: string): void {
    if (!this.ctx.hollow) this.ctx.recorder.event(pod, 'Normal', reason, message, field);
  }

  // ---- status ----

  /** The informer's pod, or the one our last status patch returned when that is newer. */
  private newest(pod: Pod): Pod {
    const written = this.written;
    if (!written || written.metadata.uid !== pod.metadata.uid) return pod;
    const version = (p: Pod) => Number(p.metadata.resourceVersion ?? 0);
    if (version(written) <= version(pod)) {
      this.written = undefined;
      return pod;
    }
    return { ...pod, status: written.status };
  }

  private async report(
    pod: Pod,
    containers: RuntimeContainer[],
    sandbox: RuntimeContainer | undefined,
  ): Promise<void> {
    const view = (spec: Container, role: 'init' | 'app'): ContainerView => {
      const attempts = containers
        .filter((c) => c.role === role && c.name === spec.name)
        .sort((a, b) => b.restartCount - a.restartCount);
      const current = attempts[0];
      const probes = current ? this.probes.get(current.id) : undefined;
      return {
        spec,
        current,
        previous: attempts[1],
        waiting: this.waiting.get(spec.name),
        ready: probes ? probes.ready : !spec.readinessProbe,
        started: probes ? probes.started : !spec.startupProbe,
      };
    };
    const facts = {
      sandbox,
      hostIP: this.ctx.hostIP,
      init: (pod.spec.initContainers ?? []).map((c) => view(c, 'init')),
      app: pod.spec.containers.map((c) => view(c, 'app')),
      now: new Date(),
    };
    for (const v of [...facts.init, ...facts.app]) {
      if (v.current?.state === 'exited' && !v.current.error) {
        const message = await this.ctx.volumes.readTerminationLog(
          this.uid,
          v.spec.name,
          v.current.restartCount,
        );
        if (message) v.current = { ...v.current, error: message.trim() };
      }
    }
    const status: PodStatus = computePodStatus(this.newest(pod), facts);
    const serialized = JSON.stringify(status);
    if (serialized === this.lastStatus) return;
    this.written = await this.ctx.client
      .resource('Pod')
      .patch(pod.metadata.namespace, pod.metadata.name!, { status }, 'merge', { subresource: 'status' });
    this.lastStatus = serialized;
  }
}
