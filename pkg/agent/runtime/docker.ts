import Docker from 'dockerode';
import { Duplex, PassThrough, Readable } from 'stream';
import { dockerName, LABEL, podLabels } from './labels';
import {
  ContainerConfig,
  ContainerRole,
  ContainerRuntime,
  ExecResult,
  ExecSession,
  ExecStreamOptions,
  ImagePullError,
  LogOptions,
  NetworkInfo,
  RuntimeContainer,
  RuntimeEvent,
  RuntimeUnavailableError,
  RuntimeVersion,
  SandboxConfig,
} from './types';

export interface DockerRuntimeOptions {
  /** The node this agent is: it only ever lists or touches containers labelled with it. */
  nodeName: string;
  /** The image that holds a pod's namespaces. */
  sandboxImage: string;
  /** Labels added to everything created (e.g. the cluster name, a test run id), for cleanup. */
  extraLabels?: Record<string, string>;
  docker?: Docker;
}

interface DockerError {
  statusCode?: number;
  code?: string;
  json?: { message?: string };
  message: string;
}

function asDockerError(error: unknown): DockerError {
  return (error && typeof error === 'object' ? error : { message: String(error) }) as DockerError;
}

/** Connection-level failures mean the daemon is down, which the node reports as NotReady. */
function isUnavailable(error: DockerError): boolean {
  return ['ECONNREFUSED', 'ENOENT', 'EPIPE', 'ECONNRESET', 'EACCES'].includes(error.code ?? '');
}

function daemonMessage(error: unknown): string {
  const e = asDockerError(error);
  return (e.json?.message ?? e.message).trim();
}

/** Rethrows daemon-unreachable errors as RuntimeUnavailableError, and passes `ignore`d status codes. */
async function call<T>(
  what: string,
  action: () => Promise<T>,
  ignore: number[] = [],
): Promise<T | undefined> {
  try {
    return await action();
  } catch (error) {
    const e = asDockerError(error);
    if (isUnavailable(e))
      throw new RuntimeUnavailableError(`Docker daemon not reachable (${what}): ${e.message}`);
    if (e.statusCode !== undefined && ignore.includes(e.statusCode)) return undefined;
    throw new Error(`${what}: ${daemonMessage(error)}`, { cause: error });
  }
}

function dockerTime(value: string | undefined): Date | undefined {
  if (!value || value.startsWith('0001-01-01')) return undefined;
  return new Date(value);
}

/** Orders networks by creation time to the nanosecond (Docker's RFC 3339 stamps), then by id. */
function compareCreated(a: Docker.NetworkInspectInfo, b: Docker.NetworkInspectInfo): number {
  const key = (created: string | undefined) => {
    const m = /^(.*?)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(created ?? '');
    return m ? [Date.parse(m[1] + m[3]), Number((m[2] ?? '').padEnd(9, '0').slice(0, 9))] : [Infinity, 0];
  };
  const [as, an] = key(a.Created);
  const [bs, bn] = key(b.Created);
  return as - bs || an - bn || (a.Id < b.Id ? -1 : a.Id > b.Id ? 1 : 0);
}

export class DockerRuntime implements ContainerRuntime {
  private readonly docker: Docker;
  private readonly nodeName: string;
  private readonly sandboxImage: string;
  private readonly extraLabels: Record<string, string>;

  constructor(options: DockerRuntimeOptions) {
    this.docker = options.docker ?? new Docker();
    this.nodeName = options.nodeName;
    this.sandboxImage = options.sandboxImage;
    this.extraLabels = options.extraLabels ?? {};
  }

  async version(): Promise<RuntimeVersion> {
    const v = (await call('version', () => this.docker.version()))!;
    return {
      runtime: 'docker',
      version: v.Version,
      apiVersion: v.ApiVersion,
      os: v.Os,
      kernel: v.KernelVersion,
    };
  }

  async ping(): Promise<void> {
    await call('ping', () => this.docker.ping());
  }

