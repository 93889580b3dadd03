import {
  DeleteOptions,
  Kind,
  KubeList,
  KubeObject,
  lookupResource,
  ObjectOfKind,
  ResourceInfo,
  RESOURCES,
  Scale,
  Status,
} from '../api';
import { apiErrorFromStatus } from '../api';
import { Method, Transport, TransportOptions } from './transport';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export type WatchEvent<T> =
  | { type: 'ADDED' | 'MODIFIED' | 'DELETED'; object: T }
  /** Carries only metadata.resourceVersion: where to resume. */
  | { type: 'BOOKMARK'; object: { metadata: { resourceVersion: string } } };

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  /** Events after this revision; '' or absent: the current state as ADDED events first. */
  resourceVersion?: string;
  timeoutSeconds?: number;
  allowWatchBookmarks?: boolean;
}

export interface PodLogOptions {
  container?: string;
  follow?: boolean;
  previous?: boolean;
  timestamps?: boolean;
  tailLines?: number;
  sinceSeconds?: number;
}

export type PatchType = 'merge' | 'json' | 'strategic' | 'apply';

const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
}

/** The path of a resource collection, object or subresource, Kubernetes-style. */
export function resourcePath(
  info: ResourceInfo,
  namespace?: string,
  name?: string,
  subresource?: string,
): string {
  const base = info.group === '' ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
  const scope = info.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const object = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  const sub = subresource ? `/${subresource}` : '';
  return `${base}${scope}/${info.resource}${object}${sub}`;
}

function writeQuery(options: WriteOptions = {}): Record<string, string | undefined> {
  return {
    dryRun: options.dryRun ? 'All' : undefined,
    fieldManager: options.fieldManager,
    fieldValidation: options.fieldValidation,
  };
}

/** Typed verbs on one resource. Namespaced resources take the namespace; cluster-scoped ones ignore it. */
export class ResourceClient<T extends { metadata: { name?: string; namespace?: string } }> {
  constructor(
    private readonly transport: Transport,
    readonly info: ResourceInfo,
  ) {}

  private call<R>(
    method: Method,
    path: string,
    extra: Partial<Parameters<Transport['request']>[0]> = {},
  ): Promise<R> {
    return this.transport.request<R>({ method, path, ...extra });
  }

  get(namespace: string | undefined, name: string, signal?: AbortSignal): Promise<T> {
    return this.call('GET', resourcePath(this.info, namespace, name), { signal });
  }

  /** Lists one namespace, or every namespace when `namespace` is undefined. */
  list(namespace?: string, options: ListOptions = {}, signal?: AbortSignal): Promise<KubeList<T>> {
    return this.call('GET', resourcePath(this.info, namespace), { query: { ...options }, signal });
  }

  /** Lists every page (following `continue`) into one list. */
  async listAll(namespace?: string, options: ListOptions = {}, signal?: AbortSignal): Promise<KubeList<T>> {
    const first = await this.list(namespace, options, signal);
    let page = first;
    while (page.metadata?.continue) {
      page = await this.list(namespace, { ...options, continue: page.metadata.continue }, signal);
      first.items.push(...page.items);
    }
    if (first.metadata) delete first.metadata.continue;
    return first;
  }

  create(object: T, options?: WriteOptions): Promise<T> {
    return this.call('POST', resourcePath(this.info, object.metadata.namespace), {
      body: object,
      query: writeQuery(options),
    });
  }

  update(object: T, options?: WriteOptions): Promise<T> {
    return this.call('PUT', resourcePath(this.info, object.metadata.namespace, object.metadata.name), {
      body: object,
      query: writeQuery(options),
    });
  }

  updateStatus(object: T, options?: WriteOptions): Promise<T> {
    return this.call(
      'PUT',
      resourcePath(this.info, object.metadata.namespace, object.metadata.name, 'status'),
      {
        body: object,
        query: writeQuery(options),
      },
    );
  }

  patch(
    namespace: string | undefined,
    name: string,
    patch: unknown,
    type: PatchType = 'merge',
    options: WriteOptions & { subresource?: 'status' | 'scale' } = {},
  ): Promise<T> {
    return this.call('PATCH', resourcePath(this.info, namespace, name, options.subresource), {
      body: patch,
      contentType: PATCH_CONTENT_TYPE[type],
      query: writeQuery(options),
    });
  }

