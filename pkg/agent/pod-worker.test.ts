/**
 * One pod worker over the hollow runtime against an in-memory apiserver: when it writes the
 * pod's status, and when it must not.
 */
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Pod } from '../api';
import { EventRecorder } from '../client';
import { logger } from '../util/log';
import { localApiPerTest } from '../../test/support/local-api';
import { waitFor } from '../../test/support/wait';
import { RestartBackoff } from './backoff';
import { PodWorker } from './pod-worker';
import { HollowRuntime } from './runtime/hollow';
import { VolumeManager } from './volumes';

const cluster = localApiPerTest();

function worker(uid: string): PodWorker {
  const client = cluster.client();
  const runtime = new HollowRuntime('node-1');
  return new PodWorker(
    uid,
    {
      nodeName: 'node-1',
      hostIP: '127.0.0.1',
      network: 'bosun',
      runtime,
      volumes: new VolumeManager({
        runtime,
        nodeName: 'node-1',
        dataDir: mkdtempSync(join(tmpdir(), 'bosun-pod-worker-test-')),
        allowHostPath: false,
      }),
      backoff: new RestartBackoff(),
      recorder: new EventRecorder(client, { component: 'kubelet', host: 'node-1' }),
      hollow: true,
      client,
      sources: { configMap: () => undefined, secret: () => undefined, services: () => [] },
      log: logger('agent', { node: 'node-1' }),
    },
    () => undefined,
  );
}

describe('pod worker status', () => {
  it('does not rewrite status from a copy of the pod older than its own last write', async () => {
    const client = cluster.client();
    const created = await client.resource('Pod').create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default' },
      spec: { nodeName: 'node-1', containers: [{ name: 'app', image: 'bosun/hello:local' }] },
    } as Pod);
    const w = worker(created.metadata.uid!);
    w.update(created);
    await w.settled();
    const running = await client.resource('Pod').get('default', 'p');
    expect(running.status?.phase).toBe('Running');
    // Condition times have a resolution of one second: from the next one on, a status computed
    // afresh from the stale copy (no conditions yet) would differ from the one written.
    const second = Math.floor(Date.now() / 1000);
    await waitFor('the next second', async () => Math.floor(Date.now() / 1000) > second);
    // The watch has not brought our write back yet: the worker sees the pod as created.
    w.update(created);
    await w.settled();
    const after = await client.resource('Pod').get('default', 'p');
    expect(after.metadata.resourceVersion).toBe(running.metadata.resourceVersion);
    w.stop();
  });
});
