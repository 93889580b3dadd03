/**
 * The agent: bosun's kubelet. It registers its Node, renews its Lease (every 2.5 s unless told:
 * a quarter of the masters' default 10 s node grace period, as the kubelet renews at a quarter
 * of its lease duration), and keeps the containers of its Docker daemon matching the pods
 * bound to it, one PodWorker per pod. It owns nothing but Docker: everything it needs to know
 * after a restart is in the API and in its containers' labels, so a restarted agent adopts
 * what runs.
 */
import http from 'http';
import { AddressInfo } from 'net';
import os from 'os';
import { Duplex } from 'stream';
import { ApiError, ConfigMap, KubeObject, Node, NodeCondition, Pod, Secret, Service } from '../api';
import { Client, EventRecorder, Informer } from '../client';
import { logger, Logger } from '../util/log';
import { bosunVersion, kubeletVersion } from '../util/version';
import { RestartBackoff } from './backoff';
import { PodWorker } from './pod-worker';
import { ContainerRuntime, RuntimeVersion } from './runtime/types';
import { StreamingServer } from './streaming';
import { ClusterDNS } from './dns';
import { VolumeManager } from './volumes';

export interface AgentOptions {
  name: string;
  client: Client;
  runtime: ContainerRuntime;
  /** The node's address: host ports bind here, and the agent's own endpoint listens here. */
  address: string;
  cpus?: number;
  /** Bytes. */
  memory?: number;
  maxPods?: number;
  /** Absolute path for pod files (configMap/secret volumes, termination messages). */
  dataDir: string;
  network: string;
  allowHostPath?: boolean;
  /** Cluster DNS for pods with `dnsPolicy: ClusterFirst`; absent: pods use Docker's resolver. */
  dns?: ClusterDNS;
  /** The token the apiserver presents when it proxies logs, exec and port-forward to this agent. */
  token: string;
  labels?: Record<string, string>;
  /** How often the Lease is renewed; a quarter of the masters' node grace period is what holds. */
  leaseRenewMs?: number;
  /** Port of the agent's log endpoint (0: any free one). */
  port?: number;
  /** Restart back-off (Kubernetes' 10 s doubling to 5 min unless given). */
  backoff?: RestartBackoff;
  /**
   * A hollow node (kubemark's idea, over the hollow runtime): it pulls and starts nothing, so it
   * records no Pulling, Pulled, Created or Started events, which would claim work that never happened.
   */
  hollow?: boolean;
}

const LEASE_NAMESPACE = 'kube-node-lease';
/** A quarter of the masters' default node grace period (10 s). */
export const DEFAULT_LEASE_RENEW_MS = 2500;

function microTime(date = new Date()): string {
  return date.toISOString().replace('Z', '000Z');
}

