import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  PatchError,
  threeWayApplyPatch,
} from './patch';
import { DeploymentSchema, PodSchema } from './types';

describe('JSON merge patch (RFC 7386)', () => {
  it.each([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  ])('%j + %j = %j', (target, patch, expected) => {
    expect(applyMergePatch(target, patch)).toEqual(expected);
  });

  it('does not change its input', () => {
    const target = { a: { b: 1 } };
    applyMergePatch(target, { a: { b: 2 } });
    expect(target).toEqual({ a: { b: 1 } });
  });
});

describe('JSON patch (RFC 6902)', () => {
  const doc = { metadata: { labels: { app: 'web' } }, list: [1, 2, 3] };
  it.each([
    [
      [{ op: 'add', path: '/metadata/labels/tier', value: 'front' }],
      { metadata: { labels: { app: 'web', tier: 'front' } }, list: [1, 2, 3] },
    ],
    [
      [{ op: 'add', path: '/list/1', value: 9 }],
      { metadata: { labels: { app: 'web' } }, list: [1, 9, 2, 3] },
    ],
    [
      [{ op: 'add', path: '/list/-', value: 4 }],
      { metadata: { labels: { app: 'web' } }, list: [1, 2, 3, 4] },
    ],
    [[{ op: 'remove', path: '/list/0' }], { metadata: { labels: { app: 'web' } }, list: [2, 3] }],
    [
      [{ op: 'replace', path: '/metadata/labels/app', value: 'api' }],
      { metadata: { labels: { app: 'api' } }, list: [1, 2, 3] },
    ],
    [
      [{ op: 'move', from: '/list/0', path: '/first' }],
      { metadata: { labels: { app: 'web' } }, list: [2, 3], first: 1 },
    ],
    [
      [{ op: 'copy', from: '/metadata/labels', path: '/labels' }],
      { metadata: { labels: { app: 'web' } }, list: [1, 2, 3], labels: { app: 'web' } },
    ],
    [
      [
        { op: 'test', path: '/list/2', value: 3 },
        { op: 'remove', path: '/list' },
      ],
      { metadata: { labels: { app: 'web' } } },
    ],
  ])('%j', (operations, expected) => {
    expect(applyJsonPatch(doc, operations)).toEqual(expected);
  });

  it('escapes ~0 and ~1 in pointers', () => {
    expect(
      applyJsonPatch({ a: { 'x/y': 1, 'm~n': 2 } }, [
        { op: 'remove', path: '/a/x~1y' },
        { op: 'replace', path: '/a/m~0n', value: 3 },
      ]),
    ).toEqual({ a: { 'm~n': 3 } });
  });

  it.each([
    [[{ op: 'remove', path: '/missing' }], 'path "/missing" does not exist'],
    [[{ op: 'replace', path: '/list/7', value: 1 }], 'array index 7 out of bounds in "/list/7"'],
    [[{ op: 'test', path: '/list/0', value: 2 }], 'testing value /list/0 failed'],
    [[{ op: 'add', path: 'no-slash', value: 1 }], 'invalid JSON pointer "no-slash": must start with "/"'],
    [[{ op: 'jump', path: '/a' }], 'operation 0: unknown op "jump"'],
    [[{ path: '/a' }], 'operation 0: must be an object with "op" and "path"'],
    [{ op: 'add' }, 'a JSON patch must be an array of operations'],
  ])('%j fails: %s', (operations, message) => {
    expect(() => applyJsonPatch(doc, operations)).toThrow(new PatchError(message));
  });
});

