import { fromUnstructured, invalidBase64Offset, zeroValue } from './convert';
import { FieldPath } from './field';
import { patchMetaAt, schemaAt } from './schema';
import {
  ConfigMapSchema,
  DeploymentSchema,
  NodeSchema,
  ObjectMetaSchema,
  PodSchema,
  SecretSchema,
  ServiceSchema,
} from './types';

describe('strategic merge patch metadata', () => {
  it.each([
    [PodSchema, 'spec.containers', { patchStrategy: 'merge', patchMergeKey: 'name' }],
    [PodSchema, 'spec.initContainers', { patchStrategy: 'merge', patchMergeKey: 'name' }],
    [PodSchema, 'spec.containers.ports', { patchStrategy: 'merge', patchMergeKey: 'containerPort' }],
    [PodSchema, 'spec.containers[0].env', { patchStrategy: 'merge', patchMergeKey: 'name' }],
    [PodSchema, 'spec.containers.volumeMounts', { patchStrategy: 'merge', patchMergeKey: 'mountPath' }],
    [PodSchema, 'spec.volumes', { patchStrategy: 'merge,retainKeys', patchMergeKey: 'name' }],
    [PodSchema, 'spec.imagePullSecrets', { patchStrategy: 'merge', patchMergeKey: 'name' }],
    [PodSchema, 'status.conditions', { patchStrategy: 'merge', patchMergeKey: 'type' }],
    [PodSchema, 'metadata.ownerReferences', { patchStrategy: 'merge', patchMergeKey: 'uid' }],
    [PodSchema, 'metadata.finalizers', { patchStrategy: 'merge' }],
    [PodSchema, 'spec.tolerations', {}],
    [PodSchema, 'spec.containers.envFrom', {}],
    [DeploymentSchema, 'spec.template.spec.containers', { patchStrategy: 'merge', patchMergeKey: 'name' }],
    [DeploymentSchema, 'status.conditions', { patchStrategy: 'merge', patchMergeKey: 'type' }],
    [ServiceSchema, 'spec.ports', { patchStrategy: 'merge', patchMergeKey: 'port' }],
    [NodeSchema, 'status.addresses', { patchStrategy: 'merge', patchMergeKey: 'type' }],
  ])('%#: %s', (schema, path, meta) => {
    expect(patchMetaAt(schema, path)).toEqual(meta);
  });

  it('is undefined for what is not a list', () => {
    expect(patchMetaAt(PodSchema, 'spec.nodeSelector')).toBeUndefined();
    expect(patchMetaAt(PodSchema, 'spec.nope')).toBeUndefined();
  });

  it('walks into maps and lists', () => {
    expect(schemaAt(PodSchema, 'spec.containers.resources.limits.cpu')).toEqual({ kind: 'quantity' });
    expect(schemaAt(PodSchema, 'metadata.labels.app')).toEqual({ kind: 'string' });
    expect(schemaAt(PodSchema, 'spec.containers.name')).toEqual({ kind: 'string' });
  });
});

