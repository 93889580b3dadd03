/**
 * Request bodies in `application/vnd.kubernetes.protobuf`, as kubectl's typed clients send built-in
 * kinds (`kubectl create deployment|configmap|secret|service|namespace`): decoded into the same
 * JSON-shaped object a JSON body of that object would parse to, so the body then takes the JSON
 * path (schema decoding, defaulting, validation, admission) unchanged.
 *
 * The body is the magic `k8s\0` and a runtime.Unknown envelope: typeMeta {apiVersion, kind}, raw
 * (the object's own message), contentEncoding, contentType. The object's message is walked with the
 * field tables of protobuf-messages.ts. A field number no table knows is a 400 naming the message
 * and the number, never a silent drop: a silently dropped field is a silently different object.
 *
 * Go's generated marshallers write every non-pointer field, zero or not, so the wire cannot tell
 * "unset" from "zero". JSON can: Go omits zero `omitempty` fields. Each table field therefore says
 * whether its zero value is kept (a pointer, or a field without omitempty) or dropped, and the
 * decoder reproduces what Go's JSON encoder would have written for the same struct.
 */
import { newBadRequest } from '../api';
import { MESSAGES_BY_KIND, DELETE_OPTIONS, LIST } from './protobuf-messages';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

/** The four bytes every Kubernetes protobuf body starts with. */
const MAGIC = Uint8Array.of(0x6b, 0x38, 0x73, 0x00);

// ---- Field descriptors (the tables are in protobuf-messages.ts) ----

/** How a field's payload maps to JSON. */
export type FieldKind =
  | { type: 'string' }
  /** A single `bytes` field: base64 in JSON, as Go's []byte. */
  | { type: 'bytes' }
  | { type: 'int32' }
  | { type: 'int64' }
  | { type: 'bool' }
  /** metav1.Time: {seconds, nanos} → RFC 3339 with second precision; an empty message is the zero time. */
  | { type: 'time' }
  /** metav1.MicroTime: as Time, with microseconds. */
  | { type: 'microTime' }
  /** resource.Quantity: {string} → its string. */
  | { type: 'quantity' }
  /** intstr.IntOrString: {type, intVal, strVal} → a number or a string. */
  | { type: 'intOrString' }
  /** metav1.FieldsV1: {Raw} → the JSON object Raw holds. */
  | { type: 'fieldsV1' }
  /** runtime.RawExtension: {raw} → the object raw holds, JSON or a nested protobuf envelope. */
  | { type: 'rawExtension' }
  | { type: 'message'; message: MessageType }
  /** map<string, V>: repeated entries {key = 1, value = 2}. */
  | { type: 'map'; value: 'string' | 'bytes' | 'quantity' }
  /**
   * A field bosun knows but does not decode from protobuf (legacy cloud volume sources, which
   * bosun accepts as free-form JSON and cannot run): a 400 that says so.
   */
  | { type: 'unsupported' };

export interface FieldSpec {
  /** The JSON name; for an inlined field (`json:",inline"`) the Go field name, used in errors. */
  readonly name: string;
  readonly kind: FieldKind;
  readonly repeated?: boolean;
  /** A zero value is written to JSON (a Go pointer, or a field without omitempty). */
  readonly keep?: boolean;
  /** The message's fields merge into the parent object, as an embedded Go struct's do in JSON. */
  readonly inline?: boolean;
}

export interface MessageType {
  /** The Go type name, for error messages (`Container`, `ObjectMeta`). */
  readonly name: string;
  readonly fields: ReadonlyMap<number, FieldSpec>;
}

// ---- Wire format ----

export const WireType = { Varint: 0, Fixed64: 1, LengthDelimited: 2, Fixed32: 5 } as const;
type WireTypeNumber = (typeof WireType)[keyof typeof WireType];

const WIRE_TYPE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32'];

/** A malformed or unexpected body; the decoder turns it into a 400 with the path of the field. */
export class ProtobufError extends Error {}

/** A varint as two unsigned 32-bit halves, so 64-bit values survive until they are interpreted. */
interface Varint {
  lo: number;
  hi: number;
}

/** One field as read off the wire, before its table says what it means. */
type RawField =
  | { wireType: typeof WireType.Varint; value: Varint }
  | { wireType: typeof WireType.LengthDelimited; value: Uint8Array }
  | { wireType: typeof WireType.Fixed32; value: Uint8Array }
  | { wireType: typeof WireType.Fixed64; value: Uint8Array };

