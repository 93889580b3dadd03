/**
 * The deterministic Raft simulator: N nodes running the real core (raft.ts) behind a host
 * that follows the Ready contract exactly as the real one does (persist, then send, then
 * apply, then advance), on a virtual clock, over a network that drops, delays (and so
 * reorders), duplicates and partitions (both ways or one way), with nodes that crash and lose
 * what they had not fsynced, restart from their disks, take snapshots and compact, hand over
 * leadership, and receive the transport's "peer unreachable" hint. Clients run puts, gets
 * and compare-and-sets against random nodes and the history they observe is checked for
 * linearizability. Safety invariants are checked at every step; liveness once faults heal.
 *
 * Everything random comes from one seed, so a failing seed replays exactly.
 */
import { createHash } from 'crypto';
import { Raft } from '../raft';
import { Entry, HardState, Message, NodeId, ProposalDropped, Ready, Snapshot } from '../types';
import { checkLinearizable, KvInput, KvOutput, Operation } from './linearizability';
import { Random } from './random';

export interface SimOptions {
  seed: number;
  nodes: number;
  /** Virtual milliseconds with faults, then with none (liveness must show then). */
  faultMs: number;
  healMs: number;
  clients: number;
  keys: number;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  dropRate: number;
  duplicateRate: number;
  maxDelayMs: number;
  crashes: boolean;
  partitions: boolean;
  /** Take a snapshot (and compact) every this many applied entries; 0: never. */
  snapshotEvery: number;
  transfers: boolean;
  trace?: (line: string) => void;
  /** Also trace every message delivered (verbose). */
  traceMessages?: boolean;
}

export const DEFAULT_SIM: Omit<SimOptions, 'seed'> = {
  nodes: 3,
  faultMs: 1500,
  healMs: 1500,
  clients: 3,
  keys: 3,
  tickMs: 10,
  electionTicks: 10,
  heartbeatTicks: 2,
  dropRate: 0.05,
  duplicateRate: 0.02,
  maxDelayMs: 15,
  crashes: true,
  partitions: true,
  snapshotEvery: 40,
  transfers: true,
};

export interface SimResult {
  seed: number;
  ok: boolean;
  violation?: string;
  stats: {
    elections: number;
    committed: number;
    operations: number;
    crashes: number;
    partitions: number;
    snapshots: number;
    messages: number;
  };
  history: Operation[];
}

class Violation extends Error {}

interface Disk {
  hard: HardState;
  snapshot?: Snapshot;
  entries: Entry[];
  /** Written without fsync (commit index only): lost by a crash. */
  unsyncedHard?: HardState;
}

interface Command {
  id: string;
  input: KvInput;
}

type Waiter = (output: KvOutput) => void;

class SimNode {
  core: Raft | undefined;
  disk: Disk = { hard: { term: 0, vote: '', commit: 0 }, entries: [] };
  kv = new Map<string, string>();
  applied = 0;
  busy = false;
  /** Bumped by a crash: a Ready being processed at that moment is lost. */
  epoch = 0;
  waiters = new Map<string, Waiter>();
  readWaiters = new Map<string, (index: number) => void>();
  pendingReads: Array<{ index: number; serve: () => void }> = [];
  /** Chain hash of this node's log at each index (log matching check). */
  chain = new Map<number, string>();
  lastCommit = 0;
  appliedSinceSnapshot = 0;
  /** A paused process (GC, a stalled event loop) handles nothing until then; what arrives waits. */
  pausedUntil = 0;
  /** This node's clock runs at this rate relative to virtual time (drift). */
  clockRate = 1;

  constructor(readonly id: NodeId) {}
}

