/**
 * One master: the Raft node and its replicated store, the Kubernetes API on top, and (on the
 * leader only) the control loops. Wiring only; each part lives in its own package.
 */
import { randomBytes } from 'crypto';
import { setMaxListeners } from 'events';
import { AddressInfo } from 'net';
import { Authenticator, TokenEntry } from '../apiserver/auth';
import { ensureSystemNamespaces } from '../apiserver/bootstrap';
import { standardObjectStore } from '../apiserver/local';
import { podLogsHandler } from '../apiserver/pod-logs';
import { podStreamHandlers } from '../apiserver/pod-streams';
import { ApiServer } from '../apiserver/server';
import { PeerAddress, RaftNode } from '../raft/node';
import { ReplicatedStore } from '../store/replicated';
import { logger } from '../util/log';
import { DEFAULT_CONTROLLER_OPTIONS, ControllerOptions } from '../controller/all';
import { runControlPlane } from './control-plane';
import { internalApi } from './internal';

export interface ClusterTokens {
  admin: string;
  readonly: string;
  /** Agent name → its token. */
  nodes: Record<string, string>;
  /** The service proxy's token (absent in clusters made before it existed). */
  proxy?: string;
}

export interface MasterOptions {
  name: string;
  dataDir: string;
  peers: Record<string, PeerAddress>;
  api: { host: string; port: number };
  secret: string;
  tokens: ClusterTokens;
  tickMs?: number;
  electionTicks?: number;
  snapshotEvery?: number;
  serviceCIDR?: string;
  join?: boolean;
  /** Timings of the control loops (node grace period, eviction timeout). */
  controllers?: Partial<ControllerOptions>;
  /** Store events kept for watches and past reads (older ones are compacted: 410 Expired). */
  historyEvents?: number;
  /** false: never run the scheduler and controllers (tests of the store alone). */
  controlPlane?: boolean;
}

/** Something that runs only while this master leads (the scheduler, the controllers). */
export interface LeaderTask {
  name: string;
  start(signal: AbortSignal): Promise<void> | void;
}

export class Master {
  readonly log;
  readonly store: ReplicatedStore;
  readonly node: RaftNode;
  readonly api: ApiServer;
  private apiAddress: AddressInfo | undefined;
  private leading: AbortController | undefined;
  private readonly leaderTasks: LeaderTask[] = [];

  constructor(readonly options: MasterOptions) {
    this.log = logger('master', { master: options.name });
    this.store = new ReplicatedStore({ historyEvents: options.historyEvents });
    this.node = new RaftNode({
      id: options.name,
      dataDir: options.dataDir,
      peers: options.peers,
      secret: options.secret,
      stateMachine: this.store,
      log: logger('raft', { master: options.name }),
      tickMs: options.tickMs,
      electionTicks: options.electionTicks,
      snapshotEvery: options.snapshotEvery,
      join: options.join,
    });
    this.store.attach(this.node);
    const objects = standardObjectStore(this.store, options.serviceCIDR);
    // The control loops reach this master's API with a token of their own that never leaves
    // the process, so no configured token needs to be read or shared for them.
    const controlPlaneToken = randomBytes(32).toString('hex');
    const tokens: TokenEntry[] = [
      { token: controlPlaneToken, identity: { user: 'system:bosun-control-plane', role: 'admin' } },
      { token: options.tokens.admin, identity: { user: 'admin', role: 'admin' } },
      { token: options.tokens.readonly, identity: { user: 'readonly', role: 'readonly' } },
      ...Object.entries(options.tokens.nodes).map(([node, token]) => ({
        token,
        identity: { user: `system:node:${node}`, role: 'node' as const, node },
      })),
      ...(options.tokens.proxy
        ? [{ token: options.tokens.proxy, identity: { user: 'system:bosun-proxy', role: 'proxy' as const } }]
        : []),
    ];
    this.api = new ApiServer({
      objects,
      authenticator: new Authenticator(tokens),
      raft: () => {
        // The API listens before the WAL is loaded (the control loops need its address).
        if (!this.node.started)
          return { term: 0, commitIndex: 0, appliedIndex: 0, isLeader: false, hasLeader: false };
        const status = this.node.status();
        return {
          term: status.term,
          commitIndex: status.commit,
          appliedIndex: status.appliedIndex,
          isLeader: status.role === 'leader',
          hasLeader: status.leader !== '',
        };
      },
      internal: internalApi(this),
      subresources: { 'pods/log': podLogsHandler(objects, (node) => options.tokens.nodes[node]) },
      streams: podStreamHandlers(objects, (node) => options.tokens.nodes[node]),
    });
    this.node.on('leader', (isLeader: boolean) => (isLeader ? this.startLeading() : this.stopLeading()));
    this.node.on('fatal', () => {
      this.log.error('the raft host failed: exiting so the master can be restarted from its WAL');
      process.exitCode = 1;
      void this.stop(false);
    });
    this.addLeaderTask({ name: 'system-namespaces', start: (signal) => this.bootstrap(signal) });
    if (options.controlPlane !== false) {
      const controllerOptions = { ...DEFAULT_CONTROLLER_OPTIONS, ...options.controllers };
      this.addLeaderTask({
        name: 'control-plane',
        start: (signal) =>
          runControlPlane(
            this.apiUrl,
            controlPlaneToken,
            options.name,
            controllerOptions,
            signal,
            (request) => this.api.serveInProcess(request),
          ),
      });
    }
  }

  addLeaderTask(task: LeaderTask): void {
    this.leaderTasks.push(task);
  }

  get apiUrl(): string {
    return `http://${this.options.api.host}:${this.apiAddress?.port ?? this.options.api.port}`;
  }

  async start(): Promise<void> {
    this.apiAddress = await this.api.listen(this.options.api.port, this.options.api.host);
    await this.node.start();
    this.log.info('master started', {
      api: this.apiUrl,
      raft: `${this.options.peers[this.options.name].host}:${this.options.peers[this.options.name].port}`,
    });
  }

  private startLeading(): void {
    if (this.leading) return;
    const controller = new AbortController();
    // Every informer and loop of the control plane listens on this one signal.
    setMaxListeners(0, controller.signal);
    this.leading = controller;
    for (const task of this.leaderTasks) {
      Promise.resolve()
        .then(() => task.start(controller.signal))
        .catch((error: unknown) => {
          if (!controller.signal.aborted)
            this.log.error('leader task failed', { task: task.name, error: (error as Error).message });
        });
    }
  }

  private stopLeading(): void {
    this.leading?.abort();
    this.leading = undefined;
  }

  /** The leader makes sure the namespaces every cluster has exist (retrying through elections). */
  private async bootstrap(signal: AbortSignal): Promise<void> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        await ensureSystemNamespaces(this.api.objects);
        return;
      } catch (error) {
        if (attempt % 10 === 9)
          this.log.warn('cannot create the system namespaces yet', { error: (error as Error).message });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  async stop(graceful = true): Promise<void> {
    this.stopLeading();
    await this.node.stop(graceful);
    this.store.close();
    await this.api.close();
  }
}
