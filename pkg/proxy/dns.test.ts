import dgram from 'dgram';
import { promises as dnsPromises } from 'dns';
import net from 'net';
import * as packet from 'dns-packet';
import { Endpoints, Service } from '../api';
import { bindUdpAndTcp, ClusterDns, hostResolvers, ServiceDirectory } from './dns';

const services: Service[] = [
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { clusterIP: '10.96.0.20', ports: [{ port: 80 }] },
  },
  {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'db', namespace: 'default' },
    spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] },
  },
];
const endpoints: Endpoints[] = [
  {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'db', namespace: 'default' },
    subsets: [
      {
        addresses: [{ ip: '172.18.0.2', hostname: 'db-0' }, { ip: '172.18.0.3' }],
        notReadyAddresses: [{ ip: '172.18.0.4' }],
        ports: [{ name: 'pg', port: 5433 }],
      },
    ],
  },
];
const directory: ServiceDirectory = {
  service: (ns, name) => services.find((s) => s.metadata.namespace === ns && s.metadata.name === name),
  endpoints: (ns, name) => endpoints.find((e) => e.metadata.namespace === ns && e.metadata.name === name),
};

/** A fake upstream resolver on loopback: every A question gets 192.0.2.99, over UDP and TCP. */
async function fakeUpstream(): Promise<{ port: number; queries: string[]; close(): Promise<void> }> {
  const queries: string[] = [];
  const reply = (message: Buffer) => {
    const query = packet.decode(message);
    queries.push(query.questions![0].name);
    return packet.encode({
      type: 'response',
      id: query.id,
      flags: packet.RECURSION_AVAILABLE,
      questions: query.questions,
      answers: [{ type: 'A', name: query.questions![0].name, ttl: 60, data: '192.0.2.99' }],
    });
  };
  const { udp, tcp } = await bindUdpAndTcp(0, '127.0.0.1', (socket) =>
    socket.on('data', (chunk: Buffer) => {
      const answer = reply(chunk.subarray(2, 2 + chunk.readUInt16BE(0)));
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(answer.length);
      socket.end(Buffer.concat([prefix, answer]));
    }),
  );
  udp.on('message', (m, remote) => udp.send(reply(m), remote.port, remote.address));
  const port = udp.address().port;
  return {
    port,
    queries,
    close: async () => {
      udp.close();
      await new Promise((resolve) => tcp.close(resolve));
    },
  };
}

let server: ClusterDns;
let port: number;
let upstream: Awaited<ReturnType<typeof fakeUpstream>>;

beforeAll(async () => {
  upstream = await fakeUpstream();
  server = new ClusterDns({ directory, upstreams: [`127.0.0.1:${upstream.port}`] });
  port = await server.listen(0, '127.0.0.1');
});

afterAll(async () => {
  await server.close();
  await upstream.close();
});

