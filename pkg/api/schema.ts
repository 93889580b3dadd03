/**
 * The schema DSL: one runtime description per Kubernetes type, from which everything else
 * is derived: the TypeScript type (`Infer<typeof PodSchema>`), strict decoding with unknown
 * field detection and type errors (convert.ts), strategic-merge-patch list metadata
 * (`patchStrategy`/`patchMergeKey`, as in Kubernetes' Go struct tags) and OpenAPI
 * (openapi.ts). A field is described once, here; nothing else restates it.
 *
 * Conventions, following the Go types of k8s.io/api:
 * - Fields are optional unless listed in `required`. A required field is one Kubernetes
 *   serialises without `omitempty` and that is not a pointer: decoding fills it with its zero
 *   value when absent ('' / 0 / false / [] / {}), exactly as Go's JSON decoder leaves the zero
 *   value in place, so `pod.spec.containers` is always an array and validation, not decoding,
 *   reports `spec.containers: Required value`.
 * - `enumeration([...])` gives the TypeScript type a union of the supported values. Decoding
 *   does not enforce it (Kubernetes does not either: defaulting runs first, and validation
 *   reports `Unsupported value` with the field's own list), so a value that has not been
 *   validated yet may hold another string.
 */

declare const inferred: unique symbol;

/** Carries the TypeScript type a schema describes. Type-level only; never present at run time. */
export interface Typed<T> {
  readonly [inferred]: T;
}

/** The TypeScript type described by a schema. */
export type Infer<S> = S extends Typed<infer T> ? T : never;

export interface StringNode {
  readonly kind: 'string';
  /** Supported values, in the order Kubernetes lists them in `Unsupported value` messages. */
  readonly enum?: readonly string[];
  readonly format?: 'date-time' | 'byte';
}
export interface IntNode {
  readonly kind: 'int';
  readonly format: 'int32' | 'int64';
}
export interface BooleanNode {
  readonly kind: 'boolean';
}
/** A resource.Quantity: a string like "500m" or "128Mi"; a JSON number is accepted and kept as its string. */
export interface QuantityNode {
  readonly kind: 'quantity';
}
/** An intstr.IntOrString: an integer or a string (a port name, a percentage). */
export interface IntOrStringNode {
  readonly kind: 'int-or-string';
}
/** An object whose content is not described (runtime.RawExtension, fieldsV1, legacy volume sources). */
export interface FreeFormNode {
  readonly kind: 'free-form';
}

export type PatchStrategy = 'merge' | 'retainKeys' | 'merge,retainKeys' | 'replace';

export interface ArrayNode {
  readonly kind: 'array';
  readonly items: Schema;
  /** Strategic merge patch: how this list is patched; absent means the list is replaced whole. */
  readonly patchStrategy?: PatchStrategy;
  /** Strategic merge patch: the item field that identifies an item (containers by `name`). */
  readonly patchMergeKey?: string;
  /** Server-side apply list type (x-kubernetes-list-type). */
  readonly listType?: 'atomic' | 'set' | 'map';
  readonly listMapKeys?: readonly string[];
}
export interface MapNode {
  readonly kind: 'map';
  readonly values: Schema;
}
export interface ObjectNode {
  readonly kind: 'object';
  readonly fields: Readonly<Record<string, Schema>>;
  readonly required: readonly string[];
}

/** Every schema, as walked at run time. */
export type Schema =
  | StringNode
  | IntNode
  | BooleanNode
  | QuantityNode
  | IntOrStringNode
  | FreeFormNode
  | ArrayNode
  | MapNode
  | ObjectNode;

/** A schema together with the TypeScript type it describes. */
export type TypedSchema<T> = Schema & Typed<T>;
type AnyTyped = Schema & Typed<unknown>;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

export type ObjectOf<F extends Record<string, AnyTyped>, R extends keyof F> = Simplify<
  { -readonly [K in R]: Infer<F[K]> } & { -readonly [K in Exclude<keyof F, R>]?: Infer<F[K]> }
>;

function typed<T>(node: Schema): TypedSchema<T> {
  return node as TypedSchema<T>;
}

export function string(options: { format?: 'date-time' | 'byte' } = {}): StringNode & Typed<string> {
  return typed<string>({ kind: 'string', ...options }) as StringNode & Typed<string>;
}

/** An RFC 3339 timestamp (metav1.Time, metav1.MicroTime). */
export function time(): StringNode & Typed<string> {
  return string({ format: 'date-time' });
}

/** A string with a fixed set of supported values, listed in Kubernetes' order. */
export function enumeration<const E extends string>(values: readonly E[]): StringNode & Typed<E> {
  return typed<E>({ kind: 'string', enum: values }) as StringNode & Typed<E>;
}