  async ensureNetwork(name: string): Promise<NetworkInfo> {
    const describe = (n: Docker.NetworkInspectInfo): NetworkInfo => ({
      id: n.Id,
      name: n.Name,
      subnet: n.IPAM?.Config?.[0]?.Subnet ?? '',
      gateway: n.IPAM?.Config?.[0]?.Gateway ?? '',
    });
    // Docker does not keep network names unique: two agents sharing a daemon that both create
    // the network get two of that name, and picking "the oldest" afterwards is not enough, since
    // an agent that lists right after its own create cannot see a create still in flight. So the
    // create (and the removal of duplicates an older bosun left) happens under a lock that Docker
    // does make atomic: a container name.
    const named = async () => {
      const networks = (await call('list networks', () =>
        this.docker.listNetworks({ filters: JSON.stringify({ name: [name] }) }),
      )) as Docker.NetworkInspectInfo[];
      return networks.filter((n) => n.Name === name).sort(compareCreated);
    };
    const inspect = async (id: string) =>
      describe(
        (await call('inspect network', () =>
          this.docker.getNetwork(id).inspect(),
        )) as Docker.NetworkInspectInfo,
      );
    const existing = await named();
    if (existing.length === 1) return inspect(existing[0].Id);
    return this.withLock(`bosun-network-lock-${name}`, async () => {
      let networks = await named();
      if (networks.length === 0) {
        await call('create network', () =>
          this.docker.createNetwork({
            Name: name,
            Driver: 'bridge',
            Labels: { ...this.extraLabels, [LABEL.managed]: 'true' },
          }),
        );
        networks = await named();
      }
      const [chosen, ...extra] = networks;
      if (!chosen) throw new Error(`network ${name} vanished right after it was created`);
      for (const n of extra)
        await this.docker
          .getNetwork(n.Id)
          .remove()
          .catch(() => undefined);
      return inspect(chosen.Id);
    });
  }

  /**
   * Runs `action` while holding a daemon-wide lock: a created (never started) container of the
   * given name, which Docker refuses to create twice. A lock left by a process that died is taken
   * over once it is older than `staleMs`. Without the sandbox image there is nothing to create,
   * so the action runs unlocked (the image is needed for any pod anyway).
   */
  private async withLock<T>(lockName: string, action: () => Promise<T>, staleMs = 30_000): Promise<T> {
    const deadline = Date.now() + 2 * staleMs;
    for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
      const created = await call(
        'create lock',
        () =>
          this.docker.createContainer({
            name: lockName,
            Image: this.sandboxImage,
            Labels: { ...this.extraLabels, [LABEL.managed]: 'true' },
            HostConfig: { NetworkMode: 'none' },
          }),
        [404, 409],
      );
      if (created) break;
      const holder = (await call(
        'inspect lock',
        () => this.docker.getContainer(lockName).inspect(),
        [404],
      )) as Docker.ContainerInspectInfo | undefined;
      if (!holder) {
        // 404 on create and no holder: the image is missing, not the lock taken.
        const image = await this.imageId(this.sandboxImage);
        if (!image) return action();
        continue;
      }
      if (Date.now() - new Date(holder.Created).getTime() > staleMs) {
        await call(
          'remove stale lock',
          () => this.docker.getContainer(holder.Id).remove({ force: true }),
          [404, 409],
        );
        continue;
      }
      if (Date.now() > deadline) throw new Error(`lock ${lockName}: still held by another process`);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    try {
      return await action();
    } finally {
      await call('remove lock', () => this.docker.getContainer(lockName).remove({ force: true }), [404, 409]);
    }
  }

  async imageId(image: string): Promise<string | undefined> {
    const info = await call('inspect image', () => this.docker.getImage(image).inspect(), [404]);
    return info?.Id;
  }

