/**
 * The Raft protocol of one node, as a pure state machine (after etcd's raft.go): messages and
 * ticks go in, a Ready batch of work comes out; no I/O, no clock, no randomness of its own.
 * Every state transition is here: per-role step and tick functions, swapped by
 * becomeFollower / becomePreCandidate / becomeCandidate / becomeLeader.
 *
 * Beyond the basic protocol: PreVote (§9.6) and CheckQuorum (§6.2) so a partitioned node
 * cannot depose a healthy leader; pipelined, batched replication with fast backtracking;
 * snapshots and InstallSnapshot; ReadIndex (§6.4); leadership transfer (§3.10); single-server
 * membership changes (§4.1); and a failover hint from the transport (see reportUnreachable).
 */
import { RaftLog } from './log';
import { Progress } from './progress';
import { committedIndex, isQuorum, voteResult } from './quorum';
import { ReadOnly } from './read-only';
import {
  ConfChange,
  ConfState,
  decodeConfChange,
  encodeConfChange,
  Entry,
  HardState,
  InitialState,
  Message,
  NodeId,
  ProposalDropped,
  RaftConfig,
  RawNode,
  Ready,
  ReadState,
  Role,
  Snapshot,
  SoftState,
  Status,
} from './types';

type MessageOf<T extends Message['type']> = Extract<Message, { type: T }>;
type Outgoing = Message extends infer M
  ? M extends Message
    ? Omit<M, 'from' | 'term'> & { term?: number }
    : never
  : never;

const EMPTY = new Uint8Array(0);

export function createRawNode(config: RaftConfig, initial: InitialState): RawNode {
  return new Raft(config, initial);
}

export class Raft implements RawNode {
  readonly id: NodeId;
  term: number;
  vote: NodeId;
  role: Role = 'follower';
  lead: NodeId = '';
  readonly log: RaftLog;
  conf: ConfState;
  private prs = new Map<NodeId, Progress>();
  private votes = new Map<NodeId, boolean>();
  private msgs: Message[] = [];
  private readStates: ReadState[] = [];
  private electionElapsed = 0;
  /** Peers the transport reports connected (a timing hint for the first election only). */
  private readonly reachable = new Set<NodeId>();
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  /** The index of the latest conf change proposed; no other may be proposed until it is applied. */
  private pendingConfIndex = 0;
  private leadTransferee: NodeId = '';
  private readonly readOnly = new ReadOnly();
  /** Reads that arrived before this leader committed an entry of its term (§6.4: wait for it). */
  private deferredReads: Array<{ context: string; from: NodeId }> = [];
  /** The latest snapshot, kept to send to followers behind the compacted log. */
  private snapshot: Snapshot | undefined;
  /** A snapshot received from the leader that the host must persist and install. */
  private snapshotToInstall: Snapshot | undefined;
  /** Appends to broadcast at the next ready(): proposals made meanwhile share one message per follower. */
  private broadcastPending = false;
  private prevHard: HardState;
  private prevSoft: SoftState;
  private readonly config: RaftConfig;

  constructor(config: RaftConfig, initial: InitialState) {
    if (config.electionTicks <= config.heartbeatTicks)
      throw new Error('electionTicks must be greater than heartbeatTicks');
    this.config = config;
    this.id = config.id;
    const snap = initial.snapshot;
    this.log = new RaftLog(
      snap?.index ?? 0,
      snap?.term ?? 0,
      [...initial.entries],
      Math.max(initial.hardState.commit, snap?.index ?? 0),
    );
    this.term = initial.hardState.term;
    this.vote = initial.hardState.vote;
    this.conf = structuredClone(snap?.conf ?? initial.conf);
    this.resetProgress();
    this.prevHard = this.hardState();
    this.becomeFollower(this.term, '');
    this.prevSoft = this.softState();
  }

  // ---- state ----

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  private softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  private voters(): NodeId[] {
    return this.conf.voters;
  }

