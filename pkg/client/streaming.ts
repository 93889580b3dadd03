/**
 * Kubernetes' streaming protocols over WebSockets, as kubectl and the kubelet speak them.
 *
 * Remote commands (exec): subprotocol `v5.channel.k8s.io` (or `v4.channel.k8s.io`); every
 * binary message starts with a channel byte: 0 stdin, 1 stdout, 2 stderr, 3 error (one JSON
 * `Status` when the command ends: Success, or Failure with reason NonZeroExitCode and the
 * exit code as an `ExitCode` cause), 4 resize (`{"Width":W,"Height":H}`). v5 adds channel
 * 255, "close": `[255, c]` says the sender is done writing channel c (stdin EOF). The server
 * closes the WebSocket normally when everything is sent.
 *
 * Port-forward (`portforward.k8s.io`, `v4.channel.k8s.io`): one forwarded connection per port
 * of `?ports=`; port i has data channel 2i and error channel 2i+1, and the server first sends
 * the port (2 bytes, little endian) on both.
 */
import { STATUS_CODES } from 'http';
import WebSocket from 'ws';
import { ApiError, apiErrorFromStatus, lookupResource, newServiceUnavailable, Status } from '../api';
import { resourcePath } from './client';
import { errorFromResponse, Transport } from './transport';

export const Channel = {
  Stdin: 0,
  Stdout: 1,
  Stderr: 2,
  Error: 3,
  Resize: 4,
  Close: 255,
} as const;

export const EXEC_PROTOCOL_V5 = 'v5.channel.k8s.io';
export const EXEC_PROTOCOL_V4 = 'v4.channel.k8s.io';
/** In the order a server prefers them. */
export const EXEC_PROTOCOLS = [EXEC_PROTOCOL_V5, EXEC_PROTOCOL_V4];

/** The legacy channel protocols of port-forward ('' is a client that names none). */
export const PORT_FORWARD_CHANNEL_PROTOCOLS = ['v4.channel.k8s.io', 'portforward.k8s.io'];
/** kubectl 1.31+: SPDY inside a WebSocket. */
export const PORT_FORWARD_SPDY_TUNNEL_PROTOCOL = 'SPDY/3.1+portforward.k8s.io';
/** The SPDY stream protocol version header's value for port-forward. */
export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';

/** A message on one channel. */
export function channelMessage(channel: number, data: Buffer | string = Buffer.alloc(0)): Buffer {
  const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  return Buffer.concat([Buffer.from([channel]), payload]);
}

/** The error channel's Status for a command that exited with `code`. */
export function exitStatus(code: number, command: string[] = []): Status {
  if (code === 0) return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' };
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${code}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  } as Status;
}

/** The exit code a Status on the error channel reports, or the error it describes. */
export function exitCodeOf(message: Buffer): number {
  if (message.length === 0) return 0;
  let status: Status;
  try {
    status = JSON.parse(message.toString('utf8')) as Status;
  } catch {
    // Protocol versions before v4 send plain text.
    throw new Error(`error executing remote command: ${message.toString('utf8')}`);
  }
  if (status.status === 'Success') return 0;
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
    const code = Number(cause?.message);
    if (cause && Number.isInteger(code)) return code;
  }
  throw apiErrorFromStatus({ ...status, code: status.code ?? 500 });
}

/** Codes worth trying another master for: the request never reached a working apiserver. */
const RETRY_ON = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'ETIMEDOUT']);

/**
 * Opens a WebSocket to a path of the API (exec, portforward) with the transport's token,
 * trying each master in turn while they refuse connections or answer 503. A non-101 answer
 * is thrown as the ApiError of its Status.
 */
export async function openWebSocket(
  transport: Transport,
  path: string,
  query: URLSearchParams,
  protocols: string[],
): Promise<WebSocket> {
  let lastError: Error | undefined;
  const start = transport.servers.indexOf(transport.server);
  for (let i = 0; i < transport.servers.length; i++) {
    const server = transport.servers[(start + i) % transport.servers.length];
    const url = `${server.replace(/^http/, 'ws')}${path}?${query}`;
    try {
      return await connect(url, protocols, transport.authorization());
    } catch (error) {
      lastError = error as Error;
      const retry =
        error instanceof ApiError
          ? error.code === 503
          : RETRY_ON.has((error as NodeJS.ErrnoException).code ?? '');
      if (!retry) throw error;
    }
  }
  throw newServiceUnavailable(`no master accepted the stream: ${lastError?.message ?? 'no masters'}`);
}

function connect(url: string, protocols: string[], authorization: string | undefined): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, {
      headers: authorization ? { authorization } : {},
      perMessageDeflate: false,
      handshakeTimeout: 10_000,
    });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const code = response.statusCode ?? 500;
        const text = Buffer.concat(chunks).toString('utf8');
        reject(errorFromResponse(code, text || `${code} ${STATUS_CODES[code] ?? ''}`.trim()));
        ws.terminate();
      });
    });
    ws.once('error', reject);
  });
}

export interface ExecOptions {
  container?: string;
  command: string[];
  /** Sent to the command's stdin; its end closes the command's stdin (v5 servers). */
  stdin?: NodeJS.ReadableStream;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  tty?: boolean;
}

/** Runs a command in a pod's container, as `kubectl exec` does; resolves with its exit code. */
export async function execInPod(
  transport: Transport,
  namespace: string,
  pod: string,
  options: ExecOptions,
): Promise<number> {
  const query = new URLSearchParams();
  for (const part of options.command) query.append('command', part);
  if (options.container) query.set('container', options.container);
  query.set('stdin', String(options.stdin !== undefined));
  query.set('stdout', String(options.stdout !== undefined));
  query.set('stderr', String(options.stderr !== undefined && !options.tty));
  query.set('tty', String(options.tty ?? false));
  const path = resourcePath(lookupResource('pods'), namespace, pod, 'exec');
  const ws = await openWebSocket(transport, path, query, EXEC_PROTOCOLS);
  const errorChannel: Buffer[] = [];
  const done = new Promise<number>((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      const payload = data.subarray(1);
      switch (data[0]) {
        case Channel.Stdout:
          options.stdout?.write(payload);
          break;
        case Channel.Stderr:
          options.stderr?.write(payload);
          break;
        case Channel.Error:
          errorChannel.push(payload);
          break;
      }
    });
    ws.on('close', () => {
      try {
        resolve(exitCodeOf(Buffer.concat(errorChannel)));
      } catch (error) {
        reject(error as Error);
      }
    });
    ws.on('error', reject);
  });
  const stdin = options.stdin;
  const onData = (chunk: Buffer | string) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(channelMessage(Channel.Stdin, Buffer.from(chunk)));
  };
  const onEnd = () => {
    // Only v5 can say "no more stdin"; with v4 the command keeps its stdin until it exits.
    if (ws.readyState === WebSocket.OPEN && ws.protocol === EXEC_PROTOCOL_V5)
      ws.send(Buffer.from([Channel.Close, Channel.Stdin]));
  };
  stdin?.on('data', onData);
  stdin?.on('end', onEnd);
  try {
    return await done;
  } finally {
    stdin?.off('data', onData);
    stdin?.off('end', onEnd);
  }
}
