import { Deployment, Event, getControllerOf, Pod, ReplicaSet } from '../../api';
import { waitFor } from '../../../test/support/wait';
import { deployment, startTestBed, TestBed } from '../../../test/support/workloads';
import { ReplicaSetController } from '../replicaset/replicaset';
import { DeploymentController } from './deployment';
import { computeHash } from './util';

jest.setTimeout(60_000);

/** Follows pods and ReplicaSets through one watch each and checks a predicate at every event. */
class Observer {
  readonly pods = new Map<string, Pod>();
  readonly sets = new Map<string, ReplicaSet>();
  maxPods = 0;
  minAvailable = Infinity;
  violations: string[] = [];
  private readonly abort = new AbortController();
  private readonly done: Promise<unknown>;

  constructor(
    bed: TestBed,
    private readonly check: (o: Observer) => string | undefined = () => undefined,
  ) {
    const follow = async <T extends Pod | ReplicaSet>(kind: 'Pod' | 'ReplicaSet', into: Map<string, T>) => {
      const client = bed.client.resource(kind) as unknown as import('../../client').ResourceClient<T>;
      for await (const event of client.watch('default', { resourceVersion: '0' }, this.abort.signal)) {
        if (event.type === 'BOOKMARK') continue;
        if (event.type === 'DELETED') into.delete(event.object.metadata.name!);
        else into.set(event.object.metadata.name!, event.object);
        this.observe();
      }
    };
    this.done = Promise.all([follow('Pod', this.pods), follow('ReplicaSet', this.sets)]).catch(
      () => undefined,
    );
  }

