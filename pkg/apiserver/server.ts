/**
 * The Kubernetes REST surface of a master: express for the plumbing (body limits, auth,
 * metrics, the non-resource paths), and one resource handler that parses Kubernetes paths
 * itself and maps every verb onto the object layer (objects.ts).
 */
import express, { NextFunction, Request, Response } from 'express';
import http from 'http';
import net, { AddressInfo } from 'net';
import { Duplex } from 'stream';
import { parse as parseYaml } from 'yaml';
import {
  ApiError,
  DeleteOptions,
  KubeObject,
  newBadRequest,
  newForbidden,
  newMethodNotAllowed,
  newNotFound,
  newRequestEntityTooLarge,
  newServiceUnavailable,
  newTimeout,
  newUnauthorized,
  newUnsupportedMediaType,
  ResourceInfo,
  resourceFor,
  RESOURCES,
  Scale,
  statusForError,
  applyMergePatch,
  applyJsonPatch,
} from '../api';
import { StorageUnavailableError } from '../store/types';
import { logger } from '../util/log';
import { authorize, Authenticator, Identity } from './auth';
import * as discovery from './discovery';
import { openAPIDocument, openAPIRoot } from './openapi-routes';
import { ApiMetrics, RaftGauges } from './metrics';
import { ListQuery, ObjectStore, PatchKind, patchNamesResourceVersion, WatchEventType } from './objects';
import { FieldValidation } from './admission';
import { decodeKubernetesProtobuf, PROTOBUF_MEDIA_TYPE } from './protobuf';
import { toTable } from './tables';
import {
  InProcessAnswer,
  InProcessRequest,
  InProcessResponse,
  inProcessRequest,
  isInProcess,
  NotServedInProcess,
} from './in-process';

export const MAX_BODY_BYTES = 3 * 1024 * 1024;

function bodyTooLarge(): ApiError {
  return newRequestEntityTooLarge(`the request body is larger than the limit of ${MAX_BODY_BYTES} bytes`);
}

export interface ApiServerOptions {
  objects: ObjectStore;
  authenticator: Authenticator;
  /** Raft facts for /metrics and /readyz. */
  raft?: () => RaftGauges & { hasLeader: boolean };
  /** Interval of BOOKMARK events on watches that allow them. */
  bookmarkIntervalMs?: number;
  /** Handlers of subresources served elsewhere (pods/log: proxied to the agent). */
  subresources?: Partial<Record<string, SubresourceHandler>>;
  /** Subresources served over an upgraded connection (pods/exec, pods/portforward: spliced to the agent). */
  streams?: Partial<Record<string, StreamHandler>>;
  /** The master's internal endpoints, mounted at /bosun/v1 behind the same authentication. */
  internal?: express.Router;
}

export type SubresourceHandler = (request: ResourceRequest, req: Request, res: Response) => Promise<void>;

/**
 * Serves an upgrade request (already authenticated and authorized) on its raw connection: it
 * either switches protocols or throws an ApiError, which is answered as a Status.
 */
export type StreamHandler = (
  request: ResourceRequest,
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
) => Promise<void>;

/** A parsed resource path. */
export interface ResourceRequest {
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
  identity: Identity;
}

const log = logger('apiserver');

type Locals = { identity?: Identity; verb?: string; resource?: string };

function locals(res: Response): Locals {
  return res.locals as Locals;
}

/**
 * A storage failure no handler translated still tells the client what it may do: retry at once
 * (503: nothing was proposed) or find out (504: the write may have been applied).
 */
function storageFailureAsApiError(error: unknown): unknown {
  if (!(error instanceof StorageUnavailableError)) return error;
  return error.maybeApplied ? newTimeout(error.message, 1) : newServiceUnavailable(error.message);
}

