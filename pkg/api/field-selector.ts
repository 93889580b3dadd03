/**
 * Field selectors, as k8s.io/apimachinery/pkg/fields: `metadata.name=web,status.phase!=Running`
 * (`==` for `=`; `\` escapes `,`, `=` and `\` in values), matched against the fields an object
 * exposes for its kind. A field an object does not have reads as '' (so `spec.nodeName=`
 * selects unscheduled pods), and asking for a field the kind does not support is an error,
 * as in the apiserver (`field label not supported: spec.foo`).
 */
import type { KubeObject } from './types';

export type FieldSelectorOperator = '=' | '!=';

export interface FieldRequirement {
  field: string;
  operator: FieldSelectorOperator;
  value: string;
}

export class FieldSelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FieldSelectorError';
  }
}

export class FieldSelector {
  constructor(readonly requirements: readonly FieldRequirement[]) {}

  static everything(): FieldSelector {
    return new FieldSelector([]);
  }

  isEmpty(): boolean {
    return this.requirements.length === 0;
  }

  matches(fields: Readonly<Record<string, string>>): boolean {
    return this.requirements.every(
      ({ field, operator, value }) => ((fields[field] ?? '') === value) === (operator === '='),
    );
  }

  /** Whether `object` matches; throws FieldSelectorError for a field its kind does not support. */
  matchesObject(object: KubeObject): boolean {
    const fields = selectableFields(object);
    for (const { field } of this.requirements) {
      if (!(field in fields)) throw new FieldSelectorError(`field label not supported: ${field}`);
    }
    return this.matches(fields);
  }

  toString(): string {
    return this.requirements
      .map(({ field, operator, value }) => `${field}${operator}${escapeFieldSelectorValue(value)}`)
      .join(',');
  }
}

/** Escapes a value for use in a field selector string. */
export function escapeFieldSelectorValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/,/g, '\\,').replace(/=/g, '\\=');
}

function unescapeValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\') {
      const next = value[i + 1];
      if (next === undefined || !'\\,='.includes(next)) {
        throw new FieldSelectorError(`invalid field selector: invalid escape sequence: \\${next ?? ''}`);
      }
      out += next;
      i += 1;
    } else if (ch === ',' || ch === '=') {
      throw new FieldSelectorError(`invalid field selector: unescaped character in value: ${ch}`);
    } else {
      out += ch;
    }
  }
  return out;
}

/** Splits on commas that are not escaped. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    if (selector[i] === '\\') i += 1;
    else if (selector[i] === ',') {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms;
}

/** Parses the string form; throws FieldSelectorError with Kubernetes' messages. */
export function parseFieldSelector(selector: string): FieldSelector {
  const requirements: FieldRequirement[] = [];
  for (const term of splitTerms(selector).sort()) {
    if (term === '') continue;
    const match = /^(.*?)(!=|==|=)(.*)$/s.exec(term);
    if (!match) throw new FieldSelectorError(`invalid selector: '${selector}'; can't understand '${term}'`);
    const [, field, operator, value] = match;
    requirements.push({ field, operator: operator === '!=' ? '!=' : '=', value: unescapeValue(value) });
  }
  return new FieldSelector(requirements);
}

/** Computed once per object: a watch event is matched against every watcher's selector. */
const fieldsOf = new WeakMap<KubeObject, Record<string, string>>();

/** The fields an object can be selected by, per kind, as the apiserver exposes them. */
export function selectableFields(object: KubeObject): Record<string, string> {
  let fields = fieldsOf.get(object);
  if (!fields) {
    fields = computeSelectableFields(object);
    fieldsOf.set(object, fields);
  }
  return fields;
}

// Each kind's fields are one object literal: spreading a shared base into it made V8 build a
// dictionary-mode object, about 40 times slower, and this runs for every watch event.
function computeSelectableFields(object: KubeObject): Record<string, string> {
  const name = object.metadata.name ?? '';
  const namespace = object.metadata.namespace ?? '';
  switch (object.kind) {
    case 'Pod':
      return {
        'metadata.name': name,
        'metadata.namespace': namespace,
        'spec.nodeName': object.spec.nodeName ?? '',
        'spec.restartPolicy': object.spec.restartPolicy ?? '',
        'spec.schedulerName': object.spec.schedulerName ?? '',
        'spec.serviceAccountName': object.spec.serviceAccountName ?? '',
        'spec.hostNetwork': String(object.spec.hostNetwork ?? false),
        'status.phase': object.status?.phase ?? '',
        'status.podIP': object.status?.podIP ?? '',
        'status.nominatedNodeName': object.status?.nominatedNodeName ?? '',
      };
    case 'Node':
      return { 'metadata.name': name, 'spec.unschedulable': String(object.spec?.unschedulable ?? false) };
    case 'Namespace':
      return { 'metadata.name': name, 'status.phase': object.status?.phase ?? '' };
    case 'Secret':
      return { 'metadata.name': name, 'metadata.namespace': namespace, type: object.type ?? '' };
    case 'ReplicaSet':
      return {
        'metadata.name': name,
        'metadata.namespace': namespace,
        'status.replicas': String(object.status?.replicas ?? 0),
      };
    case 'Event': {
      const involved = object.involvedObject;
      return {
        'metadata.name': name,
        'metadata.namespace': namespace,
        'involvedObject.kind': involved.kind ?? '',
        'involvedObject.namespace': involved.namespace ?? '',
        'involvedObject.name': involved.name ?? '',
        'involvedObject.uid': involved.uid ?? '',
        'involvedObject.apiVersion': involved.apiVersion ?? '',
        'involvedObject.resourceVersion': involved.resourceVersion ?? '',
        'involvedObject.fieldPath': involved.fieldPath ?? '',
        reason: object.reason ?? '',
        reportingComponent: object.reportingComponent ?? '',
        source: object.source?.component ?? '',
        type: object.type ?? '',
      };
    }
    default:
      return { 'metadata.name': name, 'metadata.namespace': namespace };
  }
}