/** Reads the protobuf wire format: tags, varints, length-delimited and fixed-width payloads. */
export class ProtoReader {
  private pos = 0;

  constructor(private readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  varint(): Varint {
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.bytes.length) throw new ProtobufError('truncated varint');
      const byte = this.bytes[this.pos++];
      const bits = byte & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if ((byte & 0x80) === 0) return { lo: lo >>> 0, hi: hi >>> 0 };
    }
    throw new ProtobufError('varint longer than 10 bytes');
  }

  /** A tag: field number and wire type. */
  tag(): { field: number; wireType: number } {
    const { lo, hi } = this.varint();
    if (hi !== 0 || lo >>> 3 === 0)
      throw new ProtobufError(`invalid field number ${hi * 2 ** 29 + (lo >>> 3)}`);
    return { field: lo >>> 3, wireType: lo & 7 };
  }

  take(length: number): Uint8Array {
    if (length > this.bytes.length - this.pos)
      throw new ProtobufError(
        `truncated: a ${length}-byte field at offset ${this.pos} runs past the end (${this.bytes.length - this.pos} bytes left)`,
      );
    const slice = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return slice;
  }

  lengthDelimited(): Uint8Array {
    const { lo, hi } = this.varint();
    if (hi !== 0) throw new ProtobufError('length-delimited field longer than 4 GiB');
    return this.take(lo);
  }

  field(): { field: number } & RawField {
    const { field, wireType } = this.tag();
    switch (wireType) {
      case WireType.Varint:
        return { field, wireType, value: this.varint() };
      case WireType.LengthDelimited:
        return { field, wireType, value: this.lengthDelimited() };
      case WireType.Fixed32:
        return { field, wireType, value: this.take(4) };
      case WireType.Fixed64:
        return { field, wireType, value: this.take(8) };
      default:
        throw new ProtobufError(`field ${field} has wire type ${wireType}, which Kubernetes never uses`);
    }
  }
}

function int32Of(v: Varint): number {
  // int32 is sign-extended to 64 bits on the wire; its low half is the value.
  return v.lo | 0;
}

function int64Of(v: Varint): number {
  if (v.hi & 0x80000000) return -((~v.hi >>> 0) * 2 ** 32 + (~v.lo >>> 0) + 1);
  return v.hi * 2 ** 32 + v.lo;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function stringOf(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ProtobufError('a string field is not valid UTF-8');
  }
}

// ---- Decoding ----

type JsonObject = Record<string, unknown>;

/** Where a field sits in the object, for error messages (`spec.template.spec.containers[0]`). */
function child(path: string, name: string): string {
  return path ? `${path}.${name}` : name;
}

function expectWireType(raw: RawField, expected: WireTypeNumber, message: MessageType, field: number): void {
  if (raw.wireType !== expected)
    throw new ProtobufError(
      `field ${field} of ${message.name} has wire type ${WIRE_TYPE_NAMES[raw.wireType]}, expected ${WIRE_TYPE_NAMES[expected]}`,
    );
}

function isZero(value: unknown): boolean {
  return value === '' || value === 0 || value === false;
}

function timeOf(bytes: Uint8Array, micro: boolean): string | undefined {
  // An empty message is Go's zero time, which JSON writes as null: no value.
  if (bytes.length === 0) return undefined;
  const timestamp = decodeMessage(bytes, TIMESTAMP, '');
  const seconds = (timestamp.seconds as number | undefined) ?? 0;
  const nanos = (timestamp.nanos as number | undefined) ?? 0;
  const iso = new Date(seconds * 1000).toISOString(); // 2006-01-02T15:04:05.000Z
  if (!micro) return iso.replace(/\.\d{3}Z$/, 'Z');
  const micros = String(Math.floor(nanos / 1000)).padStart(6, '0');
  return iso.replace(/\.\d{3}Z$/, `.${micros}Z`);
}

function intOrStringOf(bytes: Uint8Array): number | string {
  const value = decodeMessage(bytes, INT_OR_STRING, '');
  return value.type === 1 ? ((value.strVal as string | undefined) ?? '') : ((value.intVal as number) ?? 0);
}