  /** Pods that count: not finished and not terminating. */
  live(): Pod[] {
    return [...this.pods.values()].filter(
      (p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed',
    );
  }

  available(): Pod[] {
    return this.live().filter((p) =>
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
  }

  private observe(): void {
    this.maxPods = Math.max(this.maxPods, this.live().length);
    this.minAvailable = Math.min(this.minAvailable, this.available().length);
    const problem = this.check(this);
    if (problem) this.violations.push(problem);
  }

  reset(): void {
    this.maxPods = this.live().length;
    this.minAvailable = this.available().length;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

describe('Deployment controller (in-memory apiserver)', () => {
  let bed: TestBed;

  beforeEach(async () => {
    bed = await startTestBed();
  });

  afterEach(async () => {
    await bed.close();
  });

  const start = () =>
    bed.startControllers((context) => [new ReplicaSetController(context), new DeploymentController(context)]);
  const deployments = () => bed.client.resource('Deployment');
  const getD = (name = 'web') => deployments().get('default', name);
  const sets = async () => (await bed.client.resource('ReplicaSet').list('default')).items;
  const events = async (reason: string) =>
    (await bed.client.resource('Event').list('default')).items.filter((e: Event) => e.reason === reason);
  /** Rolled out: every replica updated and available, nothing old left (what `rollout status` waits for). */
  const rolledOut = (d: Deployment) =>
    (d.status?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
    d.status?.updatedReplicas === d.spec.replicas &&
    d.status?.replicas === d.spec.replicas &&
    d.status?.availableReplicas === d.spec.replicas;
  const waitRolledOut = (name = 'web', timeoutMs = 20_000) =>
    waitFor(
      `${name} rolled out`,
      async () => {
        const d = await getD(name);
        return rolledOut(d) && d;
      },
      { timeoutMs },
    );
  const setImage = (image: string, name = 'web') =>
    deployments().patch(
      'default',
      name,
      { spec: { template: { spec: { containers: [{ name: 'app', image }] } } } },
      'strategic',
    );

  it('first rollout: a ReplicaSet named by the template hash, annotations, conditions and an event', async () => {
    await bed.startKubelet();
    await start();
    const created = await deployments().create(deployment('web', 3));
    const d = await waitRolledOut();
    const [rs] = await sets();
    const hash = computeHash(created.spec.template);
    expect(rs.metadata.name).toBe(`web-${hash}`);
    expect(rs.metadata.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs.spec.selector).toEqual({ matchLabels: { app: 'web', 'pod-template-hash': hash } });
    expect(rs.spec.template?.metadata?.labels).toEqual({ app: 'web', 'pod-template-hash': hash });
    expect(rs.metadata.annotations).toEqual({
      'deployment.kubernetes.io/revision': '1',
      'deployment.kubernetes.io/desired-replicas': '3',
      'deployment.kubernetes.io/max-replicas': '4',
    });
    expect(getControllerOf(rs)).toMatchObject({ kind: 'Deployment', name: 'web', uid: created.metadata.uid });
    for (const pod of await bed.pods()) expect(pod.metadata.labels?.['pod-template-hash']).toBe(hash);
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('1');
    expect(d.status).toMatchObject({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    expect(d.status?.unavailableReplicas ?? 0).toBe(0);
    const final = await waitFor('NewReplicaSetAvailable', async () => {
      const current = await getD();
      const progressing = current.status?.conditions?.find((c) => c.type === 'Progressing');
      return progressing?.reason === 'NewReplicaSetAvailable' && current;
    });
    expect(final.status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'Available',
          status: 'True',
          reason: 'MinimumReplicasAvailable',
          message: 'Deployment has minimum availability.',
        }),
        expect.objectContaining({
          type: 'Progressing',
          status: 'True',
          reason: 'NewReplicaSetAvailable',
          message: `ReplicaSet "web-${hash}" has successfully progressed.`,
        }),
      ]),
    );
    const scaling = await waitFor(
      'ScalingReplicaSet event',
      async () => (await events('ScalingReplicaSet'))[0],
    );
    expect(scaling.message).toBe(`Scaled up replica set web-${hash} to 3`);
    expect(scaling.involvedObject).toMatchObject({ kind: 'Deployment', name: 'web' });
  });

  const bounds: Array<{
    replicas: number;
    maxSurge: number | string;
    maxUnavailable: number | string;
    surge: number;
    unavailable: number;
  }> = [
    { replicas: 4, maxSurge: 1, maxUnavailable: 0, surge: 1, unavailable: 0 },
    { replicas: 4, maxSurge: 0, maxUnavailable: 1, surge: 0, unavailable: 1 },
    { replicas: 4, maxSurge: '25%', maxUnavailable: '25%', surge: 1, unavailable: 1 },
    { replicas: 5, maxSurge: '50%', maxUnavailable: '0%', surge: 3, unavailable: 0 },
    { replicas: 5, maxSurge: 2, maxUnavailable: '30%', surge: 2, unavailable: 1 },
    // 10% of 3: surge rounds up to 1, unavailability down to 0 — the surge alone carries the rollout.
    { replicas: 3, maxSurge: '10%', maxUnavailable: '10%', surge: 1, unavailable: 0 },
  ];

  it.each(bounds)(
    'rolling update with maxSurge=$maxSurge maxUnavailable=$maxUnavailable of $replicas stays within bounds',
    async ({ replicas, maxSurge, maxUnavailable, surge, unavailable }) => {
      await bed.startKubelet();
      await start();
      await deployments().create(
        deployment('web', replicas, {
          strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge, maxUnavailable } },
        }),
      );
      await waitRolledOut();
      const observer = new Observer(bed);
      try {
        await waitFor('observer caught up', () => observer.available().length === replicas);
        observer.reset();
        await setImage('bosun/hello:v2');
        const d = await waitRolledOut();
        await waitFor('only new pods left', () => {
          const live = observer.live();
          return (
            live.length === replicas && live.every((p) => p.spec.containers[0].image === 'bosun/hello:v2')
          );
        });
        expect(observer.maxPods).toBeLessThanOrEqual(replicas + surge);
        expect(observer.minAvailable).toBeGreaterThanOrEqual(replicas - unavailable);
        expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
        const all = await sets();
        expect(all).toHaveLength(2);
        const old = all.find((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === '1')!;
        expect(old.spec.replicas).toBe(0);
      } finally {
        await observer.stop();
      }
    },
  );

  it('Recreate: old pods are all gone before any new pod exists', async () => {
    await bed.startKubelet({ terminationDelayMs: 1500 });
    await start();
    await deployments().create(deployment('web', 3, { strategy: { type: 'Recreate' } }));
    await waitRolledOut();
    const observer = new Observer(bed, (o) => {
      const images = new Set(
        [...o.pods.values()]
          .filter((p) => p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed')
          .map((p) => p.spec.containers[0].image),
      );
      return images.size > 1 ? `old and new pods at once: ${[...o.pods.keys()].join(', ')}` : undefined;
    });
    try {
      await waitFor('observer caught up', () => observer.pods.size === 3);
      await setImage('bosun/hello:v2');
      await waitRolledOut();
      await waitFor('3 new pods only', () => {
        const all = [...observer.pods.values()];
        return all.length === 3 && all.every((p) => p.spec.containers[0].image === 'bosun/hello:v2');
      });
      expect(observer.violations).toEqual([]);
      const sawTerminating = await events('ScalingReplicaSet');
      expect(sawTerminating.map((e) => e.message)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^Scaled down replica set web-\w+ to 0 from 3$/)]),
      );
    } finally {
      await observer.stop();
    }
  });

  it('prunes old ReplicaSets beyond revisionHistoryLimit, oldest revisions first', async () => {
    await bed.startKubelet();
    await start();
    await deployments().create(deployment('web', 1, { revisionHistoryLimit: 2 }));
    await waitRolledOut();
    for (const version of ['v2', 'v3', 'v4', 'v5']) {
      await setImage(`bosun/hello:${version}`);
      await waitRolledOut();
    }
    const remaining = await waitFor('3 ReplicaSets left', async () => {
      const list = await sets();
      return list.length === 3 && list;
    });
    const revisions = remaining
      .map((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision'])
      .sort();
    expect(revisions).toEqual(['3', '4', '5']);
  });

  it('paused: template changes wait, scaling still applies; resume rolls out', async () => {
    await bed.startKubelet();
    await start();
    await deployments().create(deployment('web', 2));
    await waitRolledOut();
    await deployments().patch('default', 'web', { spec: { paused: true } });
    await waitFor('DeploymentPaused', async () =>
      (await getD()).status?.conditions?.some(
        (c) => c.type === 'Progressing' && c.reason === 'DeploymentPaused',
      ),
    );
    await setImage('bosun/hello:v2');
    await deployments().patch('default', 'web', { spec: { replicas: 4 } });
    await waitFor('scaled to 4 while paused', async () => (await getD()).status?.availableReplicas === 4);
    const during = await sets();
    expect(during).toHaveLength(1);
    expect(during[0].spec.replicas).toBe(4);
    expect((await getD()).status?.updatedReplicas).toBe(0);
    expect((await bed.pods()).every((p) => p.spec.containers[0].image === 'bosun/hello:local')).toBe(true);

    await deployments().patch('default', 'web', { spec: { paused: false } });
    await waitRolledOut();
    expect(
      (await bed.pods())
        .filter((p) => !p.metadata.deletionTimestamp)
        .every((p) => p.spec.containers[0].image === 'bosun/hello:v2'),
    ).toBe(true);
    expect(await sets()).toHaveLength(2);
  });

  it('reports ProgressDeadlineExceeded when the new pods never become ready', async () => {
    await bed.startKubelet({ ready: (p) => p.spec.containers[0].image !== 'bosun/broken:local' });
    await start();
    await deployments().create(deployment('web', 2, { progressDeadlineSeconds: 2 }));
    await waitRolledOut();
    await setImage('bosun/broken:local');
    const condition = await waitFor(
      'ProgressDeadlineExceeded',
      async () =>
        (await getD()).status?.conditions?.find(
          (c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded',
        ),
      { timeoutMs: 20_000 },
    );
    const rsName = (await sets()).find(
      (rs) => rs.spec.template?.spec.containers[0].image === 'bosun/broken:local',
    )!.metadata.name;
    expect(condition).toMatchObject({
      status: 'False',
      message: `ReplicaSet "${rsName}" has timed out progressing.`,
    });
    // Availability held: the old pods were never all replaced by unready ones.
    expect((await getD()).status?.availableReplicas).toBeGreaterThanOrEqual(1);
  });

  it('scales proportionally mid-rollout (the example of the Kubernetes documentation)', async () => {
    await bed.startKubelet({ ready: (p) => p.spec.containers[0].image !== 'bosun/broken:local' });
    await start();
    await deployments().create(
      deployment('web', 10, {
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 3, maxUnavailable: 2 } },
      }),
    );
    await waitRolledOut();
    await setImage('bosun/broken:local');
    const stuck = await waitFor('rollout stuck at 8 old + 5 new', async () => {
      const list = await sets();
      const sizes = list.map((rs) => rs.spec.replicas).sort((a, b) => a! - b!);
      return JSON.stringify(sizes) === '[5,8]' && list;
    });
    const newName = stuck.find((rs) => rs.spec.replicas === 5)!.metadata.name;
    await deployments().patch('default', 'web', { spec: { replicas: 15 } });
    const scaled = await waitFor('3 more to the old, 2 more to the new', async () => {
      const list = await sets();
      const byName = Object.fromEntries(list.map((rs) => [rs.metadata.name, rs]));
      return (
        byName[newName!]?.spec.replicas === 7 &&
        list.reduce((n, rs) => n + rs.spec.replicas!, 0) === 18 &&
        list
      );
    });
    for (const rs of scaled) {
      expect(rs.metadata.annotations?.['deployment.kubernetes.io/desired-replicas']).toBe('15');
      expect(rs.metadata.annotations?.['deployment.kubernetes.io/max-replicas']).toBe('18');
    }
    expect(scaled.find((rs) => rs.metadata.name !== newName)!.spec.replicas).toBe(11);
  });

  it('adopts a matching orphan ReplicaSet of the same template instead of creating one', async () => {
    await bed.startKubelet();
    const d = deployment('web', 2);
    const hash = computeHash((await deployments().create(d, { dryRun: true })).spec.template);
    const labels = { app: 'web', 'pod-template-hash': hash };
    await bed.client.resource('ReplicaSet').create({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'handmade', namespace: 'default', labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: { metadata: { labels }, spec: d.spec.template.spec },
      },
    });
    await start();
    const created = await deployments().create(d);
    await waitRolledOut();
    const list = await sets();
    expect(list.map((rs) => rs.metadata.name)).toEqual(['handmade']);
    expect(getControllerOf(list[0])?.uid).toBe(created.metadata.uid);
  });
});
