import http from 'http';
import https from 'https';
import { apiErrorFromStatus, ApiError, newServiceUnavailable, Status } from '../api';
import { logger } from '../util/log';

/**
 * HTTP to the masters with failover. The transport holds every master's address and sticks
 * to one until it fails; then it moves to the next and retries, as far as retrying is safe:
 *
 * - the connection was refused or timed out while connecting: the request was never sent,
 *   so any verb is retried;
 * - 503 (the apiserver's answer during an election, with Retry-After): the write was not
 *   proposed, so any verb is retried;
 * - the connection broke after the request was sent, or 504: the request may have been
 *   applied. Reads, PUT, PATCH and DELETE are retried (applying them twice has the effect of
 *   once; a PUT with a resourceVersion precondition then fails with 409, as it should);
 *   POST (create) is not, because the retry could create a second object or fail with
 *   AlreadyExists for an object that this very request created: the caller decides.
 */

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface TransportOptions {
  /** Base URLs of the masters, e.g. http://127.0.0.1:6443. */
  servers: string[];
  token?: string;
  /** Per-request time limit (not for watches). */
  timeoutMs?: number;
  /** How long a request keeps trying across masters before it gives up. */
  retryForMs?: number;
  userAgent?: string;
  /** false: start with the first server listed (tests of failover order); otherwise a random one. */
  randomStart?: boolean;
  /**
   * The API of this very process (the leader's control loops and their own master): requests,
   * not streams, are handed to it with no socket and no HTTP, answered as the HTTP API would.
   */
  local?: LocalDispatch;
}

/** A request as the API of this process takes it: what would have gone over HTTP. */
export interface LocalRequest {
  method: Method;
  /** The path without its query. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface LocalResponse {
  status: number;
  body: string;
}

/** Serves a request in this process, or answers undefined for what only HTTP carries. */
export type LocalDispatch = (request: LocalRequest) => Promise<LocalResponse | undefined>;

export interface RequestOptions {
  method: Method;
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal;
  /** For watches and log streams: no overall time limit, the response body is returned as a stream. */
  stream?: boolean;
}

export interface StreamResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: http.IncomingMessage;
}

/** An answer over HTTP (its body still to read), or from the API of this process (read already). */
type Answer = StreamResponse | LocalResponse;

function answerText(answer: Answer): Promise<string> {
  return typeof answer.body === 'string' ? Promise.resolve(answer.body) : readBody(answer.body);
}

const log = logger('client');

