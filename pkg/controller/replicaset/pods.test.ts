import { Pod } from '../../api';
import { comparePodsForDeletion, isPodActive, msUntilAvailable, podsToDelete } from './pods';

const NOW = Date.parse('2025-01-01T12:00:00Z');
const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');

interface Shape {
  name: string;
  node?: string;
  phase?: 'Pending' | 'Running' | 'Unknown' | 'Succeeded' | 'Failed';
  /** Seconds since it became ready; undefined: not ready. */
  readyFor?: number;
  createdAgo?: number;
  restarts?: number;
  cost?: number;
  uid?: string;
}

function shaped(shape: Shape): Pod {
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: shape.name,
      namespace: 'default',
      uid: shape.uid ?? shape.name,
      creationTimestamp: ago(shape.createdAgo ?? 3600),
    },
    spec: { containers: [{ name: 'app', image: 'x' }], nodeName: shape.node },
    status: {
      phase: shape.phase ?? 'Running',
      conditions:
        shape.readyFor === undefined
          ? [{ type: 'Ready', status: 'False' }]
          : [{ type: 'Ready', status: 'True', lastTransitionTime: ago(shape.readyFor) }],
      containerStatuses: [
        {
          name: 'app',
          ready: shape.readyFor !== undefined,
          restartCount: shape.restarts ?? 0,
          image: 'x',
          imageID: '',
        },
      ],
    },
  };
  if (shape.cost !== undefined)
    pod.metadata.annotations = { 'controller.kubernetes.io/pod-deletion-cost': String(shape.cost) };
  return pod;
}

describe('which pods a ReplicaSet deletes first (ActivePodsWithRanks)', () => {
  const ready = { node: 'n1', phase: 'Running' as const, readyFor: 3600 };
  const cases: Array<{ why: string; pods: Shape[]; expectedFirst: string[] }> = [
    {
      why: 'unscheduled before scheduled',
      pods: [
        { name: 'scheduled', ...ready },
        { name: 'unscheduled', phase: 'Pending' },
      ],
      expectedFirst: ['unscheduled', 'scheduled'],
    },
    {
      why: 'Pending before Unknown before Running',
      pods: [
        { name: 'running', node: 'n1', phase: 'Running' },
        { name: 'unknown', node: 'n1', phase: 'Unknown' },
        { name: 'pending', node: 'n1', phase: 'Pending' },
      ],
      expectedFirst: ['pending', 'unknown', 'running'],
    },
    {
      why: 'not ready before ready',
      pods: [
        { name: 'ready', ...ready },
        { name: 'unready', node: 'n1', phase: 'Running' },
      ],
      expectedFirst: ['unready', 'ready'],
    },
    {
      why: 'lower pod-deletion-cost first',
      pods: [
        { name: 'expensive', ...ready, cost: 100 },
        { name: 'cheap', ...ready, cost: -5 },
        { name: 'default', ...ready },
      ],
      expectedFirst: ['cheap', 'default', 'expensive'],
    },
    {
      why: 'ready more recently before ready for long (different log2 buckets)',
      pods: [
        { name: 'old', ...ready, readyFor: 86400 },
        { name: 'fresh', ...ready, readyFor: 5 },
        { name: 'hour', ...ready, readyFor: 3600 },
      ],
      expectedFirst: ['fresh', 'hour', 'old'],
    },
    {
      why: 'more restarts first',
      pods: [
        { name: 'calm', ...ready, restarts: 0 },
        { name: 'crashy', ...ready, restarts: 7 },
      ],
      expectedFirst: ['crashy', 'calm'],
    },
    {
      why: 'newer before older (not ready, so creation time decides)',
      pods: [
        { name: 'day', node: 'n1', createdAgo: 86400 },
        { name: 'minute', node: 'n1', createdAgo: 60 },
      ],
      expectedFirst: ['minute', 'day'],
    },
    {
      why: 'same log2 age bucket: the uid breaks the tie',
      pods: [
        { name: 'b', node: 'n1', createdAgo: 3000, uid: 'uid-b' },
        { name: 'a', node: 'n1', createdAgo: 2500, uid: 'uid-a' },
      ],
      expectedFirst: ['a', 'b'],
    },
  ];

  it.each(cases)('$why', ({ pods, expectedFirst }) => {
    const ranked = pods.map((s) => ({ pod: shaped(s), rank: 0 }));
    ranked.sort((a, b) => comparePodsForDeletion(a, b, NOW));
    expect(ranked.map((r) => r.pod.metadata.name)).toEqual(expectedFirst);
  });

  it('prefers a pod doubled up on a node with related pods', () => {
    const lonely = shaped({ name: 'lonely', ...ready, node: 'n1' });
    const crowded = shaped({ name: 'crowded', ...ready, node: 'n2' });
    const related = [lonely, crowded, shaped({ name: 'other-rs', ...ready, node: 'n2' })];
    expect(podsToDelete([lonely, crowded], related, 1, NOW).map((p) => p.metadata.name)).toEqual(['crowded']);
  });

  it('takes every pod when asked for as many or more', () => {
    const pods = [shaped({ name: 'a' }), shaped({ name: 'b' })];
    expect(podsToDelete(pods, pods, 5, NOW)).toHaveLength(2);
  });
});

describe('pod activity and availability', () => {
  it('ignores finished and terminating pods', () => {
    expect(isPodActive(shaped({ name: 'a' }))).toBe(true);
    expect(isPodActive(shaped({ name: 'a', phase: 'Succeeded' }))).toBe(false);
    expect(isPodActive(shaped({ name: 'a', phase: 'Failed' }))).toBe(false);
    const terminating = shaped({ name: 'a' });
    terminating.metadata.deletionTimestamp = ago(0);
    expect(isPodActive(terminating)).toBe(false);
  });

  it('is available only once ready for longer than minReadySeconds', () => {
    expect(msUntilAvailable(shaped({ name: 'a' }), 0, NOW)).toBeUndefined();
    expect(msUntilAvailable(shaped({ name: 'a', readyFor: 0 }), 0, NOW)).toBe(0);
    expect(msUntilAvailable(shaped({ name: 'a', readyFor: 3 }), 10, NOW)).toBe(7001);
    expect(msUntilAvailable(shaped({ name: 'a', readyFor: 10 }), 10, NOW)).toBe(1);
    expect(msUntilAvailable(shaped({ name: 'a', readyFor: 11 }), 10, NOW)).toBe(0);
  });
});