  /** Deletes; the answer is the object (when it is kept for finalizers or graceful deletion) or a Status. */
  delete(namespace: string | undefined, name: string, options: DeleteOptions = {}): Promise<T | Status> {
    return this.call('DELETE', resourcePath(this.info, namespace, name), {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', ...options },
    });
  }

  deleteCollection(namespace: string | undefined, options: ListOptions = {}): Promise<Status | KubeList<T>> {
    return this.call('DELETE', resourcePath(this.info, namespace), { query: { ...options } });
  }

  getScale(namespace: string, name: string): Promise<Scale> {
    return this.call('GET', resourcePath(this.info, namespace, name, 'scale'));
  }

  updateScale(namespace: string, name: string, replicas: number): Promise<Scale> {
    return this.call('PATCH', resourcePath(this.info, namespace, name, 'scale'), {
      body: { spec: { replicas } },
      contentType: PATCH_CONTENT_TYPE.merge,
    });
  }

  /**
   * Watches until the server ends the stream, the signal aborts, or the connection breaks
   * (the iterator then throws, and the caller resumes from the last resourceVersion it saw).
   * An ERROR event (e.g. 410 Expired: the revision is too old) is thrown as its ApiError.
   */
  async *watch(
    namespace: string | undefined,
    options: WatchOptions,
    signal?: AbortSignal,
  ): AsyncGenerator<WatchEvent<T>> {
    const response = await this.transport.stream({
      method: 'GET',
      path: resourcePath(this.info, namespace),
      query: { ...options, watch: 'true' },
      signal,
    });
    yield* parseWatchStream<T>(response.body, signal);
  }
}

/** Newline-delimited JSON watch events from a response body. */
export async function* parseWatchStream<T>(
  body: AsyncIterable<Buffer | string>,
  signal?: AbortSignal,
): AsyncGenerator<WatchEvent<T>> {
  let pending = '';
  try {
    for await (const chunk of body) {
      pending += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (!line) continue;
        const event = JSON.parse(line) as { type: WatchEventType; object: unknown };
        if (event.type === 'ERROR') throw apiErrorFromStatus(event.object as Status);
        yield event as WatchEvent<T>;
      }
    }
  } catch (error) {
    if (signal?.aborted) return;
    throw error;
  }
}

export type ClientOptions = TransportOptions;

/**
 * The typed client every bosun component uses: `client.resource('Pod').list('default')`.
 * It knows every master and fails over between them (see transport.ts).
 */
export class Client {
  readonly transport: Transport;
  private readonly resources = new Map<string, ResourceClient<never>>();

  constructor(options: ClientOptions) {
    this.transport = new Transport(options);
  }

  /** The client of one kind, typed: `resource('Deployment')` works on Deployments. */
  resource<K extends Kind>(kind: K): ResourceClient<ObjectOfKind<K>> {
    let client = this.resources.get(kind);
    if (!client) {
      const info = RESOURCES.find((r) => r.kind === kind);
      if (!info) throw new Error(`no resource serves kind ${kind}`);
      client = new ResourceClient<never>(this.transport, info);
      this.resources.set(kind, client);
    }
    return client as unknown as ResourceClient<ObjectOfKind<K>>;
  }

  /** The client of a resource named as a person would (`po`, `deployments.apps`). */
  resourceByName(name: string): ResourceClient<KubeObject> {
    return this.resource(lookupResource(name).kind) as unknown as ResourceClient<KubeObject>;
  }

  /** Binds a pod to a node (the scheduler's write), through the pods/binding subresource. */
  bind(namespace: string, podName: string, nodeName: string): Promise<Status> {
    return this.transport.request({
      method: 'POST',
      path: resourcePath(lookupResource('pods'), namespace, podName, 'binding'),
      body: {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name: podName, namespace },
        target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
      },
    });
  }

  /**
   * A container's log (pods/log) as a stream; with `follow` it stays open until the
   * container stops or the signal aborts.
   */
  async podLogs(
    namespace: string,
    name: string,
    options: PodLogOptions = {},
    signal?: AbortSignal,
  ): Promise<NodeJS.ReadableStream> {
    const response = await this.transport.stream({
      method: 'GET',
      path: resourcePath(lookupResource('pods'), namespace, name, 'log'),
      query: { ...options },
      accept: '*/*',
      signal,
    });
    return response.body;
  }

  /** A raw GET for the paths that are not resources (/version, /healthz, discovery). */
  raw<R>(path: string, signal?: AbortSignal): Promise<R> {
    return this.transport.request<R>({ method: 'GET', path, signal });
  }

  close(): void {
    this.transport.close();
  }
}