let nextId = 1;
function udpQuery(name: string, type: packet.RecordType = 'A'): Promise<packet.DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const id = nextId++;
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no answer for ${name}`));
    }, 3000);
    socket.on('message', (m) => {
      clearTimeout(timer);
      socket.close();
      resolve(packet.decode(m));
    });
    socket.send(
      packet.encode({ type: 'query', id, flags: packet.RECURSION_DESIRED, questions: [{ type, name }] }),
      port,
      '127.0.0.1',
    );
  });
}

function tcpQuery(name: string, type: packet.RecordType = 'A'): Promise<packet.DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('error', reject);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      if (all.length >= 2 && all.length >= 2 + all.readUInt16BE(0)) {
        socket.destroy();
        resolve(packet.decode(all.subarray(2)));
      }
    });
    const query = packet.encode({ type: 'query', id: nextId++, questions: [{ type, name }] });
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(query.length);
    socket.write(Buffer.concat([prefix, query]));
  });
}

const rcode = (p: packet.DecodedPacket) => (p as unknown as { rcode: string }).rcode;
const addresses = (p: packet.DecodedPacket) =>
  (p.answers ?? []).flatMap((a) => (a.type === 'A' ? [a.data] : []));

/** What a pod's resolver does: ndots:5 and the search path of its namespace, first answer wins. */
async function resolveFromPod(name: string, namespace: string): Promise<string[]> {
  const search = [`${namespace}.svc.cluster.local`, 'svc.cluster.local', 'cluster.local'];
  const candidates = name.split('.').length > 5 ? [name] : [...search.map((s) => `${name}.${s}`), name];
  for (const candidate of candidates) {
    const reply = await udpQuery(candidate);
    if (rcode(reply) === 'NOERROR' && addresses(reply).length > 0) return addresses(reply);
  }
  return [];
}

describe('cluster DNS', () => {
  it.each([
    ['web', 'default', ['10.96.0.10']],
    ['web.default', 'default', ['10.96.0.10']],
    ['web.default.svc', 'default', ['10.96.0.10']],
    ['web.default.svc.cluster.local', 'default', ['10.96.0.10']],
    ['web', 'shop', ['10.96.0.20']],
    ['web.default', 'shop', ['10.96.0.10']],
  ])('answers %s from namespace %s through the search path', async (name, namespace, expected) => {
    expect(await resolveFromPod(name, namespace)).toEqual(expected);
  });

  it('answers with the 5 s TTL, authoritatively', async () => {
    const reply = await udpQuery('web.default.svc.cluster.local');
    expect(reply.flag_aa).toBe(true);
    expect(reply.answers![0]).toMatchObject({ type: 'A', ttl: 5, data: '10.96.0.10' });
  });

  it('answers a headless Service with every ready pod IP, and each pod by its own name', async () => {
    const reply = await udpQuery('db.default.svc.cluster.local');
    expect(addresses(reply).sort()).toEqual(['172.18.0.2', '172.18.0.3']);
    expect(addresses(await udpQuery('db-0.db.default.svc.cluster.local'))).toEqual(['172.18.0.2']);
    expect(addresses(await udpQuery('172-18-0-3.db.default.svc.cluster.local'))).toEqual(['172.18.0.3']);
    expect(rcode(await udpQuery('172-18-0-4.db.default.svc.cluster.local'))).toBe('NXDOMAIN');
  });

  it('answers SRV for named ports: the Service at its port, or each ready pod at its own', async () => {
    const web = await udpQuery('_http._tcp.web.default.svc.cluster.local', 'SRV');
    expect(web.answers).toEqual([
      expect.objectContaining({
        type: 'SRV',
        data: expect.objectContaining({ port: 80, target: 'web.default.svc.cluster.local' }),
      }),
    ]);
    const db = await udpQuery('_pg._tcp.db.default.svc.cluster.local', 'SRV');
    expect((db.answers ?? []).map((a) => (a.type === 'SRV' ? a.data : undefined))).toEqual([
      expect.objectContaining({ port: 5433, target: 'db-0.db.default.svc.cluster.local' }),
      expect.objectContaining({ port: 5433, target: '172-18-0-3.db.default.svc.cluster.local' }),
    ]);
    expect(rcode(await udpQuery('_nope._tcp.web.default.svc.cluster.local', 'SRV'))).toBe('NXDOMAIN');
  });

  it.each([
    'nope.default.svc.cluster.local',
    'web.nowhere.svc.cluster.local',
    'web.default.pod.cluster.local',
    'a.b.c.web.default.svc.cluster.local',
    'example.org.default.svc.cluster.local',
  ])('says NXDOMAIN for %s, with the zone SOA', async (name) => {
    const reply = await udpQuery(name);
    expect(rcode(reply)).toBe('NXDOMAIN');
    expect(reply.authorities![0]).toMatchObject({ type: 'SOA', name: 'cluster.local' });
  });

  it('gives an empty NOERROR for a known name and another type', async () => {
    const reply = await udpQuery('web.default.svc.cluster.local', 'AAAA');
    expect(rcode(reply)).toBe('NOERROR');
    expect(reply.answers).toEqual([]);
  });

  it('forwards other names to the upstream resolver, over UDP and TCP', async () => {
    expect(addresses(await udpQuery('example.org'))).toEqual(['192.0.2.99']);
    expect(addresses(await tcpQuery('tcp.example.org'))).toEqual(['192.0.2.99']);
    expect(upstream.queries).toEqual(expect.arrayContaining(['example.org', 'tcp.example.org']));
    expect(upstream.queries.some((q) => q.endsWith('cluster.local'))).toBe(false);
  });

  it('answers cluster names over TCP', async () => {
    expect(addresses(await tcpQuery('web.shop.svc.cluster.local'))).toEqual(['10.96.0.20']);
  });

  it('is a DNS server an ordinary resolver can use', async () => {
    const resolver = new dnsPromises.Resolver();
    resolver.setServers([`127.0.0.1:${port}`]);
    expect(await resolver.resolve4('web.default.svc.cluster.local')).toEqual(['10.96.0.10']);
    await expect(resolver.resolve4('nope.default.svc.cluster.local')).rejects.toMatchObject({
      code: 'ENOTFOUND',
    });
  });

  it('says SERVFAIL when no upstream answers', async () => {
    const dead = new ClusterDns({ directory, upstreams: ['127.0.0.1:9'], upstreamTimeoutMs: 200 });
    const query = packet.encode({ type: 'query', id: 7, questions: [{ type: 'A', name: 'example.org' }] });
    const reply = packet.decode((await dead.answer(query, 'udp'))!);
    expect(rcode(reply)).toBe('SERVFAIL');
    await dead.close();
  });

  it('reads nameservers from a resolv.conf', async () => {
    expect(await hostResolvers('/nonexistent')).toEqual([]);
    expect(Array.isArray(await hostResolvers())).toBe(true);
  });
});

describe('binding UDP and TCP to one port', () => {
  it('fails on a fixed port another server holds on TCP, and lets the UDP port go again', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const taken = (holder.address() as net.AddressInfo).port;
    try {
      await expect(bindUdpAndTcp(taken, '127.0.0.1', () => undefined)).rejects.toMatchObject({
        code: 'EADDRINUSE',
      });
      const probe = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        probe.once('error', reject);
        probe.bind(taken, '127.0.0.1', resolve);
      });
      await new Promise<void>((resolve) => probe.close(() => resolve()));
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });

  it('with port 0, gives one port that both protocols hold', async () => {
    const { udp, tcp } = await bindUdpAndTcp(0, '127.0.0.1', () => undefined);
    expect((tcp.address() as net.AddressInfo).port).toBe(udp.address().port);
    udp.close();
    await new Promise((resolve) => tcp.close(resolve));
  });
});