/** One line per message, for traces. */
export function describeMessage(m: Message): string {
  switch (m.type) {
    case 'append':
      return `append t${m.term} prev=${m.index}/${m.logTerm} n=${m.entries.length}${m.entries.length ? `(${m.entries[0].index}..${m.entries[m.entries.length - 1].index})` : ''} commit=${m.commit}`;
    case 'appendResponse':
      return `appendResp t${m.term} index=${m.index}${m.reject ? ` REJECT hint=${m.rejectHint}/${m.logTerm}` : ''}`;
    case 'vote':
    case 'preVote':
      return `${m.type} t${m.term} last=${m.index}/${m.logTerm}${m.transfer ? ' transfer' : ''}`;
    case 'voteResponse':
    case 'preVoteResponse':
      return `${m.type} t${m.term} ${m.reject ? 'REJECT' : 'grant'}`;
    case 'heartbeat':
      return `heartbeat t${m.term} commit=${m.commit}${m.context ? ` ctx=${m.context}` : ''}`;
    case 'snapshot':
      return `snapshot t${m.term} at ${m.snapshot.meta.index}/${m.snapshot.meta.term}`;
    default:
      return `${m.type} t${m.term}`;
  }
}

function encode(command: Command): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(command));
}

function decode(data: Uint8Array): Command {
  return JSON.parse(new TextDecoder().decode(data)) as Command;
}

function chainHash(previous: string, entry: Entry): string {
  return createHash('sha1')
    .update(previous)
    .update(String(entry.term))
    .update(entry.type)
    .update(entry.data)
    .digest('base64');
}

interface Event {
  time: number;
  seq: number;
  run: () => void;
}

/** A binary heap of events by (time, seq): seq keeps equal-time events in scheduling order. */
class EventQueue {
  private heap: Event[] = [];
  private seq = 0;

  push(time: number, run: () => void): void {
    const event = { time, seq: this.seq++, run };
    const heap = this.heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.less(heap[parent], event)) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = event;
  }

  pop(): Event | undefined {
    const heap = this.heap;
    if (heap.length === 0) return undefined;
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let smallest = i;
        let best = last;
        if (l < heap.length && this.less(heap[l], best)) {
          smallest = l;
          best = heap[l];
        }
        if (r < heap.length && this.less(heap[r], best)) smallest = r;
        if (smallest === i) break;
        heap[i] = heap[smallest];
        i = smallest;
      }
      heap[i] = last;
    }
    return top;
  }

  private less(a: Event, b: Event): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }
}

export class Simulation {
  private readonly options: SimOptions;
  private readonly random: Random;
  private readonly nodes: SimNode[];
  private readonly queue = new EventQueue();
  private now = 0;
  private readonly ids: NodeId[];
  /** Blocked directions "from>to". */
  private readonly blocked = new Set<string>();
  private faulty = true;
  private readonly history: Operation[] = [];
  /** Invariant state. */
  private readonly leaders = new Map<number, NodeId>();
  private readonly chainByEntry = new Map<string, string>();
  private readonly appliedByIndex = new Map<number, string>();
  /** For each committed index: the entry's term, and the term of the leader that first committed it. */
  private readonly commits = new Map<number, { entryTerm: number; leaderTerm: number }>();
  private opSeq = 0;
  /** Operations not finished yet: at the end of the run, writes among them count as maybe applied. */
  private readonly unfinished = new Set<() => void>();
  private readonly stats = {
    elections: 0,
    committed: 0,
    operations: 0,
    crashes: 0,
    partitions: 0,
    snapshots: 0,
    messages: 0,
  };

  constructor(options: SimOptions) {
    this.options = options;
    this.random = new Random(options.seed);
    this.ids = Array.from({ length: options.nodes }, (_, i) => `n${i + 1}`);
    this.nodes = this.ids.map((id) => new SimNode(id));
    // Clocks drift: some nodes tick up to 30% slower or faster than others.
    for (const node of this.nodes) node.clockRate = 0.7 + this.random.next() * 0.6;
  }

  private trace(line: string): void {
    this.options.trace?.(`${String(this.now).padStart(6)} ${line}`);
  }

  private at(delay: number, run: () => void): void {
    this.queue.push(this.now + delay, run);
  }

  private node(id: NodeId): SimNode {
    return this.nodes[this.ids.indexOf(id)];
  }

  private fail(message: string): never {
    throw new Violation(`t=${this.now}: ${message}`);
  }

  // ---- nodes ----