/** The connection failed before the request could have reached the server; any other failure may have come after. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EADDRNOTAVAIL',
  'CONNECT_TIMEOUT',
]);

class ConnectionError extends Error {
  constructor(
    readonly code: string,
    readonly server: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConnectionError';
  }
}

function isIdempotent(method: Method): boolean {
  return method !== 'POST';
}

const CONNECT_TIMEOUT_MS = 1000;

export class Transport {
  readonly servers: readonly string[];
  private current = 0;
  private closed = false;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly retryForMs: number;
  private readonly userAgent: string;
  private readonly local: LocalDispatch | undefined;
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });
  // Watches and log streams hold their connection for minutes: on the request pool they would
  // use up its sockets and starve every other call, so they get connections of their own.
  private readonly httpStreamAgent = new http.Agent({ keepAlive: false });
  private readonly httpsStreamAgent = new https.Agent({ keepAlive: false });

  constructor(options: TransportOptions) {
    if (options.servers.length === 0) throw new Error('no server addresses given');
    this.servers = options.servers.map((s) => s.replace(/\/+$/, ''));
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retryForMs = options.retryForMs ?? 15_000;
    this.userAgent = options.userAgent ?? 'bosun-client';
    this.local = options.local;
    // Any master answers: clients start at a random one, so a hundred agents spread their
    // requests and watches over the masters instead of all loading the first one listed.
    if (options.randomStart !== false) this.current = Math.floor(Math.random() * this.servers.length);
  }

  /** The Authorization header requests carry (for connections made outside this transport: WebSockets). */
  authorization(): string | undefined {
    return this.token ? `Bearer ${this.token}` : undefined;
  }

  /** The master requests go to now. */
  get server(): string {
    return this.servers[this.current];
  }

  /** Sends a request and parses a JSON answer; non-2xx answers throw the ApiError of their Status. */
  async request<T>(options: RequestOptions): Promise<T> {
    const response = await this.send(options);
    const text = await answerText(response);
    if (response.status >= 200 && response.status < 300) {
      return (text.length === 0 ? undefined : JSON.parse(text)) as T;
    }
    throw errorFromResponse(response.status, text);
  }

  /** Sends a request and hands back the open response (watch, logs). Non-2xx answers throw. */
  async stream(options: RequestOptions): Promise<StreamResponse> {
    const response = (await this.send({ ...options, stream: true })) as StreamResponse;
    if (response.status >= 200 && response.status < 300) return response;
    throw errorFromResponse(response.status, await readBody(response.body));
  }

  /** Sends with failover; returns the first answer that is not a retryable failure. */
  private async send(options: RequestOptions): Promise<Answer> {
    const deadline = Date.now() + this.retryForMs;
    let attempt = 0;
    for (;;) {
      // A closed client's owner has stopped: retrying for it would only keep the process busy.
      if (this.closed)
        throw newServiceUnavailable(`the client is closed: ${options.method} ${options.path} not sent`);
      const server = this.server;
      let failure: ApiError | ConnectionError;
      try {
        const response = (await this.locally(options)) ?? (await this.once(server, options));
        if (response.status !== 503 && response.status !== 504) return response;
        if (response.status === 504 && !isIdempotent(options.method)) return response;
        failure = errorFromResponse(response.status, await answerText(response));
      } catch (error) {
        if (!(error instanceof ConnectionError)) throw error;
        if (!NOT_SENT.has(error.code) && !isIdempotent(options.method)) {
          throw newServiceUnavailable(
            `the connection to ${server} broke during ${options.method} ${options.path}; the request may or may not have been applied`,
          );
        }
        failure = error;
      }
      if (options.signal?.aborted) throw options.signal.reason;
      this.moveOn(server, failure.message);
      attempt += 1;
      if (Date.now() >= deadline) {
        throw failure instanceof ApiError
          ? failure
          : newServiceUnavailable(`no master answered within ${this.retryForMs} ms: ${failure.message}`);
      }
      // Try each master at once; after a full round, wait a little (the election may be under way).
      if (attempt % this.servers.length === 0) await delay(Math.min(50 * attempt, 500), options.signal);
    }
  }

  private moveOn(from: string, why: string): void {
    if (this.server !== from) return; // another request already moved on
    this.current = (this.current + 1) % this.servers.length;
    log.debug('switching master', { from, to: this.server, why });
  }

  /** The answer of the API of this process, when there is one and it serves this request. */
  private locally(options: RequestOptions): Promise<LocalResponse | undefined> {
    if (!this.local || options.stream) return Promise.resolve(undefined);
    const [path, search] = options.path.split('?', 2);
    const query: Record<string, string> = Object.fromEntries(new URLSearchParams(search ?? ''));
    for (const [key, value] of queryParams(options)) query[key] = value;
    const body = requestBody(options);
    return this.local({ method: options.method, path, query, headers: this.headers(options, body), body });
  }

  /** The headers a request carries, in process or over HTTP (where content-length joins them). */
  private headers(options: RequestOptions, body: Buffer | undefined): Record<string, string> {
    const headers: Record<string, string> = {
      accept: options.accept ?? 'application/json',
      'user-agent': this.userAgent,
    };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body) headers['content-type'] = options.contentType ?? 'application/json';
    return headers;
  }

  private once(server: string, options: RequestOptions): Promise<StreamResponse> {
    const url = new URL(server + options.path);
    for (const [key, value] of queryParams(options)) url.searchParams.set(key, value);
    const body = requestBody(options);
    const headers: http.OutgoingHttpHeaders = this.headers(options, body);
    if (body) headers['content-length'] = body.length;
    const secure = url.protocol === 'https:';
    return new Promise<StreamResponse>((resolve, reject) => {
      const request = (secure ? https : http).request(url, {
        method: options.method,
        headers,
        agent: options.stream
          ? secure
            ? this.httpsStreamAgent
            : this.httpStreamAgent
          : secure
            ? this.httpsAgent
            : this.httpAgent,
        signal: options.signal,
      });
      let connected = false;
      const connectTimer = setTimeout(() => {
        if (!connected)
          request.destroy(
            new ConnectionError('CONNECT_TIMEOUT', server, `connecting to ${server} timed out`),
          );
      }, CONNECT_TIMEOUT_MS);
      request.on('socket', (socket) => {
        if (!socket.connecting) connected = true;
        else socket.once('connect', () => (connected = true));
      });
      if (!options.stream) {
        request.setTimeout(this.timeoutMs, () =>
          request.destroy(
            new ConnectionError(
              'RESPONSE_TIMEOUT',
              server,
              `${server} did not answer within ${this.timeoutMs} ms`,
            ),
          ),
        );
      }
      request.on('response', (response) => {
        clearTimeout(connectTimer);
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body: response });
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(connectTimer);
        if (error instanceof ConnectionError) return reject(error);
        if (error.name === 'AbortError') return reject(error);
        // 'socket hang up' and friends carry no code: the connection broke after sending.
        const code = error.code ?? 'ECONNRESET';
        reject(
          new ConnectionError(code, server, `${options.method} ${server}${options.path}: ${error.message}`),
        );
      });
      request.end(body);
    });
  }

  /** Destroys every connection; requests after this, and retries of those in flight, fail at once. */
  close(): void {
    this.closed = true;
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
    this.httpStreamAgent.destroy();
    this.httpsStreamAgent.destroy();
  }
}

/** The query parameters that are sent: empty and undefined ones are left out. */
function queryParams(options: RequestOptions): Array<[string, string]> {
  return Object.entries(options.query ?? {})
    .filter(([, value]) => value !== undefined && value !== '')
    .map(([key, value]) => [key, String(value)]);
}

function requestBody(options: RequestOptions): Buffer | undefined {
  if (options.body === undefined) return undefined;
  return Buffer.from(typeof options.body === 'string' ? options.body : JSON.stringify(options.body));
}

async function readBody(body: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The ApiError of a non-2xx answer: its Status when it has one, else one made from the code. */
export function errorFromResponse(code: number, text: string): ApiError {
  try {
    const parsed = JSON.parse(text) as Status;
    if (parsed && parsed.kind === 'Status')
      return apiErrorFromStatus({ ...parsed, code: parsed.code ?? code });
  } catch {
    // not JSON: fall through to a Status made from the code
  }
  return apiErrorFromStatus({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: text.trim() || `the server answered ${code}`,
    reason: REASON_BY_CODE[code] ?? 'Unknown',
    code,
  });
}

const REASON_BY_CODE: Record<number, string> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Expired',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