  private isVoter(id: NodeId): boolean {
    return this.conf.voters.includes(id);
  }

  private resetProgress(): void {
    const next = this.log.lastIndex() + 1;
    const prs = new Map<NodeId, Progress>();
    for (const id of this.conf.voters) prs.set(id, new Progress(next));
    for (const id of this.conf.learners) prs.set(id, new Progress(next, true));
    const self = prs.get(this.id);
    if (self) self.match = this.log.lastIndex();
    this.prs = prs;
  }

  private resetRandomizedElectionTimeout(): void {
    const e = this.config.electionTicks;
    this.randomizedElectionTimeout = e + Math.floor(this.config.random() * e);
  }

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = '';
    }
    this.lead = '';
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.leadTransferee = '';
    this.votes.clear();
    this.resetProgress();
    this.readOnly.reset();
    this.deferredReads = [];
    this.broadcastPending = false;
  }

  // ---- role transitions ----

  private becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.role = 'follower';
    this.lead = lead;
  }

  private becomePreCandidate(): void {
    if (this.role === 'leader') throw new Error('a leader cannot become a pre-candidate');
    // A pre-candidate changes neither term nor vote: it only asks whether it could win.
    this.role = 'preCandidate';
    this.votes.clear();
    this.lead = '';
  }

  private becomeCandidate(): void {
    if (this.role === 'leader') throw new Error('a leader cannot become a candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    if (this.role === 'follower') throw new Error('a follower cannot become leader directly');
    this.reset(this.term);
    this.role = 'leader';
    this.lead = this.id;
    for (const pr of this.prs.values()) pr.recentActive = true;
    // A conf change may be in the uncommitted tail; none may be proposed until all is applied.
    this.pendingConfIndex = this.log.lastIndex();
    // §5.4.2: a leader commits entries of earlier terms only by committing one of its own.
    this.appendEntries([{ index: 0, term: 0, type: 'normal', data: EMPTY }]);
    this.broadcastPending = true;
  }

  // ---- ticks ----

  tick(): void {
    if (this.role === 'leader') this.tickLeader();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.startCampaign(false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum && !this.quorumActive()) {
        // §6.2: a leader that has not heard from a majority for an election timeout steps down.
        this.becomeFollower(this.term, '');
        return;
      }
      if (this.leadTransferee) this.leadTransferee = ''; // the transfer took too long: abort it
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  private quorumActive(): boolean {
    const active = new Set<NodeId>();
    for (const [id, pr] of this.prs) {
      if (id === this.id || pr.recentActive) active.add(id);
      if (id !== this.id) pr.recentActive = false;
    }
    return isQuorum(this.voters(), active);
  }

  private promotable(): boolean {
    return this.isVoter(this.id) && !this.snapshotToInstall;
  }

  // ---- elections ----

  /** Starts an election now (with a pre-vote round when configured). */
  campaign(): void {
    this.startCampaign(false);
  }

  /** `transfer`: campaigning because the leader handed over, which skips pre-vote and leases. */
  private startCampaign(transfer: boolean): void {
    if (!this.promotable()) return;
    if (this.config.preVote && !transfer) {
      this.becomePreCandidate();
      this.requestVotes('preVote', this.term + 1, false);
    } else {
      this.becomeCandidate();
      this.requestVotes('vote', this.term, transfer);
    }
  }

  private requestVotes(type: 'vote' | 'preVote', term: number, transfer: boolean): void {
    this.votes.set(this.id, true);
    if (voteResult(this.voters(), this.votes) === 'won') {
      // A single-voter cluster wins at once.
      this.wonVote();
      return;
    }
    for (const id of this.voters()) {
      if (id === this.id) continue;
      this.send({ type, to: id, term, index: this.log.lastIndex(), logTerm: this.log.lastTerm(), transfer });
    }
  }

  // ---- the step function ----

  step(m: Message): void {
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        // Leader lease (§6.2 with CheckQuorum): while we hear from a leader, a candidate's
        // higher term is ignored, so a rejoining partitioned node cannot depose it.
        const inLease =
          this.config.checkQuorum && this.lead !== '' && this.electionElapsed < this.config.electionTicks;
        if (inLease && !m.transfer) return;
      }
      if (m.type === 'preVote') {
        // Never change term for a pre-vote.
      } else if (m.type === 'preVoteResponse' && !m.reject) {
        // A granted pre-vote carries the term we would campaign at; nothing to adopt.
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, '');
      }
    } else if (m.term < this.term && m.term !== 0) {
      if (
        (this.config.checkQuorum || this.config.preVote) &&
        (m.type === 'heartbeat' || m.type === 'append')
      ) {
        // A stale leader (e.g. back from a partition) learns of the newer term and steps down.
        this.send({ type: 'appendResponse', to: m.from, index: 0, reject: false, rejectHint: 0, logTerm: 0 });
      } else if (m.type === 'preVote') {
        this.send({ type: 'preVoteResponse', to: m.from, term: this.term, reject: true });
      }
      return;
    }

    if (m.type === 'vote' || m.type === 'preVote') {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        break;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        break;
      case 'follower':
        this.stepFollower(m);
        break;
    }
  }

  private handleVoteRequest(m: MessageOf<'vote' | 'preVote'>): void {
    // §5.2, §5.4.1: one vote per term, only to a candidate whose log is at least as up to date.
    // A node that is not a voter in its own view (a learner, a master rejoining after losing
    // its disk) never votes: it may have forgotten a vote it gave before.
    const canVote =
      this.isVoter(this.id) &&
      (this.vote === m.from ||
        (this.vote === '' && this.lead === '') ||
        (m.type === 'preVote' && m.term > this.term));
    const responseType = m.type === 'vote' ? 'voteResponse' : 'preVoteResponse';
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // A granted pre-vote answers with the term asked about; a vote with our (equal) term.
      this.send({ type: responseType, to: m.from, term: m.term, reject: false });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send({ type: responseType, to: m.from, term: this.term, reject: true });
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case 'propose':
        if (this.leadTransferee) return; // dropped: the follower's client times out and retries
        this.appendEntries(m.entries.map((e) => ({ ...e })));
        this.broadcastPending = true;
        return;
      case 'readIndex':
        this.handleReadIndex(m.context, m.from);
        return;
      case 'appendResponse':
        this.handleAppendResponse(m);
        return;
      case 'heartbeatResponse': {
        const pr = this.prs.get(m.from);
        if (!pr) return;
        pr.recentActive = true;
        pr.probeSent = false;
        // Appends in flight may have been lost (a dropped message, a restarted follower): a
        // full window would then never drain. Free one slot per heartbeat; what is sent next
        // either fills the gap or is rejected, which turns the follower back to probing.
        if (pr.state === 'replicate' && pr.inflights.length >= this.config.maxInflightAppends)
          pr.inflights.shift();
        if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
        if (m.context) this.ackRead(m.context, m.from);
        return;
      }
      default:
        return;
    }
  }

  private handleAppendResponse(m: MessageOf<'appendResponse'>): void {
    const pr = this.prs.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (m.reject) {
      let hint = m.rejectHint;
      if (m.logTerm > 0) hint = this.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.maybeDecrTo(m.index, hint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused(this.config.maxInflightAppends);
    if (!pr.maybeUpdate(m.index) && !wasPaused) return;
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match >= pr.pendingSnapshot) pr.becomeProbe();
    if (this.maybeCommit()) {
      this.broadcastPending = true; // followers learn the new commit index
      this.releaseDeferredReads();
    } else {
      while (this.sendAppend(m.from, false)) {
        // keep the pipeline full
      }
    }
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
      this.send({ type: 'timeoutNow', to: m.from });
    }
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        // Someone won this term (same term, or we would have become follower in step()).
        this.becomeFollower(m.term, m.from);
        this.stepFollower(m);
        return;
      case 'voteResponse':
      case 'preVoteResponse': {
        const mine = this.role === 'preCandidate' ? 'preVoteResponse' : 'voteResponse';
        if (m.type !== mine) return;
        this.votes.set(m.from, !m.reject);
        const result = voteResult(this.voters(), this.votes);
        if (result === 'won') this.wonVote();
        else if (result === 'lost') {
          this.becomeFollower(this.term, '');
        }
        return;
      }
      case 'timeoutNow':
        return;
      default:
        return;
    }
  }

  /** A won pre-vote leads to the real election (no lease bypass); a won election to leadership. */
  private wonVote(): void {
    if (this.role === 'preCandidate') {
      this.becomeCandidate();
      this.requestVotes('vote', this.term, false);
    } else {
      this.becomeLeader();
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
        this.send({ type: 'heartbeatResponse', to: m.from, context: m.context });
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case 'timeoutNow':
        // §3.10: the leader hands over; campaign at once, bypassing pre-vote and leases.
        this.startCampaign(true);
        return;
      case 'readIndexResponse':
        this.readStates.push({ index: m.index, context: m.context });
        return;
      case 'propose':
        if (this.lead) this.send({ type: 'propose', to: this.lead, term: 0, entries: m.entries });
        return;
      default:
        return;
    }
  }

  private handleAppend(m: MessageOf<'append'>): void {
    if (m.index < this.log.committed) {
      this.send({
        type: 'appendResponse',
        to: m.from,
        index: this.log.committed,
        reject: false,
        rejectHint: 0,
        logTerm: 0,
      });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.entries);
    if (lastNew !== undefined) {
      this.log.commitTo(Math.min(m.commit, lastNew));
      this.send({
        type: 'appendResponse',
        to: m.from,
        index: lastNew,
        reject: false,
        rejectHint: 0,
        logTerm: 0,
      });
      return;
    }
    // Tell the leader where our log might agree with its own, to skip back a term at a time.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send({
      type: 'appendResponse',
      to: m.from,
      index: m.index,
      reject: true,
      rejectHint: hint.index,
      logTerm: hint.term,
    });
  }

  private handleSnapshot(m: MessageOf<'snapshot'>): void {
    const { index, term } = m.snapshot.meta;
    if (index <= this.log.committed) {
      this.send({
        type: 'appendResponse',
        to: m.from,
        index: this.log.committed,
        reject: false,
        rejectHint: 0,
        logTerm: 0,
      });
      return;
    }
    if (this.log.matchTerm(index, term)) {
      // We already have everything it covers: just learn that it is committed.
      this.log.commitTo(index);
    } else {
      this.log.restore(index, term);
      this.conf = structuredClone(m.snapshot.meta.conf);
      this.resetProgress();
      this.snapshot = m.snapshot;
      this.snapshotToInstall = m.snapshot;
    }
    this.send({
      type: 'appendResponse',
      to: m.from,
      index: this.log.lastIndex(),
      reject: false,
      rejectHint: 0,
      logTerm: 0,
    });
  }

  // ---- replication ----

  private appendEntries(entries: Entry[]): void {
    let index = this.log.lastIndex();
    for (const entry of entries) {
      entry.index = ++index;
      entry.term = this.term;
    }
    this.log.append(entries);
    // The leader counts itself at once: nothing it counts can be seen committed by anyone
    // before its Ready, which persists these entries before sending anything, is done.
    this.prs.get(this.id)?.maybeUpdate(this.log.lastIndex());
    this.maybeCommit();
  }

  private maybeCommit(): boolean {
    const index = committedIndex(this.voters(), (id) => this.prs.get(id)?.match ?? 0);
    // §5.4.2: only entries of the current term are committed by counting replicas.
    if (index > this.log.committed && this.log.term(index) === this.term) {
      this.log.commitTo(index);
      return true;
    }
    return false;
  }

  private bcastAppend(): void {
    for (const id of this.prs.keys()) if (id !== this.id) this.sendAppend(id);
  }

  /**
   * Sends `to` what it lacks: entries from pr.next (bounded by maxAppendBytes), or a snapshot
   * when those were compacted away. With `sendIfEmpty`, an append with no entries still goes
   * (to carry the commit index). Returns whether something was sent.
   */
  private sendAppend(to: NodeId, sendIfEmpty = true): boolean {
    const pr = this.prs.get(to);
    if (!pr || pr.isPaused(this.config.maxInflightAppends)) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    const entries = this.log.slice(pr.next, this.log.lastIndex() + 1, this.config.maxAppendBytes);
    if (prevTerm === undefined || entries === undefined) {
      return this.sendSnapshot(to, pr);
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send({
      type: 'append',
      to,
      index: prevIndex,
      logTerm: prevTerm,
      entries,
      commit: this.log.committed,
    });
    if (entries.length > 0 || pr.state === 'probe') pr.sentEntries(prevIndex + entries.length);
    return entries.length > 0;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    if (!pr.recentActive) return false; // don't ship a snapshot to a peer we have not heard from
    const snapshot = this.snapshot;
    if (!snapshot) throw new Error(`entries for ${to} were compacted but no snapshot is held`);
    pr.becomeSnapshot(snapshot.meta.index);
    this.send({ type: 'snapshot', to, snapshot });
    return true;
  }

  private bcastHeartbeat(): void {
    const context = this.readOnly.lastPending();
    for (const [id, pr] of this.prs) {
      if (id === this.id) continue;
      // Never tell a follower of a commit index beyond what it has.
      this.send({ type: 'heartbeat', to: id, commit: Math.min(pr.match, this.log.committed), context });
    }
  }

  // ---- reads ----

  private committedInCurrentTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  private handleReadIndex(context: string, from: NodeId): void {
    if (!this.committedInCurrentTerm()) {
      this.deferredReads.push({ context, from });
      return;
    }
    if (this.voters().length === 1) {
      this.answerRead({ context, index: this.log.committed, from });
      return;
    }
    this.readOnly.add(context, this.log.committed, from, this.id);
    this.bcastHeartbeat();
  }

  private releaseDeferredReads(): void {
    if (!this.committedInCurrentTerm() || this.deferredReads.length === 0) return;
    const reads = this.deferredReads;
    this.deferredReads = [];
    for (const read of reads) this.handleReadIndex(read.context, read.from);
  }

  private ackRead(context: string, from: NodeId): void {
    const acks = this.readOnly.ack(context, from);
    if (!acks || !isQuorum(this.voters(), acks)) return;
    for (const request of this.readOnly.release(context)) this.answerRead(request);
  }

  private answerRead(request: { context: string; index: number; from: NodeId }): void {
    if (request.from === this.id) this.readStates.push({ index: request.index, context: request.context });
    else
      this.send({
        type: 'readIndexResponse',
        to: request.from,
        index: request.index,
        context: request.context,
      });
  }

  // ---- the RawNode surface ----

  propose(data: Uint8Array): void {
    this.proposeEntry({ index: 0, term: 0, type: 'normal', data });
  }

  proposeConfChange(change: ConfChange): void {
    if (this.role === 'leader' && this.pendingConfIndex > this.log.applied) {
      throw new ProposalDropped('confChangePending', this.lead);
    }
    if (this.role === 'leader') this.pendingConfIndex = this.log.lastIndex() + 1;
    this.proposeEntry({ index: 0, term: 0, type: 'confChange', data: encodeConfChange(change) });
  }

  private proposeEntry(entry: Entry): void {
    if (this.role === 'leader') {
      if (this.leadTransferee) throw new ProposalDropped('transferring', this.lead);
      if (!this.prs.has(this.id)) throw new ProposalDropped('notLeader', '');
      this.appendEntries([entry]);
      this.broadcastPending = true;
      return;
    }
    if (!this.lead) throw new ProposalDropped('noLeader', '');
    this.send({ type: 'propose', to: this.lead, term: 0, entries: [entry] });
  }

  readIndex(context: string): void {
    if (this.role === 'leader') {
      this.handleReadIndex(context, this.id);
      return;
    }
    if (!this.lead) throw new ProposalDropped('noLeader', '');
    this.send({ type: 'readIndex', to: this.lead, term: 0, context });
  }

  transferLeadership(to: NodeId): void {
    if (this.role !== 'leader' || to === this.id || !this.isVoter(to)) return;
    this.leadTransferee = to;
    this.electionElapsed = 0;
    const pr = this.prs.get(to)!;
    if (pr.match === this.log.lastIndex()) this.send({ type: 'timeoutNow', to });
    else this.sendAppend(to);
  }

  /**
   * The transport connected to `peer`. Only a cluster's very first election uses it: a
   * follower at term 0 (no leader ever) that, with the peers it can reach, makes a quorum and
   * has the lowest id among them campaigns on the next tick instead of waiting out an election
   * timeout, so a new cluster has a leader as soon as a majority of it is up. The lowest-id
   * rule keeps two masters from splitting the vote. A hint about timing only, like
   * reportUnreachable: the election itself is the ordinary one.
   */
  reportReachable(peer: NodeId): void {
    this.reachable.add(peer);
    if (this.term !== 0 || this.role !== 'follower' || this.lead !== '' || !this.promotable()) return;
    const voters = this.voters();
    const up = new Set([this.id, ...[...this.reachable].filter((id) => voters.includes(id))]);
    if (!isQuorum(voters, up) || [...up].some((id) => id < this.id)) return;
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - 1);
  }

  /**
   * The transport lost its connection to `peer`. A leader stops pipelining to it. A follower
   * that lost its leader treats the leader as gone: it forgets the lease (so it will grant
   * other candidates' pre-votes) and campaigns after 1-3 ticks instead of an election
   * timeout. This is only a hint about timing; safety never depends on it. If the leader is
   * in fact alive, its next heartbeat restores it here, and the other voters, still in its
   * lease, reject the pre-vote, so a flapping link cannot depose a healthy leader.
   */
  reportUnreachable(peer: NodeId): void {
    this.reachable.delete(peer);
    if (this.role === 'leader') {
      const pr = this.prs.get(peer);
      if (pr?.state === 'replicate') pr.becomeProbe();
      return;
    }
    if (this.role === 'follower' && peer === this.lead) {
      this.lead = '';
      const soon = 1 + Math.floor(this.config.random() * 3);
      this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - soon);
    }
  }

  reportSnapshot(peer: NodeId, ok: boolean): void {
    const pr = this.prs.get(peer);
    if (this.role !== 'leader' || !pr || pr.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    // Either way, probe: on success the follower's response moves it on; on failure we retry.
    pr.becomeProbe();
    pr.probeSent = true;
  }

  /** Also how a host restarted from disk hands back the snapshot it holds (at the log's snapshot index). */
  compact(index: number, snapshot: Snapshot): void {
    if (index !== snapshot.meta.index) throw new Error('compact index and snapshot index differ');
    if (index < this.log.snapshotIndex) return;
    if (index > this.log.snapshotIndex) this.log.compact(index);
    this.snapshot = snapshot;
  }

  private send(message: Outgoing): void {
    const term = message.term ?? this.term;
    this.msgs.push({ ...message, from: this.id, term } as Message);
  }

  // ---- Ready ----

  hasReady(): boolean {
    if (this.broadcastPending || this.msgs.length > 0 || this.readStates.length > 0 || this.snapshotToInstall)
      return true;
    if (this.log.unstableEntries().length > 0) return true;
    if (this.log.committed > this.log.applied) return true;
    const hard = this.hardState();
    if (
      hard.term !== this.prevHard.term ||
      hard.vote !== this.prevHard.vote ||
      hard.commit !== this.prevHard.commit
    )
      return true;
    const soft = this.softState();
    return soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role;
  }

  ready(): Ready {
    if (this.broadcastPending) {
      this.broadcastPending = false;
      if (this.role === 'leader') this.bcastAppend();
    }
    const hard = this.hardState();
    const soft = this.softState();
    const hardChanged =
      hard.term !== this.prevHard.term ||
      hard.vote !== this.prevHard.vote ||
      hard.commit !== this.prevHard.commit;
    const entries = this.log.unstableEntries();
    const ready: Ready = {
      entries,
      committedEntries: this.snapshotToInstall ? [] : this.log.nextCommitted(),
      messages: this.msgs,
      readStates: this.readStates,
      mustSync:
        entries.length > 0 ||
        hard.term !== this.prevHard.term ||
        hard.vote !== this.prevHard.vote ||
        !!this.snapshotToInstall,
    };
    if (hardChanged) ready.hardState = hard;
    if (soft.leader !== this.prevSoft.leader || soft.role !== this.prevSoft.role) ready.softState = soft;
    if (this.snapshotToInstall) ready.snapshot = this.snapshotToInstall;
    this.msgs = [];
    this.readStates = [];
    return ready;
  }

  advance(ready: Ready): void {
    if (ready.softState) this.prevSoft = ready.softState;
    if (ready.hardState) this.prevHard = ready.hardState;
    if (ready.snapshot && this.snapshotToInstall === ready.snapshot) this.snapshotToInstall = undefined;
    const last = ready.entries[ready.entries.length - 1];
    if (last) this.log.stableTo(last.index, last.term);
    for (const entry of ready.committedEntries) {
      this.log.appliedTo(entry.index);
      if (entry.type === 'confChange') this.applyConfChange(decodeConfChange(entry.data));
    }
    this.releaseDeferredReads();
  }

  /** Single-server membership change (§4.1), taking effect when its entry is applied. */
  private applyConfChange(change: ConfChange): void {
    const voters = new Set(this.conf.voters);
    const learners = new Set(this.conf.learners);
    switch (change.type) {
      case 'addVoter':
        learners.delete(change.node);
        voters.add(change.node);
        break;
      case 'addLearner':
        if (!voters.has(change.node)) learners.add(change.node);
        break;
      case 'removeNode':
        voters.delete(change.node);
        learners.delete(change.node);
        break;
    }
    this.conf = { voters: [...voters].sort(), learners: [...learners].sort() };
    if (this.role !== 'leader') {
      this.resetProgress();
      return;
    }
    for (const id of [...voters, ...learners]) {
      if (!this.prs.has(id)) this.prs.set(id, new Progress(this.log.lastIndex() + 1, learners.has(id)));
      else this.prs.get(id)!.isLearner = learners.has(id);
    }
    for (const id of [...this.prs.keys()]) if (!voters.has(id) && !learners.has(id)) this.prs.delete(id);
    if (!voters.has(this.id)) {
      // A leader that removed itself steps down; the others elect a leader among themselves.
      this.becomeFollower(this.term, '');
      return;
    }
    // A smaller quorum may commit more now.
    if (this.maybeCommit()) this.broadcastPending = true;
    if (this.leadTransferee && !voters.has(this.leadTransferee)) this.leadTransferee = '';
  }

  status(): Status {
    const status: Status = {
      id: this.id,
      role: this.role,
      term: this.term,
      leader: this.lead,
      commit: this.log.committed,
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      conf: structuredClone(this.conf),
    };
    if (this.role === 'leader') {
      status.progress = {};
      for (const [id, pr] of this.prs)
        status.progress[id] = { match: pr.match, next: pr.next, state: pr.state };
    }
    return status;
  }
}