  private boot(node: SimNode): void {
    const disk = node.disk;
    const hard = disk.hard;
    node.core = new Raft(
      {
        id: node.id,
        electionTicks: this.options.electionTicks,
        heartbeatTicks: this.options.heartbeatTicks,
        preVote: true,
        checkQuorum: true,
        maxInflightAppends: 4,
        maxAppendBytes: 4096,
        random: this.random.fork().next.bind(this.random.fork()),
      },
      {
        hardState: hard,
        snapshot: disk.snapshot?.meta,
        entries: disk.entries.map((e) => ({ ...e })),
        conf: { voters: [...this.ids], learners: [] },
      },
    );
    if (disk.snapshot) node.core.compact(disk.snapshot.meta.index, disk.snapshot);
    node.kv = disk.snapshot
      ? new Map(JSON.parse(new TextDecoder().decode(disk.snapshot.data)) as Array<[string, string]>)
      : new Map();
    node.applied = disk.snapshot?.meta.index ?? 0;
    node.lastCommit = Math.max(hard.commit, node.applied);
    node.busy = false;
    node.chain = new Map();
    if (disk.snapshot) {
      const base = this.chainByEntry.get(`${disk.snapshot.meta.index}:${disk.snapshot.meta.term}`);
      if (base) node.chain.set(disk.snapshot.meta.index, base);
    }
    for (const entry of disk.entries) this.recordChain(node, entry);
    const offset = this.random.int(0, this.options.tickMs - 1);
    const epoch = node.epoch;
    const tick = () => {
      if (!node.core || node.epoch !== epoch) return;
      if (this.now < node.pausedUntil) {
        this.at(node.pausedUntil - this.now, tick);
        return;
      }
      node.core.tick();
      this.pump(node);
      this.at(Math.max(1, Math.round(this.options.tickMs * node.clockRate)), tick);
    };
    this.at(offset, tick);
    this.trace(
      `${node.id} boots (term ${hard.term}, ${disk.entries.length} entries, snapshot ${disk.snapshot?.meta.index ?? 0})`,
    );
  }

  private crash(node: SimNode): void {
    if (!node.core) return;
    this.stats.crashes++;
    node.core = undefined;
    node.epoch++;
    node.busy = false;
    node.waiters.clear();
    node.readWaiters.clear();
    node.pendingReads = [];
    node.disk.unsyncedHard = undefined; // what was not fsynced is gone
    this.trace(`${node.id} crashes`);
    // Its peers' connections to it close at once: the transport hint.
    for (const other of this.nodes) {
      if (other === node || !other.core) continue;
      this.at(this.random.int(0, 3), () => {
        if (other.core) {
          other.core.reportUnreachable(node.id);
          this.pump(other);
        }
      });
    }
  }

  /** Processes the node's next Ready, if any and if none is in flight. */
  private pump(node: SimNode): void {
    const core = node.core;
    if (!core || node.busy || !core.hasReady()) return;
    const ready = core.ready();
    // Checked now: by the time this Ready's write completes the node may have moved on.
    if (ready.softState?.role === 'leader') this.leaderElected(node);
    if (core.role === 'leader') this.recordCommits(core);
    node.busy = true;
    const epoch = node.epoch;
    // fsync takes time; meanwhile the core keeps taking messages and ticks.
    const delay = ready.mustSync ? this.random.int(1, 3) : 0;
    this.at(delay, () => {
      if (node.epoch !== epoch || !node.core) return; // crashed before the write completed: lost
      this.complete(node, ready);
      node.busy = false;
      this.pump(node);
    });
  }

