/**
 * The resource registry: for every kind bosun serves, its group/version, names (plural,
 * singular, short names), scope, subresources, verbs and schema. The apiserver builds its
 * routes and discovery documents from it, the CLI resolves `bosun get po` through it, the
 * decoder finds the schema of a manifest by apiVersion and kind.
 */
import { FieldError } from './field';
import { TypedSchema } from './schema';
import {
  BindingSchema,
  ConfigMapSchema,
  DeploymentSchema,
  EndpointSliceSchema,
  EndpointsSchema,
  EventSchema,
  Kind,
  KubeList,
  LeaseSchema,
  listSchemaOf,
  NamespaceSchema,
  NodeSchema,
  PodSchema,
  ReplicaSetSchema,
  SecretSchema,
  ServiceSchema,
  StatefulSetSchema,
} from './types';

export type Verb = 'create' | 'delete' | 'deletecollection' | 'get' | 'list' | 'patch' | 'update' | 'watch';

export type Subresource = 'status' | 'scale' | 'binding' | 'finalize';

export interface ResourceInfo {
  /** '' for the core group. */
  group: string;
  version: string;
  /** `v1`, `apps/v1`. */
  apiVersion: string;
  kind: Kind;
  listKind: string;
  /** The plural, lower case: the path segment (`deployments`). */
  resource: string;
  singular: string;
  shortNames: readonly string[];
  namespaced: boolean;
  verbs: readonly Verb[];
  subresources: readonly Subresource[];
  /** `all` for the kinds `get all` lists, as kubectl's categories. */
  categories: readonly string[];
  schema: TypedSchema<unknown>;
  listSchema: TypedSchema<KubeList<unknown>>;
}

const ALL_VERBS: readonly Verb[] = [
  'create',
  'delete',
  'deletecollection',
  'get',
  'list',
  'patch',
  'update',
  'watch',
];

function resource(
  info: Omit<
    ResourceInfo,
    | 'apiVersion'
    | 'listKind'
    | 'verbs'
    | 'categories'
    | 'listSchema'
    | 'singular'
    | 'shortNames'
    | 'subresources'
  > &
    Partial<Pick<ResourceInfo, 'verbs' | 'categories' | 'shortNames' | 'subresources'>>,
): ResourceInfo {
  return {
    ...info,
    apiVersion: info.group === '' ? info.version : `${info.group}/${info.version}`,
    listKind: `${info.kind}List`,
    singular: info.kind.toLowerCase(),
    shortNames: info.shortNames ?? [],
    verbs: info.verbs ?? ALL_VERBS,
    subresources: info.subresources ?? [],
    categories: info.categories ?? [],
    listSchema: listSchemaOf(info.schema),
  };
}

/** Every resource, in the order discovery lists them. */
export const RESOURCES: readonly ResourceInfo[] = [
  resource({
    group: '',
    version: 'v1',
    kind: 'Pod',
    resource: 'pods',
    shortNames: ['po'],
    namespaced: true,
    subresources: ['status', 'binding'],
    categories: ['all'],
    schema: PodSchema,
  }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Service',
    resource: 'services',
    shortNames: ['svc'],
    namespaced: true,
    subresources: ['status'],
    categories: ['all'],
    schema: ServiceSchema,
  }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Endpoints',
    resource: 'endpoints',
    shortNames: ['ep'],
    namespaced: true,
    schema: EndpointsSchema,
  }),
  resource({
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    resource: 'configmaps',
    shortNames: ['cm'],
    namespaced: true,
    schema: ConfigMapSchema,
  }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Secret',
    resource: 'secrets',
    namespaced: true,
    schema: SecretSchema,
  }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Namespace',
    resource: 'namespaces',
    shortNames: ['ns'],
    namespaced: false,
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    // finalize: the only way to change spec.finalizers, as in Kubernetes (the namespace controller's write).
    subresources: ['status', 'finalize'],
    schema: NamespaceSchema,
  }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Node',
    resource: 'nodes',
    shortNames: ['no'],
    namespaced: false,
    subresources: ['status'],
    schema: NodeSchema,
  }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Event',
    resource: 'events',
    shortNames: ['ev'],
    namespaced: true,
    schema: EventSchema,
  }),
  resource({
    group: '',
    version: 'v1',
    kind: 'Binding',
    resource: 'bindings',
    namespaced: true,
    verbs: ['create'],
    schema: BindingSchema,
  }),
  resource({
    group: 'apps',
    version: 'v1',
    kind: 'Deployment',
    resource: 'deployments',
    shortNames: ['deploy'],
    namespaced: true,
    subresources: ['status', 'scale'],
    categories: ['all'],
    schema: DeploymentSchema,
  }),
  resource({
    group: 'apps',
    version: 'v1',
    kind: 'ReplicaSet',
    resource: 'replicasets',
    shortNames: ['rs'],
    namespaced: true,
    subresources: ['status', 'scale'],
    categories: ['all'],
    schema: ReplicaSetSchema,
  }),
  resource({
    group: 'apps',
    version: 'v1',
    kind: 'StatefulSet',
    resource: 'statefulsets',
    shortNames: ['sts'],
    namespaced: true,
    subresources: ['status', 'scale'],
    categories: ['all'],
    schema: StatefulSetSchema,
  }),
  resource({
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
    resource: 'leases',
    namespaced: true,
    schema: LeaseSchema,
  }),
  resource({
    group: 'discovery.k8s.io',
    version: 'v1',
    kind: 'EndpointSlice',
    resource: 'endpointslices',
    namespaced: true,
    schema: EndpointSliceSchema,
  }),
];

