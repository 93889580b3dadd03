/**
 * The three patch formats of the Kubernetes API, applied to plain JSON values:
 * JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch, whose list
 * handling comes from the schema's patch metadata (containers merged by `name`, ports by
 * `containerPort`, ...). None of them mutates its inputs.
 */
import { childSchema, Schema } from './schema';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** A patch that cannot be applied; the apiserver answers 422 (or 400 for a malformed patch) with it. */
export class PatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatchError';
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

// ---- JSON merge patch (RFC 7386) ----

export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return clone(patch);
  const result: JsonObject = isObject(target) ? { ...(clone(target) as JsonObject) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value) as Json;
  }
  return result;
}

// ---- JSON patch (RFC 6902) ----

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/'))
    throw new PatchError(`invalid JSON pointer "${pointer}": must start with "/"`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(container: Json[], token: string, pointer: string, forInsert: boolean): number {
  if (forInsert && token === '-') return container.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token))
    throw new PatchError(`invalid array index "${token}" in "${pointer}"`);
  const index = Number(token);
  const limit = forInsert ? container.length : container.length - 1;
  if (index > limit) throw new PatchError(`array index ${index} out of bounds in "${pointer}"`);
  return index;
}

/** The container (object or array) holding the last token of `pointer`, and that token. */
function parentOf(document: Json, pointer: string): { parent: Json[] | JsonObject; token: string } {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchError('the root cannot be the target of this operation');
  let current: Json = document;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(current)) current = current[arrayIndex(current, token, pointer, false)];
    else if (isObject(current) && token in current) current = current[token];
    else throw new PatchError(`path "${pointer}" does not exist`);
  }
  if (!Array.isArray(current) && !isObject(current)) throw new PatchError(`path "${pointer}" does not exist`);
  return { parent: current, token: tokens[tokens.length - 1] };
}

function getAt(document: Json, pointer: string): Json {
  let current: Json = document;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(current)) current = current[arrayIndex(current, token, pointer, false)];
    else if (isObject(current) && token in current) current = current[token];
    else throw new PatchError(`path "${pointer}" does not exist`);
  }
  return current;
}

function removeAt(document: Json, pointer: string): Json {
  const { parent, token } = parentOf(document, pointer);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(parent, token, pointer, false), 1)[0];
  if (!(token in parent)) throw new PatchError(`path "${pointer}" does not exist`);
  const removed = parent[token];
  delete parent[token];
  return removed;
}

function addAt(document: Json, pointer: string, value: Json): Json {
  if (pointer === '') return value;
  const { parent, token } = parentOf(document, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, token, pointer, true), 0, value);
  else parent[token] = value;
  return document;
}

export function applyJsonPatch(target: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) throw new PatchError('a JSON patch must be an array of operations');
  let document = clone(target) as Json;
  operations.forEach((raw, i) => {
    if (!isObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new PatchError(`operation ${i}: must be an object with "op" and "path"`);
    }
    const operation = raw as unknown as JsonPatchOperation;
    const value = clone(operation.value) as Json;
    switch (operation.op) {
      case 'add':
        document = addAt(document, operation.path, value);
        break;
      case 'remove':
        removeAt(document, operation.path);
        break;
      case 'replace':
        if (operation.path === '') document = value;
        else {
          getAt(document, operation.path);
          removeAt(document, operation.path);
          document = addAt(document, operation.path, value);
        }
        break;
      case 'move':
      case 'copy': {
        if (typeof operation.from !== 'string')
          throw new PatchError(`operation ${i}: "${operation.op}" needs "from"`);
        const moved =
          operation.op === 'move'
            ? removeAt(document, operation.from)
            : clone(getAt(document, operation.from));
        document = addAt(document, operation.path, moved);
        break;
      }
      case 'test':
        if (JSON.stringify(getAt(document, operation.path)) !== JSON.stringify(value)) {
          throw new PatchError(`testing value ${operation.path} failed`);
        }
        break;
      default:
        throw new PatchError(`operation ${i}: unknown op "${String((raw as { op: unknown }).op)}"`);
    }
  });
  return document;
}

// ---- Strategic merge patch ----

const DIRECTIVE = '$patch';
const SET_ELEMENT_ORDER = '$setElementOrder/';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList/';
const RETAIN_KEYS = '$retainKeys';

/**
 * Applies a strategic merge patch as Kubernetes does for built-in types: objects merge
 * field by field (null deletes); lists marked `patchStrategy: merge` merge item by item on
 * their merge key (or as a set for lists of primitives), others are replaced; and the
 * directives kubectl sends are honoured: `$patch: replace|delete|merge`,
 * `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>` and `$retainKeys`.
 */
export function applyStrategicMergePatch(
  target: unknown,
  patch: unknown,
  schema: Schema | undefined,
): unknown {
  if (!isObject(patch)) throw new PatchError('a strategic merge patch must be a JSON object');
  return mergeObject(isObject(target) ? (clone(target) as JsonObject) : {}, patch, schema);
}

