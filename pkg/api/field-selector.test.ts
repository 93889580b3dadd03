import { FieldSelectorError, parseFieldSelector, selectableFields } from './field-selector';
import type { Event, Pod, Secret } from './types';

const pod = (name: string, nodeName: string | undefined, phase: 'Pending' | 'Running'): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { containers: [{ name: 'app', image: 'nginx' }], ...(nodeName ? { nodeName } : {}) },
  status: { phase },
});

describe('field selectors', () => {
  const running = pod('web-1', 'worker-1', 'Running');
  const pending = pod('web-2', undefined, 'Pending');

  it.each([
    ['', true, true],
    ['metadata.name=web-1', true, false],
    ['metadata.name==web-1', true, false],
    ['metadata.name!=web-1', false, true],
    ['status.phase!=Running', false, true],
    ['spec.nodeName=', false, true],
    ['spec.nodeName=worker-1,status.phase=Running', true, false],
    ['metadata.namespace=default,metadata.name!=web-3', true, true],
  ])('%j selects web-1: %s, web-2: %s', (text, first, second) => {
    const selector = parseFieldSelector(text);
    expect(selector.matchesObject(running)).toBe(first);
    expect(selector.matchesObject(pending)).toBe(second);
  });

  it('unescapes values and prints them escaped again', () => {
    const selector = parseFieldSelector('metadata.name=a\\,b\\=c\\\\d');
    expect(selector.requirements).toEqual([{ field: 'metadata.name', operator: '=', value: 'a,b=c\\d' }]);
    expect(selector.toString()).toBe('metadata.name=a\\,b\\=c\\\\d');
  });

  it.each([
    ['metadata.name', "invalid selector: 'metadata.name'; can't understand 'metadata.name'"],
    ['a=b,c', "invalid selector: 'a=b,c'; can't understand 'c'"],
    ['a=b\\x', 'invalid field selector: invalid escape sequence: \\x'],
    ['a=b=c', 'invalid field selector: unescaped character in value: ='],
  ])('rejects %j', (text, message) => {
    expect(() => parseFieldSelector(text)).toThrow(new FieldSelectorError(message));
  });

  it('refuses fields the kind does not support, as the apiserver does', () => {
    expect(() => parseFieldSelector('spec.foo=bar').matchesObject(running)).toThrow(
      'field label not supported: spec.foo',
    );
    expect(() => parseFieldSelector('status.phase=Running').matchesObject(secret)).toThrow(
      'field label not supported: status.phase',
    );
  });

  const secret: Secret = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 's', namespace: 'ns' },
    type: 'Opaque',
  };

  it('exposes per-kind fields', () => {
    expect(selectableFields(secret)).toEqual({
      'metadata.name': 's',
      'metadata.namespace': 'ns',
      type: 'Opaque',
    });
    const event: Event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'e', namespace: 'ns' },
      involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'ns' },
      reason: 'Scheduled',
      type: 'Normal',
    };
    expect(
      parseFieldSelector('involvedObject.name=web-1,type=Normal,reason=Scheduled').matchesObject(event),
    ).toBe(true);
    expect(selectableFields({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n' } })).toEqual({
      'metadata.name': 'n',
      'spec.unschedulable': 'false',
    });
  });
});
