/**
 * The agent's view of a container runtime: pod sandboxes, containers, images, volumes,
 * exec, logs and events. The pod workers (pkg/agent) are written against this interface
 * only, so their state machine is unit-tested with a fake here, while the one real
 * implementation (docker.ts) is tested against a real Docker daemon.
 *
 * Everything the runtime creates carries labels naming the node, the pod and the container
 * (see labels.ts), so a restarted agent rebuilds its whole picture from `listPodContainers`
 * and adopts what is already running.
 */

export type ContainerRole = 'sandbox' | 'init' | 'app';

/** Identifies the pod a sandbox or container belongs to. */
export interface PodRef {
  uid: string;
  namespace: string;
  name: string;
}

export interface PortBinding {
  containerPort: number;
  hostPort: number;
  /** The node address the host port is bound to. */
  hostIP: string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
}

export interface DNSConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface SandboxConfig {
  pod: PodRef;
  /** The pod's hostname (its name, as in Kubernetes); every container of the pod shares it. */
  hostname: string;
  /** The Docker network the pod's IP comes from. */
  network: string;
  attempt: number;
  portBindings: PortBinding[];
  /** Absent: Docker's defaults (the embedded resolver on user-defined networks). */
  dns?: DNSConfig;
  /** Extra host entries, "ip name" pairs. */
  extraHosts?: Array<{ ip: string; hostnames: string[] }>;
}

export type Mount =
  | { type: 'volume'; source: string; target: string; readOnly: boolean }
  | { type: 'bind'; source: string; target: string; readOnly: boolean }
  | { type: 'tmpfs'; target: string; sizeBytes?: number };

export interface ContainerConfig {
  pod: PodRef;
  name: string;
  role: Exclude<ContainerRole, 'sandbox'>;
  /** How many times this container of this pod was started before: part of its Docker name and labels. */
  restartCount: number;
  /** A hash of the container's spec: a running container whose spec changed is replaced. */
  specHash: string;
  image: string;
  /** Kubernetes `command` (replaces the image's ENTRYPOINT). */
  command?: string[];
  /** Kubernetes `args` (replaces the image's CMD). */
  args?: string[];
  workingDir?: string;
  env: Array<[name: string, value: string]>;
  mounts: Mount[];
  /** CPU limit in milli-CPUs (becomes NanoCpus). */
  cpuLimitMilli?: number;
  /** CPU request in milli-CPUs (becomes relative CPU shares). */
  cpuRequestMilli?: number;
  memoryLimitBytes?: number;
  user?: string;
  privileged?: boolean;
  tty?: boolean;
  stdin?: boolean;
  /** Where the process may write its termination message (Kubernetes' terminationMessagePath). */
  terminationMessagePath?: string;
}

export type RuntimeState = 'created' | 'running' | 'exited' | 'unknown';

/** What the runtime knows of one sandbox or container, rebuilt from Docker on every inspect/list. */
export interface RuntimeContainer {
  id: string;
  pod: PodRef;
  role: ContainerRole;
  /** Container name from the pod spec; '' for the sandbox. */
  name: string;
  restartCount: number;
  specHash: string;
  state: RuntimeState;
  exitCode: number;
  oomKilled: boolean;
  /** Docker's error when the container could not start (bad command, missing binary...). */
  error: string;
  createdAt: Date;
  startedAt?: Date;
  finishedAt?: Date;
  image: string;
  imageId: string;
  /** Sandbox only: the pod IP on its network ('' when not running). */
  ip: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecStreamOptions {
  command: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** A command running in a container with its streams attached (what `kubectl exec` drives). */
export interface ExecSession {
  /** The command's stdin, when asked for: `end()` closes it, as EOF on a terminal would. */
  stdin?: NodeJS.WritableStream;
  stdout: NodeJS.ReadableStream;
  /** Ends at once with a TTY: the terminal merges the command's stderr into stdout. */
  stderr: NodeJS.ReadableStream;
  /** Resizes the TTY (ignored without one). */
  resize(width: number, height: number): Promise<void>;
  /** The exit code, once the command has ended and its output streams have ended. */
  wait(): Promise<number>;
  /** Drops the attached streams (the client went away). */
  close(): void;
}

export interface LogOptions {
  follow: boolean;
  /** Lines from the end; undefined for all. */
  tail?: number;
  timestamps: boolean;
  sinceSeconds?: number;
}

export interface RuntimeEvent {
  containerId: string;
  action: 'start' | 'die' | 'oom' | 'destroy';
  role: ContainerRole;
  podUid: string;
  name: string;
}

export interface RuntimeVersion {
  runtime: string;
  version: string;
  apiVersion: string;
  os: string;
  kernel: string;
}

export interface NetworkInfo {
  id: string;
  name: string;
  subnet: string;
  gateway: string;
}

/** The image could not be pulled; `message` is the daemon's own words. */
export class ImagePullError extends Error {
  constructor(
    readonly image: string,
    message: string,
  ) {
    super(message);
    this.name = 'ImagePullError';
  }
}

/** The runtime (the Docker daemon) did not answer; the node reports Ready=False with this reason. */
export class RuntimeUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeUnavailableError';
  }
}

export interface ContainerRuntime {
  version(): Promise<RuntimeVersion>;
  /** Resolves when the runtime answers; throws RuntimeUnavailableError otherwise. */
  ping(): Promise<void>;
  ensureNetwork(name: string): Promise<NetworkInfo>;

  /** The local image's id, or undefined when the image is not present. */
  imageId(image: string): Promise<string | undefined>;
  pullImage(image: string, signal?: AbortSignal): Promise<void>;

  /** Creates and starts a sandbox; returns it with its pod IP. */
  runSandbox(config: SandboxConfig): Promise<RuntimeContainer>;
  /** Creates a container in the sandbox's namespaces; does not start it. */
  createContainer(sandboxId: string, config: ContainerConfig): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceSeconds`; resolves once it has exited. A container already gone is fine. */
  stopContainer(id: string, graceSeconds: number): Promise<void>;
  /** Removes a container (and its anonymous volumes); a container already gone is fine. */
  removeContainer(id: string): Promise<void>;
  inspect(id: string): Promise<RuntimeContainer | undefined>;
  /** Every sandbox and container of this node (or of one pod of it), running or not. */
  listPodContainers(podUid?: string): Promise<RuntimeContainer[]>;

  exec(id: string, command: string[], timeoutMs: number): Promise<ExecResult>;
  /** Starts a command in a running container with its streams attached. */
  execStream(id: string, options: ExecStreamOptions): Promise<ExecSession>;
  logs(id: string, options: LogOptions, signal?: AbortSignal): Promise<NodeJS.ReadableStream>;
  /** Container lifecycle events of this node, until the signal aborts. */
  events(signal: AbortSignal): AsyncIterable<RuntimeEvent>;

  ensureVolume(name: string, labels: Record<string, string>): Promise<void>;
  removeVolume(name: string): Promise<void>;
  listVolumes(): Promise<Array<{ name: string; labels: Record<string, string> }>>;
}