/** An internal error is a bug: where it was thrown is what the next person needs. */
function logInternalError(error: unknown): void {
  log.error('internal error', {
    error: error instanceof Error ? error.message : String(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
}

function sendStatus(res: Response, thrown: unknown): void {
  const error = storageFailureAsApiError(thrown);
  const status = statusForError(error);
  if (!(error instanceof ApiError)) logInternalError(error);
  if (status.code === 503 || status.code === 429 || status.code === 504) {
    res.setHeader('Retry-After', String(status.details?.retryAfterSeconds ?? 1));
  }
  if (!res.headersSent) res.status(status.code ?? 500).json(status);
  else res.end();
}

/** One event goes to many watchers: its object is serialised once for all of them. */
const serializedObjects = new WeakMap<object, string>();

function serialized(object: object): string {
  let json = serializedObjects.get(object);
  if (json === undefined) {
    json = JSON.stringify(object);
    serializedObjects.set(object, json);
  }
  return json;
}

function sendObject(res: Response, code: number, object: unknown, warnings: string[] = []): void {
  // Warning headers as Kubernetes sends them: code 299, agent "-", quoted text.
  if (warnings.length > 0)
    res.setHeader(
      'Warning',
      warnings.map((w) => `299 - ${JSON.stringify(w)}`),
    );
  res.status(code).json(object);
}

/** kubectl asks for server-side printing with `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`. */
function wantsTable(req: Request): boolean {
  const accept = req.headers.accept ?? '';
  return accept.split(',').some((type) => /;\s*as=Table/.test(type) && /;\s*g=meta\.k8s\.io/.test(type));
}

function includeObject(req: Request): 'None' | 'Metadata' | 'Object' {
  const value = queryString(req, 'includeObject');
  return value === 'None' || value === 'Object' ? value : 'Metadata';
}

function queryString(req: Request, name: string): string | undefined {
  const value = req.query[name];
  return typeof value === 'string' ? value : undefined;
}

function queryBool(req: Request, name: string): boolean {
  const value = queryString(req, name);
  return value === 'true' || value === '1';
}

function fieldValidation(req: Request): FieldValidation {
  const value = queryString(req, 'fieldValidation');
  if (value === undefined || value === '') return 'Warn';
  if (value === 'Strict' || value === 'Warn' || value === 'Ignore') return value;
  throw newBadRequest(
    `fieldValidation must be one of "Ignore", "Warn", "Strict", not ${JSON.stringify(value)}`,
  );
}

function isDryRun(req: Request): boolean {
  const value = queryString(req, 'dryRun');
  if (value === undefined || value === '') return false;
  if (value === 'All') return true;
  throw newBadRequest(`unsupported dryRun value ${JSON.stringify(value)}: only "All" is supported`);
}

/** The request body: JSON, YAML or Kubernetes protobuf by content type, or undefined when there is none. */
function parseBody(req: Request): unknown {
  const raw = req.body as Buffer | undefined;
  if (!Buffer.isBuffer(raw) || raw.length === 0) return undefined;
  const type = (req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
  if (type === PROTOBUF_MEDIA_TYPE) return decodeKubernetesProtobuf(raw);
  const text = raw.toString('utf8');
  if (type.includes('yaml')) {
    try {
      return parseYaml(text);
    } catch (error) {
      throw newBadRequest(`the request body is not valid YAML: ${(error as Error).message}`);
    }
  }
  if (type.includes('json') || type === '*/*' || type === 'text/plain') {
    try {
      return JSON.parse(text);
    } catch (error) {
      throw newBadRequest(`the request body is not valid JSON: ${(error as Error).message}`);
    }
  }
  throw newUnsupportedMediaType(['application/json', 'application/yaml', PROTOBUF_MEDIA_TYPE]);
}

function patchKind(req: Request): PatchKind {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  switch (type) {
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/json-patch+json':
      return 'json';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    default:
      throw newUnsupportedMediaType([
        'application/json-patch+json',
        'application/merge-patch+json',
        'application/strategic-merge-patch+json',
      ]);
  }
}

/**
 * Parses `/api/v1/...` and `/apis/{group}/{version}/...` into a resource request, or
 * undefined for a discovery path of the group version itself.
 */
function parseResourcePath(
  path: string,
): { groupName: string; version: string; rest: string[]; watchPrefix: boolean } | undefined {
  const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  let groupName: string;
  let version: string;
  let rest: string[];
  if (segments[0] === 'api' && segments.length >= 2) {
    groupName = '';
    version = segments[1];
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 3) {
    groupName = segments[1];
    version = segments[2];
    rest = segments.slice(3);
  } else {
    return undefined;
  }
  const watchPrefix = rest[0] === 'watch';
  if (watchPrefix) rest = rest.slice(1);
  return { groupName, version, rest, watchPrefix };
}

type ParsedPath = NonNullable<ReturnType<typeof parseResourcePath>>;

/** The resource, namespace, name and subresource of a parsed path; 404 when it names no resource. */
function resolveResource(parsed: ParsedPath, identity: Identity): ResourceRequest {
  const { groupName, version } = parsed;
  let rest = parsed.rest;
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3 && resourceFor(groupName, version, rest[2])?.namespaced) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const [resourceName, name, subresource, ...extra] = rest;
  const info = resourceFor(groupName, version, resourceName);
  if (!info || extra.length > 0) {
    throw newNotFound({ group: groupName, resource: resourceName }, name ?? '');
  }
  return { info, namespace, name, subresource, identity };
}

function authorizeRequest(request: ResourceRequest, verb: string, qualified: string): void {
  const { identity, info, name, namespace } = request;
  if (!authorize(identity, verb, qualified)) {
    throw newForbidden(
      info,
      name ?? '',
      `User "${identity.user}" cannot ${verb} resource "${qualified}" in API group "${info.group}"${namespace ? ` in the namespace "${namespace}"` : ''}`,
    );
  }
}

export class ApiServer {
  readonly app = express();
  readonly metrics: ApiMetrics;
  private server: http.Server | undefined;
  private readonly openWatches = new Set<() => void>();

  get objects(): ObjectStore {
    return this.options.objects;
  }

  constructor(private readonly options: ApiServerOptions) {
    this.metrics = new ApiMetrics(options.raft);
    this.app.disable('x-powered-by');
    this.app.set('etag', false);
    this.app.use((req, res, next) => this.measure(req, res, next));
    this.app.get(['/healthz', '/livez'], (_req, res) => {
      res.type('text/plain').send('ok');
    });
    this.app.get('/readyz', (_req, res) => {
      const raft = options.raft?.();
      if (raft && !raft.hasLeader) res.status(503).type('text/plain').send('no raft leader\n');
      else res.type('text/plain').send('ok');
    });
    this.app.get('/version', (_req, res) => {
      res.json(discovery.versionInfo());
    });
    this.app.use((req, res, next) => this.authenticate(req, res, next));
    if (options.internal) this.app.use('/bosun/v1', options.internal);
    this.app.get('/metrics', async (_req, res) => {
      res.type(this.metrics.registry.contentType).send(await this.metrics.registry.metrics());
    });
    this.app.get('/api', (req, res) => {
      res.json(
        discovery.coreVersions(
          req.socket.localAddress ? `${req.socket.localAddress}:${req.socket.localPort}` : '',
        ),
      );
    });
    this.app.get('/openapi/v3', (_req, res) => {
      res.json(openAPIRoot());
    });
    this.app.get(/^\/openapi\/v3\/(.+)$/, (req, res) => {
      const document = openAPIDocument((req.params as Record<string, string>)[0]);
      if (!document) return sendStatus(res, newNotFound({ group: '', resource: '' }, req.path));
      // Clients cache a document by its hash; a URL with the current hash never changes.
      if (req.query.hash === document.hash) res.setHeader('Cache-Control', 'public, immutable');
      res.type('application/json').send(document.json);
    });
    this.app.get('/apis', (_req, res) => {
      res.json(discovery.groupList());
    });
    this.app.get('/apis/:group', (req, res) => {
      const document = discovery.group(req.params.group as string);
      if (document) res.json(document);
      else sendStatus(res, newNotFound({ group: '', resource: '' }, req.path));
    });
    this.app.use(express.raw({ type: () => true, limit: MAX_BODY_BYTES }));
    this.app.use((req, res) => {
      this.handleResource(req, res).catch((error) => sendStatus(res, error));
    });
    // Errors from express itself (an oversized body): a Status, never a stack trace.
    this.app.use(
      (
        error: Error & { type?: string; status?: number },
        _req: Request,
        res: Response,
        _next: NextFunction,
      ) => {
        if (error.type === 'entity.too.large') {
          sendStatus(res, bodyTooLarge());
        } else if (error.status && error.status < 500) {
          sendStatus(res, newBadRequest(error.message));
        } else {
          sendStatus(res, error);
        }
      },
    );
  }

  private measure(req: Request, res: Response, next: NextFunction): void {
    const started = process.hrtime.bigint();
    res.on('finish', () => this.recordRequest(req, res, started));
    next();
  }

  private recordRequest(req: Request, res: Response, started: bigint): void {
    const { verb = req.method.toLowerCase(), resource = '' } = locals(res);
    this.metrics.requests.inc({ verb, resource, code: String(res.statusCode) });
    if (verb !== 'watch') {
      this.metrics.latency.observe({ verb, resource }, Number(process.hrtime.bigint() - started) / 1e9);
    }
    log.debug('request', { verb, path: req.path, code: res.statusCode, user: locals(res).identity?.user });
  }

  /**
   * A resource request of this very process (the leader's control loops), served with no
   * socket by the same authentication, handlers and metrics as over HTTP. Undefined for what
   * only HTTP carries: the caller sends that over HTTP.
   */
  async serveInProcess(request: InProcessRequest): Promise<InProcessAnswer | undefined> {
    // Discovery roots (/api, /apis, /apis/GROUP) are express routes of their own.
    if (!/^\/(api\/[^/]+|apis\/[^/]+\/[^/]+)(\/|$)/.test(request.path)) return undefined;
    const started = process.hrtime.bigint();
    const req = inProcessRequest(request);
    const answer = new InProcessResponse();
    const res = answer.asResponse();
    const identity = this.options.authenticator.authenticate(request.headers.authorization);
    if (!identity) {
      sendStatus(res, newUnauthorized('Unauthorized'));
    } else if ((request.body?.length ?? 0) > MAX_BODY_BYTES) {
      sendStatus(res, bodyTooLarge());
    } else {
      locals(res).identity = identity;
      try {
        await this.handleResource(req, res);
      } catch (error) {
        if (error instanceof NotServedInProcess) return undefined;
        sendStatus(res, error);
      }
    }
    this.recordRequest(req, res, started);
    return { status: answer.statusCode, body: answer.body };
  }

  private authenticate(req: Request, res: Response, next: NextFunction): void {
    const identity = this.options.authenticator.authenticate(req.headers.authorization);
    if (!identity) {
      sendStatus(res, newUnauthorized('Unauthorized'));
      return;
    }
    locals(res).identity = identity;
    next();
  }

  private async handleResource(req: Request, res: Response): Promise<void> {
    const parsed = parseResourcePath(req.path);
    if (!parsed) throw newNotFound({ group: '', resource: '' }, req.path);
    const { groupName, version, watchPrefix } = parsed;
    if (parsed.rest.length === 0) {
      if (req.method !== 'GET') throw newMethodNotAllowed({ group: groupName, resource: '' }, req.method);
      const document = discovery.resourceList(groupName, version);
      if (!document) throw newNotFound({ group: groupName, resource: '' }, req.path);
      res.json(document);
      return;
    }
    const identity = locals(res).identity!;
    const request = resolveResource(parsed, identity);
    const { info, name, subresource } = request;
    const qualified = subresource ? `${info.resource}/${subresource}` : info.resource;
    // Streaming subresources are "create" whatever the method (a WebSocket upgrade is a GET),
    // so that a read-only identity can never exec.
    const streaming = this.options.streams?.[qualified] !== undefined;
    const verb = streaming ? 'create' : this.verbOf(req, request, watchPrefix);
    locals(res).verb = verb;
    locals(res).resource = qualified;
    authorizeRequest(request, verb, qualified);
    if (streaming) throw newBadRequest('Upgrade request required');
    if (subresource && !['status', 'scale', 'binding', 'finalize'].includes(subresource)) {
      const handler = this.options.subresources?.[`${info.resource}/${subresource}`];
      if (!handler) throw newNotFound(info, `${name}/${subresource}`);
      if (isInProcess(req)) throw new NotServedInProcess(qualified);
      await handler(request, req, res);
      return;
    }
    if (subresource && !info.subresources.includes(subresource as 'status')) {
      throw newNotFound(info, `${name}/${subresource}`);
    }
    await this.dispatch(verb, request, req, res);
  }

  private verbOf(req: Request, request: ResourceRequest, watchPrefix: boolean): string {
    const collection = request.name === undefined;
    switch (req.method) {
      case 'GET':
        return collection ? (watchPrefix || queryBool(req, 'watch') ? 'watch' : 'list') : 'get';
      case 'POST':
        return 'create';
      case 'PUT':
        return 'update';
      case 'PATCH':
        return 'patch';
      case 'DELETE':
        return collection ? 'deletecollection' : 'delete';
      default:
        throw newMethodNotAllowed(request.info, req.method.toLowerCase());
    }
  }

  private async dispatch(verb: string, r: ResourceRequest, req: Request, res: Response): Promise<void> {
    const objects = this.options.objects;
    const { info, namespace, name, subresource } = r;
    if (!info.verbs.includes(verb as never) && !subresource) throw newMethodNotAllowed(info, verb);
    const write = { dryRun: isDryRun(req), fieldValidation: fieldValidation(req) };
    if (subresource === 'scale') {
      await this.scale(verb, r, req, res);
      return;
    }
    if (subresource === 'binding') {
      if (verb !== 'create') throw newMethodNotAllowed(info, verb);
      const body = parseBody(req) as { target?: { name?: string } } | undefined;
      const node = body?.target?.name;
      if (!node) throw newBadRequest('a Binding must name its target node in target.name');
      await objects.bind(namespace!, name!, node);
      sendObject(res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
      return;
    }
    if (subresource === 'finalize' && verb !== 'update') throw newMethodNotAllowed(info, verb);
    const status = subresource === 'status' || subresource === 'finalize' ? subresource : undefined;
    switch (verb) {
      case 'get': {
        const object = await objects.get(info, namespace, name!, queryString(req, 'resourceVersion') !== '0');
        if (wantsTable(req)) {
          sendObject(
            res,
            200,
            toTable(
              info.kind,
              [object],
              { resourceVersion: object.metadata.resourceVersion },
              includeObject(req),
            ),
          );
        } else {
          sendObject(res, 200, object);
        }
        return;
      }
      case 'list': {
        const list = await objects.list(info, namespace, this.listQuery(req));
        if (wantsTable(req))
          sendObject(res, 200, toTable(info.kind, list.items, list.metadata ?? {}, includeObject(req)));
        else sendObject(res, 200, list);
        return;
      }
      case 'watch':
        if (isInProcess(req)) throw new NotServedInProcess('a watch');
        await this.watch(r, req, res);
        return;
      case 'create': {
        const result = await objects.create(info, namespace, parseBody(req), write);
        sendObject(res, 201, result.object, result.warnings);
        return;
      }
      case 'update': {
        const result = await objects.update(info, namespace, name!, parseBody(req), {
          ...write,
          subresource: status,
        });
        sendObject(res, 200, result.object, result.warnings);
        return;
      }
      case 'patch': {
        const kind = patchKind(req);
        const result = await objects.patch(info, namespace, name!, kind, parseBody(req), {
          ...write,
          subresource: status,
        });
        sendObject(res, 200, result.object, result.warnings);
        return;
      }
      case 'delete': {
        const options = this.deleteOptions(req);
        const result = await objects.delete(info, namespace, name!, options);
        if (result.deleted) {
          sendObject(res, 200, {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Success',
            details: { name, group: info.group, kind: info.resource, uid: result.object.metadata.uid },
          });
        } else {
          sendObject(res, 202, result.object);
        }
        return;
      }
      case 'deletecollection':
        sendObject(
          res,
          200,
          await objects.deleteCollection(info, namespace, this.listQuery(req), this.deleteOptions(req)),
        );
        return;
      default:
        throw newMethodNotAllowed(info, verb);
    }
  }

  private async scale(verb: string, r: ResourceRequest, req: Request, res: Response): Promise<void> {
    const { info, namespace, name } = r;
    const objects = this.options.objects;
    if (verb === 'get') {
      sendObject(res, 200, await objects.getScale(info, namespace!, name!));
      return;
    }
    let scale: Scale;
    if (verb === 'update') {
      scale = parseBody(req) as Scale;
    } else if (verb === 'patch') {
      const current = await objects.getScale(info, namespace!, name!);
      const kind = patchKind(req);
      const body = parseBody(req);
      scale = (kind === 'json' ? applyJsonPatch(current, body) : applyMergePatch(current, body)) as Scale;
      // The version read above is not the caller's precondition; only one the patch names is.
      if (!patchNamesResourceVersion(kind, body)) delete scale.metadata?.resourceVersion;
    } else {
      throw newMethodNotAllowed(info, verb);
    }
    sendObject(
      res,
      200,
      await objects.updateScale(info, namespace!, name!, scale, { dryRun: isDryRun(req) }),
    );
  }

  private listQuery(req: Request): ListQuery {
    const limit = queryString(req, 'limit');
    return {
      labelSelector: queryString(req, 'labelSelector'),
      fieldSelector: queryString(req, 'fieldSelector'),
      limit: limit ? Number(limit) : undefined,
      continue: queryString(req, 'continue'),
      resourceVersion: queryString(req, 'resourceVersion'),
      resourceVersionMatch: queryString(req, 'resourceVersionMatch'),
    };
  }

  private deleteOptions(req: Request): DeleteOptions {
    const body = (parseBody(req) ?? {}) as DeleteOptions;
    const grace = queryString(req, 'gracePeriodSeconds');
    const policy = queryString(req, 'propagationPolicy');
    const options: DeleteOptions = { ...body };
    if (grace !== undefined) options.gracePeriodSeconds = Number(grace);
    if (policy) options.propagationPolicy = policy as DeleteOptions['propagationPolicy'];
    if (queryString(req, 'dryRun') === 'All') options.dryRun = ['All'];
    return options;
  }

  private async watch(r: ResourceRequest, req: Request, res: Response): Promise<void> {
    const timeoutSeconds = Number(queryString(req, 'timeoutSeconds') ?? 1800 + Math.random() * 1800);
    const bookmarks = queryBool(req, 'allowWatchBookmarks');
    let lastRevision = 0;
    let open = true;
    let corked = false;
    const pending: string[] = [];
    const write = (line: string) => {
      if (!open) return;
      if (!res.headersSent) {
        pending.push(line);
        return;
      }
      // A client that reads too slowly is dropped; it resumes from its last revision.
      if (res.writableLength > 16 * 1024 * 1024) {
        close();
        return;
      }
      // One applied Raft batch emits many events at once: hold them until the tick ends and
      // send them in one write, not one syscall (and one chunk for the client to parse) each.
      if (!corked) {
        corked = true;
        res.cork();
        process.nextTick(() => {
          corked = false;
          if (!res.writableEnded) res.uncork();
        });
      }
      res.write(line);
    };
    const table = wantsTable(req);
    const include = includeObject(req);
    const send = (type: WatchEventType | 'BOOKMARK', object: unknown) => {
      // Table watches carry each object as a one-row Table (bookmarks stay as they are).
      if (table && type !== 'BOOKMARK') {
        const payload = toTable(r.info.kind, [object as KubeObject], {}, include);
        write(JSON.stringify({ type, object: payload }) + '\n');
      } else {
        write(`{"type":"${type}","object":${serialized(object as object)}}\n`);
      }
    };
    const timers: NodeJS.Timeout[] = [];
    let handle: { stop(): void } | undefined;
    const close = (reason?: Error) => {
      if (!open) return;
      if (reason) {
        const status = statusForError(reason);
        if (res.headersSent) res.write(JSON.stringify({ type: 'ERROR', object: status }) + '\n');
      }
      open = false;
      handle?.stop();
      for (const timer of timers) clearTimeout(timer);
      this.openWatches.delete(close);
      this.metrics.watchers.dec({ resource: r.info.resource });
      res.end();
    };
    this.metrics.watchers.inc({ resource: r.info.resource });
    this.openWatches.add(close);
    req.on('close', () => close());
    try {
      const started = await this.options.objects.watch(
        r.info,
        r.namespace,
        {
          labelSelector: queryString(req, 'labelSelector'),
          fieldSelector: queryString(req, 'fieldSelector'),
          resourceVersion: queryString(req, 'resourceVersion'),
        },
        (type, object: KubeObject) => {
          lastRevision = Math.max(lastRevision, Number(object.metadata.resourceVersion));
          send(type, object);
        },
        (reason) => close(reason),
      );
      handle = started.handle;
      lastRevision = Math.max(lastRevision, started.revision);
    } catch (error) {
      this.openWatches.delete(close);
      this.metrics.watchers.dec({ resource: r.info.resource });
      open = false;
      throw error;
    }
    if (!open) {
      handle.stop();
      return;
    }
    res.status(200).setHeader('Content-Type', 'application/json');
    res.setHeader('Transfer-Encoding', 'chunked');
    res.flushHeaders();
    for (const line of pending.splice(0)) res.write(line);
    timers.push(setTimeout(() => close(), timeoutSeconds * 1000));
    if (bookmarks) {
      const interval = this.options.bookmarkIntervalMs ?? 60_000;
      const bookmark = () => {
        if (!open) return;
        // Every event up to the store's current revision has been delivered (see Storage.watch).
        const revision = Math.max(lastRevision, this.options.objects.storage.currentRevision());
        send('BOOKMARK', {
          kind: r.info.kind,
          apiVersion: r.info.apiVersion,
          metadata: { resourceVersion: String(revision) },
        });
        timers.push(setTimeout(bookmark, interval));
      };
      timers.push(setTimeout(bookmark, interval));
    }
  }

  /**
   * An upgrade request (WebSocket, SPDY). Streaming subresources are authenticated and
   * authorized here and handed their raw connection; anything else that merely offers an
   * upgrade (h2c) is served as the ordinary request it also is.
   */
  private handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const respond = (code: number, resource = '') =>
      this.metrics.requests.inc({ verb: 'create', resource, code: String(code) });
    const serve = async () => {
      const url = new URL(req.url ?? '/', 'http://apiserver');
      const parsed = parseResourcePath(url.pathname);
      const name = parsed?.rest[parsed.rest[0] === 'namespaces' ? 3 : 1];
      const subresource = parsed?.rest[parsed.rest[0] === 'namespaces' ? 4 : 2];
      const resource = parsed?.rest[parsed.rest[0] === 'namespaces' ? 2 : 0];
      const qualified = `${resource}/${subresource}`;
      const handler = name && subresource ? this.options.streams?.[qualified] : undefined;
      if (!parsed || !handler) {
        this.serveAsRequest(req, socket);
        return;
      }
      const identity = this.options.authenticator.authenticate(req.headers.authorization);
      if (!identity) throw newUnauthorized('Unauthorized');
      const request = resolveResource(parsed, identity);
      authorizeRequest(request, 'create', qualified);
      await handler(request, req, socket, head);
      respond(101, qualified);
      log.debug('streaming', { path: url.pathname, user: identity.user });
    };
    serve().catch((error: unknown) => {
      const status = statusForError(error);
      if (!(error instanceof ApiError)) logInternalError(error);
      respond(status.code ?? 500);
      const body = JSON.stringify(status);
      socket.end(
        `HTTP/1.1 ${status.code} ${http.STATUS_CODES[status.code ?? 500] ?? ''}\r\n` +
          'Content-Type: application/json\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          'Connection: close\r\n\r\n' +
          body,
      );
    });
  }

  /** Serves an upgrade request through express, as if it had asked for no upgrade. */
  private serveAsRequest(req: http.IncomingMessage, socket: Duplex): void {
    const res = new http.ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as net.Socket);
    res.on('finish', () => {
      res.detachSocket(socket as net.Socket);
      socket.end();
    });
    this.app(req as Request, res as Response);
  }

  /** Starts listening; resolves to the bound address. */
  listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const server = http.createServer(this.app);
      server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
        this.handleUpgrade(req, socket, head),
      );
      server.keepAliveTimeout = 65_000;
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        this.server = server;
        resolve(server.address() as AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    for (const close of [...this.openWatches]) close();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

/** Resources served, for logs and status. */
export function servedResources(): string[] {
  return RESOURCES.map((r) => (r.group ? `${r.resource}.${r.group}` : r.resource));
}