  async pullImage(image: string, signal?: AbortSignal): Promise<void> {
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.pull(image, { abortSignal: signal });
    } catch (error) {
      const e = asDockerError(error);
      if (isUnavailable(e))
        throw new RuntimeUnavailableError(`Docker daemon not reachable (pull): ${e.message}`);
      throw new ImagePullError(image, daemonMessage(error));
    }
    await new Promise<void>((resolve, reject) => {
      this.docker.modem.followProgress(stream, (error: Error | null, output: Array<{ error?: string }>) => {
        const failed = error ? daemonMessage(error) : output.find((event) => event.error)?.error;
        if (failed) reject(new ImagePullError(image, failed));
        else resolve();
      });
    });
  }

  async runSandbox(config: SandboxConfig): Promise<RuntimeContainer> {
    const exposed: Record<string, object> = {};
    const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
    for (const binding of config.portBindings) {
      const key = `${binding.containerPort}/${binding.protocol.toLowerCase()}`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: binding.hostIP, HostPort: String(binding.hostPort) });
    }
    const container = (await call('create sandbox', () =>
      this.docker.createContainer({
        name: dockerName(config.pod, '', config.attempt),
        Image: this.sandboxImage,
        Hostname: config.hostname,
        Labels: {
          ...this.extraLabels,
          ...podLabels(this.nodeName, config.pod, 'sandbox'),
          [LABEL.restartCount]: String(config.attempt),
        },
        ExposedPorts: exposed,
        HostConfig: {
          NetworkMode: config.network,
          PortBindings: bindings,
          // Containers of a pod share IPC as in Kubernetes; the sandbox owns the namespace.
          IpcMode: 'shareable',
          Dns: config.dns?.servers,
          DnsSearch: config.dns?.searches,
          DnsOptions: config.dns?.options,
          ExtraHosts: config.extraHosts?.flatMap((h) => h.hostnames.map((name) => `${name}:${h.ip}`)),
          RestartPolicy: { Name: 'no' },
        },
      }),
    ))!;
    try {
      await call('start sandbox', () => container.start());
    } catch (error) {
      await this.removeContainer(container.id);
      throw error;
    }
    const sandbox = await this.inspect(container.id);
    if (!sandbox) throw new Error(`sandbox ${container.id} vanished right after it started`);
    return sandbox;
  }

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    const hostConfig: Docker.HostConfig = {
      NetworkMode: `container:${sandboxId}`,
      IpcMode: `container:${sandboxId}`,
      Mounts: config.mounts.map((mount): Docker.MountSettings =>
        mount.type === 'tmpfs'
          ? {
              Type: 'tmpfs',
              Source: '',
              Target: mount.target,
              ...(mount.sizeBytes ? { TmpfsOptions: { SizeBytes: mount.sizeBytes, Mode: 0o1777 } } : {}),
            }
          : { Type: mount.type, Source: mount.source, Target: mount.target, ReadOnly: mount.readOnly },
      ),
      RestartPolicy: { Name: 'no' },
      Privileged: config.privileged ?? false,
    };
    if (config.cpuLimitMilli) hostConfig.NanoCpus = config.cpuLimitMilli * 1_000_000;
    // Kubernetes' conversion: 1 CPU = 1024 shares, and never below the kernel's minimum of 2.
    if (config.cpuRequestMilli)
      hostConfig.CpuShares = Math.max(2, Math.floor((config.cpuRequestMilli * 1024) / 1000));
    if (config.memoryLimitBytes) {
      hostConfig.Memory = config.memoryLimitBytes;
      // No swap: a container over its limit is OOM-killed, as in Kubernetes.
      hostConfig.MemorySwap = config.memoryLimitBytes;
    }
    const container = (await call(`create container ${config.name}`, () =>
      this.docker.createContainer({
        name: dockerName(config.pod, config.name, config.restartCount),
        Image: config.image,
        Entrypoint: config.command,
        Cmd: config.args,
        WorkingDir: config.workingDir,
        Env: config.env.map(([name, value]) => `${name}=${value}`),
        User: config.user,
        Tty: config.tty ?? false,
        OpenStdin: config.stdin ?? false,
        Labels: {
          ...this.extraLabels,
          ...podLabels(this.nodeName, config.pod, config.role),
          [LABEL.containerName]: config.name,
          [LABEL.restartCount]: String(config.restartCount),
          [LABEL.specHash]: config.specHash,
        },
        HostConfig: hostConfig,
      }),
    ))!;
    return container.id;
  }

  async startContainer(id: string): Promise<void> {
    // 304: already started, which is what was asked.
    await call('start container', () => this.docker.getContainer(id).start(), [304]);
  }

  async stopContainer(id: string, graceSeconds: number): Promise<void> {
    await call(
      'stop container',
      () => this.docker.getContainer(id).stop({ t: Math.max(0, Math.ceil(graceSeconds)) }),
      [304, 404],
    );
  }

  async removeContainer(id: string): Promise<void> {
    await call(
      'remove container',
      () => this.docker.getContainer(id).remove({ force: true, v: true }),
      [404, 409],
    );
  }

  async inspect(id: string): Promise<RuntimeContainer | undefined> {
    // The daemon answers an empty id with a redirect that the Docker client follows to a bogus host.
    if (!id) return undefined;
    const info = await call('inspect container', () => this.docker.getContainer(id).inspect(), [404]);
    return info ? this.describe(info) : undefined;
  }

  /**
   * The labels of everything this agent created: its node name and its extra labels (the
   * cluster's id). Two clusters on one daemon both have a "node-1"; the cluster label keeps
   * each agent's hands off the other cluster's containers.
   */
  private ownLabels(): string[] {
    return [
      `${LABEL.node}=${this.nodeName}`,
      ...Object.entries(this.extraLabels).map(([k, v]) => `${k}=${v}`),
    ];
  }

  async listPodContainers(podUid?: string): Promise<RuntimeContainer[]> {
    const label = [...this.ownLabels(), ...(podUid ? [`${LABEL.podUid}=${podUid}`] : [])];
    const summaries = (await call('list containers', () =>
      this.docker.listContainers({ all: true, filters: { label } }),
    ))!;
    const containers = await Promise.all(summaries.map((summary) => this.inspect(summary.Id)));
    return containers.filter((c): c is RuntimeContainer => c !== undefined);
  }

  private describe(info: Docker.ContainerInspectInfo): RuntimeContainer {
    const labels = info.Config.Labels ?? {};
    const status = info.State.Status;
    const state =
      status === 'running' || status === 'paused' || status === 'restarting'
        ? 'running'
        : status === 'created'
          ? 'created'
          : status === 'exited' || status === 'dead'
            ? 'exited'
            : 'unknown';
    const network = Object.values(info.NetworkSettings.Networks ?? {})[0];
    return {
      id: info.Id,
      pod: {
        uid: labels[LABEL.podUid] ?? '',
        namespace: labels[LABEL.podNamespace] ?? '',
        name: labels[LABEL.podName] ?? '',
      },
      role: (labels[LABEL.role] ?? 'app') as ContainerRole,
      name: labels[LABEL.containerName] ?? '',
      restartCount: Number(labels[LABEL.restartCount] ?? 0),
      specHash: labels[LABEL.specHash] ?? '',
      state,
      exitCode: info.State.ExitCode,
      oomKilled: info.State.OOMKilled,
      error: info.State.Error ?? '',
      createdAt: new Date(info.Created),
      startedAt: dockerTime(info.State.StartedAt),
      finishedAt: dockerTime(info.State.FinishedAt),
      image: info.Config.Image,
      imageId: info.Image,
      ip: state === 'running' ? (network?.IPAddress ?? '') : '',
    };
  }

  async exec(id: string, command: string[], timeoutMs: number): Promise<ExecResult> {
    const container = this.docker.getContainer(id);
    const exec = (await call('exec', () =>
      container.exec({ Cmd: command, AttachStdout: true, AttachStderr: true }),
    ))!;
    const stream = (await call('exec start', () => exec.start({ hijack: true, stdin: false })))!;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.docker.modem.demuxStream(stream, stdout, stderr);
    const output = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
    stdout.on('data', (chunk: Buffer) => output.stdout.push(chunk));
    stderr.on('data', (chunk: Buffer) => output.stderr.push(chunk));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        new Promise<void>((resolve, reject) => {
          stream.on('end', resolve);
          stream.on('close', resolve);
          stream.on('error', reject);
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`command timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      stream.destroy();
    }
    const result = (await call('exec inspect', () => exec.inspect()))!;
    return {
      exitCode: result.ExitCode ?? -1,
      stdout: Buffer.concat(output.stdout).toString('utf8'),
      stderr: Buffer.concat(output.stderr).toString('utf8'),
    };
  }

  async execStream(id: string, options: ExecStreamOptions): Promise<ExecSession> {
    const exec = (await call('exec', () =>
      this.docker.getContainer(id).exec({
        Cmd: options.command,
        AttachStdin: options.stdin,
        AttachStdout: options.stdout,
        AttachStderr: options.stderr,
        Tty: options.tty,
      }),
    ))!;
    const socket = (await call('exec start', () =>
      exec.start({ hijack: true, stdin: options.stdin, Tty: options.tty }),
    )) as Duplex;
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    if (options.tty) {
      socket.on('data', (chunk: Buffer) => stdout.write(chunk));
      stderr.end();
    } else {
      demultiplex(socket, stdout, stderr);
    }
    const closed = new Promise<void>((resolve) => {
      socket.once('close', () => {
        stdout.end();
        stderr.end();
        resolve();
      });
    });
    socket.on('error', () => socket.destroy());
    return {
      stdin: options.stdin ? socket : undefined,
      stdout,
      stderr,
      resize: async (width, height) => {
        if (!options.tty) return;
        await call('exec resize', () => exec.resize({ w: width, h: height }), [404, 409, 500]);
      },
      wait: async () => {
        await closed;
        // The daemon closes the stream as the process exits; its exit code lands a moment later.
        for (let attempt = 0; ; attempt++) {
          const info = (await call('exec inspect', () => exec.inspect()))!;
          if (!info.Running || attempt >= 100) return info.ExitCode ?? -1;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      },
      close: () => socket.destroy(),
    };
  }

  async logs(id: string, options: LogOptions, signal?: AbortSignal): Promise<NodeJS.ReadableStream> {
    const container = this.docker.getContainer(id);
    const common = {
      stdout: true,
      stderr: true,
      timestamps: options.timestamps,
      // Docker reads a missing tail as "all".
      ...(options.tail === undefined ? {} : { tail: options.tail }),
      since: options.sinceSeconds ? Math.floor(Date.now() / 1000) - options.sinceSeconds : 0,
    };
    const out = new PassThrough();
    if (!options.follow) {
      const buffer = (await call('logs', () => container.logs({ ...common, follow: false })))!;
      const raw = Readable.from([buffer]);
      this.docker.modem.demuxStream(raw, out, out);
      raw.on('end', () => out.end());
      return out;
    }
    const stream = (await call('logs', () =>
      container.logs({ ...common, follow: true, abortSignal: signal }),
    ))!;
    this.docker.modem.demuxStream(stream, out, out);
    stream.on('end', () => out.end());
    stream.on('error', (error) => out.destroy(error));
    signal?.addEventListener('abort', () => {
      (stream as Readable).destroy();
      out.end();
    });
    return out;
  }

  async *events(signal: AbortSignal): AsyncIterable<RuntimeEvent> {
    const stream = (await call('events', () =>
      this.docker.getEvents({
        filters: {
          type: ['container'],
          label: this.ownLabels(),
          event: ['start', 'die', 'oom', 'destroy'],
        },
        abortSignal: signal,
      }),
    ))!;
    signal.addEventListener('abort', () => (stream as Readable).destroy());
    let pending = '';
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        pending += chunk.toString('utf8');
        let newline: number;
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          if (!line) continue;
          const event = JSON.parse(line) as {
            id: string;
            Action: string;
            Actor: { Attributes: Record<string, string> };
          };
          const labels = event.Actor.Attributes;
          yield {
            containerId: event.id,
            action: event.Action as RuntimeEvent['action'],
            role: (labels[LABEL.role] ?? 'app') as ContainerRole,
            podUid: labels[LABEL.podUid] ?? '',
            name: labels[LABEL.containerName] ?? '',
          };
        }
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }

  async ensureVolume(name: string, labels: Record<string, string>): Promise<void> {
    const existing = await call('inspect volume', () => this.docker.getVolume(name).inspect(), [404]);
    if (existing) return;
    await call('create volume', () =>
      this.docker.createVolume({
        Name: name,
        Labels: { ...this.extraLabels, ...labels, [LABEL.managed]: 'true' },
      }),
    );
  }

  async removeVolume(name: string): Promise<void> {
    await call('remove volume', () => this.docker.getVolume(name).remove({ force: true }), [404]);
  }

  async listVolumes(): Promise<Array<{ name: string; labels: Record<string, string> }>> {
    const result = (await call('list volumes', () =>
      this.docker.listVolumes({ filters: { label: this.ownLabels() } }),
    ))!;
    return (result.Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} }));
  }
}

/**
 * Docker's framing of a non-TTY attach: an 8-byte header per chunk (stream 1 stdout, 2
 * stderr; a big-endian length in bytes 4-7), then the chunk. Frames are split anywhere by TCP.
 */
export function demultiplex(
  source: Readable,
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
): void {
  let pending: Buffer = Buffer.alloc(0);
  source.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      (pending[0] === 2 ? stderr : stdout).write(pending.subarray(8, 8 + size));
      pending = pending.subarray(8 + size);
    }
  });
}