function quantityOf(bytes: Uint8Array): string | undefined {
  const value = decodeMessage(bytes, QUANTITY, '');
  return value.string as string | undefined;
}

function jsonOf(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(stringOf(bytes));
  } catch (error) {
    throw new ProtobufError(`${what} does not hold JSON: ${(error as Error).message}`);
  }
}

/** The JSON value of one non-repeated occurrence of a field, or undefined for Go's "no value". */
function scalarValue(
  raw: RawField,
  spec: FieldSpec,
  message: MessageType,
  field: number,
  path: string,
): unknown {
  const kind = spec.kind;
  switch (kind.type) {
    case 'int32':
      expectWireType(raw, WireType.Varint, message, field);
      return int32Of(raw.value as Varint);
    case 'int64':
      expectWireType(raw, WireType.Varint, message, field);
      return int64Of(raw.value as Varint);
    case 'bool':
      expectWireType(raw, WireType.Varint, message, field);
      return (raw.value as Varint).lo !== 0 || (raw.value as Varint).hi !== 0;
    default:
      break;
  }
  expectWireType(raw, WireType.LengthDelimited, message, field);
  const bytes = raw.value as Uint8Array;
  switch (kind.type) {
    case 'string':
      return stringOf(bytes);
    case 'bytes':
      return Buffer.from(bytes).toString('base64');
    case 'time':
      return timeOf(bytes, false);
    case 'microTime':
      return timeOf(bytes, true);
    case 'quantity':
      return quantityOf(bytes);
    case 'intOrString':
      return intOrStringOf(bytes);
    case 'fieldsV1': {
      const raw = onlyBytesField(bytes, 'FieldsV1', path);
      return raw === undefined ? undefined : jsonOf(raw, `${message.name}.${spec.name}`);
    }
    case 'rawExtension': {
      const raw = onlyBytesField(bytes, 'RawExtension', path);
      if (raw === undefined) return undefined;
      return hasMagic(raw) ? decodeEnvelope(raw, path) : jsonOf(raw, `${message.name}.${spec.name}`);
    }
    case 'message':
      return decodeMessage(bytes, kind.message, path);
    case 'map':
    case 'unsupported':
      throw new Error(`unreachable: ${kind.type} is handled by decodeMessage`);
  }
}

const MAP_ENTRY_VALUE: Record<'string' | 'bytes' | 'quantity', FieldKind> = {
  string: { type: 'string' },
  bytes: { type: 'bytes' },
  quantity: { type: 'quantity' },
};

/** The message of one map's entries, made once per map field. */
const entryTypes = new WeakMap<FieldSpec, MessageType>();

function mapEntry(
  raw: RawField,
  spec: FieldSpec & { kind: { type: 'map' } },
  message: MessageType,
  field: number,
) {
  expectWireType(raw, WireType.LengthDelimited, message, field);
  let entryType = entryTypes.get(spec);
  if (!entryType) {
    entryType = {
      name: `${message.name}.${spec.name} entry`,
      fields: new Map<number, FieldSpec>([
        [1, { name: 'key', kind: { type: 'string' }, keep: true }],
        [2, { name: 'value', kind: MAP_ENTRY_VALUE[spec.kind.value], keep: true }],
      ]),
    };
    entryTypes.set(spec, entryType);
  }
  const entry = decodeMessage(raw.value as Uint8Array, entryType, '');
  // A map value is never omitted in JSON; proto omits nothing either, but an absent value is zero.
  const zero = spec.kind.value === 'quantity' ? '0' : '';
  return { key: (entry.key as string | undefined) ?? '', value: entry.value ?? zero };
}

/** Repeated numbers may come packed (one length-delimited run of varints) or one per tag. */
function repeatedNumbers(raw: RawField, spec: FieldSpec, message: MessageType, field: number): unknown[] {
  const convert =
    spec.kind.type === 'bool'
      ? (v: Varint) => v.lo !== 0 || v.hi !== 0
      : spec.kind.type === 'int32'
        ? int32Of
        : int64Of;
  if (raw.wireType === WireType.Varint) return [convert(raw.value)];
  expectWireType(raw, WireType.LengthDelimited, message, field);
  const reader = new ProtoReader(raw.value);
  const values: unknown[] = [];
  while (!reader.done) values.push(convert(reader.varint()));
  return values;
}

