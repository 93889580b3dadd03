import {
  decodeManifests,
  formatLocation,
  locateJsonError,
  ManifestEntry,
  strictDecodingError,
} from './decode';
import type { ConfigMap, Pod } from './types';

function summary(entries: ManifestEntry[]): string[] {
  return entries.map((entry) => {
    const where = formatLocation(entry.location);
    switch (entry.type) {
      case 'object':
        return `${where}: ${entry.object.kind}/${entry.object.metadata.name}${entry.errors.map((error) => ` [${error}]`).join('')}`;
      case 'unknown-kind':
        return `${where}: ${entry.kind}/${entry.name}: ${entry.errors.join('; ')}`;
      case 'parse-error':
        return `${where}: line ${entry.line}, column ${entry.column}: ${entry.message}`;
    }
  });
}

describe('decodeManifests', () => {
  it('reads every document, numbering them from 1 and counting empty ones', () => {
    const text = [
      '---',
      '# only a comment',
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: a}',
      '---',
      '',
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: b}',
      '--- ~',
    ].join('\n');
    expect(summary(decodeManifests(text, 'many.yaml'))).toEqual([
      'many.yaml: document 2: ConfigMap/a',
      'many.yaml: document 4: ConfigMap/b',
    ]);
  });

  it('returns nothing for an empty file', () => {
    expect(decodeManifests('', 'empty.yaml')).toEqual([]);
    expect(decodeManifests('# nothing\n', 'empty.yaml')).toEqual([]);
  });

  it('expands a v1 List and a typed list, naming each item', () => {
    const text = `
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
  - {apiVersion: v1, kind: Widget, metadata: {name: w}}
---
apiVersion: v1
kind: PodList
items:
  - metadata: {name: p}
    spec: {containers: [{name: c, image: x}]}
`;
    expect(summary(decodeManifests(text, 'list.yaml'))).toEqual([
      'list.yaml: document 1, items[0]: ConfigMap/a',
      'list.yaml: document 1, items[1]: Widget/w: kind: Unsupported value: "Widget": supported values: "Binding", "ConfigMap", "Deployment", ' +
        '"EndpointSlice", "Endpoints", "Event", "Lease", "Namespace", "Node", "Pod", "ReplicaSet", "Secret", "Service", "StatefulSet"',
      'list.yaml: document 2, items[0]: Pod/p',
    ]);
  });

  it('names the file, document, line and column of a YAML syntax error, and goes on', () => {
    const text = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: a}',
      '---',
      'kind: [x',
      'b: 1',
      '---',
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: c}',
    ].join('\n');
    const entries = decodeManifests(text, 'broken.yaml');
    expect(summary(entries)).toEqual([
      'broken.yaml: document 1: ConfigMap/a',
      'broken.yaml: document 2: line 6, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
      'broken.yaml: document 3: ConfigMap/c',
    ]);
  });

  it('reports duplicate keys as a syntax error', () => {
    const [entry] = decodeManifests('apiVersion: v1\nkind: ConfigMap\nkind: Secret\n', 'dup.yaml');
    expect(entry).toMatchObject({
      type: 'parse-error',
      line: 3,
      column: 1,
      message: 'Map keys must be unique',
    });
  });

  it('says what a document is when it is not an object', () => {
    expect(summary(decodeManifests('- a\n- b\n---\nhello\n', 'x.yaml'))).toEqual([
      'x.yaml: document 1: line 1, column 1: expected a Kubernetes object, found a list',
      'x.yaml: document 2: line 4, column 1: expected a Kubernetes object, found a string ("hello")',
    ]);
  });

  it('reads YAML as Kubernetes does: 0644 is octal, yes is true, dates stay strings', () => {
    const text = `
apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations: {built: 2024-01-01}
spec:
  hostNetwork: yes
  volumes: [{name: v, secret: {secretName: s, defaultMode: 0644}}]
  containers: [{name: c, image: x}]
`;
    const [entry] = decodeManifests(text, 'p.yaml');
    if (entry.type !== 'object') throw new Error('expected an object');
    const pod = entry.object as Pod;
    expect(entry.errors).toEqual([]);
    expect(pod.spec.volumes?.[0].secret?.defaultMode).toBe(420);
    expect(pod.spec.hostNetwork).toBe(true);
    expect(pod.metadata.annotations).toEqual({ built: '2024-01-01' });
  });

  it('reads n, y, no and off as booleans, as go-yaml does: quote them', () => {
    const [entry] = decodeManifests(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n}\ndata: {enabled: off}\n',
      'c.yaml',
    );
    expect(entry.type === 'object' && entry.errors.map(String)).toEqual([
      'metadata.name: Invalid value: false: must be a string',
      'data[enabled]: Invalid value: false: must be a string',
    ]);
  });

  it('reports type errors with field paths, per object', () => {
    const [entry] = decodeManifests(
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: three}\n',
      'd.yaml',
    );
    expect(summary([entry])).toEqual([
      'd.yaml: document 1: Deployment/web [spec.replicas: Invalid value: "three": must be an integer]',
    ]);
  });

  it('reads JSON, by extension or by content', () => {
    const json = JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'j' },
      data: { a: '1' },
    });
    const [byContent] = decodeManifests(json, '-');
    expect(byContent.type === 'object' && (byContent.object as ConfigMap).data).toEqual({ a: '1' });
    expect(summary(decodeManifests(json, 'x.json'))).toEqual(['x.json: document 1: ConfigMap/j']);
  });

  it('locates JSON syntax errors', () => {
    expect(summary(decodeManifests('{\n  "apiVersion": "v1",\n  "kind": }\n', 'bad.json'))).toEqual([
      'bad.json: document 1: line 3, column 11: invalid JSON: expected a value, found "}"',
    ]);
  });

  it('points at the start of a JSON file that is not an object', () => {
    expect(summary(decodeManifests('[1, 2]', 'list.json'))).toEqual([
      'list.json: document 1: line 1, column 1: expected a Kubernetes object, found a list',
    ]);
  });

  it.each([
    ['{"a": 1', 1, 8, "invalid JSON: expected ',' or '}', found end of input"],
    ['[1, 2,]', 1, 7, 'invalid JSON: expected a value, found "]"'],
    ['{"a": "x\ny"}', 1, 9, 'invalid JSON: expected a closing \'"\', found "\\n"'],
    ['{} x', 1, 4, 'invalid JSON: expected end of input, found "x"'],
    ['{\n  "a": tru\n}', 2, 8, 'invalid JSON: expected a value, found "t"'],
  ])('locates the JSON syntax error in %j at line %d, column %d', (text, line, column, message) => {
    expect(locateJsonError(text)).toEqual({ line, column, message });
  });

  it('words unknown fields as Kubernetes does under fieldValidation=Strict', () => {
    expect(strictDecodingError(['spec.foo', 'spec.bar'])).toBe(
      'strict decoding error: unknown field "spec.foo", unknown field "spec.bar"',
    );
  });
});
