/**
 * Turning a request body into an object the store may hold: decoding against the kind's
 * schema (unknown fields per fieldValidation), checking it belongs at this URL, defaulting,
 * and the per-kind rules Kubernetes applies on create and update (status reset, generation,
 * fields only the server sets).
 */
import {
  applyDefaults,
  FieldError,
  fromUnstructured,
  KubeObject,
  newBadRequest,
  newInvalid,
  ResourceInfo,
  strictDecodingError,
  unknownFieldMessage,
  validate,
  validateUpdate,
  withoutFollowUps,
} from '../api';
import { isPlainObject } from '../api/convert';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface Decoded {
  object: KubeObject;
  warnings: string[];
  /** Type errors found while decoding, reported with validation's (as one 422) or alone (400). */
  conversionErrors: FieldError[];
}

/** Decodes a request body as an object of `info`'s kind; throws 400 for what cannot be one. */
export function decodeBody(
  info: ResourceInfo,
  body: unknown,
  fieldValidation: FieldValidation = 'Warn',
  path: { namespace?: string; name?: string } = {},
): Decoded {
  if (!isPlainObject(body))
    throw newBadRequest(`the request body must be a JSON or YAML object, not ${describe(body)}`);
  const apiVersion = body.apiVersion ?? info.apiVersion;
  const kind = body.kind ?? info.kind;
  if (apiVersion !== info.apiVersion || kind !== info.kind) {
    throw newBadRequest(
      `${String(kind)} in version "${String(apiVersion)}" cannot be handled as a ${info.kind}: ` +
        `the ${info.resource} endpoint takes ${info.apiVersion} ${info.kind} objects`,
    );
  }
  const conversion = fromUnstructured(info.schema, { ...body, apiVersion, kind });
  const warnings: string[] = [];
  if (conversion.unknownFields.length > 0) {
    if (fieldValidation === 'Strict') throw newBadRequest(strictDecodingError(conversion.unknownFields));
    if (fieldValidation === 'Warn') warnings.push(...conversion.unknownFields.map(unknownFieldMessage));
  }
  const object = conversion.value as KubeObject;
  object.metadata ??= {};
  if (info.namespaced && path.namespace !== undefined) {
    if (object.metadata.namespace && object.metadata.namespace !== path.namespace) {
      throw newBadRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    object.metadata.namespace = path.namespace;
  }
  if (!info.namespaced) delete object.metadata.namespace;
  if (path.name !== undefined && object.metadata.name !== path.name) {
    throw newBadRequest(
      `the name of the object (${object.metadata.name ?? ''}) does not match the name on the URL (${path.name})`,
    );
  }
  return { object: applyDefaults(object), warnings, conversionErrors: conversion.errors };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}

/** Throws 422 with every problem of `object` (or of replacing `previous` with it). */
export function mustBeValid(info: ResourceInfo, decoded: Decoded, previous?: KubeObject): void {
  const problems = previous ? validateUpdate(previous, decoded.object) : validate(decoded.object);
  const errors = [...decoded.conversionErrors, ...withoutFollowUps(problems, decoded.conversionErrors)];
  if (errors.length > 0) throw newInvalid(info, decoded.object.metadata.name ?? '', errors);
}

/** Kinds whose spec changes bump metadata.generation (what controllers' observedGeneration follows). */
export function tracksGeneration(info: ResourceInfo): boolean {
  return info.group === 'apps' || info.kind === 'Pod';
}

function specOf(object: KubeObject): unknown {
  return (object as { spec?: unknown }).spec;
}

function statusOf(object: KubeObject): unknown {
  return (object as { status?: unknown }).status;
}

function setStatus(object: KubeObject, status: unknown): void {
  const holder = object as { status?: unknown };
  if (status === undefined) delete holder.status;
  else holder.status = structuredClone(status);
}

/**
 * What the server sets on create whatever the client sent: a status the kind starts with
 * (clients may not create objects with a status of their choosing, except Nodes and Events'
 * kin that have no status subresource).
 */
export function prepareForCreate(info: ResourceInfo, object: KubeObject): void {
  if (tracksGeneration(info)) object.metadata.generation = 1;
  else delete object.metadata.generation;
  switch (object.kind) {
    case 'Pod':
      object.status = { phase: 'Pending', qosClass: qosClassOf(object) };
      break;
    case 'Namespace':
      object.spec = { ...object.spec, finalizers: object.spec?.finalizers ?? ['kubernetes'] };
      object.status = { phase: 'Active' };
      break;
    case 'Deployment':
    case 'ReplicaSet':
    case 'StatefulSet':
      delete object.status;
      break;
    default:
      break;
  }
}

/**
 * What an update may change. Through the main resource: not the status of kinds that have a
 * status subresource, nor a namespace's spec.finalizers. Through /status: only the status.
 * Through a namespace's /finalize: only spec.finalizers. Either way, not what the server owns
 * (uid, creation time, deletion marks), and generation moves when the spec does.
 */
export function prepareForUpdate(
  info: ResourceInfo,
  next: KubeObject,
  previous: KubeObject,
  subresource?: 'status' | 'finalize',
): void {
  if (next.kind === 'Namespace' && previous.kind === 'Namespace') {
    if (subresource === 'finalize') {
      const finalizers = next.spec?.finalizers;
      Object.assign(next, structuredClone(previous));
      next.spec = { ...next.spec, finalizers };
      if (finalizers === undefined) delete next.spec.finalizers;
      return;
    }
    if (subresource !== 'status') {
      next.spec = { ...next.spec, finalizers: previous.spec?.finalizers };
      if (next.spec.finalizers === undefined) delete next.spec.finalizers;
    }
  }
  const meta = next.metadata;
  const prev = previous.metadata;
  meta.uid = prev.uid;
  meta.creationTimestamp = prev.creationTimestamp;
  meta.deletionTimestamp = prev.deletionTimestamp;
  meta.deletionGracePeriodSeconds = prev.deletionGracePeriodSeconds;
  if (meta.deletionTimestamp === undefined) delete meta.deletionTimestamp;
  if (meta.deletionGracePeriodSeconds === undefined) delete meta.deletionGracePeriodSeconds;
  if (subresource === 'status') {
    // A status write keeps everything else as it was, labels and annotations excepted as in Kubernetes.
    const { labels, annotations } = next.metadata;
    const status = statusOf(next);
    Object.assign(next, structuredClone(previous));
    next.metadata.labels = labels;
    next.metadata.annotations = annotations;
    if (labels === undefined) delete next.metadata.labels;
    if (annotations === undefined) delete next.metadata.annotations;
    setStatus(next, status);
    return;
  }
  if (info.subresources.includes('status')) setStatus(next, statusOf(previous));
  if (next.kind === 'Service' && previous.kind === 'Service') keepAllocations(next, previous);
  if (tracksGeneration(info)) {
    const changed = JSON.stringify(specOf(next)) !== JSON.stringify(specOf(previous));
    meta.generation = (prev.generation ?? 1) + (changed ? 1 : 0);
  } else {
    delete meta.generation;
  }
}

/**
 * An update that leaves out what the server allocated (a cluster IP, a port's nodePort) keeps
 * it, as Kubernetes does: clients that never saw those values (a re-applied manifest) must not
 * be taken as asking to change them.
 */
function keepAllocations(
  next: Extract<KubeObject, { kind: 'Service' }>,
  previous: Extract<KubeObject, { kind: 'Service' }>,
): void {
  const spec = (next.spec ??= {});
  if (!spec.clusterIP && previous.spec?.clusterIP) {
    spec.clusterIP = previous.spec.clusterIP;
    spec.clusterIPs = previous.spec.clusterIPs;
  }
  if (spec.clusterIP === previous.spec?.clusterIP && !spec.clusterIPs)
    spec.clusterIPs = previous.spec?.clusterIPs;
  if (!spec.ipFamilies && previous.spec?.ipFamilies) spec.ipFamilies = previous.spec.ipFamilies;
  if (!spec.ipFamilyPolicy && previous.spec?.ipFamilyPolicy)
    spec.ipFamilyPolicy = previous.spec.ipFamilyPolicy;
  for (const port of spec.ports ?? []) {
    if (port.nodePort) continue;
    const same = previous.spec?.ports?.find(
      (p) => p.port === port.port && (p.protocol ?? 'TCP') === (port.protocol ?? 'TCP'),
    );
    if (same?.nodePort) port.nodePort = same.nodePort;
  }
}

/** Kubernetes' QoS class: Guaranteed when every container's requests equal its limits for cpu and memory. */
function qosClassOf(pod: Extract<KubeObject, { kind: 'Pod' }>): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])];
  let anySet = false;
  let guaranteed = true;
  for (const container of containers) {
    const requests = container.resources?.requests ?? {};
    const limits = container.resources?.limits ?? {};
    if (Object.keys(requests).length > 0 || Object.keys(limits).length > 0) anySet = true;
    for (const resource of ['cpu', 'memory']) {
      if (limits[resource] === undefined) guaranteed = false;
      else if (requests[resource] !== undefined && requests[resource] !== limits[resource])
        guaranteed = false;
    }
  }
  if (!anySet) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}