function time(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class Agent {
  readonly log: Logger;
  private readonly workers = new Map<string, PodWorker>();
  private readonly pods: Informer<Pod>;
  private readonly configMaps: Informer<ConfigMap>;
  private readonly secrets: Informer<Secret>;
  private readonly services: Informer<Service>;
  private readonly recorder: EventRecorder;
  private readonly volumes: VolumeManager;
  private readonly streaming: StreamingServer;
  private readonly backoff: RestartBackoff;
  private readonly controller = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private server: http.Server | undefined;
  private runtimeVersion: RuntimeVersion | undefined;
  private runtimeError = '';
  private lastNodeStatus = '';
  private lastNodeReport = 0;
  private port = 0;
  private readonly running: Promise<void>[] = [];
  private readonly leaseRenewMs: number;

  constructor(private readonly options: AgentOptions) {
    this.log = logger('agent', { node: options.name });
    this.backoff = options.backoff ?? new RestartBackoff();
    this.leaseRenewMs = options.leaseRenewMs ?? DEFAULT_LEASE_RENEW_MS;
    const client = options.client;
    this.pods = new Informer(client.resource('Pod'), { fieldSelector: `spec.nodeName=${options.name}` });
    this.configMaps = new Informer(client.resource('ConfigMap'));
    this.secrets = new Informer(client.resource('Secret'));
    this.services = new Informer(client.resource('Service'));
    this.recorder = new EventRecorder(client, { component: 'kubelet', host: options.name });
    this.volumes = new VolumeManager({
      runtime: options.runtime,
      nodeName: options.name,
      dataDir: options.dataDir,
      allowHostPath: options.allowHostPath ?? false,
    });
    this.streaming = new StreamingServer({
      nodeName: options.name,
      token: options.token,
      runtime: options.runtime,
      pod: (namespace, name) => this.pods.get(`${namespace}/${name}`),
      log: this.log,
    });
  }

  get endpointPort(): number {
    return this.port;
  }

  async start(): Promise<void> {
    const signal = this.controller.signal;
    await this.startServer();
    await this.options.runtime.ensureNetwork(this.options.network);
    await this.checkRuntime();
    this.running.push(this.configMaps.run(signal), this.secrets.run(signal), this.services.run(signal));
    await Promise.all([
      this.configMaps.waitForSync(signal),
      this.secrets.waitForSync(signal),
      this.services.waitForSync(signal),
    ]);
    this.pods.addHandlers({
      add: (pod) => this.podChanged(pod),
      update: (_old, pod) => this.podChanged(pod),
      delete: (pod) => this.podGone(pod),
    });
    // A changed ConfigMap or Secret refreshes the volumes of the pods that mount it.
    const refresh = (object: KubeObject) => {
      for (const pod of this.pods.list(object.metadata.namespace)) {
        if (podUses(pod, object)) this.workers.get(pod.metadata.uid!)?.schedule();
      }
    };
    this.configMaps.addHandlers({ update: (_o, cm) => refresh(cm), add: refresh });
    this.secrets.addHandlers({ update: (_o, s) => refresh(s), add: refresh });
    this.running.push(this.pods.run(signal));
    await this.pods.waitForSync(signal);
    // Ready only once every cache is filled: a pod bound the moment the node turns Ready is
    // seen at once by a watch, not by a list that has to scan every pod in the cluster.
    await this.registerNode();
    await this.adoptAndClean();
    this.running.push(this.watchRuntimeEvents(signal));
    this.every(this.leaseRenewMs, () => this.renewLease());
    this.every(5000, () => this.checkRuntime().then(() => this.reportNodeStatus()));
    // Level-triggered safety net: every pod is looked at again now and then.
    this.every(10_000, () => {
      for (const worker of this.workers.values()) worker.schedule();
      return this.adoptAndClean();
    });
    this.log.info('agent started', {
      address: this.options.address,
      port: this.port,
      pods: this.workers.size,
    });
  }

  private every(ms: number, task: () => Promise<void>): void {
    const loop = () => {
      const timer = setTimeout(() => {
        task()
          .catch((error: unknown) =>
            this.log.warn('periodic task failed', { error: (error as Error).message }),
          )
          .finally(() => {
            if (!this.controller.signal.aborted) loop();
          });
      }, ms);
      this.timers.push(timer);
    };
    loop();
  }

  async stop(): Promise<void> {
    this.controller.abort();
    for (const timer of this.timers) clearTimeout(timer);
    for (const worker of this.workers.values()) worker.stop();
    await Promise.allSettled(this.running);
    await this.recorder.flush();
    this.streaming.close();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }

  /** Resolves when every event recorded so far has been written (tests). */
  flushEvents(): Promise<void> {
    return this.recorder.flush();
  }

  // ---- pods ----

  private sources() {
    const key = (ns: string, name: string) => `${ns}/${name}`;
    return {
      configMap: (ns: string, name: string) => this.configMaps.get(key(ns, name)),
      secret: (ns: string, name: string) => this.secrets.get(key(ns, name)),
      services: (ns: string) => this.services.list(ns),
    };
  }

  private worker(uid: string): PodWorker {
    let worker = this.workers.get(uid);
    if (!worker) {
      worker = new PodWorker(
        uid,
        {
          nodeName: this.options.name,
          hostIP: this.options.address,
          network: this.options.network,
          dns: this.options.dns,
          runtime: this.options.runtime,
          volumes: this.volumes,
          backoff: this.backoff,
          recorder: this.recorder,
          hollow: this.options.hollow ?? false,
          client: this.options.client,
          sources: this.sources(),
          log: this.log,
        },
        (finished) => this.workers.delete(finished),
      );
      this.workers.set(uid, worker);
    }
    return worker;
  }

  private podChanged(pod: Pod): void {
    this.worker(pod.metadata.uid!).update(pod);
  }

  private podGone(pod: Pod): void {
    this.workers.get(pod.metadata.uid!)?.update(undefined);
  }

  /**
   * After a (re)start and now and then: containers of pods this node still has are adopted by
   * their workers (found by label, never started twice); containers of pods that no longer
   * exist are removed.
   */
  private async adoptAndClean(): Promise<void> {
    const containers = await this.options.runtime.listPodContainers();
    const known = new Set(this.pods.list().map((p) => p.metadata.uid!));
    for (const uid of new Set(containers.map((c) => c.pod.uid))) {
      if (known.has(uid) || this.workers.has(uid)) continue;
      this.log.info('removing containers of a pod that no longer exists', { podUid: uid });
      this.worker(uid).update(undefined);
    }
  }

  private async watchRuntimeEvents(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        for await (const event of this.options.runtime.events(signal)) {
          if (event.action === 'die' || event.action === 'oom' || event.action === 'start')
            this.workers.get(event.podUid)?.schedule();
        }
      } catch (error) {
        if (signal.aborted) return;
        this.log.warn('docker event stream broke; reconnecting', { error: (error as Error).message });
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  // ---- node ----

  private async checkRuntime(): Promise<void> {
    try {
      await this.options.runtime.ping();
      this.runtimeVersion ??= await this.options.runtime.version();
      if (this.runtimeError) this.log.info('container runtime answers again');
      this.runtimeError = '';
    } catch (error) {
      if (!this.runtimeError)
        this.log.error('container runtime does not answer', { error: (error as Error).message });
      this.runtimeError = (error as Error).message;
    }
  }

  private capacity(): Record<string, string> {
    return {
      cpu: String(this.options.cpus ?? os.cpus().length),
      memory: `${Math.floor((this.options.memory ?? os.totalmem()) / 1024)}Ki`,
      pods: String(this.options.maxPods ?? 110),
      'ephemeral-storage': '100Gi',
    };
  }

  private conditions(previous: NodeCondition[] | undefined): NodeCondition[] {
    const now = time();
    const make = (
      type: string,
      ok: boolean,
      reason: string,
      message: string,
      healthyStatus: 'True' | 'False',
    ): NodeCondition => {
      const status = ok ? healthyStatus : healthyStatus === 'True' ? 'False' : 'True';
      const old = previous?.find((c) => c.type === type);
      return {
        type,
        status,
        reason,
        message,
        lastHeartbeatTime: now,
        lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
      } as NodeCondition;
    };
    const runtimeOk = !this.runtimeError;
    return [
      make(
        'MemoryPressure',
        true,
        'KubeletHasSufficientMemory',
        'kubelet has sufficient memory available',
        'False',
      ),
      make('DiskPressure', true, 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure', 'False'),
      make('PIDPressure', true, 'KubeletHasSufficientPID', 'kubelet has sufficient PID available', 'False'),
      make(
        'Ready',
        runtimeOk,
        runtimeOk ? 'KubeletReady' : 'KubeletNotReady',
        runtimeOk ? 'kubelet is posting ready status' : `container runtime is down: ${this.runtimeError}`,
        'True',
      ),
    ];
  }

  private nodeStatus(previous: Node['status']): NonNullable<Node['status']> {
    const capacity = this.capacity();
    const version = this.runtimeVersion;
    return {
      capacity,
      allocatable: capacity,
      conditions: this.conditions(previous?.conditions),
      addresses: [
        { type: 'InternalIP', address: this.options.address },
        { type: 'Hostname', address: this.options.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.port } },
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: version?.kernel ?? os.release(),
        osImage: `${os.type()} ${os.release()}`,
        containerRuntimeVersion: version ? `docker://${version.version}` : 'docker://unknown',
        kubeletVersion: kubeletVersion(),
        kubeProxyVersion: `bosun-${bosunVersion()}`,
        operatingSystem: process.platform,
        architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      },
    } as NonNullable<Node['status']>;
  }

  private async registerNode(): Promise<void> {
    const nodes = this.options.client.resource('Node');
    const labels = {
      'kubernetes.io/hostname': this.options.name,
      'kubernetes.io/os': process.platform,
      'kubernetes.io/arch': process.arch === 'x64' ? 'amd64' : process.arch,
      ...this.options.labels,
    };
    try {
      await nodes.create({
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: this.options.name, labels },
        spec: {},
        status: this.nodeStatus(undefined),
      } as Node);
      this.log.info('node registered');
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 409)) throw error;
      await nodes.patch(undefined, this.options.name, { metadata: { labels } });
      this.log.info('node re-registered');
    }
    // The Lease first: a node that reports Ready has its heartbeat in place already, so the
    // node-lifecycle controller never sees a Ready node without one.
    await this.renewLease();
    await this.reportNodeStatus(true);
  }

  /** Reports node status when it changed, and at least once a minute. */
  private async reportNodeStatus(force = false): Promise<void> {
    const nodes = this.options.client.resource('Node');
    const current = await nodes.get(undefined, this.options.name);
    const status = this.nodeStatus(current.status);
    const comparable = JSON.stringify({
      ...status,
      conditions: status.conditions?.map((c) => ({ ...c, lastHeartbeatTime: '' })),
    });
    if (!force && comparable === this.lastNodeStatus && Date.now() - this.lastNodeReport < 60_000) return;
    await nodes.patch(undefined, this.options.name, { status }, 'merge', { subresource: 'status' });
    this.lastNodeStatus = comparable;
    this.lastNodeReport = Date.now();
  }

  private async renewLease(): Promise<void> {
    const leases = this.options.client.resource('Lease');
    const spec = {
      holderIdentity: this.options.name,
      // The kubelet's proportion: a lease lasts four renewals.
      leaseDurationSeconds: Math.ceil((4 * this.leaseRenewMs) / 1000),
      renewTime: microTime(),
    };
    try {
      await leases.patch(LEASE_NAMESPACE, this.options.name, { spec }, 'merge');
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 404)) throw error;
      await leases.create({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.options.name, namespace: LEASE_NAMESPACE },
        spec: { ...spec, acquireTime: microTime() },
      } as never);
    }
  }

  // ---- the agent's endpoint: logs like the kubelet's /containerLogs, and exec and port-forward (streaming.ts) ----

  private async startServer(): Promise<void> {
    const server = http.createServer((req, res) => {
      this.serve(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`${(error as Error).message}\n`);
      });
    });
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.streaming.handleUpgrade(req, socket, head);
    });
    await new Promise<void>((resolve) =>
      server.listen(this.options.port ?? 0, this.options.address, resolve),
    );
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  private async serve(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.headers.authorization !== `Bearer ${this.options.token}`) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('Unauthorized\n');
      return;
    }
    const url = new URL(req.url ?? '/', 'http://agent');
    const match = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (!match) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const [, namespace, podName, containerName] = match.map(decodeURIComponent);
    const pod = this.pods.get(`${namespace}/${podName}`);
    if (!pod) {
      res
        .writeHead(404, { 'content-type': 'text/plain' })
        .end(`pod ${namespace}/${podName} is not on node ${this.options.name}\n`);
      return;
    }
    const attempts = (await this.options.runtime.listPodContainers(pod.metadata.uid))
      .filter((c) => c.name === containerName && c.role !== 'sandbox')
      .sort((a, b) => b.restartCount - a.restartCount);
    const previous = url.searchParams.get('previous') === 'true';
    const container = previous ? attempts[1] : attempts[0];
    if (!container) {
      const what = previous
        ? `previous terminated container "${containerName}"`
        : `container "${containerName}"`;
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`${what} in pod "${podName}" not found\n`);
      return;
    }
    const tail = url.searchParams.get('tailLines');
    const since = url.searchParams.get('sinceSeconds');
    const abort = new AbortController();
    req.on('close', () => abort.abort());
    const stream = await this.options.runtime.logs(
      container.id,
      {
        follow: url.searchParams.get('follow') === 'true',
        timestamps: url.searchParams.get('timestamps') === 'true',
        tail: tail === null ? undefined : Number(tail),
        sinceSeconds: since === null ? undefined : Number(since),
      },
      abort.signal,
    );
    res.writeHead(200, { 'content-type': 'text/plain' });
    stream.pipe(res);
  }
}

/** Whether the pod mounts or reads env from this ConfigMap or Secret. */
function podUses(pod: Pod, object: KubeObject): boolean {
  const name = object.metadata.name;
  const isConfigMap = object.kind === 'ConfigMap';
  for (const volume of pod.spec.volumes ?? []) {
    if (isConfigMap ? volume.configMap?.name === name : volume.secret?.secretName === name) return true;
  }
  for (const container of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const from of container.envFrom ?? []) {
      if ((isConfigMap ? from.configMapRef?.name : from.secretRef?.name) === name) return true;
    }
  }
  return false;
}
