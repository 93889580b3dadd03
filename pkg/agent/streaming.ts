/**
 * The agent's streaming endpoints, the kubelet's: `/exec/{ns}/{pod}/{container}` and
 * `/portForward/{ns}/{pod}`. Clients reach them only through the apiserver, which checks who
 * may exec or forward, presents this node's token, and then splices the upgraded connection
 * through unchanged: protocol negotiation and everything after it happen here, end to end.
 *
 * exec: WebSockets with `v5.channel.k8s.io` or `v4.channel.k8s.io` (see pkg/client/streaming.ts),
 * the command run by the container runtime with its streams attached.
 *
 * port-forward: the pod's IP is reachable from this host on the pod network, so each forwarded
 * connection is a TCP connection from here to `podIP:port`. Three ways in: SPDY inside a
 * WebSocket (kubectl 1.31+), plain SPDY (older kubectl, and kubectl's fallback), and the
 * WebSocket channel protocol with `?ports=` (other clients).
 */
import { STATUS_CODES } from 'http';
import http from 'http';
import net from 'net';
import { Duplex } from 'stream';
import WebSocket, { WebSocketServer } from 'ws';
import { Pod } from '../api';
import {
  Channel,
  channelMessage,
  EXEC_PROTOCOL_V5,
  EXEC_PROTOCOLS,
  exitStatus,
  PORT_FORWARD_CHANNEL_PROTOCOLS,
  PORT_FORWARD_PROTOCOL,
  PORT_FORWARD_SPDY_TUNNEL_PROTOCOL,
} from '../client';
import { Logger } from '../util/log';
import { RstStatus, SpdySession, SpdyStream } from '../util/spdy';
import { ContainerRuntime, ExecSession } from './runtime/types';

export interface StreamingOptions {
  nodeName: string;
  /** The token the apiserver presents. */
  token: string;
  runtime: ContainerRuntime;
  /** A pod bound to this node, by namespace and name. */
  pod(namespace: string, name: string): Pod | undefined;
  log: Logger;
}

/** Answered before any upgrade; the apiserver turns it into a Status for the client. */
class Refusal extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

