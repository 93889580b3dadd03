/**
 * The host of the Raft core on a master: it owns the WAL, the transport, the ticker and the
 * state machine, and drives the core through RawNode following the Ready contract:
 * persist (one write, one fdatasync per Ready) → send → apply → advance. Proposals made
 * while a Ready is being written share the next one: that is the batching.
 *
 * One deviation from "persist, then send", allowed by the thesis (§10.2.1): a leader sends
 * its appends and heartbeats before its own write completes, so followers write in parallel
 * with it. It is safe here because the core counts the leader's own entries at once but any
 * commit that follows is only announced in a later Ready, produced after this one's write
 * completed; votes and acknowledgements still leave only after the write.
 */
import { EventEmitter } from 'events';
import { Logger } from '../util/log';
import { createRawNode } from './raft';
import { Transport } from './transport/transport';
import {
  decodeConfChange,
  Entry,
  Message,
  NodeId,
  ProposalDropped,
  RawNode,
  Ready,
  Snapshot,
  Status,
} from './types';
import { Wal } from './wal/wal';

export interface StateMachine {
  /** Applies one committed entry (empty ones are a new leader's no-op: they move the revision only). */
  apply(entry: Entry): void;
  snapshot(): Uint8Array;
  restore(data: Uint8Array, index: number): void;
}

export interface PeerAddress {
  host: string;
  port: number;
}

export interface RaftNodeOptions {
  id: NodeId;
  dataDir: string;
  /** Raft addresses of every member, this one included. */
  peers: Record<NodeId, PeerAddress>;
  secret: string;
  stateMachine: StateMachine;
  log: Logger;
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  /** Take a snapshot every this many applied entries. */
  snapshotEvery?: number;
  /** This master joins an existing cluster: it waits to be told the membership instead of bootstrapping it. */
  join?: boolean;
}

export class NotLeaderError extends Error {
  constructor(readonly leader: NodeId) {
    super(leader ? `not the leader (the leader is ${leader})` : 'there is no leader');
    this.name = 'NotLeaderError';
  }
}

interface ReadWaiter {
  resolve: (index: number) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  settled: boolean;
  /** The read index it waits on, once asked for. */
  context?: string;
}

function settleRead(waiter: ReadWaiter, outcome: number | Error): void {
  if (waiter.settled) return;
  waiter.settled = true;
  clearTimeout(waiter.timer);
  if (typeof outcome === 'number') waiter.resolve(outcome);
  else waiter.reject(outcome);
}

export class ReadTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadTimeoutError';
  }
}

/** Events: 'leader' (isLeader: boolean, leader: NodeId) whenever leadership changes. */
export class RaftNode extends EventEmitter {
  private core!: RawNode;
  private wal!: Wal;
  private transport!: Transport;
  private ticker: NodeJS.Timeout | undefined;
  private processing = false;
  /** The Ready loop in progress, so stop() can wait for its write to finish. */
  private current: Promise<void> = Promise.resolve();
  private scheduled = false;
  private lastLoggedTerm = -1;
  private applied = 0;
  private lastSnapshotIndex = 0;
  /** Reads waiting on the read index asked for under each context. */
  private readonly readWaiters = new Map<string, ReadWaiter[]>();
  /** Reads that came since the last read index was asked for: they share the next one. */
  private readBatch: ReadWaiter[] = [];
  private readBatchScheduled = false;
  private readonly applyWaiters: Array<{ index: number; resolve: () => void }> = [];
  private readSeq = 0;
  private leader: NodeId = '';
  private role: Status['role'] = 'follower';
  private stopped = false;
  private readonly tickMs: number;
  private readonly snapshotEvery: number;

  constructor(readonly options: RaftNodeOptions) {
    super();
    this.tickMs = options.tickMs ?? 50;
    this.snapshotEvery = options.snapshotEvery ?? 10_000;
  }

  get id(): NodeId {
    return this.options.id;
  }

