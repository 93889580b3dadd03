/** meta/v1: ObjectMeta, ListMeta, OwnerReference, LabelSelector, Status, DeleteOptions, Condition, lists. */
import {
  array,
  boolean,
  enumeration,
  freeForm,
  Infer,
  int32,
  int64,
  literal,
  map,
  mergeList,
  object,
  string,
  time,
  TypedSchema,
} from '../schema';

export const OwnerReferenceSchema = object(
  {
    apiVersion: string(),
    kind: string(),
    name: string(),
    uid: string(),
    controller: boolean(),
    blockOwnerDeletion: boolean(),
  },
  { required: ['apiVersion', 'kind', 'name', 'uid'] },
);
export type OwnerReference = Infer<typeof OwnerReferenceSchema>;

export const ManagedFieldsEntrySchema = object({
  manager: string(),
  operation: string(),
  apiVersion: string(),
  time: time(),
  fieldsType: string(),
  fieldsV1: freeForm(),
  subresource: string(),
});
export type ManagedFieldsEntry = Infer<typeof ManagedFieldsEntrySchema>;

export const ObjectMetaSchema = object({
  name: string(),
  generateName: string(),
  namespace: string(),
  selfLink: string(),
  uid: string(),
  resourceVersion: string(),
  generation: int64(),
  creationTimestamp: time(),
  deletionTimestamp: time(),
  deletionGracePeriodSeconds: int64(),
  labels: map(string()),
  annotations: map(string()),
  ownerReferences: mergeList(OwnerReferenceSchema, 'uid', { listType: 'map', listMapKeys: ['uid'] }),
  finalizers: array(string(), { patchStrategy: 'merge', listType: 'set' }),
  managedFields: array(ManagedFieldsEntrySchema),
});
export type ObjectMeta = Infer<typeof ObjectMetaSchema>;

export const ListMetaSchema = object({
  selfLink: string(),
  resourceVersion: string(),
  continue: string(),
  remainingItemCount: int64(),
});
export type ListMeta = Infer<typeof ListMetaSchema>;

export const LabelSelectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

export const LabelSelectorRequirementSchema = object(
  {
    key: string(),
    operator: enumeration(LabelSelectorOperators),
    values: array(string(), { listType: 'atomic' }),
  },
  { required: ['key', 'operator'] },
);
export type LabelSelectorRequirement = Infer<typeof LabelSelectorRequirementSchema>;

export const LabelSelectorSchema = object({
  matchLabels: map(string()),
  matchExpressions: array(LabelSelectorRequirementSchema, { listType: 'atomic' }),
});
export type LabelSelector = Infer<typeof LabelSelectorSchema>;

/** metav1.Condition, used by newer APIs (Service status). */
export const ConditionSchema = object(
  {
    type: string(),
    status: enumeration(['True', 'False', 'Unknown']),
    observedGeneration: int64(),
    lastTransitionTime: time(),
    reason: string(),
    message: string(),
  },
  { required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'] },
);
export type Condition = Infer<typeof ConditionSchema>;

export const StatusCauseSchema = object({ reason: string(), message: string(), field: string() });
export type StatusCause = Infer<typeof StatusCauseSchema>;

export const StatusDetailsSchema = object({
  name: string(),
  group: string(),
  kind: string(),
  uid: string(),
  causes: array(StatusCauseSchema, { listType: 'atomic' }),
  retryAfterSeconds: int32(),
});
export type StatusDetails = Infer<typeof StatusDetailsSchema>;

export const StatusSchema = object(
  {
    apiVersion: literal('v1'),
    kind: literal('Status'),
    metadata: ListMetaSchema,
    status: enumeration(['Success', 'Failure']),
    message: string(),
    reason: string(),
    details: StatusDetailsSchema,
    code: int32(),
  },
  { required: ['apiVersion', 'kind', 'metadata'] },
);
export type Status = Infer<typeof StatusSchema>;

export const DeleteOptionsSchema = object({
  apiVersion: string(),
  kind: string(),
  gracePeriodSeconds: int64(),
  preconditions: object({ uid: string(), resourceVersion: string() }),
  orphanDependents: boolean(),
  propagationPolicy: enumeration(['Orphan', 'Background', 'Foreground']),
  dryRun: array(string(), { listType: 'atomic' }),
});
export type DeleteOptions = Infer<typeof DeleteOptionsSchema>;

/** A `v1 List`: items of any kind (runtime.RawExtension), expanded by the decoder. */
export const ListSchema = object(
  {
    apiVersion: literal('v1'),
    kind: literal('List'),
    metadata: ListMetaSchema,
    items: array(freeForm()),
  },
  { required: ['apiVersion', 'kind', 'metadata', 'items'] },
);
export type List = Infer<typeof ListSchema>;

/** A typed list (PodList, DeploymentList, ...): the shape every list response has. */
export interface KubeList<T> {
  apiVersion: string;
  kind: string;
  metadata: ListMeta;
  items: T[];
}

/** The schema of `<Kind>List` for an item schema; used by the registry and the decoder. */
export function listSchemaOf<T>(itemSchema: TypedSchema<T>): TypedSchema<KubeList<T>> {
  return object(
    { apiVersion: string(), kind: string(), metadata: ListMetaSchema, items: array(itemSchema) },
    { required: ['apiVersion', 'kind', 'metadata', 'items'] },
  ) as unknown as TypedSchema<KubeList<T>>;
}

type TopLevelFields<V extends string, K extends string> = {
  apiVersion: TypedSchema<V>;
  kind: TypedSchema<K>;
  metadata: typeof ObjectMetaSchema;
};

/**
 * A top-level object: `apiVersion` and `kind` fixed to this type's, `metadata`, and the
 * type's own fields. apiVersion, kind and metadata are always present once decoded.
 */
export function kubeObject<
  const V extends string,
  const K extends string,
  F extends Record<string, TypedSchema<unknown>>,
  R extends keyof F & string = never,
>(apiVersion: V, kind: K, fields: F, options: { required?: readonly R[] } = {}) {
  const top: TopLevelFields<V, K> = {
    apiVersion: literal(apiVersion),
    kind: literal(kind),
    metadata: ObjectMetaSchema,
  };
  return object<TopLevelFields<V, K> & F, 'apiVersion' | 'kind' | 'metadata' | R>(
    { ...top, ...fields },
    { required: ['apiVersion', 'kind', 'metadata', ...(options.required ?? [])] },
  );
}
