/**
 * Unstructured JSON to typed objects, guided by a schema: what Go's JSON decoder does for
 * Kubernetes' typed structs, with the errors made useful.
 *
 * - A value of the wrong type is a FieldError with its path (`spec.replicas: Invalid value:
 *   "three": must be an integer`); conversion goes on, so every such error is reported at once.
 * - A field the schema does not know is dropped and listed in `unknownFields`
 *   (`spec.template.spec.containers[0].imagePullPolicyy`), which is what the apiserver needs
 *   for `fieldValidation=Strict` (an error) and `Warn` (a warning).
 * - `null` means "not set", as in Go: the field is left out.
 * - A required field that is absent gets its zero value (see schema.ts).
 */
import { FieldError, FieldPath, Unquoted } from './field';
import { parseQuantity, QuantityParseError } from './quantity';
import { Infer, Schema, TypedSchema } from './schema';

export interface Conversion<T> {
  value: T;
  errors: FieldError[];
  /** Paths of fields the schema does not know, in document order. */
  unknownFields: string[];
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

export function fromUnstructured<S extends TypedSchema<unknown>>(
  schema: S,
  raw: unknown,
  path: FieldPath = FieldPath.root(),
): Conversion<Infer<S>> {
  const errors: FieldError[] = [];
  const unknownFields: string[] = [];
  const converted =
    raw === null || raw === undefined ? undefined : convert(schema, raw, path, errors, unknownFields);
  // Something unreadable at the top still yields a value of the right shape; the error says why.
  const value = converted === undefined ? zeroValue(schema) : converted;
  return { value: value as Infer<S>, errors, unknownFields };
}

/** The value Go leaves in a non-pointer field that the JSON did not set. */
export function zeroValue(schema: Schema): unknown {
  switch (schema.kind) {
    case 'string':
      return schema.enum?.length === 1 ? schema.enum[0] : '';
    case 'int':
    case 'int-or-string':
      return 0;
    case 'boolean':
      return false;
    case 'quantity':
      return '0';
    case 'array':
      return [];
    case 'map':
    case 'free-form':
      return {};
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const name of schema.required) out[name] = zeroValue(schema.fields[name]);
      return out;
    }
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** Returns the converted value, or undefined after recording an error. */
function convert(
  schema: Schema,
  raw: unknown,
  path: FieldPath,
  errors: FieldError[],
  unknown: string[],
): unknown {
  switch (schema.kind) {
    case 'string': {
      if (typeof raw !== 'string') {
        errors.push(FieldError.typeInvalid(path, printable(raw), 'must be a string'));
        return undefined;
      }
      const badByte = schema.format === 'byte' ? invalidBase64Offset(raw) : undefined;
      if (badByte !== undefined) {
        // The value may be a secret: never echo it.
        errors.push(FieldError.invalid(path, REDACTED, `illegal base64 data at input byte ${badByte}`));
        return undefined;
      }
      return raw;
    }
    case 'int':
      return convertInt(schema.format, raw, path, errors);
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      errors.push(FieldError.typeInvalid(path, printable(raw), 'must be a boolean'));
      return undefined;
    case 'quantity':
      return convertQuantity(raw, path, errors);
    case 'int-or-string':
      if (typeof raw === 'string' || (typeof raw === 'number' && Number.isInteger(raw))) return raw;
      errors.push(FieldError.typeInvalid(path, printable(raw), 'must be an integer or a string'));
      return undefined;
    case 'free-form':
      // A copy: the result never shares structure with the input.
      if (isPlainObject(raw)) return structuredClone(raw);
      errors.push(FieldError.typeInvalid(path, printable(raw), 'must be an object'));
      return undefined;
    case 'array': {
      if (!Array.isArray(raw)) {
        errors.push(FieldError.typeInvalid(path, printable(raw), 'must be an array'));
        return undefined;
      }
      return raw.map((item, i) =>
        item === null ? zeroValue(schema.items) : convert(schema.items, item, path.index(i), errors, unknown),
      );
    }
    case 'map': {
      if (!isPlainObject(raw)) {
        errors.push(FieldError.typeInvalid(path, printable(raw), 'must be an object'));
        return undefined;
      }
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(raw)) {
        if (item === null || item === undefined) continue;
        const converted = convert(schema.values, item, path.key(key), errors, unknown);
        if (converted !== undefined) out[key] = converted;
      }
      return out;
    }
    case 'object': {
      if (!isPlainObject(raw)) {
        errors.push(FieldError.typeInvalid(path, printable(raw), 'must be an object'));
        return undefined;
      }
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(raw)) {
        const fieldSchema = Object.prototype.hasOwnProperty.call(schema.fields, key)
          ? schema.fields[key]
          : undefined;
        if (!fieldSchema) {
          unknown.push(path.child(key).toString());
          continue;
        }
        if (item === null || item === undefined) continue;
        const converted = convert(fieldSchema, item, path.child(key), errors, unknown);
        if (converted !== undefined) out[key] = converted;
      }
      for (const name of schema.required) {
        if (!(name in out)) out[name] = zeroValue(schema.fields[name]);
      }
      return out;
    }
  }
}