  private complete(node: SimNode, ready: Ready): void {
    const core = node.core!;
    // 1. persist
    const disk = node.disk;
    if (ready.snapshot) {
      disk.snapshot = ready.snapshot;
      disk.entries = disk.entries.filter((e) => e.index > ready.snapshot!.meta.index);
      node.chain = new Map();
      const base = this.chainByEntry.get(`${ready.snapshot.meta.index}:${ready.snapshot.meta.term}`);
      if (!base)
        this.fail(`${node.id} installed a snapshot at ${ready.snapshot.meta.index} no node ever logged`);
      node.chain.set(ready.snapshot.meta.index, base);
    }
    if (ready.entries.length > 0) {
      const first = ready.entries[0].index;
      disk.entries = disk.entries.filter((e) => e.index < first);
      disk.entries.push(...ready.entries.map((e) => ({ ...e })));
      for (const index of [...node.chain.keys()]) if (index >= first) node.chain.delete(index);
      for (const entry of ready.entries) this.recordChain(node, entry);
    }
    if (ready.hardState) {
      if (ready.hardState.commit < node.lastCommit)
        this.fail(`${node.id} commit went back from ${node.lastCommit} to ${ready.hardState.commit}`);
      node.lastCommit = ready.hardState.commit;
      if (ready.mustSync) {
        disk.hard = { ...ready.hardState };
        disk.unsyncedHard = undefined;
      } else {
        disk.unsyncedHard = { ...ready.hardState };
      }
    } else if (ready.mustSync && disk.unsyncedHard) {
      disk.hard = disk.unsyncedHard;
      disk.unsyncedHard = undefined;
    }
    // 2. send
    for (const message of ready.messages) this.deliver(message);
    // 3. install, apply
    if (ready.snapshot) {
      node.kv = new Map(JSON.parse(new TextDecoder().decode(ready.snapshot.data)) as Array<[string, string]>);
      node.applied = ready.snapshot.meta.index;
      this.trace(`${node.id} installs snapshot at ${node.applied}`);
    }
    for (const entry of ready.committedEntries) this.apply(node, entry);
    for (const read of ready.readStates) node.readWaiters.get(read.context)?.(read.index);
    // 4. advance
    core.advance(ready);
    this.serveReads(node);
    this.maybeSnapshot(node);
  }

  private recordChain(node: SimNode, entry: Entry): void {
    const previous = node.chain.get(entry.index - 1) ?? (entry.index === 1 ? 'root' : undefined);
    if (previous === undefined)
      this.fail(`${node.id} has entry ${entry.index} without entry ${entry.index - 1}`);
    const hash = chainHash(previous, entry);
    node.chain.set(entry.index, hash);
    // Log matching: the same index and term mean the same entries up to there, on every node.
    const key = `${entry.index}:${entry.term}`;
    const known = this.chainByEntry.get(key);
    if (known === undefined) this.chainByEntry.set(key, hash);
    else if (known !== hash)
      this.fail(`log matching violated at index ${entry.index} term ${entry.term} on ${node.id}`);
  }

  private recordCommits(core: Raft): void {
    for (
      let index = core.log.committed;
      index > core.log.snapshotIndex && !this.commits.has(index);
      index--
    ) {
      this.commits.set(index, { entryTerm: core.log.term(index)!, leaderTerm: core.term });
    }
  }

  private leaderElected(node: SimNode): void {
    const core = node.core!;
    this.stats.elections++;
    const term = core.term;
    const previous = this.leaders.get(term);
    if (previous && previous !== node.id)
      this.fail(`two leaders in term ${term}: ${previous} and ${node.id}`);
    this.leaders.set(term, node.id);
    this.trace(`${node.id} is leader of term ${term}`);
    // Leader completeness (§5.4): an entry committed in a term is in the log of every leader of a later term.
    for (const [index, { entryTerm, leaderTerm }] of this.commits) {
      if (leaderTerm >= term || index <= core.log.snapshotIndex) continue;
      if (core.log.term(index) !== entryTerm) {
        this.fail(
          `leader ${node.id} of term ${term} lacks entry ${index} (term ${entryTerm}) committed in term ${leaderTerm}`,
        );
      }
    }
  }

  private apply(node: SimNode, entry: Entry): void {
    if (entry.index !== node.applied + 1)
      this.fail(`${node.id} applies ${entry.index} after ${node.applied}`);
    node.applied = entry.index;
    node.appliedSinceSnapshot++;
    // State machine safety: every node applies the same entry at each index.
    const fingerprint = `${entry.term}:${entry.type}:${Buffer.from(entry.data).toString('base64')}`;
    const known = this.appliedByIndex.get(entry.index);
    if (known === undefined) {
      this.appliedByIndex.set(entry.index, fingerprint);
      this.stats.committed++;
    } else if (known !== fingerprint) this.fail(`${node.id} applied a different entry at ${entry.index}`);
    if (entry.type !== 'normal' || entry.data.length === 0) return;
    const command = decode(entry.data);
    const input = command.input;
    let output: KvOutput = {};
    if (input.op === 'put') node.kv.set(input.key, input.value);
    else if (input.op === 'cas') {
      const swapped = (node.kv.get(input.key) ?? '') === input.expected;
      if (swapped) node.kv.set(input.key, input.value);
      output = { swapped };
    }
    const waiter = node.waiters.get(command.id);
    if (waiter) {
      node.waiters.delete(command.id);
      waiter(output);
    }
  }