function mergeObject(target: JsonObject, patch: JsonObject, schema: Schema | undefined): JsonObject {
  const directive = patch[DIRECTIVE];
  if (directive === 'replace') {
    const replaced = clone(patch);
    delete replaced[DIRECTIVE];
    return replaced;
  }
  if (directive !== undefined && directive !== 'merge') {
    throw new PatchError(`unknown patch directive "${String(directive)}" for an object`);
  }
  const result = target;
  const retainKeys = patch[RETAIN_KEYS];
  for (const [key, value] of Object.entries(patch)) {
    if (key === DIRECTIVE || key === RETAIN_KEYS || key.startsWith(SET_ELEMENT_ORDER)) continue;
    if (key.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      const list = key.slice(DELETE_FROM_PRIMITIVE_LIST.length);
      if (!Array.isArray(value)) throw new PatchError(`${key} must be a list`);
      const current = result[list];
      if (Array.isArray(current)) {
        const removed = new Set(value.map((v) => JSON.stringify(v)));
        result[list] = current.filter((item) => !removed.has(JSON.stringify(item)));
      }
      continue;
    }
    const fieldSchema = schema && childSchema(schema, key);
    if (value === null) {
      delete result[key];
    } else if (isObject(value)) {
      if (value[DIRECTIVE] === 'delete') delete result[key];
      else result[key] = mergeObject(isObject(result[key]) ? result[key] : {}, value, fieldSchema);
    } else if (Array.isArray(value)) {
      result[key] = mergeList(result[key], value, fieldSchema);
    } else {
      result[key] = value;
    }
  }
  for (const [key, order] of Object.entries(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER) || !Array.isArray(order)) continue;
    const list = key.slice(SET_ELEMENT_ORDER.length);
    const fieldSchema = schema && childSchema(schema, list);
    if (Array.isArray(result[list])) result[list] = reorder(result[list] as Json[], order, fieldSchema);
  }
  if (Array.isArray(retainKeys)) {
    for (const key of Object.keys(result)) if (!retainKeys.includes(key)) delete result[key];
  }
  return result;
}

function mergeKeyOf(schema: Schema | undefined): string | undefined {
  return schema?.kind === 'array' && schema.patchStrategy?.includes('merge')
    ? (schema.patchMergeKey ?? '')
    : undefined;
}

function mergeList(target: Json | undefined, patch: Json[], schema: Schema | undefined): Json[] {
  const mergeKey = mergeKeyOf(schema);
  const replace = patch.find(
    (item) => isObject(item) && item[DIRECTIVE] === 'replace' && Object.keys(item).length === 1,
  );
  if (mergeKey === undefined || replace !== undefined) {
    return clone(patch.filter((item) => item !== replace));
  }
  const current = Array.isArray(target) ? target : [];
  const items = schema?.kind === 'array' ? schema.items : undefined;
  if (mergeKey === '') {
    // A list of primitives merged as a set (finalizers): patch values are added if missing.
    const result = [...current];
    for (const value of patch)
      if (!result.some((item) => JSON.stringify(item) === JSON.stringify(value))) result.push(value);
    return result;
  }
  const result = [...current];
  for (const item of patch) {
    if (!isObject(item)) throw new PatchError(`list items merged on "${mergeKey}" must be objects`);
    const key = item[mergeKey];
    if (key === undefined)
      throw new PatchError(`map: ${JSON.stringify(item)} does not contain declared merge key: ${mergeKey}`);
    const index = result.findIndex((existing) => isObject(existing) && existing[mergeKey] === key);
    if (item[DIRECTIVE] === 'delete') {
      if (index >= 0) result.splice(index, 1);
      continue;
    }
    if (index >= 0) result[index] = mergeObject(clone(result[index] as JsonObject), item, items);
    else result.push(mergeObject({}, item, items));
  }
  return result;
}

/** Orders a merged list as `$setElementOrder` says; items it does not name keep their place after. */
function reorder(list: Json[], order: Json[], schema: Schema | undefined): Json[] {
  const mergeKey = mergeKeyOf(schema);
  const keyOf = (item: Json) => JSON.stringify(mergeKey && isObject(item) ? item[mergeKey] : item);
  const position = new Map(
    order.map((entry, i) => [JSON.stringify(mergeKey && isObject(entry) ? entry[mergeKey] : entry), i]),
  );
  const named = list.filter((item) => position.has(keyOf(item)));
  const others = list.filter((item) => !position.has(keyOf(item)));
  named.sort((a, b) => position.get(keyOf(a))! - position.get(keyOf(b))!);
  return [...named, ...others];
}

// ---- three-way merge for apply ----

/**
 * The strategic merge patch that `apply` sends: what the manifest says (`modified`), plus the
 * deletion of whatever the previously applied manifest (`original`, from the
 * last-applied-configuration annotation) had and this one no longer has. Fields the manifest
 * never mentioned (set by the server or by other writers) are left alone, as kubectl does.
 */
export function threeWayApplyPatch(
  original: unknown,
  modified: unknown,
  schema: Schema | undefined,
): JsonObject {
  if (!isObject(modified)) throw new PatchError('an applied manifest must be an object');
  return withDeletions(isObject(original) ? original : {}, clone(modified) as JsonObject, schema);
}

function withDeletions(original: JsonObject, patch: JsonObject, schema: Schema | undefined): JsonObject {
  for (const [key, before] of Object.entries(original)) {
    const fieldSchema = schema && childSchema(schema, key);
    if (!(key in patch)) {
      patch[key] = null;
      continue;
    }
    const after = patch[key];
    if (isObject(before) && isObject(after)) {
      patch[key] = withDeletions(before, after, fieldSchema);
    } else if (Array.isArray(before) && Array.isArray(after)) {
      const mergeKey = mergeKeyOf(fieldSchema);
      if (!mergeKey) continue; // replaced whole (or a set of primitives merged by value)
      const items = fieldSchema?.kind === 'array' ? fieldSchema.items : undefined;
      const list = after as Json[];
      for (const item of before) {
        if (!isObject(item)) continue;
        const match = list.find((candidate) => isObject(candidate) && candidate[mergeKey] === item[mergeKey]);
        if (match === undefined) list.push({ [mergeKey]: item[mergeKey], [DIRECTIVE]: 'delete' });
        else list[list.indexOf(match)] = withDeletions(item, match as JsonObject, items);
      }
    }
  }
  return patch;
}
