/** ObjectMeta, labels, annotations, owner references and label selectors, as apimachinery validates them. */
import { FieldError, FieldPath } from '../field';
import { Selector, selectorFromLabelSelector, SelectorParseError } from '../selector';
import { isNamespacedKind } from '../registry';
import type { KubeObject, LabelSelector, ObjectMeta, OwnerReference } from '../types';
import {
  isLabelKey,
  isLabelValue,
  isQualifiedName,
  nameIsDNS1035Label,
  nameIsDNSLabel,
  nameIsDNSSubdomain,
  NameValidator,
} from './names';

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;
export const IS_NEGATIVE_MESSAGE = 'must be greater than or equal to 0';
export const FIELD_IMMUTABLE_MESSAGE = 'field is immutable';

export function validateNonnegative(value: number | undefined, path: FieldPath): FieldError[] {
  return value !== undefined && value < 0 ? [FieldError.invalid(path, value, IS_NEGATIVE_MESSAGE)] : [];
}

export function validateLabelName(name: string, path: FieldPath): FieldError[] {
  return isLabelKey(name).map((message) => FieldError.invalid(path, name, message));
}

/** As Kubernetes, every error points at the map itself (`metadata.labels`), not at the key. */
export function validateLabels(
  labels: Readonly<Record<string, string>> | undefined,
  path: FieldPath,
): FieldError[] {
  const errors: FieldError[] = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    errors.push(...validateLabelName(key, path));
    errors.push(...isLabelValue(value).map((message) => FieldError.invalid(path, value, message)));
  }
  return errors;
}

