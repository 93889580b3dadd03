/**
 * The data that crosses pkg/raft's boundary: log entries, durable state, snapshots, the
 * messages peers exchange, and the Ready batch the core hands to its host.
 *
 * The core (raft.ts, behind RawNode) is pure: no I/O, no clock, no randomness of its own
 * (it is given a seeded source). The host (pkg/raft/node.ts) owns the WAL, the transport and
 * the ticker, and drives the core through RawNode. Nothing here knows about Kubernetes: an
 * entry's data is opaque bytes to raft.
 */

/** A member's stable name, e.g. "m1". */
export type NodeId = string;

export type EntryType = 'normal' | 'confChange';

export interface Entry {
  index: number;
  term: number;
  type: EntryType;
  /** Opaque to raft. For 'confChange' entries, encodeConfChange(...) of a ConfChange. Empty for the no-op a new leader appends. */
  data: Uint8Array;
}

/** What must be on disk before a vote is granted or an append acknowledged. */
export interface HardState {
  term: number;
  /** Whom this node voted for in `term`, '' for nobody. */
  vote: NodeId;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  /** Non-voting members being caught up before promotion (a new master). */
  learners: NodeId[];
}

/** One membership change; only one may be pending (proposed, not yet applied) at a time. */
export interface ConfChange {
  type: 'addVoter' | 'addLearner' | 'removeNode';
  node: NodeId;
  /** Opaque to raft; the host puts the new member's address here. */
  context: string;
}

export interface SnapshotMeta {
  index: number;
  term: number;
  conf: ConfState;
}

export interface Snapshot {
  meta: SnapshotMeta;
  /** The state machine's serialized state at meta.index; opaque to raft. */
  data: Uint8Array;
}

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

export interface SoftState {
  leader: NodeId;
  role: Role;
}

/** A linearizable read may be served once the local apply index reaches `index`. */
export interface ReadState {
  index: number;
  /** The caller's request id, echoed back. */
  context: string;
}

interface MessageBase {
  from: NodeId;
  to: NodeId;
  /** Sender's term; 0 only for messages that carry no term (forwarded proposals). */
  term: number;
}

/**
 * Every message peers exchange. Field names follow etcd's raftpb where the idea is the
 * same: `index`/`logTerm` are the entry preceding `entries` for appends, and the
 * candidate's last entry for votes.
 */
export type Message =
  | (MessageBase & { type: 'append'; index: number; logTerm: number; entries: Entry[]; commit: number })
  | (MessageBase & {
      type: 'appendResponse';
      /** On success the follower's new last index; on reject the rejected prevIndex. */
      index: number;
      reject: boolean;
      /** On reject: the follower's guess at where the logs may agree, to skip back fast. */
      rejectHint: number;
      /** On reject: the term of the follower's entry at rejectHint. */
      logTerm: number;
    })
  | (MessageBase & {
      type: 'vote' | 'preVote';
      index: number;
      logTerm: number;
      /** Set when campaigning because of leadership transfer: voters skip the leader-lease check. */
      transfer: boolean;
    })
  | (MessageBase & { type: 'voteResponse' | 'preVoteResponse'; reject: boolean })
  | (MessageBase & { type: 'heartbeat'; commit: number; context: string })
  | (MessageBase & { type: 'heartbeatResponse'; context: string })
  | (MessageBase & { type: 'snapshot'; snapshot: Snapshot })
  | (MessageBase & { type: 'timeoutNow' })
  /** A follower forwarding client proposals to the leader. */
  | (MessageBase & { type: 'propose'; entries: Entry[] })
  /** A follower asking the leader for a read index on behalf of its client. */
  | (MessageBase & { type: 'readIndex'; context: string })
  | (MessageBase & { type: 'readIndexResponse'; index: number; context: string });

export type MessageType = Message['type'];

/**
 * The batch of work the core asks its host to do. The host must, in this order:
 *  1. persist `snapshot` (if any), then `entries`, then `hardState`, and fsync when
 *     `mustSync` (before any message below leaves this node);
 *  2. send `messages`;
 *  3. install `snapshot` into the state machine, then apply `committedEntries` in order;
 *  4. answer `readStates` once its apply index reaches each one's index;
 *  5. call RawNode.advance(ready).
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  readStates: ReadState[];
  mustSync: boolean;
}

/** Why a proposal or read was refused at once; the host retries elsewhere or reports 503. */
export class ProposalDropped extends Error {
  constructor(
    readonly reason: 'noLeader' | 'transferring' | 'confChangePending' | 'notLeader',
    readonly leader: NodeId,
  ) {
    super(`proposal dropped: ${reason}${leader ? ` (leader is ${leader})` : ''}`);
    this.name = 'ProposalDropped';
  }
}

export interface RaftConfig {
  id: NodeId;
  /** Ticks without hearing from a leader before a follower campaigns: randomized in [electionTicks, 2*electionTicks). */
  electionTicks: number;
  heartbeatTicks: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** Append messages in flight per follower before the leader waits for acknowledgements (pipelining). */
  maxInflightAppends: number;
  /** Upper bound on the bytes of entry data in one append message (batching). */
  maxAppendBytes: number;
  /** Deterministic random source in [0, 1), used only for the election timeout. */
  random: () => number;
}

/** What the host read back from its WAL (or, for a fresh node, the initial membership). */
export interface InitialState {
  hardState: HardState;
  snapshot?: SnapshotMeta;
  /** Entries after the snapshot, contiguous, as persisted. */
  entries: Entry[];
  /** Membership when there is no snapshot and no confChange entry yet (a fresh cluster). */
  conf: ConfState;
}

export interface Status {
  id: NodeId;
  role: Role;
  term: number;
  leader: NodeId;
  commit: number;
  applied: number;
  lastIndex: number;
  conf: ConfState;
  /** Leader only: each peer's match index. */
  progress?: Record<NodeId, { match: number; next: number; state: 'probe' | 'replicate' | 'snapshot' }>;
}

/** The whole public surface of the core, as etcd's rawnode. Implemented by pkg/raft/raft.ts. */
export interface RawNode {
  tick(): void;
  step(message: Message): void;
  /** Leader: appends at once. Follower: forwarded to the leader. Throws ProposalDropped when impossible. */
  propose(data: Uint8Array): void;
  proposeConfChange(change: ConfChange): void;
  /** Asks for a read index; answered later as a ReadState with the same context. */
  readIndex(context: string): void;
  /** Hands leadership to `to` (leader only); proposals are refused until it completes or times out. */
  transferLeadership(to: NodeId): void;
  /** Starts an election now (tests, and the host's fast path when the leader's connection drops). */
  campaign(): void;
  /**
   * The transport saw its connection to `peer` fail. A leader stops pipelining to it; a
   * follower that loses its leader's connection treats the leader as gone (no lease) and
   * campaigns after a short randomized delay instead of a full election timeout.
   */
  reportUnreachable(peer: NodeId): void;
  /** The transport connected to `peer`: lets a brand-new cluster hold its first election at once. */
  reportReachable(peer: NodeId): void;
  reportSnapshot(peer: NodeId, ok: boolean): void;
  /** The host took a snapshot at `index`: entries up to it may be dropped from memory. */
  compact(index: number, snapshot: Snapshot): void;
  hasReady(): boolean;
  ready(): Ready;
  advance(ready: Ready): void;
  status(): Status;
}

export function encodeConfChange(change: ConfChange): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(change));
}

export function decodeConfChange(data: Uint8Array): ConfChange {
  return JSON.parse(new TextDecoder().decode(data)) as ConfChange;
}
