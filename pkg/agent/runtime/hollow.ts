/**
 * A runtime that starts nothing: containers exist only in memory, run the moment they are
 * started and stay running until stopped. With it the real agent (pod workers, status, probes
 * answered "ok", leases) runs as a "hollow node", as Kubernetes' kubemark does, so the control
 * plane can be measured with a hundred nodes on one small machine. Never used for real pods.
 */
import { EventEmitter } from 'events';
import { Readable } from 'stream';
import {
  ContainerConfig,
  ContainerRuntime,
  ExecResult,
  ExecSession,
  NetworkInfo,
  RuntimeContainer,
  RuntimeEvent,
  RuntimeVersion,
  SandboxConfig,
} from './types';

let nextNodeIndex = 0;

export class HollowRuntime implements ContainerRuntime {
  private readonly containers = new Map<string, RuntimeContainer>();
  private readonly volumes = new Map<string, Record<string, string>>();
  private readonly emitter = new EventEmitter();
  private nextId = 0;
  private nextIp = 2;
  private readonly nodeIndex = nextNodeIndex++;

  constructor(private readonly nodeName: string) {
    this.emitter.setMaxListeners(0);
  }

  async version(): Promise<RuntimeVersion> {
    return { runtime: 'hollow', version: '0.0.0', apiVersion: '0', os: 'linux', kernel: 'hollow' };
  }

  async ping(): Promise<void> {}

  async ensureNetwork(name: string): Promise<NetworkInfo> {
    return {
      id: `hollow-${name}`,
      name,
      subnet: `${this.subnetPrefix()}0/24`,
      gateway: `${this.subnetPrefix()}1`,
    };
  }

  async imageId(image: string): Promise<string | undefined> {
    return `sha256:hollow-${image}`;
  }

  async pullImage(): Promise<void> {}

  async runSandbox(config: SandboxConfig): Promise<RuntimeContainer> {
    const n = this.nextIp++;
    const container = this.record(config.pod, 'sandbox', 'POD', 0, '', 'bosun/pause:local');
    container.ip = `${this.subnetPrefix()}${(n % 253) + 2}`;
    container.state = 'running';
    container.startedAt = new Date();
    return { ...container };
  }

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    const sandbox = this.containers.get(sandboxId);
    const container = this.record(
      config.pod,
      config.role,
      config.name,
      config.restartCount,
      config.specHash,
      config.image,
    );
    container.ip = sandbox?.ip ?? '';
    return container.id;
  }

  async startContainer(id: string): Promise<void> {
    const container = this.mustGet(id);
    container.state = 'running';
    container.startedAt = new Date();
    // Init containers of a hollow pod succeed at once.
    if (container.role === 'init') {
      container.state = 'exited';
      container.exitCode = 0;
      container.finishedAt = new Date();
    }
    this.emit(container, 'start');
    if (container.role === 'init') this.emit(container, 'die');
  }

  async stopContainer(id: string): Promise<void> {
    const container = this.containers.get(id);
    if (!container || container.state !== 'running') return;
    container.state = 'exited';
    container.exitCode = 0;
    container.finishedAt = new Date();
    this.emit(container, 'die');
  }

  async removeContainer(id: string): Promise<void> {
    const container = this.containers.get(id);
    if (!container) return;
    this.containers.delete(id);
    this.emit(container, 'destroy');
  }

  async inspect(id: string): Promise<RuntimeContainer | undefined> {
    const container = this.containers.get(id);
    return container && { ...container };
  }

  async listPodContainers(podUid?: string): Promise<RuntimeContainer[]> {
    return [...this.containers.values()]
      .filter((c) => !podUid || c.pod.uid === podUid)
      .map((c) => ({ ...c }));
  }

  async exec(): Promise<ExecResult> {
    return { exitCode: 0, stdout: '', stderr: '' };
  }

  async execStream(): Promise<ExecSession> {
    throw new Error('a hollow node runs no processes to exec into');
  }

  async logs(): Promise<NodeJS.ReadableStream> {
    return Readable.from([]);
  }

  async *events(signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    const pending: RuntimeEvent[] = [];
    let wake: (() => void) | undefined;
    const onEvent = (event: RuntimeEvent) => {
      pending.push(event);
      wake?.();
    };
    this.emitter.on('event', onEvent);
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        const event = pending.shift();
        if (event) {
          yield event;
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.emitter.off('event', onEvent);
      signal.removeEventListener('abort', onAbort);
    }
  }

  async ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    this.volumes.set(name, labels);
  }

  async removeVolume(name: string): Promise<void> {
    this.volumes.delete(name);
  }

  async listVolumes(): Promise<Array<{ name: string; labels: Record<string, string> }>> {
    return [...this.volumes].map(([name, labels]) => ({ name, labels }));
  }

  /** Node i owns 10.(200 + i/256).(i%256).0/24 for its pods. */
  private subnetPrefix(): string {
    return `10.${200 + (this.nodeIndex >> 8)}.${this.nodeIndex & 255}.`;
  }

  private record(
    pod: RuntimeContainer['pod'],
    role: RuntimeContainer['role'],
    name: string,
    restartCount: number,
    specHash: string,
    image: string,
  ): RuntimeContainer {
    const id = `hollow-${this.nodeName}-${++this.nextId}`;
    const container: RuntimeContainer = {
      id,
      pod,
      role,
      name,
      restartCount,
      specHash,
      state: 'created',
      exitCode: 0,
      oomKilled: false,
      error: '',
      createdAt: new Date(),
      image,
      imageId: `sha256:hollow-${image}`,
      ip: '',
    };
    this.containers.set(id, container);
    return container;
  }

  private mustGet(id: string): RuntimeContainer {
    const container = this.containers.get(id);
    if (!container) throw new Error(`no hollow container ${id}`);
    return container;
  }

  private emit(container: RuntimeContainer, action: RuntimeEvent['action']): void {
    this.emitter.emit('event', {
      containerId: container.id,
      action,
      role: container.role,
      podUid: container.pod.uid,
      name: container.name,
    } satisfies RuntimeEvent);
  }
}
