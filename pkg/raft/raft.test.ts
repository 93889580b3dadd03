/**
 * One test per claim of the Raft paper (Ongaro & Ousterhout) and thesis (Ongaro 2014), with
 * the section, on a small synchronous harness: every Ready is persisted and its messages
 * delivered at once, unless the test cuts a link or isolates a node.
 */
import { createRawNode, Raft } from './raft';
import { Entry, Message, NodeId, ProposalDropped, RaftConfig, RawNode } from './types';

interface TestNode {
  raft: Raft;
  applied: Entry[];
  reads: Array<{ index: number; context: string }>;
}

class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  private readonly cut = new Set<string>();
  private readonly queue: Message[] = [];
  /** Every message delivered, for assertions about what was said. */
  readonly log: Message[] = [];

  constructor(
    ids: NodeId[],
    overrides: Partial<RaftConfig> = {},
    private seed = 1,
  ) {
    for (const id of ids) this.add(id, ids, overrides);
  }

  add(id: NodeId, voters: NodeId[], overrides: Partial<RaftConfig> = {}, learners: NodeId[] = []): TestNode {
    let state = this.seed++ * 7919;
    const raft = createRawNode(
      {
        id,
        electionTicks: 10,
        heartbeatTicks: 1,
        preVote: true,
        checkQuorum: true,
        maxInflightAppends: 8,
        maxAppendBytes: 1 << 20,
        random: () => (state = (state * 48271) % 2147483647) / 2147483647,
        ...overrides,
      },
      { hardState: { term: 0, vote: '', commit: 0 }, entries: [], conf: { voters, learners } },
    ) as Raft;
    const node: TestNode = { raft, applied: [], reads: [] };
    this.nodes.set(id, node);
    return node;
  }

  /** A crash and restart: the node comes back from its persisted state (term, vote, log). */
  restart(id: NodeId): void {
    const old = this.get(id);
    const entries = (old.log.slice(old.log.firstIndex(), old.log.lastIndex() + 1) ?? []).map((e) => ({
      ...e,
    }));
    const node = this.nodes.get(id)!;
    node.raft = createRawNode(old['config' as keyof Raft] as unknown as RaftConfig, {
      hardState: { term: old.term, vote: old.vote, commit: old.log.committed },
      entries,
      conf: old.conf,
    }) as Raft;
  }

  get(id: NodeId): Raft {
    return this.nodes.get(id)!.raft;
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}>${other}`);
      this.cut.add(`${other}>${id}`);
    }
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}>${to}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Processes Readies and delivers messages until nothing moves. */
  settle(filter: (m: Message) => boolean = () => true): void {
    for (let rounds = 0; rounds < 10_000; rounds++) {
      let moved = false;
      for (const [, node] of this.nodes) {
        if (!node.raft.hasReady()) continue;
        moved = true;
        const ready = node.raft.ready();
        this.queue.push(...ready.messages);
        node.applied.push(...ready.committedEntries);
        node.reads.push(...ready.readStates);
        node.raft.advance(ready);
      }
      const batch = this.queue.splice(0);
      for (const message of batch) {
        if (this.cut.has(`${message.from}>${message.to}`) || !filter(message)) continue;
        const target = this.nodes.get(message.to);
        if (!target) continue;
        moved = true;
        this.log.push(message);
        target.raft.step(message);
      }
      if (!moved) return;
    }
    throw new Error('the network did not settle');
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) {
      this.get(id).tick();
      this.settle();
    }
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const node of this.nodes.values()) node.raft.tick();
      this.settle();
    }
  }

  /** Ticks `id` until it leads (it campaigns after its election timeout). */
  elect(id: NodeId): void {
    for (let i = 0; i < 100 && this.get(id).role !== 'leader'; i++) this.tick(id);
    if (this.get(id).role !== 'leader') throw new Error(`${id} did not become leader`);
  }

  leaders(): NodeId[] {
    return [...this.nodes].filter(([, n]) => n.raft.role === 'leader').map(([id]) => id);
  }

  propose(id: NodeId, text: string): void {
    this.get(id).propose(new TextEncoder().encode(text));
    this.settle();
  }

  appliedData(id: NodeId): string[] {
    return this.nodes
      .get(id)!
      .applied.filter((e) => e.type === 'normal' && e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }
}

const three = () => new Network(['a', 'b', 'c']);

describe('Raft paper §5.2: leader election', () => {
  it('a follower that hears from no leader campaigns and wins a majority', () => {
    const net = three();
    net.elect('a');
    expect(net.leaders()).toEqual(['a']);
    expect(net.get('a').term).toBe(1);
    expect(net.get('b').lead).toBe('a');
    expect(net.get('c').lead).toBe('a');
  });

  it('election safety: each node votes at most once per term', () => {
    const net = three();
    const b = net.get('b');
    b.step({ type: 'vote', from: 'a', to: 'b', term: 5, index: 0, logTerm: 0, transfer: true });
    b.step({ type: 'vote', from: 'c', to: 'b', term: 5, index: 0, logTerm: 0, transfer: true });
    const answers = b.ready().messages.filter((m) => m.type === 'voteResponse');
    expect(answers.map((m) => [m.to, m.type === 'voteResponse' && m.reject])).toEqual([
      ['a', false],
      ['c', true],
    ]);
    expect(b.vote).toBe('a');
  });

  it('a candidate that loses a majority of votes returns to follower', () => {
    const net = three();
    net.isolate('a');
    net.get('a').campaign();
    net.settle();
    expect(net.get('a').role).toBe('preCandidate'); // no one answers
    net.heal();
    net.elect('b');
    net.settle();
    expect(net.get('a').role).toBe('follower');
  });
});

describe('Raft paper §5.3: log replication', () => {
  it('commits an entry once a majority stores it, and every node applies it', () => {
    const net = three();
    net.elect('a');
    net.propose('a', 'x=1');
    net.tickAll(2);
    for (const id of ['a', 'b', 'c']) expect(net.appliedData(id)).toEqual(['x=1']);
  });

  it('a follower forwards proposals to the leader', () => {
    const net = three();
    net.elect('a');
    net.propose('b', 'from-b');
    net.tickAll(2);
    expect(net.appliedData('c')).toEqual(['from-b']);
  });

  it('log matching: a follower with a conflicting suffix is overwritten by the leader', () => {
    const net = three();
    net.elect('a');
    net.propose('a', 'one');
    // a is cut off and keeps taking proposals no one else will ever see.
    net.isolate('a');
    net.propose('a', 'lost-1');
    net.propose('a', 'lost-2');
    net.tickAll(25); // b or c times out and is elected without a
    const [leader] = net.leaders().filter((id) => id !== 'a');
    net.propose(leader, 'two');
    net.heal();
    net.tickAll(30);
    for (const id of ['a', 'b', 'c']) expect(net.appliedData(id)).toEqual(['one', 'two']);
  });

  it('nothing is acknowledged with no leader: proposals are dropped, not queued', () => {
    const net = three();
    expect(() => net.get('b').propose(new Uint8Array([1]))).toThrow(ProposalDropped);
  });
});

describe('Raft paper §5.4: safety', () => {
  it('§5.4.1: a candidate whose log is behind gets no vote', () => {
    const net = three();
    net.elect('a');
    net.propose('a', 'x');
    net.tickAll(2);
    const c = net.get('c');
    // Pretend b lost everything and asks c for a vote in a later term.
    c.step({ type: 'vote', from: 'b', to: 'c', term: 10, index: 0, logTerm: 0, transfer: true });
    const answer = c.ready().messages.find((m) => m.type === 'voteResponse');
    expect(answer?.type === 'voteResponse' && answer.reject).toBe(true);
  });

  it('§5.4.2 (Figure 8): a leader does not commit an entry of an earlier term by counting replicas', () => {
    // One entry per append, so the old entry's replicas are counted before the new leader's own
    // entry arrives; no leases or pre-votes, which are not what this is about.
    const net = new Network(['s1', 's2', 's3', 's4', 's5'], {
      maxAppendBytes: 1,
      checkQuorum: false,
      preVote: false,
    });
    net.elect('s1');
    // s1 (term 1) gets an entry onto s2 only.
    for (const id of ['s3', 's4', 's5']) net.cutLink('s1', id);
    net.propose('s1', 'old');
    expect(net.get('s2').log.term(2)).toBe(1);
    net.isolate('s1');
    net.isolate('s2');
    // s5 wins term 2 with s3 and s4, but none of its own entries ever leaves it.
    const noAppendsFromS5 = (m: Message) =>
      !(m.from === 's5' && (m.type === 'append' || m.type === 'heartbeat'));
    for (let i = 0; i < 100 && net.get('s5').role !== 'leader'; i++) {
      net.get('s5').tick();
      net.settle(noAppendsFromS5);
    }
    expect(net.get('s5').role).toBe('leader');
    net.get('s5').propose(new TextEncoder().encode('other'));
    net.settle(noAppendsFromS5);
    expect(net.get('s3').log.lastIndex()).toBe(1);
    net.heal();
    net.isolate('s5');
    net.restart('s1');
    // s1 leads again, in a later term, and replicates the old entry to s3 before its own.
    const announced: number[] = [];
    for (let i = 0; i < 100 && net.get('s1').role !== 'leader'; i++) {
      net.get('s1').tick();
      net.settle((m) => {
        if (m.from === 's1' && (m.type === 'append' || m.type === 'heartbeat')) announced.push(m.commit);
        return true;
      });
    }
    const s1 = net.get('s1');
    expect(s1.role).toBe('leader');
    net.tickAll(3);
    expect(
      net.log.some((m) => m.type === 'appendResponse' && m.from === 's3' && !m.reject && m.index === 2),
    ).toBe(true);
    // The old entry (index 2, term 1) sat on s1, s2 and s3, a majority, but was never
    // committed by counting: the commit index went from 1 straight to s1's own entry at 3.
    expect(announced).not.toContain(2);
    expect(s1.log.committed).toBeGreaterThanOrEqual(3);
    expect(s1.log.term(3)).toBe(s1.term);
  });

  it("leader completeness: a committed entry is in every later leader's log", () => {
    const net = three();
    net.elect('a');
    net.propose('a', 'committed');
    net.tickAll(2);
    net.isolate('a');
    net.tickAll(25);
    const [leader] = net.leaders().filter((id) => id !== 'a');
    expect(net.appliedData(leader)).toContain('committed');
  });
});

describe('thesis §9.6 and §6.2: PreVote and CheckQuorum', () => {
  it('§9.6: a partitioned node does not raise its term, and rejoining does not depose the leader', () => {
    const net = three();
    net.elect('a');
    net.isolate('c');
    net.tick('c', 50);
    expect(net.get('c').term).toBe(1); // pre-votes only: no term inflation
    net.heal();
    net.tickAll(5);
    expect(net.leaders()).toEqual(['a']);
    expect(net.get('a').term).toBe(1);
  });

  it('§6.2: a leader that cannot reach a majority steps down after an election timeout', () => {
    const net = three();
    net.elect('a');
    net.isolate('a');
    net.tick('a', 25);
    expect(net.get('a').role).toBe('follower');
  });

  it('§6.2 leader lease: a follower that hears from its leader ignores a candidate of a higher term', () => {
    const net = three();
    net.elect('a');
    const b = net.get('b');
    b.step({ type: 'vote', from: 'c', to: 'b', term: 9, index: 99, logTerm: 9, transfer: false });
    expect(b.term).toBe(1);
    expect(b.ready().messages.filter((m) => m.type === 'voteResponse')).toEqual([]);
  });
});

describe('thesis §3.10: leadership transfer', () => {
  it('hands leadership to a caught-up follower at once, and refuses proposals meanwhile', () => {
    const net = three();
    net.elect('a');
    net.propose('a', 'x');
    const a = net.get('a');
    a.transferLeadership('b');
    expect(() => a.propose(new Uint8Array([1]))).toThrow(ProposalDropped);
    net.settle();
    expect(net.leaders()).toEqual(['b']);
    expect(net.get('b').term).toBe(2);
    net.propose('b', 'after');
    net.tickAll(2);
    expect(net.appliedData('c')).toEqual(['x', 'after']);
  });
});

describe('thesis §6.4: ReadIndex', () => {
  it('answers a read with the commit index once a quorum confirms the leadership', () => {
    const net = three();
    net.elect('a');
    net.propose('a', 'x');
    net.get('a').readIndex('r1');
    net.settle();
    expect(net.nodes.get('a')!.reads).toEqual([{ index: net.get('a').log.committed, context: 'r1' }]);
  });

  it("a follower's read goes through the leader", () => {
    const net = three();
    net.elect('a');
    net.propose('a', 'x');
    net.get('c').readIndex('r2');
    net.settle();
    expect(net.nodes.get('c')!.reads.map((r) => r.context)).toEqual(['r2']);
  });

  it('a leader cut off from the majority answers no read (it might be deposed)', () => {
    const net = three();
    net.elect('a');
    net.isolate('a');
    net.get('a').readIndex('stale');
    net.settle();
    net.tick('a', 3);
    expect(net.nodes.get('a')!.reads).toEqual([]);
  });
});

describe('thesis §4.1: single-server membership changes', () => {
  it('adds a learner, promotes it to voter, removes a member; one change at a time', () => {
    const net = three();
    net.elect('a');
    net.propose('a', 'before');
    net.add('d', [], {}, []);
    const a = net.get('a');
    a.proposeConfChange({ type: 'addLearner', node: 'd', context: '' });
    expect(() => a.proposeConfChange({ type: 'removeNode', node: 'c', context: '' })).toThrow(
      ProposalDropped,
    );
    net.settle();
    net.tickAll(3);
    expect(a.conf.learners).toEqual(['d']);
    expect(net.appliedData('d')).toEqual(['before']);
    a.proposeConfChange({ type: 'addVoter', node: 'd', context: '' });
    net.settle();
    net.tickAll(3);
    expect(a.conf.voters).toEqual(['a', 'b', 'c', 'd']);
    a.proposeConfChange({ type: 'removeNode', node: 'c', context: '' });
    net.settle();
    net.tickAll(3);
    expect(a.conf.voters).toEqual(['a', 'b', 'd']);
    net.isolate('c');
    net.propose('a', 'without-c');
    net.tickAll(3);
    expect(net.appliedData('d')).toEqual(['before', 'without-c']);
  });

  it('a leader that removes itself steps down', () => {
    const net = three();
    net.elect('a');
    net.get('a').proposeConfChange({ type: 'removeNode', node: 'a', context: '' });
    net.settle();
    net.tickAll(2);
    expect(net.get('a').role).toBe('follower');
  });
});

describe('§7: snapshots and InstallSnapshot', () => {
  it('a follower behind the compacted log catches up through a snapshot', () => {
    const net = three();
    net.elect('a');
    net.isolate('c');
    for (let i = 0; i < 5; i++) net.propose('a', `e${i}`);
    net.tickAll(2);
    const a = net.get('a');
    const applied = a.log.applied;
    a.compact(applied, {
      meta: { index: applied, term: a.log.term(applied)!, conf: a.conf },
      data: new TextEncoder().encode('state'),
    });
    net.heal();
    net.tickAll(3);
    const c = net.get('c');
    expect(c.log.snapshotIndex).toBe(applied);
    expect(net.log.some((m) => m.type === 'snapshot' && m.to === 'c')).toBe(true);
    net.propose('a', 'after');
    net.tickAll(2);
    expect(net.appliedData('c')).toEqual(['after']);
  });
});

describe('the transport hint (reportUnreachable)', () => {
  it("a follower that lost its leader's connection campaigns within three ticks, not an election timeout", () => {
    const net = three();
    net.elect('a');
    net.isolate('a');
    for (const id of ['b', 'c']) net.get(id).reportUnreachable('a');
    let ticks = 0;
    while (net.leaders().filter((id) => id !== 'a').length === 0 && ticks < 20) {
      net.get('b').tick();
      net.get('c').tick();
      net.settle();
      ticks++;
    }
    expect(ticks).toBeLessThanOrEqual(4);
  });

  it('a spurious hint from one follower does not depose a healthy leader', () => {
    const net = three();
    net.elect('a');
    net.get('b').reportUnreachable('a');
    net.tickAll(5);
    expect(net.leaders()).toEqual(['a']);
    expect(net.get('a').term).toBe(1);
  });
});

describe('the transport hint (reportReachable): a new cluster elects as soon as a majority is up', () => {
  it('the lowest id of a reachable majority campaigns on the next tick; the others wait', () => {
    const net = three();
    net.get('a').reportReachable('b');
    net.get('b').reportReachable('a');
    net.get('a').tick();
    net.get('b').tick();
    net.settle();
    expect(net.leaders()).toEqual(['a']);
    expect(net.get('a').term).toBe(1);
  });

  it('no hint without a majority, and none once the cluster has had a term', () => {
    const lonely = new Network(['a', 'b', 'c', 'd', 'e']);
    lonely.get('a').reportReachable('b');
    lonely.get('a').tick();
    lonely.settle();
    expect(lonely.leaders()).toEqual([]);

    const net = three();
    net.elect('a');
    net.isolate('a');
    net.get('b').reportReachable('c');
    net.get('b').tick();
    net.settle();
    expect(net.leaders()).toEqual(['a']);
  });
});

describe('restart from persisted state', () => {
  it('a node rebuilt from its hard state and entries keeps its term, vote and log', () => {
    const net = three();
    net.elect('a');
    net.propose('a', 'x');
    const a: RawNode = net.get('a');
    const status = a.status();
    const entries = (net.get('a').log.slice(1, status.lastIndex + 1) ?? []).map((e) => ({ ...e }));
    const again = createRawNode(
      {
        id: 'a',
        electionTicks: 10,
        heartbeatTicks: 1,
        preVote: true,
        checkQuorum: true,
        maxInflightAppends: 8,
        maxAppendBytes: 1 << 20,
        random: () => 0.5,
      },
      {
        hardState: { term: status.term, vote: 'a', commit: status.commit },
        entries,
        conf: { voters: ['a', 'b', 'c'], learners: [] },
      },
    );
    const restarted = again.status();
    expect([restarted.term, restarted.lastIndex, restarted.commit, restarted.role]).toEqual([
      status.term,
      status.lastIndex,
      status.commit,
      'follower',
    ]);
  });
});
