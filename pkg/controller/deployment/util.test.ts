import { Deployment, ReplicaSet } from '../../api';
import {
  computeHash,
  equalIgnoreHash,
  maxSurge,
  maxUnavailable,
  proportion,
  resolveFenceposts,
  setNewReplicaSetAnnotations,
} from './util';

function d(
  replicas: number,
  maxSurgeValue?: number | string,
  maxUnavailableValue?: number | string,
): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', annotations: { team: 'a' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'app', image: 'x' }] } },
      strategy: {
        type: 'RollingUpdate',
        rollingUpdate: { maxSurge: maxSurgeValue, maxUnavailable: maxUnavailableValue },
      },
    },
  };
}

function rs(replicas: number, annotations: Record<string, string> = {}): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web-1', namespace: 'default', annotations },
    spec: { replicas },
  };
}

describe('deployment bookkeeping', () => {
  it('hashes templates stably, ignoring key order, and differently per collision count', () => {
    const a = d(1).spec.template;
    const b = { spec: { containers: [{ image: 'x', name: 'app' }] }, metadata: { labels: { app: 'web' } } };
    expect(computeHash(a)).toBe(computeHash(b));
    expect(computeHash(a)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(computeHash(a, 1)).not.toBe(computeHash(a));
    expect(computeHash(a, 1)).toBe(computeHash(a, 1));
    expect(computeHash({ ...a, spec: { containers: [{ name: 'app', image: 'y' }] } })).not.toBe(
      computeHash(a),
    );
  });

  it('compares templates ignoring the pod-template-hash label and empty fields', () => {
    const a = d(1).spec.template;
    const withHash = structuredClone(a);
    withHash.metadata!.labels!['pod-template-hash'] = 'abc';
    withHash.metadata!.annotations = {};
    expect(equalIgnoreHash(a, withHash)).toBe(true);
    withHash.metadata!.labels!.tier = 'front';
    expect(equalIgnoreHash(a, withHash)).toBe(false);
  });

  it.each([
    { replicas: 10, surge: '25%', unavailable: '25%', expected: { surge: 3, unavailable: 2 } },
    { replicas: 3, surge: '10%', unavailable: '10%', expected: { surge: 1, unavailable: 0 } },
    { replicas: 3, surge: 0, unavailable: '10%', expected: { surge: 0, unavailable: 1 } },
    { replicas: 4, surge: 2, unavailable: 1, expected: { surge: 2, unavailable: 1 } },
    { replicas: 0, surge: '25%', unavailable: '25%', expected: { surge: 0, unavailable: 1 } },
  ])(
    'resolves $surge/$unavailable of $replicas (surge up, unavailable down)',
    ({ replicas, surge, unavailable, expected }) => {
      expect(resolveFenceposts(d(replicas, surge, unavailable), replicas)).toEqual(expected);
    },
  );

  it('never allows more unavailable than replicas, and none for zero replicas', () => {
    expect(maxUnavailable(d(2, 0, 5))).toBe(2);
    expect(maxUnavailable(d(0, 1, 1))).toBe(0);
    const recreate = d(4);
    recreate.spec.strategy = { type: 'Recreate' };
    expect(maxSurge(recreate)).toBe(0);
    expect(maxUnavailable(recreate)).toBe(0);
  });

  it('sets revision, copies own annotations, and keeps revision-history on a rollback', () => {
    const created = rs(0);
    expect(setNewReplicaSetAnnotations(d(3, 1, 0), created, 1, false)).toBe(true);
    expect(created.metadata.annotations).toEqual({
      team: 'a',
      'deployment.kubernetes.io/revision': '1',
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
    });
    const rolledBackTo = rs(0, {
      'deployment.kubernetes.io/revision': '2',
      'deployment.kubernetes.io/revision-history': '1',
    });
    setNewReplicaSetAnnotations(d(3), rolledBackTo, 5, true);
    expect(rolledBackTo.metadata.annotations).toMatchObject({
      'deployment.kubernetes.io/revision': '5',
      'deployment.kubernetes.io/revision-history': '1,2',
    });
    // A revision is never lowered.
    expect(setNewReplicaSetAnnotations(d(3), rolledBackTo, 4, true)).toBe(false);
  });

  it('splits added replicas in proportion to each ReplicaSet size', () => {
    const deploymentOf15 = d(15, 3, 2);
    const annotated = { 'deployment.kubernetes.io/max-replicas': '13' };
    expect(proportion(rs(8, annotated), deploymentOf15, 5, 0)).toBe(3);
    expect(proportion(rs(5, annotated), deploymentOf15, 5, 3)).toBe(2);
    expect(proportion(rs(0, annotated), deploymentOf15, 5, 0)).toBe(0);
    expect(proportion(rs(8, annotated), d(0), -13, 0)).toBe(-8);
  });
});
