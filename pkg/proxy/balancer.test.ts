import { spawn } from 'child_process';
import net from 'net';
import { TcpBalancer, Endpoint } from './balancer';

/** A backend that answers each connection with its name once the client half-closes (or at once). */
async function backend(
  name: string,
  mode: 'greet' | 'echo-on-end' | 'raw' = 'greet',
): Promise<{ endpoint: Endpoint; received: Buffer[]; close(): Promise<void>; sockets: Set<net.Socket> }> {
  const received: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    if (mode === 'greet') socket.end(name);
    if (mode === 'echo-on-end')
      socket.on('end', () => socket.end(`${name}:${Buffer.concat(chunks).toString()}`));
    socket.on('end', () => {
      received.push(Buffer.concat(chunks));
      if (mode === 'raw') socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port },
    received,
    sockets,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function deadEndpoint(): Promise<Endpoint> {
  const b = await backend('dead');
  await b.close();
  return b.endpoint;
}

/**
 * An endpoint whose connects hang: a listener (python, as Node always accepts) with a backlog
 * of 0 that never accepts, its queue filled by one connection, so the kernel drops new SYNs.
 */
async function hungEndpoint(): Promise<{ endpoint: Endpoint; close(): Promise<void> }> {
  const child = spawn('python3', [
    '-c',
    "import socket,sys\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()",
  ]);
  const port = await new Promise<number>((resolve) =>
    child.stdout.once('data', (d: Buffer) => resolve(Number(d))),
  );
  const filler = net.connect(port, '127.0.0.1');
  filler.on('error', () => undefined);
  await new Promise((resolve) => filler.on('connect', resolve));
  return {
    endpoint: { host: '127.0.0.1', port },
    close: async () => {
      filler.destroy();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    },
  };
}

/** Connects, optionally sends and half-closes, and returns everything received. */
function exchange(port: number, send?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      socket.end();
      resolve(Buffer.concat(chunks).toString());
    });
    socket.on('close', () => resolve(Buffer.concat(chunks).toString()));
    socket.on('error', reject);
    socket.on('connect', () => {
      if (send !== undefined) socket.end(send);
    });
  });
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function balancer(
  endpoints: Endpoint[],
  options: Partial<ConstructorParameters<typeof TcpBalancer>[0]> = {},
) {
  const lb = new TcpBalancer({ name: 'test', ...options });
  lb.setEndpoints(endpoints);
  const address = await lb.listen(0);
  cleanups.push(() => lb.close());
  return { lb, port: address.port };
}

async function backends(...names: string[]) {
  const list = await Promise.all(names.map((n) => backend(n)));
  for (const b of list) cleanups.push(b.close);
  return list;
}