  async start(): Promise<void> {
    const { wal, contents } = await Wal.open(this.options.dataDir, { log: this.options.log });
    this.wal = wal;
    const voters = this.options.join ? [] : Object.keys(this.options.peers).sort();
    // Randomness for the election timeout only; nothing else in the core is random.
    this.core = createRawNode(
      {
        id: this.options.id,
        electionTicks: this.options.electionTicks ?? 10,
        heartbeatTicks: this.options.heartbeatTicks ?? 1,
        preVote: true,
        checkQuorum: true,
        maxInflightAppends: 256,
        maxAppendBytes: 1024 * 1024,
        random: Math.random,
      },
      {
        hardState: contents.hardState,
        snapshot: contents.snapshot?.meta,
        entries: contents.entries,
        conf: { voters, learners: [] },
      },
    );
    if (contents.snapshot) {
      this.core.compact(contents.snapshot.meta.index, contents.snapshot);
      this.options.stateMachine.restore(contents.snapshot.data, contents.snapshot.meta.index);
      this.applied = contents.snapshot.meta.index;
      this.lastSnapshotIndex = contents.snapshot.meta.index;
    }
    this.options.log.info('raft node starting', {
      term: contents.hardState.term,
      commit: contents.hardState.commit,
      entries: contents.entries.length,
      snapshot: contents.snapshot?.meta.index ?? 0,
    });
    const self = this.options.peers[this.options.id];
    if (!self) throw new Error(`--peers does not name this master (${this.options.id})`);
    this.transport = new Transport({
      id: this.options.id,
      listen: self,
      peers: { ...this.options.peers },
      secret: this.options.secret,
      log: this.options.log,
      onMessage: (message) => this.receive(message),
      onUnreachable: (peer) => {
        this.core.reportUnreachable(peer);
        this.emit('unreachable', peer);
        this.schedule();
      },
      onReachable: (peer) => {
        this.core.reportReachable(peer);
        this.schedule();
      },
      onSnapshotSent: (peer, ok) => {
        this.core.reportSnapshot(peer, ok);
        this.options.log.info('snapshot sent', { peer, ok });
        this.schedule();
      },
    });
    await this.transport.start();
    this.ticker = setInterval(() => {
      this.core.tick();
      this.schedule();
    }, this.tickMs);
    this.schedule();
  }

  private receive(message: Message): void {
    if (this.stopped) return;
    this.core.step(message);
    this.schedule();
  }