/** `deployments.apps`, `pods`: the qualified resource Kubernetes names in messages. */
export function qualifiedResource(info: { group: string; resource: string }): string {
  return info.group === '' ? info.resource : `${info.resource}.${info.group}`;
}

/** `Deployment.apps`, `Pod`: the qualified kind Kubernetes names in Invalid messages. */
export function qualifiedKind(info: { group: string; kind: string }): string {
  return info.group === '' ? info.kind : `${info.kind}.${info.group}`;
}

/** `deployment.apps/web`, `service/hello`: how kubectl names an object in its output. */
export function objectDisplayName(info: ResourceInfo, name: string): string {
  return `${info.group === '' ? info.singular : `${info.singular}.${info.group}`}/${name}`;
}

export class UnknownResourceError extends Error {
  constructor(readonly requested: string) {
    super(
      `the server doesn't have a resource type ${JSON.stringify(requested)}; known resource types: ${RESOURCES.map(
        (info) =>
          info.shortNames.length > 0 ? `${info.resource} (${info.shortNames.join(', ')})` : info.resource,
      ).join(', ')}`,
    );
    this.name = 'UnknownResourceError';
  }
}

/** Every accepted spelling, lower case: plural, singular, short names, kind, each alone or as `name.group` or `name.version.group`. */
const BY_NAME: ReadonlyMap<string, ResourceInfo> = (() => {
  const byName = new Map<string, ResourceInfo>();
  for (const info of RESOURCES) {
    for (const name of new Set([info.resource, info.singular, info.kind.toLowerCase(), ...info.shortNames])) {
      byName.set(name, info);
      if (info.group !== '') {
        byName.set(`${name}.${info.group}`, info);
        byName.set(`${name}.${info.version}.${info.group}`, info);
      }
    }
  }
  return byName;
})();

/**
 * The resource named by what a user types: `pods`, `pod`, `po`, `Pod`, `deployments.apps`,
 * `deploy`, `deployments.v1.apps` (case-insensitive). Throws UnknownResourceError naming the
 * known ones.
 */
export function lookupResource(name: string): ResourceInfo {
  const info = BY_NAME.get(name.toLowerCase());
  if (!info) throw new UnknownResourceError(name);
  return info;
}

/** Like lookupResource, but undefined when unknown. */
export function findResource(name: string): ResourceInfo | undefined {
  return BY_NAME.get(name.toLowerCase());
}

/** The resource at a REST path position: group '' and `pods`, or `apps` and `deployments`. */
export function resourceFor(group: string, version: string, resourceName: string): ResourceInfo | undefined {
  return RESOURCES.find(
    (info) => info.group === group && info.version === version && info.resource === resourceName,
  );
}

export type KindResolution = { ok: true; info: ResourceInfo } | { ok: false; errors: FieldError[] };

/**
 * The resource of a manifest's apiVersion and kind, matched exactly as Kubernetes does. When
 * there is none, the errors say which field is wrong and list what is supported.
 */
export function resolveKind(apiVersion: unknown, kind: unknown): KindResolution {
  const errors: FieldError[] = [];
  if (typeof apiVersion !== 'string' || apiVersion === '') {
    errors.push(
      apiVersion === undefined || apiVersion === null || apiVersion === ''
        ? FieldError.required('apiVersion')
        : FieldError.typeInvalid('apiVersion', apiVersion, 'must be a string'),
    );
  }
  if (typeof kind !== 'string' || kind === '') {
    errors.push(
      kind === undefined || kind === null || kind === ''
        ? FieldError.required('kind')
        : FieldError.typeInvalid('kind', kind, 'must be a string'),
    );
  }
  if (errors.length > 0) return { ok: false, errors };
  const sameKind = RESOURCES.filter((info) => info.kind === kind);
  if (sameKind.length === 0) {
    const kinds = [...new Set(RESOURCES.map((info) => info.kind))].sort();
    return { ok: false, errors: [FieldError.notSupported('kind', kind, kinds)] };
  }
  const info = sameKind.find((candidate) => candidate.apiVersion === apiVersion);
  if (!info)
    return {
      ok: false,
      errors: [
        FieldError.notSupported(
          'apiVersion',
          apiVersion,
          sameKind.map((candidate) => candidate.apiVersion),
        ),
      ],
    };
  return { ok: true, info };
}

const NAMESPACED_KINDS: ReadonlySet<string> = new Set(
  RESOURCES.filter((info) => info.namespaced).map((info) => info.kind),
);

/** Whether objects of this kind live in a namespace. */
export function isNamespacedKind(kind: string): boolean {
  return NAMESPACED_KINDS.has(kind);
}

/** The resource a list kind (`PodList`, `DeploymentList`) belongs to. */
export function resolveListKind(apiVersion: unknown, listKind: unknown): ResourceInfo | undefined {
  return RESOURCES.find((info) => info.listKind === listKind && info.apiVersion === apiVersion);
}