/** A string that must hold exactly this value (apiVersion and kind of a top-level type). */
export function literal<const L extends string>(value: L): StringNode & Typed<L> {
  return enumeration([value]);
}

export function int32(): IntNode & Typed<number> {
  return typed<number>({ kind: 'int', format: 'int32' }) as IntNode & Typed<number>;
}

export function int64(): IntNode & Typed<number> {
  return typed<number>({ kind: 'int', format: 'int64' }) as IntNode & Typed<number>;
}

export function boolean(): BooleanNode & Typed<boolean> {
  return typed<boolean>({ kind: 'boolean' }) as BooleanNode & Typed<boolean>;
}

export function quantity(): QuantityNode & Typed<string> {
  return typed<string>({ kind: 'quantity' }) as QuantityNode & Typed<string>;
}

export function intOrString(): IntOrStringNode & Typed<number | string> {
  return typed<number | string>({ kind: 'int-or-string' }) as IntOrStringNode & Typed<number | string>;
}

export function freeForm(): FreeFormNode & Typed<Record<string, unknown>> {
  return typed<Record<string, unknown>>({ kind: 'free-form' }) as FreeFormNode &
    Typed<Record<string, unknown>>;
}

export interface ListOptions {
  patchStrategy?: PatchStrategy;
  patchMergeKey?: string;
  listType?: 'atomic' | 'set' | 'map';
  listMapKeys?: readonly string[];
}

export function array<I extends AnyTyped>(
  items: I,
  options: ListOptions = {},
): ArrayNode & Typed<Infer<I>[]> {
  return typed<Infer<I>[]>({ kind: 'array', items, ...options }) as ArrayNode & Typed<Infer<I>[]>;
}

/** A list merged by strategic merge patch on `key` (containers by name, ports by containerPort, ...). */
export function mergeList<I extends AnyTyped>(
  items: I,
  key: string,
  options: Omit<ListOptions, 'patchMergeKey'> = {},
): ArrayNode & Typed<Infer<I>[]> {
  return array(items, { patchStrategy: 'merge', patchMergeKey: key, ...options });
}

export function map<V extends AnyTyped>(values: V): MapNode & Typed<Record<string, Infer<V>>> {
  return typed<Record<string, Infer<V>>>({ kind: 'map', values }) as MapNode &
    Typed<Record<string, Infer<V>>>;
}

export function object<F extends Record<string, AnyTyped>, R extends keyof F & string = never>(
  fields: F,
  options: { required?: readonly R[] } = {},
): ObjectNode & Typed<ObjectOf<F, R>> {
  return typed<ObjectOf<F, R>>({
    kind: 'object',
    fields,
    required: options.required ?? [],
  }) as ObjectNode & Typed<ObjectOf<F, R>>;
}

// ---- Walking a schema (strategic merge patch, field paths) ----

/** The schema of `key` inside an object (its field) or a map (its values); undefined if unknown. */
export function childSchema(schema: Schema, key: string): Schema | undefined {
  if (schema.kind === 'object')
    return Object.prototype.hasOwnProperty.call(schema.fields, key) ? schema.fields[key] : undefined;
  if (schema.kind === 'map') return schema.values;
  return undefined;
}

export interface PatchMeta {
  patchStrategy?: PatchStrategy;
  patchMergeKey?: string;
}

/**
 * The schema at a dotted field path such as `spec.template.spec.containers`. Lists are
 * stepped through transparently (`spec.containers.ports` is the ports list of a container);
 * `[n]` index segments are ignored for the same reason.
 */
export function schemaAt(schema: Schema, path: string): Schema | undefined {
  const segments = path
    .replace(/\[[^\]]*\]/g, '')
    .split('.')
    .filter((segment) => segment !== '');
  let current: Schema | undefined = schema;
  for (const segment of segments) {
    if (current?.kind === 'array') current = current.items;
    current = current && childSchema(current, segment);
    if (!current) return undefined;
  }
  return current;
}

/**
 * Strategic merge patch metadata of the list at `path`, e.g.
 * `patchMetaAt(DeploymentSchema, 'spec.template.spec.containers')` gives
 * `{patchStrategy: 'merge', patchMergeKey: 'name'}`. Undefined when the path is not a list;
 * `{}` when it is a list that is replaced whole.
 */
export function patchMetaAt(schema: Schema, path: string): PatchMeta | undefined {
  const node = schemaAt(schema, path);
  if (node?.kind !== 'array') return undefined;
  const meta: PatchMeta = {};
  if (node.patchStrategy) meta.patchStrategy = node.patchStrategy;
  if (node.patchMergeKey) meta.patchMergeKey = node.patchMergeKey;
  return meta;
}