/**
 * Decodes one message into a JSON-shaped object (or into `into`, for inlined messages). Repeated
 * fields append, maps collect entries, a message that occurs twice merges, a scalar's last value
 * wins: protobuf's own rules, which Go's unmarshaller follows.
 */
export function decodeMessage(
  bytes: Uint8Array,
  message: MessageType,
  path: string,
  into: JsonObject = {},
): JsonObject {
  const reader = new ProtoReader(bytes);
  while (!reader.done) {
    const raw = reader.field();
    const spec = message.fields.get(raw.field);
    if (!spec)
      throw new ProtobufError(
        `unknown field number ${raw.field} (wire type ${WIRE_TYPE_NAMES[raw.wireType]}) in message ${message.name}${path ? ` at ${path}` : ''}`,
      );
    const fieldPath = child(path, spec.name);
    const kind = spec.kind;
    if (kind.type === 'unsupported')
      throw new ProtobufError(
        `${message.name}.${spec.name} (field ${raw.field}) is not supported in protobuf bodies by bosun; send this object as JSON`,
      );
    if (spec.inline) {
      expectWireType(raw, WireType.LengthDelimited, message, raw.field);
      if (kind.type !== 'message')
        throw new Error(`inline field ${message.name}.${spec.name} is not a message`);
      decodeMessage(raw.value as Uint8Array, kind.message, path, into);
      continue;
    }
    if (kind.type === 'map') {
      const { key, value } = mapEntry(raw, spec as FieldSpec & { kind: { type: 'map' } }, message, raw.field);
      const map = (into[spec.name] ??= {}) as JsonObject;
      map[key] = value;
      continue;
    }
    if (spec.repeated) {
      const list = (into[spec.name] ??= []) as unknown[];
      if (kind.type === 'int32' || kind.type === 'int64' || kind.type === 'bool') {
        list.push(...repeatedNumbers(raw, spec, message, raw.field));
      } else {
        const value = scalarValue(raw, spec, message, raw.field, `${fieldPath}[${list.length}]`);
        // Repeated elements are never omitted: a zero element is still an element.
        list.push(value ?? (kind.type === 'message' ? {} : null));
      }
      continue;
    }
    if (
      kind.type === 'message' &&
      raw.wireType === WireType.LengthDelimited &&
      into[spec.name] !== undefined
    ) {
      decodeMessage(raw.value, kind.message, fieldPath, into[spec.name] as JsonObject);
      continue;
    }
    const value = scalarValue(raw, spec, message, raw.field, fieldPath);
    if (value === undefined || (!spec.keep && isZero(value))) delete into[spec.name];
    else into[spec.name] = value;
  }
  return into;
}

function fields(entries: [number, FieldSpec][]): ReadonlyMap<number, FieldSpec> {
  return new Map(entries);
}

/** metav1.Time and MicroTime on the wire (both are google.protobuf.Timestamp-shaped). */
const TIMESTAMP: MessageType = {
  name: 'Timestamp',
  fields: fields([
    [1, { name: 'seconds', kind: { type: 'int64' } }],
    [2, { name: 'nanos', kind: { type: 'int32' } }],
  ]),
};

const INT_OR_STRING: MessageType = {
  name: 'IntOrString',
  fields: fields([
    [1, { name: 'type', kind: { type: 'int64' } }],
    [2, { name: 'intVal', kind: { type: 'int32' } }],
    [3, { name: 'strVal', kind: { type: 'string' } }],
  ]),
};

const QUANTITY: MessageType = {
  name: 'Quantity',
  fields: fields([[1, { name: 'string', kind: { type: 'string' } }]]),
};

/**
 * Field 1 of a message that has nothing else (FieldsV1 {Raw}, RawExtension {raw}): the bytes as
 * they are, not base64, since they are read, not written to JSON.
 */
function onlyBytesField(bytes: Uint8Array, name: string, path: string): Uint8Array | undefined {
  const reader = new ProtoReader(bytes);
  let value: Uint8Array | undefined;
  while (!reader.done) {
    const raw = reader.field();
    if (raw.field !== 1)
      throw new ProtobufError(
        `unknown field number ${raw.field} (wire type ${WIRE_TYPE_NAMES[raw.wireType]}) in message ${name}${path ? ` at ${path}` : ''}`,
      );
    if (raw.wireType !== WireType.LengthDelimited)
      throw new ProtobufError(
        `field 1 of ${name} has wire type ${WIRE_TYPE_NAMES[raw.wireType]}, expected length-delimited`,
      );
    value = raw.value;
  }
  return value;
}

