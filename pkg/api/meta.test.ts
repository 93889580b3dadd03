import { scaledValueFromIntOrPercent } from './intstr';
import {
  annotationsOf,
  generateName,
  getControllerOf,
  isControlledBy,
  labelsOf,
  newControllerRef,
  objectKey,
  splitObjectKey,
} from './meta';
import { toOpenAPI } from './openapi';
import type { Pod, ReplicaSet } from './types';
import { PodSchema } from './types';

const replicaSet: ReplicaSet = {
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  metadata: { name: 'web-abc', namespace: 'default', uid: 'rs-uid' },
  spec: {},
};

const pod = (owners: NonNullable<Pod['metadata']['ownerReferences']>): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web-abc-xyz12', namespace: 'default', ownerReferences: owners },
  spec: { containers: [] },
});

describe('meta helpers', () => {
  it('keys objects by namespace/name', () => {
    expect(objectKey(replicaSet)).toBe('default/web-abc');
    expect(objectKey({ metadata: { name: 'node-1' } })).toBe('node-1');
    expect(splitObjectKey('default/web')).toEqual({ namespace: 'default', name: 'web' });
    expect(splitObjectKey('node-1')).toEqual({ namespace: '', name: 'node-1' });
  });

  it('finds the controller among the owners, by uid', () => {
    const controlled = pod([
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'c-uid' },
      newControllerRef(replicaSet),
    ]);
    expect(newControllerRef(replicaSet)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      name: 'web-abc',
      uid: 'rs-uid',
      controller: true,
      blockOwnerDeletion: true,
    });
    expect(getControllerOf(controlled)?.uid).toBe('rs-uid');
    expect(isControlledBy(controlled, replicaSet)).toBe(true);
    expect(isControlledBy(controlled, { metadata: { ...replicaSet.metadata, uid: 'other' } })).toBe(false);
    expect(
      getControllerOf(pod([{ apiVersion: 'v1', kind: 'ConfigMap', name: 'c', uid: 'c-uid' }])),
    ).toBeUndefined();
  });

  it('generates names with 5 characters from the Kubernetes alphabet', () => {
    let i = 0;
    const sequence = [0, 0.5, 0.99, 0.1, 0.3];
    expect(generateName('web-', () => sequence[i++])).toBe('web-br9dl');
    const name = generateName('x'.repeat(70));
    expect(name).toHaveLength(63);
    expect(name.slice(58)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('reads labels and annotations safely', () => {
    expect(labelsOf(replicaSet)).toEqual({});
    expect(annotationsOf({ metadata: { annotations: { a: 'b' } } })).toEqual({ a: 'b' });
  });

  it.each([
    ['25%', 10, true, 3],
    ['25%', 10, false, 2],
    [3, 10, true, 3],
    ['100%', 7, false, 7],
    ['0%', 7, true, 0],
  ])('%s of %d (round up: %s) is %d', (value, total, roundUp, expected) => {
    expect(scaledValueFromIntOrPercent(value, total, roundUp)).toBe(expected);
  });

  it('rejects what is neither a count nor a percentage', () => {
    expect(() => scaledValueFromIntOrPercent('lots', 10, true)).toThrow('must be an integer or a percentage');
  });
});

describe('OpenAPI derived from the schemas', () => {
  it('carries types, required fields and the patch extensions kubectl reads', () => {
    const pod = toOpenAPI(PodSchema);
    expect(pod.required).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    const containers = pod.properties?.spec.properties?.containers;
    expect(containers).toMatchObject({
      type: 'array',
      'x-kubernetes-patch-strategy': 'merge',
      'x-kubernetes-patch-merge-key': 'name',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['name'],
    });
    const container = containers?.items;
    expect(container?.required).toEqual(['name']);
    expect(container?.properties?.imagePullPolicy).toEqual({
      type: 'string',
      enum: ['Always', 'IfNotPresent', 'Never'],
    });
    expect(container?.properties?.resources.properties?.limits).toEqual({
      type: 'object',
      additionalProperties: { 'x-kubernetes-int-or-string': true },
    });
    expect(pod.properties?.spec.properties?.terminationGracePeriodSeconds).toEqual({
      type: 'integer',
      format: 'int64',
    });
  });
});
