import { Pod, Taint, Toleration } from '../../api';
import { evictionDeadline, reconcileTaints, TAINT_NOT_READY, TAINT_UNREACHABLE, tolerates } from './taints';

const NOW = '2024-05-01T10:00:00Z';

describe('reconcileTaints', () => {
  const user: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' };
  const unreachable: Taint[] = [
    { key: TAINT_UNREACHABLE, effect: 'NoSchedule' },
    { key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: '2024-05-01T09:00:00Z' },
  ];

  it.each<[string, Taint[], 'unreachable' | 'not-ready' | 'healthy', Taint[] | undefined]>([
    ['healthy, nothing to do', [user], 'healthy', undefined],
    [
      'unreachable: both taints added, NoExecute stamped',
      [user],
      'unreachable',
      [
        user,
        { key: TAINT_UNREACHABLE, effect: 'NoSchedule' },
        { key: TAINT_UNREACHABLE, effect: 'NoExecute', timeAdded: NOW },
      ],
    ],
    [
      'unreachable again: unchanged, the old timeAdded kept',
      [user, ...unreachable],
      'unreachable',
      undefined,
    ],
    [
      'unreachable → not-ready: swapped',
      unreachable,
      'not-ready',
      [
        { key: TAINT_NOT_READY, effect: 'NoSchedule' },
        { key: TAINT_NOT_READY, effect: 'NoExecute', timeAdded: NOW },
      ],
    ],
    ['back to healthy: removed, the user taint kept', [...unreachable, user], 'healthy', [user]],
    [
      'a PreferNoSchedule taint of the same key is not ours',
      [{ key: TAINT_UNREACHABLE, effect: 'PreferNoSchedule' }],
      'healthy',
      undefined,
    ],
  ])('%s', (_name, current, health, expected) => {
    expect(reconcileTaints(current, health, NOW)).toEqual(expected);
  });
});

describe('tolerations', () => {
  const taint: Taint = { key: TAINT_UNREACHABLE, effect: 'NoExecute' };
  it.each<[string, Toleration, boolean]>([
    ['Exists with the key', { key: TAINT_UNREACHABLE, operator: 'Exists' }, true],
    ['Exists with no key tolerates everything', { operator: 'Exists' }, true],
    [
      'Exists with another effect',
      { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoSchedule' },
      false,
    ],
    ['Equal with an empty value', { key: TAINT_UNREACHABLE, operator: 'Equal', value: '' }, true],
    ['Equal by default, other value', { key: TAINT_UNREACHABLE, value: 'x' }, false],
    ['another key', { key: TAINT_NOT_READY, operator: 'Exists' }, false],
  ])('%s', (_name, toleration, expected) => {
    expect(tolerates(toleration, taint)).toBe(expected);
  });

  const pod = (tolerations: Toleration[]): Pod =>
    ({ spec: { containers: [], tolerations } }) as unknown as Pod;
  const taints = [
    { taint: { key: TAINT_UNREACHABLE, effect: 'NoExecute' as const }, since: 1000 },
    { taint: { key: 'other', effect: 'NoExecute' as const }, since: 5000 },
  ];

  it.each<[string, Toleration[], number]>([
    ['no toleration: the default for the earliest taint', [], 1000 + 30_000],
    [
      'tolerating both for a while: the earliest end',
      [
        { key: TAINT_UNREACHABLE, operator: 'Exists', tolerationSeconds: 60 },
        { key: 'other', operator: 'Exists', tolerationSeconds: 10 },
      ],
      5000 + 10_000,
    ],
    [
      'tolerating one forever: the other decides',
      [
        { key: TAINT_UNREACHABLE, operator: 'Exists' },
        { key: 'other', operator: 'Exists', tolerationSeconds: 100 },
      ],
      5000 + 100_000,
    ],
    ['tolerating everything forever', [{ operator: 'Exists' }], Infinity],
    ['a negative tolerationSeconds is zero', [{ operator: 'Exists', tolerationSeconds: -5 }], 1000],
  ])('%s', (_name, tolerations, expected) => {
    expect(evictionDeadline(pod(tolerations), taints, 30_000)).toBe(expected);
  });
});