export function validateAnnotations(
  annotations: Readonly<Record<string, string>> | undefined,
  path: FieldPath,
): FieldError[] {
  const errors: FieldError[] = [];
  let totalSize = 0;
  for (const [key, value] of Object.entries(annotations ?? {})) {
    // The rule is the label key rule, but case does not matter.
    errors.push(
      ...isQualifiedName(key.toLowerCase()).map((message) => FieldError.invalid(path, key, message)),
    );
    totalSize += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (totalSize > TOTAL_ANNOTATION_SIZE_LIMIT)
    errors.push(FieldError.tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errors;
}

function validateOwnerReferences(
  references: readonly OwnerReference[] | undefined,
  path: FieldPath,
): FieldError[] {
  const errors: FieldError[] = [];
  let firstController: string | undefined;
  for (const reference of references ?? []) {
    const version = reference.apiVersion.includes('/')
      ? reference.apiVersion.split('/')[1]
      : reference.apiVersion;
    if (!version)
      errors.push(
        FieldError.invalid(path.child('apiVersion'), reference.apiVersion, 'version must not be empty'),
      );
    if (!reference.kind)
      errors.push(FieldError.invalid(path.child('kind'), reference.kind, 'must not be empty'));
    if (!reference.name)
      errors.push(FieldError.invalid(path.child('name'), reference.name, 'must not be empty'));
    if (!reference.uid)
      errors.push(FieldError.invalid(path.child('uid'), reference.uid, 'must not be empty'));
    if (reference.apiVersion === 'v1' && reference.kind === 'Event') {
      errors.push(FieldError.invalid(path, reference, '/v1, Kind=Event is disallowed from being an owner'));
    }
    if (reference.controller) {
      const current = `${reference.kind}/${reference.name}`;
      if (firstController !== undefined) {
        errors.push(
          FieldError.invalid(
            path,
            references,
            `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${current}`,
          ),
        );
      } else {
        firstController = current;
      }
    }
  }
  return errors;
}

const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

export function validateFinalizers(finalizers: readonly string[] | undefined, path: FieldPath): FieldError[] {
  const errors: FieldError[] = [];
  for (const finalizer of finalizers ?? []) {
    errors.push(...isQualifiedName(finalizer).map((message) => FieldError.invalid(path, finalizer, message)));
    if (!finalizer.includes('/') && !STANDARD_FINALIZERS.has(finalizer)) {
      errors.push(
        FieldError.invalid(
          path,
          finalizer,
          'name is neither a standard finalizer name nor is it fully qualified',
        ),
      );
    }
  }
  if (finalizers?.includes('orphan') && finalizers.includes('foregroundDeletion')) {
    errors.push(
      FieldError.invalid(path, finalizers, 'finalizer orphan and foregroundDeletion cannot be both set'),
    );
  }
  return errors;
}

export interface ObjectMetaRules {
  namespaced: boolean;
  name: NameValidator;
}

/**
 * ObjectMeta on create. `generateName` is checked as a prefix; a name is required unless a
 * generateName is given, because the apiserver generates the name before it validates.
 */
export function validateObjectMeta(meta: ObjectMeta, rules: ObjectMetaRules, path: FieldPath): FieldError[] {
  const errors: FieldError[] = [];
  if (meta.generateName) {
    errors.push(
      ...rules
        .name(meta.generateName, true)
        .map((message) => FieldError.invalid(path.child('generateName'), meta.generateName, message)),
    );
  }
  if (!meta.name) {
    if (!meta.generateName)
      errors.push(FieldError.required(path.child('name'), 'name or generateName is required'));
  } else {
    errors.push(
      ...rules
        .name(meta.name, false)
        .map((message) => FieldError.invalid(path.child('name'), meta.name, message)),
    );
  }
  if (rules.namespaced) {
    if (!meta.namespace) errors.push(FieldError.required(path.child('namespace')));
    else
      errors.push(
        ...nameIsDNSLabel(meta.namespace, false).map((message) =>
          FieldError.invalid(path.child('namespace'), meta.namespace, message),
        ),
      );
  } else if (meta.namespace) {
    errors.push(FieldError.forbidden(path.child('namespace'), 'not allowed on this type'));
  }
  errors.push(...validateNonnegative(meta.generation, path.child('generation')));
  errors.push(...validateLabels(meta.labels, path.child('labels')));
  errors.push(...validateAnnotations(meta.annotations, path.child('annotations')));
  errors.push(...validateOwnerReferences(meta.ownerReferences, path.child('ownerReferences')));
  errors.push(...validateFinalizers(meta.finalizers, path.child('finalizers')));
  return errors;
}

/** How each kind's objects must be named, as in Kubernetes; every other kind is a DNS subdomain. */
const NAME_RULES: Partial<Record<KubeObject['kind'], NameValidator>> = {
  Service: nameIsDNS1035Label,
  Namespace: nameIsDNSLabel,
  StatefulSet: nameIsDNSLabel,
};

/** The metadata of a top-level object, with the name rule and the scope of its kind. */
export function validateMetadataOf(object: KubeObject): FieldError[] {
  const rules = {
    namespaced: isNamespacedKind(object.kind),
    name: NAME_RULES[object.kind] ?? nameIsDNSSubdomain,
  };
  return validateObjectMeta(object.metadata, rules, FieldPath.root('metadata'));
}

/** What may not change in ObjectMeta on update. */
export function validateObjectMetaUpdate(
  next: ObjectMeta,
  previous: ObjectMeta,
  path: FieldPath,
): FieldError[] {
  const errors: FieldError[] = [];
  if (previous.deletionTimestamp) {
    const added = (next.finalizers ?? []).filter(
      (finalizer) => !(previous.finalizers ?? []).includes(finalizer),
    );
    if (added.length > 0) {
      errors.push(
        FieldError.forbidden(
          path.child('finalizers'),
          `no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added.sort())}`,
        ),
      );
    }
  }
  if ((next.generation ?? 0) < (previous.generation ?? 0)) {
    errors.push(
      FieldError.invalid(path.child('generation'), next.generation ?? 0, 'must not be decremented'),
    );
  }
  const immutable = [
    'name',
    'namespace',
    'uid',
    'creationTimestamp',
    'deletionTimestamp',
    'deletionGracePeriodSeconds',
  ] as const;
  for (const field of immutable)
    errors.push(...validateImmutable(next[field], previous[field], path.child(field)));
  return errors;
}

export function validateImmutable(next: unknown, previous: unknown, path: FieldPath): FieldError[] {
  return deepEqual(next, previous) ? [] : [FieldError.invalid(path, next ?? '', FIELD_IMMUTABLE_MESSAGE)];
}

/** Structural equality of JSON values; absent and undefined are the same. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) &&
      Array.isArray(b) &&
      a.length === b.length &&
      a.every((item, i) => deepEqual(item, b[i]))
    );
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const recordA = a as Record<string, unknown>;
  const recordB = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(recordA), ...Object.keys(recordB)]);
  for (const key of keys) if (!deepEqual(recordA[key], recordB[key])) return false;
  return true;
}

export interface SelectorRequirementRules {
  /** Node selectors also have Gt and Lt, with exactly one value. */
  numericOperators: boolean;
  /** Whether values must be valid label values (not for preferred node affinity terms). */
  checkValues: boolean;
}

/**
 * One `key operator values` requirement of a label or node selector: In and NotIn need
 * values, Exists and DoesNotExist take none, Gt and Lt (node selectors) take one.
 */
export function validateSelectorRequirement(
  requirement: { key: string; operator: string; values?: readonly string[] },
  rules: SelectorRequirementRules,
  path: FieldPath,
): FieldError[] {
  const errors: FieldError[] = [];
  const values = requirement.values ?? [];
  const valuesPath = path.child('values');
  const invalidOperator = FieldError.invalid(
    path.child('operator'),
    requirement.operator,
    'not a valid selector operator',
  );
  switch (requirement.operator) {
    case 'In':
    case 'NotIn':
      if (values.length === 0)
        errors.push(FieldError.required(valuesPath, "must be specified when `operator` is 'In' or 'NotIn'"));
      break;
    case 'Exists':
    case 'DoesNotExist':
      if (values.length > 0) {
        errors.push(
          FieldError.forbidden(
            valuesPath,
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
          ),
        );
      }
      break;
    case 'Gt':
    case 'Lt':
      // Node selectors only: for a label selector these are not operators at all.
      if (!rules.numericOperators) errors.push(invalidOperator);
      else if (values.length !== 1) {
        errors.push(
          FieldError.required(valuesPath, "must be specified single value when `operator` is 'Lt' or 'Gt'"),
        );
      }
      break;
    default:
      errors.push(invalidOperator);
  }
  errors.push(...validateLabelName(requirement.key, path.child('key')));
  if (rules.checkValues) {
    values.forEach((value, i) => {
      errors.push(
        ...isLabelValue(value).map((message) => FieldError.invalid(valuesPath.index(i), value, message)),
      );
    });
  }
  return errors;
}

export function validateLabelSelector(selector: LabelSelector | undefined, path: FieldPath): FieldError[] {
  if (!selector) return [];
  const errors = validateLabels(selector.matchLabels, path.child('matchLabels'));
  (selector.matchExpressions ?? []).forEach((expression, i) => {
    const rules = { numericOperators: false, checkValues: true };
    errors.push(...validateSelectorRequirement(expression, rules, path.child('matchExpressions').index(i)));
  });
  return errors;
}

/** The selector a LabelSelector means, or undefined when it cannot be built (already reported by validateLabelSelector). */
export function trySelector(selector: LabelSelector | undefined): Selector | undefined {
  try {
    return selectorFromLabelSelector(selector);
  } catch (error) {
    if (error instanceof SelectorParseError) return undefined;
    throw error;
  }
}
