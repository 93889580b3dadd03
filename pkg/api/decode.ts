/**
 * Manifests to typed objects: JSON, or YAML with any number of `---` separated documents;
 * `kind: List` (and typed lists such as PodList) expanded into their items; empty documents
 * skipped. Every problem is returned, none thrown, so a caller can report all of them.
 *
 * Where a problem is: `source` is the file name (`-` for stdin), `document` is the 1-based
 * position of the YAML document in the file, counting empty documents too, so "document 3"
 * is the third `---` section; a JSON file is document 1. Inside a List, `item` is the 0-based
 * index in `items`, printed as `items[2]` like any field path. Parse errors also give the
 * 1-based line and column.
 *
 * YAML is read with YAML 1.1 rules, as Kubernetes' own parser (go-yaml v2) reads it:
 * `defaultMode: 0644` is octal 420 and `on`/`yes` are booleans; timestamps stay strings.
 */
import { LineCounter, parseAllDocuments, type Tags } from 'yaml';
import { fromUnstructured, isPlainObject } from './convert';
import { FieldError } from './field';
import { resolveKind, resolveListKind, ResourceInfo } from './registry';
import type { KubeObject } from './types';

export interface ManifestLocation {
  /** The file name as given, or `-` for stdin. */
  source: string;
  /** 1-based YAML document number. */
  document: number;
  /** 0-based index in the `items` of a List, when the object came from one. */
  item?: number;
}

/** `deploy.yaml: document 2` or `list.yaml: document 1, items[3]`. */
export function formatLocation(location: ManifestLocation): string {
  const item = location.item === undefined ? '' : `, items[${location.item}]`;
  return `${location.source}: document ${location.document}${item}`;
}

export type ManifestEntry =
  /** A known kind, converted; `errors` are type errors (the object holds what could be read). */
  | {
      type: 'object';
      location: ManifestLocation;
      info: ResourceInfo;
      object: KubeObject;
      /** The object exactly as written (what `apply` sends and records as last applied). */
      raw: Record<string, unknown>;
      errors: FieldError[];
      unknownFields: string[];
    }
  /** An object whose apiVersion/kind is missing or not served: `errors` say which and what is. */
  | { type: 'unknown-kind'; location: ManifestLocation; kind: string; name: string; errors: FieldError[] }
  /** Text that is not a manifest at all. */
  | { type: 'parse-error'; location: ManifestLocation; line?: number; column?: number; message: string };

export interface DecodeOptions {
  /** How to read the text; by default JSON when it looks like JSON (or the file ends in .json), else YAML. */
  format?: 'json' | 'yaml';
}

/** Every object, and every problem, in the text of one file (or stdin), in document order. */
export function decodeManifests(text: string, source: string, options: DecodeOptions = {}): ManifestEntry[] {
  const format = options.format ?? (source.endsWith('.json') || looksLikeJson(text) ? 'json' : 'yaml');
  return format === 'json' ? decodeJson(text, source) : decodeYaml(text, source);
}

/** A document that starts with `{` and parses as JSON is JSON (YAML would read it too, more leniently). */
function looksLikeJson(text: string): boolean {
  if (!text.trimStart().startsWith('{')) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function decodeJson(text: string, source: string): ManifestEntry[] {
  const location: ManifestLocation = { source, document: 1 };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    const problem = locateJsonError(text);
    return [
      { type: 'parse-error', location, line: problem.line, column: problem.column, message: problem.message },
    ];
  }
  return placed(decodeValue(value, location), 1, 1);
}

/** Problems found after parsing have no position of their own: they get the document's. */
function placed(entries: ManifestEntry[], line: number, column: number): ManifestEntry[] {
  return entries.map((entry) =>
    entry.type === 'parse-error' && entry.line === undefined ? { ...entry, line, column } : entry,
  );
}

/** The YAML 1.1 types go-yaml v2 resolves; no timestamps, sexagesimal numbers, sets or binary. */
function goYamlTags(tags: Tags): Tags {
  const kept = new Set(['map', 'seq', 'str', 'null', 'bool', 'int', 'float', 'merge']);
  return tags.filter((tag) => {
    if (typeof tag === 'string') return false;
    return kept.has(tag.tag.slice(tag.tag.lastIndexOf(':') + 1)) && tag.format !== 'TIME';
  });
}

function decodeYaml(text: string, source: string): ManifestEntry[] {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, {
    version: '1.1',
    customTags: goYamlTags,
    lineCounter,
    prettyErrors: false,
  });
  // An empty text yields an `EmptyStream`, which is iterable but holds no documents.
  const entries: ManifestEntry[] = [];
  [...documents].forEach((document, index) => {
    const location: ManifestLocation = { source, document: index + 1 };
    if (document.errors.length > 0) {
      const error = document.errors[0];
      const position = lineCounter.linePos(error.pos[0]);
      entries.push({
        type: 'parse-error',
        location,
        line: position.line,
        column: position.col,
        message: error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''),
      });
      return;
    }
    const value: unknown = document.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return;
    const start = lineCounter.linePos(document.contents?.range?.[0] ?? document.range[0]);
    entries.push(...placed(decodeValue(value, location), start.line, start.col));
  });
  return entries;
}

