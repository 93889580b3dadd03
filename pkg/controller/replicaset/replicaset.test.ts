import { Event, objectKey, Pod, ReplicaSet } from '../../api';
import { startFaultProxy } from '../../../test/support/fault-proxy';
import { waitFor } from '../../../test/support/wait';
import { pod, replicaSet, startTestBed, TestBed } from '../../../test/support/workloads';
import { ReplicaSetController } from './replicaset';

jest.setTimeout(30_000);

describe('ReplicaSet controller (in-memory apiserver)', () => {
  let bed: TestBed;

  beforeEach(async () => {
    bed = await startTestBed();
  });

  afterEach(async () => {
    await bed.close();
  });

  const rsClient = () => bed.client.resource('ReplicaSet');
  const getRS = (name: string) => rsClient().get('default', name);
  const owned = (pods: Pod[], rs: ReplicaSet) =>
    pods.filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === rs.metadata.uid && r.controller));
  const start = () => bed.startControllers((context) => [new ReplicaSetController(context)]);
  const events = async (reason: string) =>
    (await bed.client.resource('Event').list('default')).items.filter((e: Event) => e.reason === reason);

  it('scales up from 0: pods from the template with generateName, an owner reference and events', async () => {
    await bed.startKubelet();
    await start();
    const created = await rsClient().create(replicaSet('web', 0));
    await waitFor('observedGeneration 1', async () => (await getRS('web')).status?.observedGeneration === 1);
    expect(await bed.pods()).toHaveLength(0);

    await rsClient().updateScale('default', 'web', 5);
    const pods = await waitFor('5 pods', async () => {
      const list = await bed.pods();
      return list.length === 5 && list;
    });
    for (const p of pods) {
      expect(p.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      expect(p.metadata.generateName).toBe('web-');
      expect(p.metadata.labels).toEqual({ app: 'web' });
      expect(p.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web',
          uid: created.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
    }
    const status = await waitFor('status of 5 ready', async () => {
      const rs = await getRS('web');
      return rs.status?.readyReplicas === 5 && rs.status;
    });
    expect(status).toMatchObject({
      replicas: 5,
      fullyLabeledReplicas: 5,
      readyReplicas: 5,
      availableReplicas: 5,
      observedGeneration: 2,
    });
    const creates = await waitFor('5 SuccessfulCreate events', async () => {
      const list = await events('SuccessfulCreate');
      return list.length === 5 && list;
    });
    expect(creates.map((e) => e.message).sort()).toEqual(
      pods.map((p) => `Created pod: ${p.metadata.name}`).sort(),
    );
    expect(creates[0].involvedObject).toMatchObject({ kind: 'ReplicaSet', name: 'web' });
    expect(creates[0].source?.component).toBe('replicaset-controller');
  });

  it('scales down deleting the least valuable pods first', async () => {
    // Pods whose name says what state the kubelet keeps them in.
    const kubelet = await bed.startKubelet({
      runs: (p) => p.metadata.labels?.state !== 'pending',
      ready: (p) => p.metadata.labels?.state === 'ready',
    });
    void kubelet;
    const pods = bed.client.resource('Pod');
    for (const [name, state] of [
      ['ready-old', 'ready'],
      ['unready', 'unready'],
      ['pending', 'pending'],
      ['ready-new', 'ready'],
    ] as const) {
      await pods.create(pod(name, { app: 'web', state }));
    }
    await waitFor('pods in their states', async () => {
      const list = await bed.pods();
      const ready = list.filter((p) =>
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      const running = list.filter((p) => p.status?.phase === 'Running');
      return ready.length === 2 && running.length === 3;
    });
    await start();
    await rsClient().create(
      replicaSet(
        'web',
        4,
        { app: 'web' },
        {
          template: {
            metadata: { labels: { app: 'web', state: 'ready' } },
            spec: { containers: [{ name: 'app', image: 'x' }] },
          },
        },
      ),
    );
    await waitFor('all 4 adopted', async () => (await getRS('web')).status?.replicas === 4);
    const expectedOrder = ['pending', 'unready'];
    for (let replicas = 3; replicas >= 2; replicas--) {
      await rsClient().updateScale('default', 'web', replicas);
      const remaining = await waitFor(`${replicas} pods`, async () => {
        const list = (await bed.pods()).filter((p) => !p.metadata.deletionTimestamp);
        return list.length === replicas && list;
      });
      expect(remaining.map((p) => p.metadata.name)).not.toContain(expectedOrder[3 - replicas]);
    }
    const names = (await bed.pods()).map((p) => p.metadata.name).sort();
    expect(names).toEqual(['ready-new', 'ready-old']);
    const deletes = await waitFor('2 SuccessfulDelete events', async () => {
      const list = await events('SuccessfulDelete');
      return list.length === 2 && list;
    });
    expect(deletes.map((e) => e.message).sort()).toEqual(['Deleted pod: pending', 'Deleted pod: unready']);
  });

  it('adopts a matching orphan instead of creating one more pod', async () => {
    await bed.startKubelet();
    const orphan = await bed.client.resource('Pod').create(pod('orphan', { app: 'web' }));
    const stranger = await bed.client.resource('Pod').create(pod('stranger', { app: 'db' }));
    await start();
    const rs = await rsClient().create(replicaSet('web', 2));
    await waitFor('2 ready replicas', async () => (await getRS('web')).status?.readyReplicas === 2);
    const pods = await bed.pods();
    expect(owned(pods, rs)).toHaveLength(2);
    const adopted = pods.find((p) => p.metadata.name === 'orphan')!;
    expect(adopted.metadata.uid).toBe(orphan.metadata.uid);
    expect(adopted.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: 'ReplicaSet', name: 'web', uid: rs.metadata.uid, controller: true }),
    ]);
    expect(pods.find((p) => p.metadata.name === 'stranger')?.metadata.ownerReferences).toBeUndefined();
    expect(stranger.metadata.ownerReferences).toBeUndefined();
  });

  it('does not adopt while the ReplicaSet is being deleted', async () => {
    const running = await start();
    const controller = running.controllers[0] as ReplicaSetController;
    const rs = replicaSet('web', 0);
    rs.metadata.finalizers = ['example.com/hold'];
    await rsClient().create(rs);
    await rsClient().delete('default', 'web');
    await bed.client.resource('Pod').create(pod('orphan', { app: 'web' }));
    const cache = running.context.informers;
    await waitFor('controller cache has both', () => {
      const cached = cache.informer('ReplicaSet').get('default/web');
      return (
        Boolean(cached?.metadata.deletionTimestamp) &&
        cache.informer('Pod').get('default/orphan') !== undefined
      );
    });
    await controller.sync('default/web');
    const pods = await bed.pods();
    expect(pods.map((p) => p.metadata.name)).toEqual(['orphan']);
    expect(pods[0].metadata.ownerReferences).toBeUndefined();
    await rsClient().patch('default', 'web', { metadata: { finalizers: null } });
  });

  it('releases a pod whose labels no longer match, and replaces it', async () => {
    await bed.startKubelet();
    await start();
    const rs = await rsClient().create(replicaSet('web', 2));
    const [first] = await waitFor('2 pods', async () => {
      const list = await bed.pods();
      return list.length === 2 && list;
    });
    await bed.client
      .resource('Pod')
      .patch('default', first.metadata.name!, { metadata: { labels: { app: 'debug' } } });
    const pods = await waitFor('released and replaced', async () => {
      const list = await bed.pods();
      return list.length === 3 && owned(list, rs).length === 2 && list;
    });
    const released = pods.find((p) => p.metadata.name === first.metadata.name)!;
    expect(released.metadata.ownerReferences ?? []).toEqual([]);
    expect(released.metadata.labels).toEqual({ app: 'debug' });
  });

  it('replaces a deleted pod', async () => {
    await bed.startKubelet();
    await start();
    await rsClient().create(replicaSet('web', 3));
    const pods = await waitFor('3 pods', async () => {
      const list = await bed.pods();
      return list.length === 3 && list;
    });
    await bed.client.resource('Pod').delete('default', pods[0].metadata.name!, { gracePeriodSeconds: 0 });
    const after = await waitFor('a replacement', async () => {
      const list = await bed.pods();
      return list.length === 3 && !list.some((p) => p.metadata.name === pods[0].metadata.name) && list;
    });
    expect(after.filter((p) => pods.some((q) => q.metadata.name === p.metadata.name))).toHaveLength(2);
  });

  it('never creates twice across a controller restart mid-way', async () => {
    // Every pod ever created, seen by a watch that started before anything happened.
    const seen = new Set<string>();
    const abort = new AbortController();
    const watching = (async () => {
      for await (const event of bed.client
        .resource('Pod')
        .watch('default', { resourceVersion: '0' }, abort.signal))
        if (event.type === 'ADDED') seen.add(event.object.metadata.name!);
    })().catch(() => undefined);
    try {
      const first = await start();
      await rsClient().create(replicaSet('web', 40));
      await waitFor('some pods created', () => seen.size >= 5, { intervalMs: 5 });
      await first.stop();
      const controller = (await start()).controllers[0] as ReplicaSetController;
      await waitFor('40 pods', async () => (await bed.pods()).length === 40);
      await waitFor('status replicas 40', async () => (await getRS('web')).status?.replicas === 40);
      // Settled: one more sync changes nothing.
      await controller.sync('default/web');
      expect((await bed.pods()).length).toBe(40);
      expect(seen.size).toBe(40);
      // Each controller's recorder tells about one ReplicaSet in a burst of 25 (the spam
      // filter), so some creates go unrecorded; none is recorded twice.
      const names = new Set((await bed.pods()).map((p) => p.metadata.name!));
      const created = await waitFor('25 SuccessfulCreate events or more', async () => {
        const list = await events('SuccessfulCreate');
        return list.length >= 25 ? list : undefined;
      });
      const messages = created.map((e) => e.message!);
      expect(new Set(messages).size).toBe(messages.length);
      for (const message of messages) expect(names.has(message.replace('Created pod: ', ''))).toBe(true);
    } finally {
      abort.abort();
      await watching;
    }
  });

  it('waits for its own creates to show up in the cache before acting again (expectations)', async () => {
    const running = await start();
    const controller = running.controllers[0] as ReplicaSetController;
    await rsClient().create(replicaSet('web', 3));
    await waitFor('3 pods', async () => (await bed.pods()).length === 3);
    // Expecting creates that the informer will never show: syncs must not act on the cache.
    controller.expectations.expectCreations('default/web', 1);
    await bed.client.resource('Pod').delete('default', (await bed.pods())[0].metadata.name!);
    await waitFor('status shows 2', async () => (await getRS('web')).status?.replicas === 2);
    await controller.sync('default/web');
    expect((await bed.pods()).length).toBe(2);
    controller.expectations.creationObserved('default/web');
    await controller.sync('default/web');
    await waitFor('back to 3', async () => (await bed.pods()).length === 3);
  });

  it('counts pods available only after minReadySeconds, and syncs again when they are', async () => {
    await bed.startKubelet();
    await start();
    await rsClient().create(replicaSet('web', 3, { app: 'web' }, { minReadySeconds: 2 }));
    const status = await waitFor('3 ready', async () => {
      const rs = await getRS('web');
      return rs.status?.readyReplicas === 3 && rs.status;
    });
    expect(status.availableReplicas ?? 0).toBeLessThan(3);
    await waitFor('3 available', async () => (await getRS('web')).status?.availableReplicas === 3, {
      timeoutMs: 15_000,
    });
    // A pod that turns unready is neither ready nor available.
    bed.kubelet!.setReady(objectKey((await bed.pods())[0]), false);
    const after = await waitFor('one unready', async () => {
      const rs = await getRS('web');
      return rs.status?.readyReplicas === 2 && rs.status;
    });
    expect(after).toMatchObject({
      replicas: 3,
      readyReplicas: 2,
      availableReplicas: 2,
      fullyLabeledReplicas: 3,
    });
  });

  it('counts fullyLabeledReplicas against the template labels, not the selector', async () => {
    await start();
    await bed.client.resource('Pod').create(pod('partial', { app: 'web' }));
    const rs = replicaSet('web', 2, { app: 'web' });
    rs.spec.template!.metadata!.labels = { app: 'web', tier: 'front' };
    await rsClient().create(rs);
    const status = await waitFor('2 replicas', async () => {
      const current = await getRS('web');
      return current.status?.replicas === 2 && current.status;
    });
    expect(status.fullyLabeledReplicas).toBe(1);
  });

  it('ignores pods that are finished or terminating', async () => {
    await bed.startKubelet({ terminationDelayMs: 60_000 });
    await start();
    await rsClient().create(replicaSet('web', 2));
    const pods = await waitFor('2 running', async () => {
      const list = await bed.pods();
      return list.filter((p) => p.status?.phase === 'Running').length === 2 && list;
    });
    // One finishes, one is deleted and stays Terminating (the kubelet is slow): both are replaced.
    await bed.client
      .resource('Pod')
      .patch('default', pods[0].metadata.name!, { status: { phase: 'Succeeded' } }, 'merge', {
        subresource: 'status',
      });
    await bed.client.resource('Pod').delete('default', pods[1].metadata.name!);
    await waitFor('2 replacements', async () => (await bed.pods()).length === 4);
    await waitFor('status counts only active pods', async () => (await getRS('web')).status?.replicas === 2);
  });

  it('reports ReplicaFailure and FailedCreate when creates are refused, and clears it after', async () => {
    const proxy = await startFaultProxy(bed.api.url);
    try {
      const quota = 'exceeded quota: pods, requested: pods=1, used: pods=1, limited: pods=1';
      let allowed = 1;
      proxy.fault = (method, path) => {
        if (method !== 'POST' || path !== '/api/v1/namespaces/default/pods') return undefined;
        if (allowed > 0) {
          allowed--;
          return undefined;
        }
        return {
          apiVersion: 'v1',
          kind: 'Status',
          metadata: {},
          status: 'Failure',
          message: `pods "web-" is forbidden: ${quota}`,
          reason: 'Forbidden',
          code: 403,
        };
      };
      await bed.startControllers((context) => [new ReplicaSetController(context)], proxy.url);
      await rsClient().create(replicaSet('web', 3));
      const condition = await waitFor('ReplicaFailure', async () =>
        (await getRS('web')).status?.conditions?.find((c) => c.type === 'ReplicaFailure'),
      );
      expect(condition).toMatchObject({
        status: 'True',
        reason: 'FailedCreate',
        message: `pods "web-" is forbidden: ${quota}`,
      });
      // The one pod allowed is counted; the condition stays while creates keep failing.
      await waitFor('1 replica, still failing', async () => {
        const rs = await getRS('web');
        return rs.status?.replicas === 1 && rs.status.conditions?.some((c) => c.type === 'ReplicaFailure');
      });
      const failed = await waitFor('FailedCreate event', async () => (await events('FailedCreate'))[0]);
      expect(failed).toMatchObject({
        type: 'Warning',
        message: `Error creating: pods "web-" is forbidden: ${quota}`,
      });

      proxy.fault = undefined;
      await waitFor('3 replicas and no failure', async () => {
        const rs = await getRS('web');
        return rs.status?.replicas === 3 && !rs.status.conditions?.some((c) => c.type === 'ReplicaFailure');
      });
    } finally {
      await proxy.close();
    }
  });
});
