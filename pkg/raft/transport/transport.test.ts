import { logger } from '../../util/log';
import { Message, NodeId } from '../types';
import { Transport } from './transport';
import { freePort } from '../../util/ports';

interface Peer {
  transport: Transport;
  refused: string[];
  received: Message[];
  unreachable: NodeId[];
  snapshots: Array<[NodeId, boolean]>;
}

const started: Transport[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.stop()));
});

async function cluster(ids: NodeId[], secrets: Record<NodeId, string> = {}): Promise<Record<NodeId, Peer>> {
  const ports = await Promise.all(ids.map(() => freePort()));
  const peers = Object.fromEntries(ids.map((id, i) => [id, { host: '127.0.0.1', port: ports[i] }]));
  const out: Record<NodeId, Peer> = {};
  for (const [i, id] of ids.entries())
    out[id] = await startPeer(id, { ...peers }, ports[i], secrets[id] ?? 'shared-secret');
  return out;
}

async function startPeer(
  id: NodeId,
  peers: Record<NodeId, { host: string; port: number }>,
  port: number,
  secret: string,
): Promise<Peer> {
  const peer: Peer = {
    received: [],
    unreachable: [],
    snapshots: [],
    refused: [],
    transport: undefined as unknown as Transport,
  };
  peer.transport = new Transport({
    id,
    listen: { host: '127.0.0.1', port },
    peers,
    secret,
    log: logger('test-transport', { node: id }),
    onMessage: (m) => peer.received.push(m),
    onUnreachable: (p) => peer.unreachable.push(p),
    onSnapshotSent: (p, ok) => peer.snapshots.push([p, ok]),
    onPeerRefused: (remote) => peer.refused.push(remote),
  });
  await peer.transport.start();
  started.push(peer.transport);
  return peer;
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const heartbeat = (from: NodeId, to: NodeId, commit: number): Message => ({
  type: 'heartbeat',
  from,
  to,
  term: 1,
  commit,
  context: '',
});

describe('Transport', () => {
  it('delivers messages in order between authenticated peers', async () => {
    const { m1, m2 } = await cluster(['m1', 'm2']);
    for (let i = 1; i <= 200; i++) m1.transport.send(heartbeat('m1', 'm2', i));
    await until(() => m2.received.length === 200);
    expect(m2.received.map((m) => (m.type === 'heartbeat' ? m.commit : 0))).toEqual(
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
  });

  it('refuses a peer that does not know the secret', async () => {
    const { m1, m2 } = await cluster(['m1', 'm2'], { m2: 'wrong-secret' });
    m2.transport.send(heartbeat('m2', 'm1', 1));
    m1.transport.send(heartbeat('m1', 'm2', 1));
    // Each side refuses the other's connection; only then is it certain nothing got through.
    await until(() => m1.refused.length > 0 && m2.refused.length > 0);
    expect(m1.received).toEqual([]);
    expect(m2.received).toEqual([]);
  });

  it('reports a peer unreachable at once when its process goes away, and reconnects when it is back', async () => {
    const ports = [await freePort(), await freePort()];
    const peers = { m1: { host: '127.0.0.1', port: ports[0] }, m2: { host: '127.0.0.1', port: ports[1] } };
    const m1 = await startPeer('m1', { ...peers }, ports[0], 's');
    let m2 = await startPeer('m2', { ...peers }, ports[1], 's');
    m1.transport.send(heartbeat('m1', 'm2', 1));
    await until(() => m2.received.length === 1);
    const lostAt = Date.now();
    await m2.transport.stop();
    await until(() => m1.unreachable.includes('m2'));
    expect(Date.now() - lostAt).toBeLessThan(1000);
    m2 = await startPeer('m2', { ...peers }, ports[1], 's');
    await until(() => {
      m1.transport.send(heartbeat('m1', 'm2', 2));
      return m2.received.length > 0;
    });
  });

  it('streams a large snapshot on its own connection and reports it sent', async () => {
    const { m1, m2 } = await cluster(['m1', 'm2']);
    const data = new Uint8Array(20 * 1024 * 1024).fill(7);
    m1.transport.send({
      type: 'snapshot',
      from: 'm1',
      to: 'm2',
      term: 1,
      snapshot: { meta: { index: 100, term: 1, conf: { voters: ['m1', 'm2'], learners: [] } }, data },
    });
    m1.transport.send(heartbeat('m1', 'm2', 5));
    await until(() => m2.received.length === 2, 15_000);
    const snapshot = m2.received.find((m) => m.type === 'snapshot');
    expect(snapshot?.type === 'snapshot' && snapshot.snapshot.data.length).toBe(data.length);
    await until(() => m1.snapshots.length === 1);
    expect(m1.snapshots).toEqual([['m2', true]]);
  });
});