  private serveReads(node: SimNode): void {
    const ready = node.pendingReads.filter((r) => r.index <= node.applied);
    node.pendingReads = node.pendingReads.filter((r) => r.index > node.applied);
    for (const read of ready) read.serve();
  }

  private maybeSnapshot(node: SimNode): void {
    const every = this.options.snapshotEvery;
    if (!every || node.appliedSinceSnapshot < every || !node.core) return;
    const core = node.core;
    const index = node.applied;
    const term = core.log.term(index);
    if (term === undefined || index <= core.log.snapshotIndex) return;
    const data = new TextEncoder().encode(JSON.stringify([...node.kv].sort()));
    const snapshot: Snapshot = { meta: { index, term, conf: structuredClone(core.conf) }, data };
    core.compact(index, snapshot);
    node.disk.snapshot = snapshot;
    node.disk.entries = node.disk.entries.filter((e) => e.index > index);
    node.appliedSinceSnapshot = 0;
    this.stats.snapshots++;
    this.trace(`${node.id} snapshots at ${index}`);
  }

  // ---- network ----

  private deliver(message: Message): void {
    this.stats.messages++;
    // A snapshot is streamed: the sender's transport learns whether it arrived, and says so.
    const reportSnapshot = (ok: boolean) => {
      if (message.type !== 'snapshot') return;
      const sender = this.node(message.from);
      this.at(1, () => {
        if (!sender.core) return;
        sender.core.reportSnapshot(message.to, ok);
        this.pump(sender);
      });
    };
    const send = (extraDelay: number) => {
      if (
        this.blocked.has(`${message.from}>${message.to}`) ||
        (this.faulty && this.random.chance(this.options.dropRate))
      ) {
        reportSnapshot(false);
        return;
      }
      const delay = this.random.int(1, this.options.maxDelayMs) + extraDelay;
      const arrive = () => {
        const target = this.node(message.to);
        if (target?.core && this.now < target.pausedUntil) {
          this.at(target.pausedUntil - this.now, arrive);
          return;
        }
        const arrived = !!target?.core && !this.blocked.has(`${message.from}>${message.to}`);
        if (extraDelay === 0) reportSnapshot(arrived);
        if (!arrived) return;
        if (this.options.traceMessages)
          this.trace(`${message.from}->${message.to} ${describeMessage(message)}`);
        target!.core!.step(message);
        this.pump(target!);
      };
      this.at(delay, arrive);
    };
    send(0);
    if (this.faulty && this.random.chance(this.options.duplicateRate)) send(this.random.int(1, 20));
  }

  // ---- faults ----

  private scheduleFaults(): void {
    const loop = () => {
      if (!this.faulty) return;
      const roll = this.random.next();
      if (this.options.partitions && roll < 0.15) this.partition();
      else if (this.options.partitions && roll < 0.3) this.isolateLeader();
      else if (roll < 0.4) {
        const node = this.random.pick(this.nodes.filter((n) => n.core));
        if (node) {
          node.pausedUntil = this.now + this.random.int(50, 400);
          this.trace(`${node.id} pauses until ${node.pausedUntil}`);
        }
      } else if (this.options.crashes && roll < 0.55) {
        const alive = this.nodes.filter((n) => n.core);
        if (alive.length > 0) {
          const victim = this.random.pick(alive);
          this.crash(victim);
          this.at(this.random.int(20, 400), () => {
            if (!victim.core) this.boot(victim);
          });
        }
      } else if (this.options.transfers && roll < 0.62) {
        const leader = this.nodes.find((n) => n.core?.role === 'leader');
        if (leader) {
          const target = this.random.pick(this.ids.filter((id) => id !== leader.id));
          this.trace(`${leader.id} transfers leadership to ${target}`);
          leader.core!.transferLeadership(target);
          this.pump(leader);
        }
      } else if (roll < 0.75) {
        // A flapping link: a spurious "unreachable" hint about a live leader.
        const follower = this.random.pick(
          this.nodes.filter((n) => n.core && n.core.role === 'follower').concat([]),
        );
        if (follower?.core && follower.core.lead) {
          follower.core.reportUnreachable(follower.core.lead);
          this.pump(follower);
        }
      }
      this.at(this.random.int(50, 250), loop);
    };
    this.at(this.random.int(20, 100), loop);
  }