describe('fromUnstructured', () => {
  it('converts a valid object unchanged, without unknown fields', () => {
    const raw = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'nginx',
            ports: [{ containerPort: 80 }],
            resources: { limits: { cpu: '1' } },
          },
        ],
      },
    };
    const result = fromUnstructured(PodSchema, raw);
    expect(result).toEqual({ value: raw, errors: [], unknownFields: [] });
    expect(result.value).not.toBe(raw);
  });

  it('lists unknown fields with their paths, in document order, and drops them', () => {
    const result = fromUnstructured(PodSchema, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', labelz: {} },
      spec: { containers: [{ name: 'a', image: 'x', imagePullPolicyy: 'Always' }], foo: 1 },
      extra: true,
    });
    expect(result.unknownFields).toEqual([
      'metadata.labelz',
      'spec.containers[0].imagePullPolicyy',
      'spec.foo',
      'extra',
    ]);
    expect(result.value.spec.containers[0]).toEqual({ name: 'a', image: 'x' });
  });

  it('reports every type error with its path and carries on', () => {
    const result = fromUnstructured(DeploymentSchema, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { version: 1.0 } },
      spec: {
        replicas: 'three',
        paused: 'no',
        template: {
          spec: {
            containers: [
              { name: 'a', ports: [{ containerPort: 80.5 }], env: [{ name: 'PORT', value: 8080 }] },
            ],
          },
        },
        strategy: { rollingUpdate: { maxSurge: 1.5 } },
        selector: [],
      },
    });
    expect(result.errors.map(String)).toEqual([
      'metadata.labels[version]: Invalid value: 1: must be a string',
      'spec.replicas: Invalid value: "three": must be an integer',
      'spec.paused: Invalid value: "no": must be a boolean',
      'spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 80.5: must be an integer',
      'spec.template.spec.containers[0].env[0].value: Invalid value: 8080: must be a string',
      'spec.strategy.rollingUpdate.maxSurge: Invalid value: 1.5: must be an integer or a string',
      'spec.selector: Invalid value: [...]: must be an object',
    ]);
    expect(result.errors.every((error) => error.type === 'FieldValueTypeInvalid')).toBe(true);
  });

  it('treats null as not set, as Go does', () => {
    const result = fromUnstructured(PodSchema, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', creationTimestamp: null, labels: { a: null } },
      spec: { containers: [{ name: 'a', image: 'x', command: null }], nodeSelector: null },
      status: null,
    });
    expect(result.errors).toEqual([]);
    expect(result.value).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', labels: {} },
      spec: { containers: [{ name: 'a', image: 'x' }] },
    });
  });

  it('fills required fields with their zero values, as Go leaves them', () => {
    const result = fromUnstructured(PodSchema, {
      apiVersion: 'v1',
      kind: 'Pod',
      spec: { containers: [{ ports: [{}] }] },
    });
    expect(result.value.metadata).toEqual({});
    expect(result.value.spec.containers[0]).toEqual({ name: '', ports: [{ containerPort: 0 }] });
    expect(zeroValue(DeploymentSchema)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {},
      spec: { template: { metadata: {}, spec: { containers: [] } } },
    });
  });

  it('accepts numbers as quantities, keeps strings as written, rejects bad ones with the reason', () => {
    const result = fromUnstructured(PodSchema, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {},
      spec: {
        containers: [
          {
            name: 'a',
            resources: { requests: { cpu: 0.5, memory: '128Mi' }, limits: { cpu: '2 cores', memory: {} } },
          },
        ],
      },
    });
    expect(result.value.spec.containers[0].resources?.requests).toEqual({ cpu: '0.5', memory: '128Mi' });
    expect(result.errors.map(String)).toEqual([
      'spec.containers[0].resources.limits[cpu]: Invalid value: "2 cores": quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\'',
      'spec.containers[0].resources.limits[memory]: Invalid value: {...}: must be a quantity (a string such as "500m" or "128Mi", or a number)',
    ]);
  });

  it('gives a value of the right shape even when the whole input is wrong', () => {
    const result = fromUnstructured(PodSchema, 'a pod');
    expect(result.errors.map(String)).toEqual(['Invalid value: "a pod": must be an object']);
    expect(result.value).toEqual({ apiVersion: 'v1', kind: 'Pod', metadata: {}, spec: { containers: [] } });
  });

  it('copies free-form content instead of sharing it', () => {
    const raw = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { managedFields: [{ fieldsV1: { 'f:a': {} } }] },
      spec: { containers: [] },
    };
    const result = fromUnstructured(PodSchema, raw);
    expect(result.value.metadata.managedFields?.[0].fieldsV1).toEqual({ 'f:a': {} });
    expect(result.value.metadata.managedFields?.[0].fieldsV1).not.toBe(
      raw.metadata.managedFields[0].fieldsV1,
    );
  });

  it('checks int32 ranges', () => {
    const result = fromUnstructured(ObjectMetaSchema, { generation: 2 ** 40 }, FieldPath.root('metadata'));
    expect(result.errors).toEqual([]);
    const pod = fromUnstructured(PodSchema, { spec: { containers: [], priority: 2 ** 31 } });
    expect(pod.errors.map(String)).toEqual([
      'spec.priority: Invalid value: 2147483648: must be an integer between -2147483648 and 2147483647',
    ]);
  });

  it('checks base64 and never echoes the value', () => {
    const secret = fromUnstructured(SecretSchema, { data: { ok: 'aGVsbG8=', bad: 'c2VjcmV0!!' } });
    expect(secret.errors.map(String)).toEqual([
      'data[bad]: Invalid value: "<redacted>": illegal base64 data at input byte 8',
    ]);
    expect(fromUnstructured(ConfigMapSchema, { binaryData: { a: 'aGVsbG8' } }).errors.map(String)).toEqual([
      'binaryData[a]: Invalid value: "<redacted>": illegal base64 data at input byte 4',
    ]);
  });

  it.each([
    ['', undefined],
    ['aGVsbG8=', undefined],
    ['aGVs\nbG8=', undefined],
    ['aGVsbA==', undefined],
    ['aGVsbG8', 4],
    ['a===', 1],
    ['aGVsbA==aGVs', 8],
    ['aGV$', 3],
  ])('base64 %j goes wrong at %s', (text, offset) => {
    expect(invalidBase64Offset(text)).toBe(offset);
  });
});