const TYPE_META: MessageType = {
  name: 'runtime.TypeMeta',
  fields: fields([
    [1, { name: 'apiVersion', kind: { type: 'string' } }],
    [2, { name: 'kind', kind: { type: 'string' } }],
  ]),
};

interface Envelope {
  apiVersion: string;
  kind: string;
  /** The object's own message. */
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

/** runtime.Unknown {typeMeta = 1, raw = 2, contentEncoding = 3, contentType = 4}: every body's envelope. */
function readEnvelope(bytes: Uint8Array, path: string): Envelope {
  const envelope: Envelope = {
    apiVersion: '',
    kind: '',
    raw: new Uint8Array(),
    contentEncoding: '',
    contentType: '',
  };
  const reader = new ProtoReader(bytes);
  while (!reader.done) {
    const field = reader.field();
    if (field.field < 1 || field.field > 4)
      throw new ProtobufError(
        `unknown field number ${field.field} (wire type ${WIRE_TYPE_NAMES[field.wireType]}) in message runtime.Unknown`,
      );
    if (field.wireType !== WireType.LengthDelimited)
      throw new ProtobufError(
        `field ${field.field} of runtime.Unknown has wire type ${WIRE_TYPE_NAMES[field.wireType]}, expected length-delimited`,
      );
    if (field.field === 1) {
      const typeMeta = decodeMessage(field.value, TYPE_META, path) as { apiVersion?: string; kind?: string };
      envelope.apiVersion = typeMeta.apiVersion ?? '';
      envelope.kind = typeMeta.kind ?? '';
    } else if (field.field === 2) envelope.raw = field.value;
    else if (field.field === 3) envelope.contentEncoding = stringOf(field.value);
    else envelope.contentType = stringOf(field.value);
  }
  return envelope;
}

function hasMagic(body: Uint8Array): boolean {
  return body.length >= MAGIC.length && MAGIC.every((byte, i) => body[i] === byte);
}

/** The message table of an apiVersion and kind, if bosun decodes that kind from protobuf. */
export function messageFor(apiVersion: string, kind: string): MessageType | undefined {
  // DeleteOptions is registered in every group version, and clients encode it with theirs.
  if (kind === 'DeleteOptions') return DELETE_OPTIONS;
  if (kind === 'List' && apiVersion === 'v1') return LIST;
  return MESSAGES_BY_KIND.get(`${apiVersion}/${kind}`);
}

function decodeEnvelope(body: Uint8Array, path: string): JsonObject {
  if (!hasMagic(body))
    throw new ProtobufError('the body does not start with the Kubernetes protobuf magic bytes "k8s\\0"');
  const { apiVersion, kind, raw, contentEncoding, contentType } = readEnvelope(
    body.subarray(MAGIC.length),
    path,
  );
  if (contentEncoding)
    throw new ProtobufError(`content encoding ${JSON.stringify(contentEncoding)} is not supported`);
  if (contentType && contentType !== PROTOBUF_MEDIA_TYPE)
    throw new ProtobufError(`the envelope's content type ${JSON.stringify(contentType)} is not protobuf`);
  if (!kind) throw new ProtobufError('the envelope names no kind (typeMeta.kind is empty)');
  const message = messageFor(apiVersion, kind);
  if (!message)
    throw new ProtobufError(
      `bosun does not decode ${apiVersion || '(no apiVersion)'} ${kind} from protobuf; send it as JSON`,
    );
  return { apiVersion, kind, ...decodeMessage(raw, message, path) };
}

/**
 * The JSON-shaped object of a Kubernetes protobuf body: what the same object sent as JSON would
 * parse to. A malformed body, an unknown kind or an unknown field is a 400 that says which.
 */
export function decodeKubernetesProtobuf(body: Uint8Array): JsonObject {
  try {
    return decodeEnvelope(body, '');
  } catch (error) {
    if (error instanceof ProtobufError)
      throw newBadRequest(`the protobuf body is not a valid Kubernetes object: ${error.message}`);
    throw error;
  }
}