  /** Cuts the current leader off from everyone (both ways, or only what it sends). */
  private isolateLeader(): void {
    const leader = this.nodes.find((n) => n.core?.role === 'leader');
    if (!leader) return;
    this.stats.partitions++;
    const oneWay = this.random.chance(0.5);
    const added: string[] = [];
    for (const other of this.ids) {
      if (other === leader.id) continue;
      added.push(`${leader.id}>${other}`);
      if (!oneWay) added.push(`${other}>${leader.id}`);
    }
    for (const edge of added) this.blocked.add(edge);
    this.trace(`leader ${leader.id} isolated${oneWay ? ' (it cannot send)' : ''}`);
    this.at(this.random.int(100, 600), () => {
      for (const edge of added) this.blocked.delete(edge);
      this.trace('leader isolation healed');
    });
  }

  private partition(): void {
    this.stats.partitions++;
    const shuffled = [...this.ids].sort(() => this.random.next() - 0.5);
    const cut = this.random.int(1, this.ids.length - 1);
    const side = new Set(shuffled.slice(0, cut));
    const oneWay = this.random.chance(0.3);
    const added: string[] = [];
    for (const a of this.ids) {
      for (const b of this.ids) {
        if (side.has(a) && !side.has(b)) {
          added.push(`${a}>${b}`);
          if (!oneWay) added.push(`${b}>${a}`);
        }
      }
    }
    for (const edge of added) this.blocked.add(edge);
    this.trace(`partition ${[...side].join(',')} | rest${oneWay ? ' (one way)' : ''}`);
    this.at(this.random.int(50, 600), () => {
      for (const edge of added) this.blocked.delete(edge);
      this.trace('partition healed');
    });
  }

  // ---- clients ----

  private scheduleClient(client: number): void {
    const loop = () => {
      if (this.now > this.options.faultMs + this.options.healMs - 200) return;
      this.clientOperation(client, () => this.at(this.random.int(0, 15), loop));
    };
    this.at(this.random.int(0, 30), loop);
  }

  private randomInput(): KvInput {
    const key = `k${this.random.int(1, this.options.keys)}`;
    const roll = this.random.next();
    const value = `v${++this.opSeq}`;
    if (roll < 0.4) return { op: 'put', key, value };
    if (roll < 0.7) return { op: 'get', key };
    return {
      op: 'cas',
      key,
      expected: this.random.chance(0.5) ? '' : `v${this.random.int(1, this.opSeq)}`,
      value,
    };
  }

  /** One operation through a random node; `done` when it completed, failed or timed out. */
  private clientOperation(
    client: number,
    done: () => void,
    input = this.randomInput(),
    onResult?: (ok: boolean) => void,
  ): void {
    const node = this.random.pick(this.nodes);
    const call = this.now;
    let finished = false;
    const finish = (output: KvOutput, known: boolean, record: boolean) => {
      if (finished) return;
      finished = true;
      this.unfinished.delete(abandon);
      this.trace(
        `client ${client} ${JSON.stringify(input)} at ${node.id} -> ${known ? JSON.stringify(output) : 'unknown'}${record ? '' : ' (not recorded)'}`,
      );
      if (record) {
        this.history.push({
          client,
          input,
          output: known ? output : undefined,
          call,
          return: known ? this.now : Infinity,
        });
        this.stats.operations++;
      }
      onResult?.(known && record);
      done();
    };
    // Still pending when the run ends: a write may have been applied, a read had no effect.
    const abandon = () => finish(undefined, false, input.op !== 'get');
    this.unfinished.add(abandon);
    const timeout = 300;
    const core = node.core;
    if (!core) {
      this.at(1, () => finish(undefined, false, false)); // connection refused: nothing happened
      return;
    }
    try {
      if (input.op === 'get') {
        const context = `${client}-${++this.opSeq}`;
        node.readWaiters.set(context, (index) => {
          node.readWaiters.delete(context);
          node.pendingReads.push({
            index,
            serve: () => finish({ value: node.kv.get(input.key) ?? '' }, true, true),
          });
          this.serveReads(node);
        });
        core.readIndex(context);
        // A read that never answers had no effect: it is left out of the history.
        this.at(timeout, () => finish(undefined, false, false));
      } else {
        const id = `${client}-${++this.opSeq}`;
        node.waiters.set(id, (output) => finish(output, true, true));
        core.propose(encode({ id, input }));
        // A write that never answers may still have been applied.
        this.at(timeout, () => finish(undefined, false, true));
      }
      this.pump(node);
    } catch (error) {
      if (!(error instanceof ProposalDropped)) throw error;
      this.at(1, () => finish(undefined, false, false));
    }
  }