/** One parsed document: an object, or a List of them. */
export function decodeValue(value: unknown, location: ManifestLocation): ManifestEntry[] {
  if (!isPlainObject(value)) {
    return [
      { type: 'parse-error', location, message: `expected a Kubernetes object, found ${describe(value)}` },
    ];
  }
  const listInfo = resolveListKind(value.apiVersion, value.kind);
  if ((value.kind === 'List' && value.apiVersion === 'v1') || listInfo) {
    if (!Array.isArray(value.items)) {
      return [{ type: 'parse-error', location, message: `a ${String(value.kind)} must have an items array` }];
    }
    return value.items.map((item, index) => {
      const itemLocation = { ...location, item: index };
      // Items of a typed list may leave out apiVersion and kind, as the API serves them.
      const withType =
        listInfo && isPlainObject(item)
          ? { apiVersion: listInfo.apiVersion, kind: listInfo.kind, ...item }
          : item;
      return isPlainObject(withType)
        ? decodeObject(withType, itemLocation)
        : ({
            type: 'parse-error',
            location: itemLocation,
            message: `expected a Kubernetes object, found ${describe(item)}`,
          } as const);
    });
  }
  return [decodeObject(value, location)];
}

function decodeObject(raw: Record<string, unknown>, location: ManifestLocation): ManifestEntry {
  const resolution = resolveKind(raw.apiVersion, raw.kind);
  if (!resolution.ok) {
    return {
      type: 'unknown-kind',
      location,
      kind: displayKind(raw),
      name: displayName(raw),
      errors: resolution.errors,
    };
  }
  const { value, errors, unknownFields } = fromUnstructured(resolution.info.schema, raw);
  return {
    type: 'object',
    location,
    info: resolution.info,
    object: value as KubeObject,
    raw,
    errors,
    unknownFields,
  };
}

function displayKind(raw: Record<string, unknown>): string {
  return typeof raw.kind === 'string' && raw.kind !== '' ? raw.kind : '<no kind>';
}

/** The name as written in a manifest, for messages: the name, `generateName*`, or `<no name>`. */
export function displayName(raw: unknown): string {
  const metadata = isPlainObject(raw) && isPlainObject(raw.metadata) ? raw.metadata : {};
  if (typeof metadata.name === 'string' && metadata.name !== '') return metadata.name;
  if (typeof metadata.generateName === 'string' && metadata.generateName !== '')
    return `${metadata.generateName}*`;
  return '<no name>';
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return `a ${typeof value} (${JSON.stringify(value)})`;
}

/** Unknown fields as Kubernetes reports them under fieldValidation=Strict. */
export function strictDecodingError(unknownFields: readonly string[]): string {
  return `strict decoding error: ${unknownFields.map(unknownFieldMessage).join(', ')}`;
}

/** `unknown field "spec.foo"`: the message of one unknown field, also the Warn-mode warning text. */
export function unknownFieldMessage(path: string): string {
  return `unknown field ${JSON.stringify(path)}`;
}

interface JsonProblem {
  line: number;
  column: number;
  message: string;
}

/**
 * Where JSON.parse failed. V8's messages do not always carry a position, so the text is
 * scanned again with a small recursive-descent reader that stops at the first error.
 */
export function locateJsonError(text: string): JsonProblem {
  let pos = 0;
  const fail = (expected: string): never => {
    const found = pos >= text.length ? 'end of input' : JSON.stringify(text[pos]);
    throw new JsonSyntaxError(pos, `invalid JSON: expected ${expected}, found ${found}`);
  };
  const skipSpace = (): void => {
    while (pos < text.length && ' \t\r\n'.includes(text[pos])) pos += 1;
  };
  const literal = (word: string): void => {
    if (!text.startsWith(word, pos)) fail('a value');
    pos += word.length;
  };
  const string = (): void => {
    pos += 1;
    while (pos < text.length && text[pos] !== '"') {
      if (text[pos] === '\\') pos += 1;
      else if (text.charCodeAt(pos) < 0x20) fail("a closing '\"'");
      pos += 1;
    }
    if (pos >= text.length) fail("a closing '\"'");
    pos += 1;
  };
  const number = (): void => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(pos));
    if (!match || match[0] === '' || match[0] === '-') fail('a value');
    pos += match![0].length;
  };
  const value = (): void => {
    skipSpace();
    const ch = text[pos];
    if (ch === '{') {
      pos += 1;
      skipSpace();
      if (text[pos] === '}') {
        pos += 1;
        return;
      }
      for (;;) {
        skipSpace();
        if (text[pos] !== '"') fail('a property name in double quotes');
        string();
        skipSpace();
        if (text[pos] !== ':') fail("':'");
        pos += 1;
        value();
        skipSpace();
        if (text[pos] === ',') {
          pos += 1;
          continue;
        }
        if (text[pos] === '}') {
          pos += 1;
          return;
        }
        fail("',' or '}'");
      }
    }
    if (ch === '[') {
      pos += 1;
      skipSpace();
      if (text[pos] === ']') {
        pos += 1;
        return;
      }
      for (;;) {
        value();
        skipSpace();
        if (text[pos] === ',') {
          pos += 1;
          continue;
        }
        if (text[pos] === ']') {
          pos += 1;
          return;
        }
        fail("',' or ']'");
      }
    }
    if (ch === '"') return string();
    if (ch === 't') return literal('true');
    if (ch === 'f') return literal('false');
    if (ch === 'n') return literal('null');
    return number();
  };
  try {
    value();
    skipSpace();
    if (pos < text.length) fail('end of input');
    return { ...positionOf(text, text.length), message: 'invalid JSON' };
  } catch (error) {
    if (!(error instanceof JsonSyntaxError)) throw error;
    return { ...positionOf(text, error.offset), message: error.message };
  }
}

class JsonSyntaxError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

function positionOf(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}