describe('strategic merge patch', () => {
  const deployment = {
    spec: {
      replicas: 2,
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'web',
              image: 'web:1',
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
              ports: [{ containerPort: 80 }],
            },
            { name: 'sidecar', image: 'side:1' },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    },
    metadata: { finalizers: ['a'] },
  };
  const containersOf = (d: unknown) => (d as typeof deployment).spec.template.spec.containers;

  it('merges containers by name and env by name, keeping what the patch does not mention', () => {
    const result = applyStrategicMergePatch(
      deployment,
      {
        spec: {
          template: {
            spec: { containers: [{ name: 'web', image: 'web:2', env: [{ name: 'B', value: '3' }] }] },
          },
        },
      },
      DeploymentSchema,
    );
    expect(containersOf(result)).toEqual([
      {
        name: 'web',
        image: 'web:2',
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '3' },
        ],
        ports: [{ containerPort: 80 }],
      },
      { name: 'sidecar', image: 'side:1' },
    ]);
  });

  it('adds new items, deletes with $patch: delete, and orders with $setElementOrder', () => {
    const result = applyStrategicMergePatch(
      deployment,
      {
        spec: {
          template: {
            spec: {
              '$setElementOrder/containers': [{ name: 'init' }, { name: 'web' }],
              containers: [
                { name: 'sidecar', $patch: 'delete' },
                { name: 'init', image: 'init:1' },
              ],
            },
          },
        },
      },
      DeploymentSchema,
    );
    expect(containersOf(result).map((c) => c.name)).toEqual(['init', 'web']);
  });

  it('replaces lists that have no merge strategy, and whole lists with $patch: replace', () => {
    const args = applyStrategicMergePatch(
      { spec: { containers: [{ name: 'c', args: ['a', 'b'] }] } },
      { spec: { containers: [{ name: 'c', args: ['z'] }] } },
      PodSchema,
    );
    expect((args as { spec: { containers: Array<{ args: string[] }> } }).spec.containers[0].args).toEqual([
      'z',
    ]);
    const replaced = applyStrategicMergePatch(
      deployment,
      { spec: { template: { spec: { containers: [{ $patch: 'replace' }, { name: 'only', image: 'o' }] } } } },
      DeploymentSchema,
    );
    expect(containersOf(replaced)).toEqual([{ name: 'only', image: 'o' }]);
  });

  it('deletes fields set to null and from primitive lists', () => {
    const result = applyStrategicMergePatch(
      deployment,
      { spec: { replicas: null }, metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
      DeploymentSchema,
    ) as { spec: Record<string, unknown>; metadata: { finalizers: string[] } };
    expect(result.spec.replicas).toBeUndefined();
    expect(result.metadata.finalizers).toEqual([]);
  });

  it('replaces an object with $patch: replace and keeps only $retainKeys', () => {
    const replaced = applyStrategicMergePatch(
      { spec: { selector: { matchLabels: { a: '1', b: '2' } } } },
      { spec: { selector: { $patch: 'replace', matchLabels: { c: '3' } } } },
      DeploymentSchema,
    );
    expect(replaced).toEqual({ spec: { selector: { matchLabels: { c: '3' } } } });
    const retained = applyStrategicMergePatch(
      { spec: { strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } },
      { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } },
      DeploymentSchema,
    );
    expect(retained).toEqual({ spec: { strategy: { type: 'Recreate' } } });
  });

  it('refuses merge-list items without their merge key', () => {
    expect(() =>
      applyStrategicMergePatch(
        deployment,
        { spec: { template: { spec: { containers: [{ image: 'x' }] } } } },
        DeploymentSchema,
      ),
    ).toThrow('does not contain declared merge key: name');
  });
});

describe('threeWayApplyPatch', () => {
  const live = {
    metadata: { labels: { app: 'web', team: 'x' }, annotations: { 'set-by-server': 'yes' } },
    spec: {
      replicas: 3,
      template: {
        spec: {
          containers: [
            {
              name: 'web',
              image: 'web:1',
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
            },
            { name: 'side', image: 's' },
          ],
        },
      },
    },
  };
  const original = {
    metadata: { labels: { app: 'web', team: 'x' } },
    spec: {
      replicas: 3,
      template: {
        spec: {
          containers: [
            {
              name: 'web',
              image: 'web:1',
              env: [
                { name: 'A', value: '1' },
                { name: 'B', value: '2' },
              ],
            },
            { name: 'side', image: 's' },
          ],
        },
      },
    },
  };

  it('changes nothing when the manifest did not change', () => {
    const patch = threeWayApplyPatch(original, original, DeploymentSchema);
    expect(applyStrategicMergePatch(live, patch, DeploymentSchema)).toEqual(live);
  });

  it('removes what the manifest no longer has, and keeps what the server set', () => {
    const modified = {
      metadata: { labels: { app: 'web' } },
      spec: {
        template: {
          spec: { containers: [{ name: 'web', image: 'web:2', env: [{ name: 'A', value: '1' }] }] },
        },
      },
    };
    const result = applyStrategicMergePatch(
      live,
      threeWayApplyPatch(original, modified, DeploymentSchema),
      DeploymentSchema,
    );
    expect(result).toEqual({
      metadata: { labels: { app: 'web' }, annotations: { 'set-by-server': 'yes' } },
      spec: {
        template: {
          spec: { containers: [{ name: 'web', image: 'web:2', env: [{ name: 'A', value: '1' }] }] },
        },
      },
    });
  });
});