  // ---- the run ----

  run(): SimResult {
    try {
      for (const node of this.nodes) this.boot(node);
      this.scheduleFaults();
      for (let c = 0; c < this.options.clients; c++) this.scheduleClient(c);
      const healAt = this.options.faultMs;
      const end = this.options.faultMs + this.options.healMs;
      let liveAt = -1;
      this.queue.push(healAt, () => {
        this.faulty = false;
        this.blocked.clear();
        for (const node of this.nodes) node.pausedUntil = 0;
        for (const node of this.nodes) if (!node.core) this.boot(node);
        this.trace('faults healed');
        // Liveness: once healed, a write must commit within the rest of the run.
        const attempt = () => {
          this.clientOperation(
            99,
            () => undefined,
            { op: 'put', key: 'live', value: `at-${this.now}` },
            (ok) => {
              if (ok) liveAt = this.now;
              else if (this.now < end - 300) this.at(20, attempt);
            },
          );
        };
        attempt();
      });
      while (true) {
        const event = this.queue.pop();
        if (!event || event.time > end) break;
        this.now = event.time;
        event.run();
      }
      if (liveAt < 0) this.fail(`no write committed within ${this.options.healMs} ms after faults healed`);
      this.checkConvergence();
      for (const abandon of [...this.unfinished]) abandon();
      const check = checkLinearizable(this.history);
      if (!check.ok) {
        const ops = (check.operations ?? []).map(
          (o) =>
            `  c${o.client} ${JSON.stringify(o.input)} -> ${JSON.stringify(o.output)} [${o.call}, ${o.return}]`,
        );
        this.fail(
          `history of key ${check.key} is not linearizable${check.timedOut ? ' (search gave up)' : ''}:\n${ops.join('\n')}`,
        );
      }
      return { seed: this.options.seed, ok: true, stats: this.stats, history: this.history };
    } catch (error) {
      if (!(error instanceof Violation)) throw error;
      return {
        seed: this.options.seed,
        ok: false,
        violation: error.message,
        stats: this.stats,
        history: this.history,
      };
    }
  }

  /** After healing, every node has applied the same entries and holds the same state. */
  private checkConvergence(): void {
    const leader = this.nodes.find((n) => n.core?.role === 'leader');
    if (!leader) this.fail('no leader at the end of the run');
    const commit = leader.core!.log.committed;
    // Let the followers catch up: run more virtual time without new work.
    const deadline = this.now + 2000;
    while (this.nodes.some((n) => n.applied < commit) && this.now < deadline) {
      const event = this.queue.pop();
      if (!event) break;
      this.now = event.time;
      event.run();
    }
    const behind = this.nodes.filter((n) => n.applied < commit);
    if (behind.length > 0)
      this.fail(`${behind.map((n) => `${n.id}@${n.applied}`).join(', ')} did not catch up to ${commit}`);
    const state = (n: SimNode) => JSON.stringify([...n.kv].filter(([k]) => k !== 'live').sort());
    const reference = state(leader);
    for (const node of this.nodes) {
      if (node.applied === leader.applied && state(node) !== reference)
        this.fail(`${node.id} state differs from the leader's at ${node.applied}`);
    }
  }
}

export function runSeed(seed: number, overrides: Partial<SimOptions> = {}): SimResult {
  return new Simulation({ ...DEFAULT_SIM, ...overrides, seed }).run();
}
