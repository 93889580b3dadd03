/**
 * Validation, as Kubernetes' pkg/apis/{core,apps,coordination}/validation: every error of an
 * object at once, each a FieldError with Kubernetes' field path and wording.
 *
 * Call these on decoded *and defaulted* objects, as the apiserver does: many checks (probe
 * thresholds, protocols, pull policies) assume the defaults are in place, exactly as in
 * Kubernetes. Where bosun checks more than Kubernetes (a StatefulSet's pod template, the
 * NodePort range at validation time), the module that does it says so.
 */
import { FieldError, FieldPath } from './field';
import type { KubeObject } from './types';
import {
  validateDeployment,
  validateDeploymentUpdate,
  validateReplicaSet,
  validateStatefulSet,
  validateStatefulSetUpdate,
} from './validate/apps';
import {
  validateBinding,
  validateEvent,
  validateLease,
  validateNamespace,
  validateNode,
  validateNodeUpdate,
} from './validate/cluster';
import {
  validateConfigMap,
  validateConfigMapUpdate,
  validateSecret,
  validateSecretUpdate,
} from './validate/config';
import { validateEndpointSlice, validateEndpointSliceUpdate } from './validate/discovery';
import { validateObjectMetaUpdate } from './validate/meta';
import { validatePodCreate, validatePodUpdate } from './validate/pod';
import { validateEndpoints, validateService, validateServiceUpdate } from './validate/service';

/** Every problem of an object about to be created. */
export function validate(object: KubeObject): FieldError[] {
  switch (object.kind) {
    case 'Pod':
      return validatePodCreate(object);
    case 'Service':
      return validateService(object);
    case 'Endpoints':
      return validateEndpoints(object);
    case 'ConfigMap':
      return validateConfigMap(object);
    case 'Secret':
      return validateSecret(object);
    case 'Namespace':
      return validateNamespace(object);
    case 'Node':
      return validateNode(object);
    case 'Event':
      return validateEvent(object);
    case 'Binding':
      return validateBinding(object);
    case 'Deployment':
      return validateDeployment(object);
    case 'ReplicaSet':
      return validateReplicaSet(object);
    case 'StatefulSet':
      return validateStatefulSet(object);
    case 'Lease':
      return validateLease(object);
    case 'EndpointSlice':
      return validateEndpointSlice(object);
    default:
      return assertNever(object);
  }
}

function assertNever(value: never): never {
  throw new Error(`validation: unhandled kind ${JSON.stringify((value as { kind?: unknown }).kind)}`);
}

/**
 * Every problem of replacing `previous` with `next`: what may not change (metadata.name,
 * namespace, uid; workload selectors; most of a Pod's spec; a Service's cluster IPs;
 * immutable ConfigMaps and Secrets) and everything `validate` finds in `next`, except the
 * create-only Pod rules (a Pod update goes through its own, stricter, rules).
 *
 * resourceVersion is not checked here: the apiserver compares it itself (409 Conflict).
 */
export function validateUpdate(previous: KubeObject, next: KubeObject): FieldError[] {
  if (previous.kind !== next.kind)
    return [FieldError.invalid(FieldPath.root('kind'), next.kind, 'field is immutable')];
  const updateErrors = ((): FieldError[] => {
    switch (next.kind) {
      case 'Pod':
        return validatePodUpdate(next, previous as typeof next);
      case 'Service':
        return validateServiceUpdate(next, previous as typeof next);
      case 'ConfigMap':
        return [...validateConfigMapUpdate(next, previous as typeof next), ...validate(next)];
      case 'Secret':
        return [...validateSecretUpdate(next, previous as typeof next), ...validate(next)];
      case 'Node':
        return [...validateNodeUpdate(next, previous as typeof next), ...validate(next)];
      case 'Deployment':
      case 'ReplicaSet':
        return [...validateDeploymentUpdate(next, previous as typeof next), ...validate(next)];
      case 'StatefulSet':
        return [...validateStatefulSetUpdate(next, previous as typeof next), ...validate(next)];
      case 'EndpointSlice':
        return [
          ...validateEndpointSliceUpdate(next, previous as typeof next),
          ...validateObjectMetaUpdate(next.metadata, previous.metadata, FieldPath.root('metadata')),
          ...validate(next),
        ];
      default:
        return [
          ...validateObjectMetaUpdate(next.metadata, previous.metadata, FieldPath.root('metadata')),
          ...validate(next),
        ];
    }
  })();
  return dedupe(updateErrors);
}

/** The same error found by two checks is reported once, as Kubernetes' aggregate does. */
function dedupe(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((error) => {
    const key = `${error.type}\u0000${error.toString()}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The validation errors that say something new after a conversion failed: a value that could
 * not be read was dropped (or zeroed), so what validation then says at or below that field
 * (`Required value` for the dropped `containers`) only repeats the conversion error.
 */
export function withoutFollowUps(
  validationErrors: readonly FieldError[],
  conversionErrors: readonly FieldError[],
): FieldError[] {
  const unreadable = conversionErrors.map((error) => error.field);
  return validationErrors.filter(
    (error) =>
      !unreadable.some(
        (field) =>
          error.field === field || error.field.startsWith(`${field}.`) || error.field.startsWith(`${field}[`),
      ),
  );
}
