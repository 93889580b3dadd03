/**
 * pkg/api: the Kubernetes object model bosun speaks. Everything else in bosun imports from
 * here, and only from here (not from the files behind it).
 *
 * The pipeline for an object coming from a user:
 *   decodeManifests (text) or fromUnstructured (parsed JSON) → applyDefaults → validate
 * and on update validateUpdate(previous, next). Errors become API errors (`newInvalid(info,
 * name, fieldErrors)`) whose `toStatus()` is the response body.
 */
export * from './types';

export { childSchema, patchMetaAt, schemaAt } from './schema';
export type { Infer, PatchMeta, PatchStrategy, Schema, TypedSchema } from './schema';
export { toOpenAPI } from './openapi';
export type { OpenAPISchema } from './openapi';

export { aggregateMessage, FieldError, FieldPath, formatValue, stringMapValue, Unquoted } from './field';
export type { FieldErrorType } from './field';
export { fromUnstructured, zeroValue } from './convert';
export type { Conversion } from './convert';

export {
  findResource,
  isNamespacedKind,
  lookupResource,
  objectDisplayName,
  qualifiedKind,
  qualifiedResource,
  resolveKind,
  resolveListKind,
  resourceFor,
  RESOURCES,
  UnknownResourceError,
} from './registry';
export type { KindResolution, ResourceInfo, Subresource, Verb } from './registry';

export {
  decodeManifests,
  decodeValue,
  displayName,
  formatLocation,
  strictDecodingError,
  unknownFieldMessage,
} from './decode';
export type { DecodeOptions, ManifestEntry, ManifestLocation } from './decode';

export {
  applyDefaults,
  DEFAULT_NAMESPACE,
  DEFAULT_SCHEDULER_NAME,
  DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS,
  imageTag,
  NAMESPACE_NAME_LABEL,
} from './defaults';

export { validate, validateUpdate, withoutFollowUps } from './validation';
export {
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isLabelKey,
  isLabelValue,
  isQualifiedName,
} from './validate/names';

export * from './errors';

export { canonicalQuantity, parseQuantity, Quantity, QuantityParseError, tryParseQuantity } from './quantity';
export type { QuantityFormat } from './quantity';

export {
  labelSelectorMatches,
  parseSelector,
  Requirement,
  Selector,
  selectorFromLabelSelector,
  SelectorParseError,
} from './selector';
export type { Labels, Operator } from './selector';
export {
  escapeFieldSelectorValue,
  FieldSelector,
  FieldSelectorError,
  parseFieldSelector,
  selectableFields,
} from './field-selector';
export type { FieldRequirement, FieldSelectorOperator } from './field-selector';

export {
  annotationsOf,
  generateName,
  getControllerOf,
  isControlledBy,
  labelsOf,
  newControllerRef,
  objectKey,
  splitObjectKey,
} from './meta';
export type { HasMetadata } from './meta';
export { IntOrPercentError, scaledValueFromIntOrPercent } from './intstr';
export {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  PatchError,
  threeWayApplyPatch,
} from './patch';
export type { JsonPatchOperation } from './patch';
