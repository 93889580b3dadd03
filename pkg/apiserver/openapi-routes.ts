/**
 * OpenAPI v3 as the Kubernetes apiserver publishes it: `/openapi/v3` lists one document per
 * group-version, `/openapi/v3/api/v1` (and `/openapi/v3/apis/apps/v1`, ...) hold its paths and
 * schemas. kubectl reads these to learn that the server validates fields itself (the PATCH
 * operation of a kind lists the `fieldValidation` parameter: then `kubectl apply` sends
 * `fieldValidation=Strict` instead of validating on the client), for `kubectl explain`, and for
 * the strategic-merge patch metadata of each kind.
 */
import { createHash } from 'crypto';
import { RESOURCES, ResourceInfo, toOpenAPI } from '../api';

type Document = Record<string, unknown>;

function groupVersionPath(info: Pick<ResourceInfo, 'group' | 'version'>): string {
  return info.group === '' ? `api/${info.version}` : `apis/${info.group}/${info.version}`;
}

/** The schema name Kubernetes uses, e.g. io.k8s.api.apps.v1.Deployment. */
function schemaName(info: ResourceInfo): string {
  const group = info.group === '' ? 'core' : info.group.split('.')[0];
  return `io.k8s.api.${group}.${info.version}.${info.kind}`;
}

const QUERY = (name: string, description: string) => ({
  name,
  in: 'query',
  description,
  schema: { type: 'string', uniqueItems: true },
});

const WRITE_PARAMETERS = [
  QUERY('dryRun', 'When present, modifications are not persisted. All: every dry-run stage.'),
  QUERY('fieldManager', 'A name for the actor making these changes.'),
  QUERY(
    'fieldValidation',
    'How the server treats unknown and duplicate fields in the object: Ignore, Warn or Strict.',
  ),
];

function operation(info: ResourceInfo, action: string, verb: string, extra: Document = {}): Document {
  const ref = { $ref: `#/components/schemas/${schemaName(info)}` };
  return {
    operationId: `${verb}${info.kind}`,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': { group: info.group, version: info.version, kind: info.kind },
    responses: { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } },
    ...extra,
  };
}

function documentFor(group: string, version: string): Document {
  const resources = RESOURCES.filter((r) => r.group === group && r.version === version);
  const paths: Record<string, Document> = {};
  const schemas: Record<string, Document> = {};
  for (const info of resources) {
    const base = `/${groupVersionPath(info)}${info.namespaced ? '/namespaces/{namespace}' : ''}/${info.resource}`;
    const body = {
      required: true,
      content: { 'application/json': { schema: { $ref: `#/components/schemas/${schemaName(info)}` } } },
    };
    paths[base] = {
      get: operation(info, 'list', 'list'),
      post: operation(info, 'post', 'create', { parameters: WRITE_PARAMETERS, requestBody: body }),
    };
    paths[`${base}/{name}`] = {
      get: operation(info, 'get', 'read'),
      put: operation(info, 'put', 'replace', { parameters: WRITE_PARAMETERS, requestBody: body }),
      patch: operation(info, 'patch', 'patch', {
        parameters: [...WRITE_PARAMETERS, QUERY('force', 'Force is going to "force" Apply requests.')],
        requestBody: {
          content: Object.fromEntries(
            [
              'application/apply-patch+yaml',
              'application/json-patch+json',
              'application/merge-patch+json',
              'application/strategic-merge-patch+json',
            ].map((type) => [type, { schema: { type: 'object' } }]),
          ),
        },
      }),
      delete: operation(info, 'delete', 'delete'),
    };
    schemas[schemaName(info)] = {
      ...toOpenAPI(info.schema),
      'x-kubernetes-group-version-kind': [{ group: info.group, version: info.version, kind: info.kind }],
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'v1.32.0' },
    paths,
    components: { schemas },
  };
}

interface Published {
  json: string;
  hash: string;
}

let published: Map<string, Published> | undefined;

/** Every group-version's document, built once: they depend only on the registry. */
function documents(): Map<string, Published> {
  if (!published) {
    published = new Map();
    for (const info of RESOURCES) {
      const key = groupVersionPath(info);
      if (published.has(key)) continue;
      const json = JSON.stringify(documentFor(info.group, info.version));
      const hash = createHash('sha512').update(json).digest('hex').slice(0, 128).toUpperCase();
      published.set(key, { json, hash });
    }
  }
  return published;
}

export function openAPIRoot(): Document {
  return {
    paths: Object.fromEntries(
      [...documents()].map(([path, doc]) => [
        path,
        { serverRelativeURL: `/openapi/v3/${path}?hash=${doc.hash}` },
      ]),
    ),
  };
}

/** The document of `api/v1`, `apis/apps/v1`, ...: its JSON text, or undefined. */
export function openAPIDocument(groupVersionPath: string): Published | undefined {
  return documents().get(groupVersionPath);
}