  /** Runs the Ready loop soon, once, however many events asked for it. */
  private schedule(): void {
    if (this.scheduled || this.processing || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.current = this.process();
    });
  }

  private async process(): Promise<void> {
    if (this.processing || this.stopped) return;
    this.processing = true;
    try {
      while (!this.stopped && this.core.hasReady()) {
        await this.handle(this.core.ready());
      }
    } catch (error) {
      // A WAL write failed: carrying on could lose acknowledged state. Stop this master.
      this.options.log.error('raft host failed; stopping', { error: (error as Error).message });
      this.emit('fatal', error);
      // Not awaited here: stop() waits for this very loop to end.
      setImmediate(() => void this.stop(false).catch(() => undefined));
    } finally {
      this.processing = false;
    }
  }

  private async handle(ready: Ready): Promise<void> {
    const early: Message[] = [];
    const late: Message[] = [];
    const leading = this.core.status().role === 'leader';
    for (const message of ready.messages) {
      if (leading && (message.type === 'append' || message.type === 'heartbeat')) early.push(message);
      else late.push(message);
    }
    for (const message of early) this.transport.send(message);
    if (ready.snapshot) {
      await this.wal.saveSnapshot(ready.snapshot);
      this.lastSnapshotIndex = ready.snapshot.meta.index;
    }
    await this.wal.save(ready.entries, ready.hardState, ready.mustSync);
    for (const message of late) this.transport.send(message);
    if (ready.snapshot) {
      this.options.stateMachine.restore(ready.snapshot.data, ready.snapshot.meta.index);
      this.applied = ready.snapshot.meta.index;
      this.options.log.info('snapshot installed', {
        index: ready.snapshot.meta.index,
        term: ready.snapshot.meta.term,
      });
    }
    for (const entry of ready.committedEntries) {
      if (entry.type === 'confChange') this.applyConfChange(entry);
      this.options.stateMachine.apply(entry);
      this.applied = entry.index;
    }
    for (const read of ready.readStates) {
      const waiters = this.readWaiters.get(read.context);
      if (!waiters) continue;
      this.readWaiters.delete(read.context);
      for (const waiter of waiters) settleRead(waiter, read.index);
    }
    this.core.advance(ready);
    this.releaseApplyWaiters();
    if (ready.softState) this.leadershipChanged(ready.softState.leader, ready.softState.role);
    if (ready.hardState && ready.hardState.term !== this.lastLoggedTerm) {
      this.lastLoggedTerm = ready.hardState.term;
      this.options.log.info('term changed', {
        term: ready.hardState.term,
        vote: ready.hardState.vote || undefined,
      });
    }
    await this.maybeSnapshot();
  }

  private applyConfChange(entry: Entry): void {
    const change = decodeConfChange(entry.data);
    this.options.log.info('membership change applied', { change: change.type, member: change.node });
    if ((change.type === 'addVoter' || change.type === 'addLearner') && change.context) {
      const [host, port] = change.context.split(':');
      this.transport.setPeer(change.node, { host, port: Number(port) });
    }
  }

  private leadershipChanged(leader: NodeId, role: Status['role']): void {
    const wasLeader = this.role === 'leader';
    const previous = this.leader;
    this.leader = leader;
    this.role = role;
    if (role === 'preCandidate' || role === 'candidate') {
      this.options.log.info('election started', { role, term: this.core.status().term });
    }
    if (role === 'leader' && !wasLeader)
      this.options.log.info('election won: this master leads', { term: this.core.status().term });
    else if (leader !== previous && leader && role !== 'leader')
      this.options.log.info('following a new leader', { leader, term: this.core.status().term });
    else if (!leader && previous) this.options.log.info('lost the leader', { previous });
    if (wasLeader !== (role === 'leader') || leader !== previous)
      this.emit('leader', role === 'leader', leader);
  }

  private async maybeSnapshot(): Promise<void> {
    if (this.applied - this.lastSnapshotIndex < this.snapshotEvery) return;
    const index = this.applied;
    const status = this.core.status();
    const term = (this.core as unknown as { log: { term(i: number): number | undefined } }).log.term(index);
    if (term === undefined) return;
    const snapshot: Snapshot = {
      meta: { index, term, conf: status.conf },
      data: this.options.stateMachine.snapshot(),
    };
    await this.wal.saveSnapshot(snapshot);
    this.core.compact(index, snapshot);
    this.lastSnapshotIndex = index;
    this.options.log.info('snapshot taken', { index, bytes: snapshot.data.length });
  }

  private releaseApplyWaiters(): void {
    if (this.applyWaiters.length === 0) return;
    const ready = this.applyWaiters.filter((w) => w.index <= this.applied);
    if (ready.length === 0) return;
    for (let i = this.applyWaiters.length - 1; i >= 0; i--)
      if (this.applyWaiters[i].index <= this.applied) this.applyWaiters.splice(i, 1);
    for (const waiter of ready) waiter.resolve();
  }

  // ---- the API the store uses ----

  /** Proposes a command; throws ProposalDropped (no leader, transferring) at once. */
  propose(data: Uint8Array): void {
    this.core.propose(data);
    this.schedule();
  }

  /**
   * A linearizable read point (ReadIndex): resolves once it is safe to read the state at `index`.
   * Reads that come within one turn of the event loop share one read index, as etcd's server
   * batches them: it is asked for after every one of them began, so it holds for each, and a
   * hundred concurrent reads cost one heartbeat round instead of a hundred.
   */
  async readBarrier(timeoutMs = 5000): Promise<void> {
    const index = await new Promise<number>((resolve, reject) => {
      const waiter: ReadWaiter = { resolve, reject, settled: false, timer: undefined as never };
      waiter.timer = setTimeout(() => {
        settleRead(
          waiter,
          new ReadTimeoutError(`no read index within ${timeoutMs} ms (no quorum reachable?)`),
        );
        // A read index that never comes (the leader lost) keeps no waiters alive.
        const context = waiter.context;
        if (context && this.readWaiters.get(context)?.every((w) => w.settled))
          this.readWaiters.delete(context);
      }, timeoutMs);
      this.readBatch.push(waiter);
      if (this.readBatchScheduled) return;
      this.readBatchScheduled = true;
      setImmediate(() => this.requestReadIndex());
    });
    await this.waitApplied(index);
  }

  private requestReadIndex(): void {
    this.readBatchScheduled = false;
    const batch = this.readBatch.filter((waiter) => !waiter.settled);
    this.readBatch = [];
    if (batch.length === 0) return;
    if (this.stopped) {
      for (const waiter of batch) settleRead(waiter, new NotLeaderError(''));
      return;
    }
    const context = `${this.options.id}-${++this.readSeq}`;
    for (const waiter of batch) waiter.context = context;
    this.readWaiters.set(context, batch);
    try {
      this.core.readIndex(context);
    } catch (error) {
      this.readWaiters.delete(context);
      const failure = error instanceof ProposalDropped ? new NotLeaderError(error.leader) : (error as Error);
      for (const waiter of batch) settleRead(waiter, failure);
      return;
    }
    this.schedule();
  }

  waitApplied(index: number): Promise<void> {
    if (this.applied >= index) return Promise.resolve();
    return new Promise((resolve) => this.applyWaiters.push({ index, resolve }));
  }

  transferLeadership(to: NodeId): void {
    this.core.transferLeadership(to);
    this.schedule();
  }

  proposeMembership(change: {
    type: 'addVoter' | 'addLearner' | 'removeNode';
    node: NodeId;
    address?: string;
  }): void {
    this.core.proposeConfChange({ type: change.type, node: change.node, context: change.address ?? '' });
    this.schedule();
  }

  /** False until start() has loaded the WAL; status() needs it. */
  get started(): boolean {
    return this.core !== undefined;
  }

  status(): Status & { appliedIndex: number } {
    return { ...this.core.status(), appliedIndex: this.applied };
  }

  isLeader(): boolean {
    return this.role === 'leader';
  }

  leaderId(): NodeId {
    return this.leader;
  }

  /**
   * Stops the master. Gracefully (SIGTERM): a leader first hands leadership to the most
   * caught-up follower and waits briefly for it to take over, so a planned restart costs
   * no election timeout.
   */
  async stop(graceful = true): Promise<void> {
    if (this.stopped) return;
    if (graceful && this.role === 'leader') {
      const status = this.core.status();
      const candidates = Object.entries(status.progress ?? {}).filter(([id]) => id !== this.options.id);
      candidates.sort(([, a], [, b]) => b.match - a.match);
      const target = candidates[0]?.[0];
      if (target) {
        this.options.log.info('handing over leadership before stopping', { to: target });
        // Done when another leads, or when the target went away too (the whole cluster is
        // stopping, as in `bosun down`): waiting out the timeout would only slow the stop.
        const handedOver = new Promise<void>((resolve) => {
          const finish = () => {
            clearTimeout(timer);
            this.off('leader', onLeader);
            this.off('unreachable', onUnreachable);
            resolve();
          };
          const timer = setTimeout(finish, 2000);
          const onLeader = (isLeader: boolean) => {
            if (!isLeader) finish();
          };
          const onUnreachable = (peer: string) => {
            if (peer === target) finish();
          };
          this.on('leader', onLeader);
          this.on('unreachable', onUnreachable);
        });
        this.transferLeadership(target);
        await handedOver;
      }
    }
    this.stopped = true;
    clearInterval(this.ticker);
    for (const waiter of [...[...this.readWaiters.values()].flat(), ...this.readBatch]) {
      settleRead(waiter, new NotLeaderError(''));
    }
    this.readWaiters.clear();
    this.readBatch = [];
    await this.transport?.stop();
    await this.current;
    await this.wal?.close();
  }
}
