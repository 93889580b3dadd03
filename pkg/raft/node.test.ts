/**
 * The Raft host over real sockets and WALs: three nodes on loopback, the reads they serve.
 */
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { freePort } from '../util/ports';
import { waitFor } from '../../test/support/wait';
import { logger } from '../util/log';
import { NotLeaderError, RaftNode, StateMachine } from './node';
import { Entry } from './types';

/** Keeps what was applied: the state a read must see. */
class AppliedLog implements StateMachine {
  readonly values: string[] = [];
  apply(entry: Entry): void {
    if (entry.type === 'normal' && entry.data && entry.data.length > 0)
      this.values.push(Buffer.from(entry.data).toString());
  }
  snapshot(): Uint8Array {
    return Buffer.from(JSON.stringify(this.values));
  }
  restore(data: Uint8Array): void {
    this.values.splice(0, this.values.length, ...(JSON.parse(Buffer.from(data).toString()) as string[]));
  }
}

let nodes: RaftNode[];
let machines: Map<string, AppliedLog>;

beforeEach(async () => {
  const ids = ['n1', 'n2', 'n3'];
  const peers = Object.fromEntries(
    await Promise.all(ids.map(async (id) => [id, { host: '127.0.0.1', port: await freePort() }] as const)),
  );
  machines = new Map(ids.map((id) => [id, new AppliedLog()]));
  nodes = ids.map(
    (id) =>
      new RaftNode({
        id,
        dataDir: mkdtempSync(join(tmpdir(), `bosun-raft-node-${id}-`)),
        peers,
        secret: 'test-secret',
        stateMachine: machines.get(id)!,
        log: logger('raft', { master: id }),
        tickMs: 20,
      }),
  );
  await Promise.all(nodes.map((node) => node.start()));
  await waitFor('a leader', async () => nodes.some((node) => node.status().role === 'leader'));
});

afterEach(async () => {
  await Promise.all(nodes.map((node) => node.stop(false)));
});

function leader(): RaftNode {
  return nodes.find((node) => node.status().role === 'leader')!;
}

/** Counts the read indexes a node asks its Raft core for. */
function countReadIndexes(node: RaftNode): () => number {
  const core = (node as unknown as { core: { readIndex(context: string): void } }).core;
  const original = core.readIndex.bind(core);
  let count = 0;
  core.readIndex = (context: string) => {
    count++;
    original(context);
  };
  return () => count;
}

describe('RaftNode reads', () => {
  it('serves concurrent reads on the leader with one read index, each seeing what was applied before it began', async () => {
    const lead = leader();
    lead.propose(Buffer.from('x'));
    await waitFor('x applied on the leader', async () => machines.get(lead.id)!.values.includes('x'));
    const readIndexes = countReadIndexes(lead);
    await Promise.all(Array.from({ length: 50 }, () => lead.readBarrier()));
    expect(readIndexes()).toBe(1);
    expect(machines.get(lead.id)!.values).toContain('x');
  });

  it('serves concurrent reads on a follower with one read index, after the writes committed before them', async () => {
    const lead = leader();
    const follower = nodes.find((node) => node !== lead)!;
    const readIndexes = countReadIndexes(follower);
    lead.propose(Buffer.from('y'));
    await waitFor('y applied on the leader', async () => machines.get(lead.id)!.values.includes('y'));
    await Promise.all(Array.from({ length: 20 }, () => follower.readBarrier()));
    // Linearizable: a read that began after y was committed sees y on the follower too.
    expect(machines.get(follower.id)!.values).toContain('y');
    expect(readIndexes()).toBe(1);
  });

  it('asks again for reads that come after a read index was asked for', async () => {
    const lead = leader();
    const readIndexes = countReadIndexes(lead);
    await lead.readBarrier();
    await Promise.all([lead.readBarrier(), lead.readBarrier()]);
    expect(readIndexes()).toBe(2);
  });

  it('fails reads once the node has stopped', async () => {
    const node = nodes[0];
    await node.stop(false);
    await expect(node.readBarrier()).rejects.toBeInstanceOf(NotLeaderError);
  });
});