function refuse(socket: Duplex, code: number, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ''}\r\n` +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

function requestedProtocols(req: http.IncomingMessage): string[] {
  return (req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

function flag(url: URL, ...names: string[]): boolean {
  return names.some((name) => ['1', 'true'].includes(url.searchParams.get(name) ?? ''));
}

function isWebSocket(req: http.IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
}

export class StreamingServer {
  private readonly wss: WebSocketServer;
  /** Every open session's way to end it, for stop(). */
  private readonly sessions = new Set<() => void>();

  constructor(private readonly options: StreamingOptions) {
    // The protocol is chosen per request before the upgrade (see handleUpgrade).
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      handleProtocols: (_offered, req) => chosenProtocol.get(req) ?? false,
    });
    this.wss.on('headers', (headers: string[], req: http.IncomingMessage) => {
      const verbatim = verbatimProtocol.get(req);
      if (verbatim) headers.push(`Sec-WebSocket-Protocol: ${verbatim}`);
    });
  }

  /** A request that asks to upgrade the connection (WebSocket or SPDY). */
  async handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    try {
      if (req.headers.authorization !== `Bearer ${this.options.token}`)
        throw new Refusal(401, 'Unauthorized');
      const url = new URL(req.url ?? '/', 'http://agent');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      if (parts[0] === 'exec' && parts.length === 4) {
        await this.exec(req, socket, head, url, parts[1], parts[2], parts[3]);
      } else if (parts[0] === 'portForward' && parts.length === 3) {
        this.portForward(req, socket, head, url, parts[1], parts[2]);
      } else {
        throw new Refusal(404, 'not found');
      }
    } catch (error) {
      if (error instanceof Refusal) refuse(socket, error.code, error.message);
      else refuse(socket, 500, (error as Error).message);
    }
  }

  /** Ends every open exec and port-forward. */
  close(): void {
    for (const end of [...this.sessions]) end();
    this.wss.close();
  }

  private track(end: () => void): () => void {
    this.sessions.add(end);
    return () => this.sessions.delete(end);
  }

  private podOf(namespace: string, name: string): Pod {
    const pod = this.options.pod(namespace, name);
    if (!pod) throw new Refusal(404, `pod ${namespace}/${name} is not on node ${this.options.nodeName}`);
    return pod;
  }

  // ---- exec ----

  private async exec(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    namespace: string,
    podName: string,
    containerName: string,
  ): Promise<void> {
    const pod = this.podOf(namespace, podName);
    const command = url.searchParams.getAll('command');
    if (command.length === 0) throw new Refusal(400, 'you must specify at least 1 command');
    const streams = {
      stdin: flag(url, 'input', 'stdin'),
      stdout: flag(url, 'output', 'stdout'),
      stderr: flag(url, 'error', 'stderr'),
      tty: flag(url, 'tty'),
    };
    if (!streams.stdin && !streams.stdout && !streams.stderr)
      throw new Refusal(400, 'you must specify at least one of stdin, stdout, stderr');
    if (streams.tty) streams.stderr = false;
    const attempts = (await this.options.runtime.listPodContainers(pod.metadata.uid))
      .filter((c) => c.name === containerName && c.role !== 'sandbox')
      .sort((a, b) => b.restartCount - a.restartCount);
    if (attempts.length === 0)
      throw new Refusal(404, `container "${containerName}" not found in pod "${podName}"`);
    const container = attempts[0];
    if (container.state !== 'running')
      throw new Refusal(400, `container "${containerName}" in pod "${podName}" is not running`);
    if (!isWebSocket(req))
      throw new Refusal(
        400,
        `exec needs a WebSocket upgrade (${EXEC_PROTOCOLS.join(' or ')}); SPDY is not served`,
      );
    const protocol = EXEC_PROTOCOLS.find((p) => requestedProtocols(req).includes(p));
    if (!protocol)
      throw new Refusal(
        400,
        `none of the requested subprotocols is served; exec speaks ${EXEC_PROTOCOLS.join(', ')}`,
      );
    chosenProtocol.set(req, protocol);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      void this.runExec(ws, container.id, command, streams);
    });
  }

  private async runExec(
    ws: WebSocket,
    containerId: string,
    command: string[],
    streams: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean },
  ): Promise<void> {
    const log = this.options.log;
    let session: ExecSession | undefined;
    const early: Buffer[] = [];
    let stdinOpen = streams.stdin;
    const input = (message: Buffer) => {
      const payload = message.subarray(1);
      switch (message[0]) {
        case Channel.Stdin:
          if (stdinOpen) session?.stdin?.write(payload);
          break;
        case Channel.Resize: {
          try {
            const size = JSON.parse(payload.toString('utf8')) as { Width?: number; Height?: number };
            if (size.Width && size.Height) session?.resize(size.Width, size.Height).catch(() => undefined);
          } catch {
            // A malformed resize is ignored, as the kubelet does.
          }
          break;
        }
        case Channel.Close:
          // v5: the client has no more stdin.
          if (ws.protocol === EXEC_PROTOCOL_V5 && payload[0] === Channel.Stdin && stdinOpen) {
            stdinOpen = false;
            session?.stdin?.end();
          }
          break;
      }
    };
    ws.on('message', (data: Buffer) => (session ? input(data) : early.push(data)));
    const untrack = this.track(() => ws.terminate());
    ws.on('close', () => {
      untrack();
      session?.close();
    });
    try {
      session = await this.options.runtime.execStream(containerId, { command, ...streams });
    } catch (error) {
      const message = (error as Error).message;
      log.info('exec failed to start', { error: message });
      ws.send(channelMessage(Channel.Error, JSON.stringify(failure(message))));
      ws.close(1000);
      return;
    }
    if (ws.readyState !== WebSocket.OPEN) {
      session.close();
      return;
    }
    for (const message of early.splice(0)) input(message);
    await Promise.all([relay(session.stdout, ws, Channel.Stdout), relay(session.stderr, ws, Channel.Stderr)]);
    if (ws.readyState !== WebSocket.OPEN) return;
    let status: object;
    try {
      status = exitStatus(await session.wait(), command);
    } catch (error) {
      status = failure((error as Error).message);
    }
    ws.send(channelMessage(Channel.Error, JSON.stringify(status)));
    ws.close(1000);
  }

  // ---- port-forward ----

  private portForward(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    url: URL,
    namespace: string,
    podName: string,
  ): void {
    const pod = this.podOf(namespace, podName);
    const ip = pod.status?.podIP;
    if (!ip) throw new Refusal(400, `pod ${podName} has no IP: it is not running`);
    const target = { ip, name: podName, uid: pod.metadata.uid ?? '' };
    if (!isWebSocket(req)) {
      this.plainSpdy(req, socket, head, target);
      return;
    }
    const offered = requestedProtocols(req);
    if (offered.includes(PORT_FORWARD_SPDY_TUNNEL_PROTOCOL)) {
      // "/" is not allowed in a subprotocol token by RFC 6455, so ws refuses the header;
      // kubectl sends it all the same, and gets it back as it is.
      verbatimProtocol.set(req, PORT_FORWARD_SPDY_TUNNEL_PROTOCOL);
      delete req.headers['sec-websocket-protocol'];
      this.wss.handleUpgrade(req, socket, head, (ws) => this.spdyOverWebSocket(ws, target));
      return;
    }
    const protocol = PORT_FORWARD_CHANNEL_PROTOCOLS.find((p) => offered.includes(p));
    if (offered.length > 0 && !protocol)
      throw new Refusal(
        400,
        `none of the requested subprotocols is served; port-forward speaks ${[PORT_FORWARD_SPDY_TUNNEL_PROTOCOL, ...PORT_FORWARD_CHANNEL_PROTOCOLS].join(', ')}`,
      );
    const ports = parsePorts(url.searchParams.getAll('ports'));
    if (protocol) chosenProtocol.set(req, protocol);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.channels(ws, target, ports));
  }

  /** `Upgrade: SPDY/3.1` on the connection itself: the handshake is plain HTTP. */
  private plainSpdy(req: http.IncomingMessage, socket: Duplex, head: Buffer, target: Target): void {
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'spdy/3.1')
      throw new Refusal(400, 'port-forward needs a WebSocket or SPDY/3.1 upgrade');
    const versions = req.headersDistinct['x-stream-protocol-version'] ?? [];
    if (!versions.flatMap((v) => v.split(',').map((p) => p.trim())).includes(PORT_FORWARD_PROTOCOL))
      throw new Refusal(
        403,
        `unable to negotiate a port-forward protocol: client supports [${versions}], server supports [${PORT_FORWARD_PROTOCOL}]`,
      );
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Connection: Upgrade\r\n' +
        'Upgrade: SPDY/3.1\r\n' +
        `X-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL}\r\n\r\n`,
    );
    const session = new SpdySession({ server: true, write: (bytes, done) => socket.write(bytes, done) });
    const untrack = this.track(() => socket.destroy());
    socket.on('data', (chunk: Buffer) => session.receive(chunk));
    socket.on('close', () => {
      untrack();
      session.close();
    });
    session.on('error', (error: Error) => {
      this.options.log.warn('port-forward: SPDY protocol error', { error: error.message });
      socket.destroy();
    });
    this.serveSpdy(session, target);
    if (head.length > 0) session.receive(head);
  }

  private spdyOverWebSocket(ws: WebSocket, target: Target): void {
    const session = new SpdySession({
      server: true,
      write: (bytes, done) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(bytes, done);
        else done?.(new Error('the WebSocket is closed'));
      },
    });
    const untrack = this.track(() => ws.terminate());
    ws.on('message', (data: Buffer) => session.receive(data));
    ws.on('close', () => {
      untrack();
      session.close();
    });
    session.on('error', (error: Error) => {
      this.options.log.warn('port-forward: SPDY protocol error', { error: error.message });
      ws.close(1002);
    });
    this.serveSpdy(session, target);
  }

  /** Pairs each forwarded connection's data and error streams (by their requestid), then forwards. */
  private serveSpdy(session: SpdySession, target: Target): void {
    const pairs = new Map<string, { data?: SpdyStream; error?: SpdyStream }>();
    session.on('stream', (stream: SpdyStream) => {
      const port = Number(stream.header('port'));
      const type = stream.header('streamtype');
      if (!Number.isInteger(port) || port < 1 || port > 65535 || (type !== 'data' && type !== 'error')) {
        stream.resetStream(RstStatus.ProtocolError);
        return;
      }
      stream.reply();
      // Clients before request ids open the error stream, then the data stream two ids later.
      const requestId = stream.header('requestid') ?? String(type === 'error' ? stream.id : stream.id - 2);
      const pair = pairs.get(requestId) ?? {};
      if (pair[type]) {
        stream.resetStream(RstStatus.ProtocolError);
        return;
      }
      pair[type] = stream;
      pairs.set(requestId, pair);
      if (pair.data && pair.error) {
        pairs.delete(requestId);
        this.forwardStreams(target, port, pair.data, pair.error);
      }
    });
  }

  private forwardStreams(target: Target, port: number, data: SpdyStream, error: SpdyStream): void {
    // The client writes nothing on the error stream; reading it lets its FIN be seen.
    error.resume();
    error.on('error', () => undefined);
    data.on('error', () => undefined);
    const socket = net.connect({ host: target.ip, port, allowHalfOpen: true });
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      data.pipe(socket);
      socket.pipe(data);
    });
    socket.on('error', (cause) => {
      if (!connected) {
        error.end(forwardingError(target, port, cause));
        data.end();
      }
      socket.destroy();
    });
    socket.on('close', () => {
      if (!error.writableEnded) error.end();
      if (!data.writableEnded && !data.destroyed) data.end();
    });
    data.on('close', () => socket.destroy());
  }

  /** The WebSocket channel protocol: every port of `?ports=` forwarded once, over this one WebSocket. */
  private channels(ws: WebSocket, target: Target, ports: number[]): void {
    const untrack = this.track(() => ws.terminate());
    const sockets = ports.map((port, i) => {
      const portBytes = Buffer.alloc(2);
      portBytes.writeUInt16LE(port);
      ws.send(channelMessage(2 * i, portBytes));
      ws.send(channelMessage(2 * i + 1, portBytes));
      const socket = net.connect({ host: target.ip, port });
      let connected = false;
      socket.once('connect', () => (connected = true));
      socket.on('data', (chunk: Buffer) => {
        socket.pause();
        ws.send(channelMessage(2 * i, chunk), () => socket.resume());
      });
      socket.on('error', (cause) => {
        if (!connected && ws.readyState === WebSocket.OPEN)
          ws.send(channelMessage(2 * i + 1, forwardingError(target, port, cause)));
      });
      return socket;
    });
    let open = sockets.length;
    for (const socket of sockets) {
      socket.on('close', () => {
        open -= 1;
        if (open === 0 && ws.readyState === WebSocket.OPEN) ws.close(1000);
      });
    }
    ws.on('message', (message: Buffer) => {
      const channel = message[0];
      // Data channels are even; a write to the error channel means nothing.
      if (channel % 2 === 0) sockets[channel / 2]?.write(message.subarray(1));
    });
    ws.on('close', () => {
      untrack();
      for (const socket of sockets) socket.destroy();
    });
  }
}

interface Target {
  ip: string;
  name: string;
  uid: string;
}

/** The WebSocket subprotocol picked for a request before ws answers it. */
const chosenProtocol = new WeakMap<http.IncomingMessage, string>();
/** A subprotocol ws would refuse to parse, answered around it. */
const verbatimProtocol = new WeakMap<http.IncomingMessage, string>();

function forwardingError(target: Target, port: number, cause: Error): string {
  return `error forwarding port ${port} to pod ${target.name}, uid ${target.uid}: ${cause.message}`;
}

function failure(message: string): object {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: 'InternalError',
    code: 500,
  };
}

function parsePorts(values: string[]): number[] {
  const ports = values.flatMap((v) => v.split(',')).filter((v) => v !== '');
  if (ports.length === 0) throw new Refusal(400, 'query parameter "ports" is required');
  return ports.map((text) => {
    const port = Number(text);
    if (!/^\d+$/.test(text) || port < 1 || port > 65535)
      throw new Refusal(400, `unable to parse "${text}" as a port: a port is 1-65535`);
    return port;
  });
}

/** Sends a stream's chunks on a channel, one at a time (the next once the last left), until it ends. */
function relay(source: NodeJS.ReadableStream, ws: WebSocket, channel: number): Promise<void> {
  return new Promise((resolve) => {
    source.on('data', (chunk: Buffer) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      source.pause();
      ws.send(channelMessage(channel, chunk), () => source.resume());
    });
    source.on('end', resolve);
    source.on('error', () => resolve());
  });
}
