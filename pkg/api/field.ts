/**
 * Field paths and field errors, as Kubernetes' k8s.io/apimachinery/pkg/util/validation/field:
 * the same error types, the same `toString()` (`spec.replicas: Invalid value: -1: must be
 * greater than or equal to 0`), and the same values in Status causes (`reason` is the type,
 * `message` the body without the field).
 */

/** A path to a field: `spec.template.spec.containers[0].image`, `metadata.labels[app]`. Immutable. */
export class FieldPath {
  private constructor(private readonly text: string) {}

  static root(...names: string[]): FieldPath {
    return new FieldPath('').child(...names);
  }

  child(...names: string[]): FieldPath {
    let text = this.text;
    for (const name of names) text = text === '' ? name : `${text}.${name}`;
    return new FieldPath(text);
  }

  index(i: number): FieldPath {
    return new FieldPath(`${this.text}[${i}]`);
  }

  /** A map key, written `[key]` as Kubernetes does (`data[config.yaml]`). */
  key(key: string): FieldPath {
    return new FieldPath(`${this.text}[${key}]`);
  }

  toString(): string {
    return this.text;
  }
}

export type FieldErrorType =
  | 'FieldValueNotFound'
  | 'FieldValueRequired'
  | 'FieldValueDuplicate'
  | 'FieldValueInvalid'
  | 'FieldValueNotSupported'
  | 'FieldValueForbidden'
  | 'FieldValueTooLong'
  | 'FieldValueTooMany'
  | 'InternalError'
  | 'FieldValueTypeInvalid';

const TYPE_TEXT: Record<FieldErrorType, string> = {
  FieldValueNotFound: 'Not found',
  FieldValueRequired: 'Required value',
  FieldValueDuplicate: 'Duplicate value',
  FieldValueInvalid: 'Invalid value',
  FieldValueNotSupported: 'Unsupported value',
  FieldValueForbidden: 'Forbidden',
  FieldValueTooLong: 'Too long',
  FieldValueTooMany: 'Too many',
  InternalError: 'Internal error',
  FieldValueTypeInvalid: 'Invalid value',
};

/** Types whose message never shows the value (Kubernetes omits it for these). */
const VALUE_HIDDEN: ReadonlySet<FieldErrorType> = new Set([
  'FieldValueRequired',
  'FieldValueForbidden',
  'FieldValueTooLong',
  'InternalError',
]);

/**
 * A value printed as is, unquoted: what Kubernetes prints for values that implement
 * fmt.Stringer (IntOrString, Quantity), e.g. `maxSurge: Invalid value: 150%: ...`.
 */
export class Unquoted {
  constructor(readonly text: string) {}
}

/** Marks a FieldValueTooMany error whose count is not known. */
const OMITTED = Symbol('omitted');

type FieldLike = FieldPath | string;

export class FieldError {
  constructor(
    readonly type: FieldErrorType,
    readonly field: string,
    readonly badValue: unknown,
    readonly detail: string,
  ) {}

  static notFound(field: FieldLike, value: unknown, detail = ''): FieldError {
    return new FieldError('FieldValueNotFound', String(field), value, detail);
  }

  static required(field: FieldLike, detail = ''): FieldError {
    return new FieldError('FieldValueRequired', String(field), '', detail);
  }

  static duplicate(field: FieldLike, value: unknown, detail = ''): FieldError {
    return new FieldError('FieldValueDuplicate', String(field), value, detail);
  }

  static invalid(field: FieldLike, value: unknown, detail: string): FieldError {
    return new FieldError('FieldValueInvalid', String(field), value, detail);
  }

  /** The value did not have the type the schema asks for (a string where an integer belongs). */
  static typeInvalid(field: FieldLike, value: unknown, detail: string): FieldError {
    return new FieldError('FieldValueTypeInvalid', String(field), value, detail);
  }

  static notSupported(field: FieldLike, value: unknown, validValues: readonly string[]): FieldError {
    const detail =
      validValues.length > 0
        ? `supported values: ${validValues.map((v) => JSON.stringify(v)).join(', ')}`
        : '';
    return new FieldError('FieldValueNotSupported', String(field), value, detail);
  }

  static forbidden(field: FieldLike, detail: string): FieldError {
    return new FieldError('FieldValueForbidden', String(field), '', detail);
  }

  static tooLong(field: FieldLike, maxLength: number): FieldError {
    return new FieldError('FieldValueTooLong', String(field), '', `must have at most ${maxLength} bytes`);
  }

  /** `actual` negative when the count is not known, as in Kubernetes. */
  static tooMany(field: FieldLike, actual: number, max: number): FieldError {
    const detail = max >= 0 ? `must have at most ${max} items` : 'has too many items';
    return new FieldError('FieldValueTooMany', String(field), actual >= 0 ? actual : OMITTED, detail);
  }

  static internal(field: FieldLike, error: Error): FieldError {
    return new FieldError('InternalError', String(field), null, error.message);
  }

  /** The message without the field: `Invalid value: "Foo": a lowercase RFC 1123 ...`. */
  body(): string {
    let text = TYPE_TEXT[this.type];
    if (!VALUE_HIDDEN.has(this.type) && this.badValue !== OMITTED) text += `: ${formatValue(this.badValue)}`;
    if (this.detail !== '') text += `: ${this.detail}`;
    return text;
  }

  /** `field: body`, exactly as Kubernetes' field.Error.Error() (just the body for the root). */
  toString(): string {
    return this.field === '' ? this.body() : `${this.field}: ${this.body()}`;
  }
}

/**
 * Formats a bad value the way Go's ErrorBody does: strings quoted, numbers and booleans bare,
 * null as `null`, string slices in Go syntax (`[]string{"a", "b"}`); any other object as JSON,
 * where Go would print its internal struct syntax. Label maps are printed in Go syntax when
 * wrapped with `stringMapValue`.
 */
export function formatValue(value: unknown): string {
  if (value instanceof Unquoted) return value.text;
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return String(value);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) {
    return `[]string{${value.map((item) => JSON.stringify(item)).join(', ')}}`;
  }
  return JSON.stringify(value);
}

/** A label map as Go prints it, keys sorted: `map[string]string{"app":"web", "tier":"db"}`. */
export function stringMapValue(map: Readonly<Record<string, string>> | undefined): Unquoted {
  if (map === undefined) return new Unquoted('map[string]string(nil)');
  const entries = Object.keys(map)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${JSON.stringify(map[key])}`);
  return new Unquoted(`map[string]string{${entries.join(', ')}}`);
}

/**
 * The errors as one message, as Kubernetes' ErrorList.ToAggregate().Error(): one error as is,
 * several as `[a, b]`, duplicates removed.
 */
export function aggregateMessage(errors: readonly FieldError[]): string {
  const unique = [...new Set(errors.map((error) => error.toString()))];
  return unique.length === 1 ? unique[0] : `[${unique.join(', ')}]`;
}