function convertInt(
  format: 'int32' | 'int64',
  raw: unknown,
  path: FieldPath,
  errors: FieldError[],
): number | undefined {
  if (typeof raw !== 'number' || !Number.isInteger(raw)) {
    errors.push(FieldError.typeInvalid(path, printable(raw), 'must be an integer'));
    return undefined;
  }
  if (format === 'int32' && (raw < INT32_MIN || raw > INT32_MAX)) {
    errors.push(
      FieldError.typeInvalid(path, raw, `must be an integer between ${INT32_MIN} and ${INT32_MAX}`),
    );
    return undefined;
  }
  return raw;
}

/** Quantities are kept as the string given (a number becomes its decimal string). */
function convertQuantity(raw: unknown, path: FieldPath, errors: FieldError[]): string | undefined {
  if (typeof raw !== 'string' && typeof raw !== 'number') {
    errors.push(
      FieldError.typeInvalid(
        path,
        printable(raw),
        'must be a quantity (a string such as "500m" or "128Mi", or a number)',
      ),
    );
    return undefined;
  }
  const text = String(raw);
  try {
    parseQuantity(text.trim());
  } catch (error) {
    if (!(error instanceof QuantityParseError)) throw error;
    errors.push(FieldError.invalid(path, text, error.reason));
    return undefined;
  }
  return text;
}

const REDACTED = new Unquoted('"<redacted>"');
const BASE64_ALPHABET = /[A-Za-z0-9+/]/;

/**
 * Where standard, padded base64 goes wrong, as Go's decoder reports it (the offset of a bad
 * character, or of an incomplete final group); undefined when it is valid. Line breaks are
 * skipped, as Go skips them.
 */
export function invalidBase64Offset(text: string): number | undefined {
  let groupStart = 0;
  let inGroup = 0;
  let padding = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\r' || ch === '\n') continue;
    if (inGroup === 0) groupStart = i;
    if (ch === '=') {
      // Padding only fills the last one or two places of the final group.
      if (inGroup < 2) return i;
      padding += 1;
    } else if (!BASE64_ALPHABET.test(ch) || padding > 0) {
      return i;
    }
    inGroup = (inGroup + 1) % 4;
    if (inGroup === 0 && padding > 0) {
      const rest = text.slice(i + 1).replace(/[\r\n]/g, '');
      if (rest !== '') return i + 1;
    }
  }
  return inGroup === 0 ? undefined : groupStart;
}

/** Objects and arrays are shown as `{...}` and `[...]`: a whole subtree would make the message unreadable. */
function printable(raw: unknown): unknown {
  if (Array.isArray(raw)) return new Unquoted('[...]');
  if (isPlainObject(raw)) return new Unquoted('{...}');
  return raw;
}