describe('TcpBalancer', () => {
  it('spreads connections round robin over the endpoints', async () => {
    const [a, b, c] = await backends('a', 'b', 'c');
    const { port } = await balancer([a.endpoint, b.endpoint, c.endpoint]);
    const answers: string[] = [];
    for (let i = 0; i < 30; i++) answers.push(await exchange(port));
    expect(['a', 'b', 'c'].map((n) => answers.filter((x) => x === n).length)).toEqual([10, 10, 10]);
  });

  it('retries a refused connection on the next endpoint before forwarding a byte', async () => {
    const [live] = await backends('live');
    const { port, lb } = await balancer([await deadEndpoint(), live.endpoint, await deadEndpoint()]);
    for (let i = 0; i < 6; i++) expect(await exchange(port)).toBe('live');
    expect(lb.stats.failed).toBe(0);
  });

  it('tries every endpoint before giving up: a connection gets through while most endpoints are gone', async () => {
    // A node lost with most of a Service's pods: three of four endpoints refuse. Whichever
    // endpoint round robin starts at, the connection must reach the one that answers.
    const [live] = await backends('live');
    const dead = await Promise.all([deadEndpoint(), deadEndpoint(), deadEndpoint()]);
    const { port, lb } = await balancer([...dead, live.endpoint]);
    for (let i = 0; i < 8; i++) expect(await exchange(port)).toBe('live');
    expect(lb.stats.failed).toBe(0);
  });

  it('tries an endpoint whose connect failed last, until its cool-down is over', async () => {
    const [live] = await backends('live');
    const gone = await deadEndpoint();
    let now = 1_000_000;
    const { port, lb } = await balancer([gone, live.endpoint], { failureCooldownMs: 300, now: () => now });
    for (let i = 0; i < 10; i++) expect(await exchange(port)).toBe('live');
    // Only the first connection tried it; the others went to the live one first.
    expect(lb.stats.connectErrors).toBe(1);
    // Back (a restarted pod on the same address): after the cool-down it gets its share again.
    const back = net.createServer((socket) => socket.end('back'));
    await new Promise<void>((resolve) => back.listen(gone.port, gone.host, resolve));
    cleanups.push(() => new Promise((resolve) => back.close(() => resolve())));
    now += 300;
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) answers.push(await exchange(port));
    expect(answers.sort()).toEqual(['back', 'back', 'live', 'live']);
    expect(lb.stats.connectErrors).toBe(1);
  });

  it('closes the connection when no endpoint is ready', async () => {
    const { port, lb } = await balancer([]);
    expect(await exchange(port)).toBe('');
    expect(lb.stats.failed).toBe(1);
  });

  it('passes a half-close through: the endpoint still answers after the client finished sending', async () => {
    const echo = await backend('echo', 'echo-on-end');
    cleanups.push(echo.close);
    const { port } = await balancer([echo.endpoint]);
    expect(await exchange(port, 'hello')).toBe('echo:hello');
  });

  it('sends least-connections traffic to the endpoint with the fewest open connections', async () => {
    const a = await backend('a', 'raw');
    const b = await backend('b', 'raw');
    cleanups.push(a.close, b.close);
    const { port, lb } = await balancer([a.endpoint, b.endpoint], { policy: 'least-connections' });
    const held: net.Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const socket = net.connect(port, '127.0.0.1');
      held.push(socket);
      await new Promise((resolve) => socket.on('connect', resolve));
    }
    await waitFor(() => lb.stats.active === 3);
    // 3 connections: 2 on one endpoint, 1 on the other. The next two go to the lighter one first.
    const before = [a.sockets.size, b.sockets.size];
    const extra = net.connect(port, '127.0.0.1');
    held.push(extra);
    await waitFor(() => a.sockets.size + b.sockets.size === 4);
    expect([a.sockets.size, b.sockets.size]).toEqual([2, 2]);
    expect(before.sort()).toEqual([1, 2]);
    held.forEach((s) => s.destroy());
  });

  it('keeps a client on one endpoint with affinity', async () => {
    const [a, b] = await backends('a', 'b');
    const { port } = await balancer([a.endpoint, b.endpoint], { affinityTimeoutMs: 10_000 });
    const answers = new Set<string>();
    for (let i = 0; i < 6; i++) answers.add(await exchange(port));
    expect(answers.size).toBe(1);
  });

  it('drains connections to a removed endpoint: they finish, then are closed after the timeout', async () => {
    const a = await backend('a', 'raw');
    cleanups.push(a.close);
    const { port, lb } = await balancer([a.endpoint], { drainTimeoutMs: 200 });
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.on('connect', resolve));
    await waitFor(() => a.sockets.size === 1);
    lb.setEndpoints([]);
    socket.write('still here');
    await waitFor(() => [...a.sockets].some((s) => s.bytesRead > 0));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    await closed;
    await waitFor(() => lb.stats.active === 0);
    await waitFor(() => a.sockets.size === 0);
  });

  it.each(['v1', 'v2'] as const)('sends a PROXY %s header naming the client', async (version) => {
    const raw = await backend('raw', 'raw');
    cleanups.push(raw.close);
    const { port } = await balancer([raw.endpoint], { proxyProtocol: version });
    const socket = net.connect({ port, host: '127.0.0.1' });
    await new Promise((resolve) => socket.on('connect', resolve));
    const clientPort = socket.localPort;
    socket.end('payload');
    await waitFor(() => raw.received.length === 1);
    const data = raw.received[0];
    if (version === 'v1') {
      expect(data.toString()).toBe(`PROXY TCP4 127.0.0.1 127.0.0.1 ${clientPort} ${port}\r\npayload`);
    } else {
      expect(data.subarray(0, 12).toString('latin1')).toBe('\r\n\r\n\0\r\nQUIT\n');
      expect([data[12], data[13], data.readUInt16BE(14)]).toEqual([0x21, 0x11, 12]);
      expect([...data.subarray(16, 20)]).toEqual([127, 0, 0, 1]);
      expect(data.readUInt16BE(24)).toBe(clientPort);
      expect(data.subarray(28).toString()).toBe('payload');
    }
  });

  it('closes a connection idle for the idle timeout; traffic postpones it (one sweep, no timer per socket)', async () => {
    const raw = await backend('raw', 'raw');
    cleanups.push(raw.close);
    let now = 1_000_000;
    // The sweep runs only when the test calls it, on the test's clock.
    const { port, lb } = await balancer([raw.endpoint], {
      idleTimeoutMs: 1000,
      sweepIntervalMs: 3_600_000,
      now: () => now,
    });
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    const closed = new Promise((resolve) => socket.on('close', resolve));
    await waitFor(() => lb.stats.active === 1);
    now += 600;
    socket.write('ping');
    await waitFor(() => [...raw.sockets].some((s) => s.bytesRead > 0));
    lb.sweep(); // sees the traffic: idle from now on
    now += 600;
    lb.sweep(); // 600 ms idle: stays open
    expect(socket.destroyed).toBe(false);
    expect(lb.stats.active).toBe(1);
    now += 400;
    lb.sweep(); // 1000 ms idle: closed
    await closed;
    await waitFor(() => lb.stats.active === 0 && raw.sockets.size === 0);
  });

  it('gives up a connect that hangs after the connect timeout and moves on to the next endpoint', async () => {
    const hung = await hungEndpoint();
    cleanups.push(hung.close);
    const [live] = await backends('live');
    const { port, lb } = await balancer([hung.endpoint, live.endpoint], {
      connectTimeoutMs: 100,
      sweepIntervalMs: 10,
    });
    expect(await exchange(port)).toBe('live');
    expect(lb.stats.connectErrors).toBe(1);
    expect(lb.stats.failed).toBe(0);
  });

  it('closes while a connect hangs: the waiting client is closed and close() returns', async () => {
    const hung = await hungEndpoint();
    cleanups.push(hung.close);
    const lb = new TcpBalancer({ name: 'test', connectTimeoutMs: 60_000 });
    lb.setEndpoints([hung.endpoint]);
    const { port } = await lb.listen(0);
    const client = net.connect(port, '127.0.0.1');
    const clientClosed = new Promise((resolve) => client.once('close', resolve));
    client.on('error', () => undefined);
    await new Promise((resolve) => client.once('connect', resolve));
    await waitFor(() => lb.stats.opened === 1);
    await lb.close();
    await clientClosed;
    expect(lb.stats.active).toBe(0);
  });

  it('leaks no connection state after many connections', async () => {
    const [a, b] = await backends('a', 'b');
    const { port, lb } = await balancer([a.endpoint, b.endpoint]);
    for (let i = 0; i < 500; i++) await exchange(port);
    await waitFor(() => lb.stats.active === 0);
    expect(lb.stats.opened).toBe(500);
    expect(a.sockets.size + b.sockets.size).toBe(0);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
