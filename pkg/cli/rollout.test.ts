import { PassThrough, Readable } from 'stream';
import { Deployment } from '../api';
import { DeploymentController } from '../controller/deployment/deployment';
import { ReplicaSetController } from '../controller/replicaset/replicaset';
import { waitFor } from '../../test/support/wait';
import { deployment, startTestBed, TestBed } from '../../test/support/workloads';
import { CommandIO } from './io';
import { main } from './main';
import { parseDuration } from './io';
import { describePodTemplate } from './rollout';
import './commands';

jest.setTimeout(60_000);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `bosun rollout ...` against the test bed; `onOutput` sees stdout as it is written. */
function rollout(bed: TestBed, args: string[], onOutput?: (text: string) => void): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (chunk: Buffer) => {
    out.push(chunk.toString());
    onOutput?.(out.join(''));
  });
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  const io: CommandIO = { stdout, stderr, stdin: Readable.from(['']), cwd: process.cwd(), env: {} };
  return main(['rollout', ...args, '--server', bed.api.url, '--token', bed.api.adminToken], io).then(
    (code) => ({
      code,
      stdout: out.join(''),
      stderr: err.join(''),
    }),
  );
}

describe('bosun rollout (in-memory apiserver)', () => {
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
  const getD = () => deployments().get('default', 'web');
  const rolledOut = async () => {
    const d = await getD();
    return (
      (d.status?.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) &&
      d.status?.updatedReplicas === d.spec.replicas &&
      d.status?.replicas === d.spec.replicas &&
      d.status?.availableReplicas === d.spec.replicas
    );
  };
  const setImage = (image: string, annotations?: Record<string, string>) =>
    deployments().patch(
      'default',
      'web',
      { metadata: { annotations }, spec: { template: { spec: { containers: [{ name: 'app', image }] } } } },
      'strategic',
    );

  describe('status', () => {
    it('waits until the pods are ready, printing as kubectl does, then exits 0', async () => {
      let ready = false;
      const kubelet = await bed.startKubelet({ ready: () => ready });
      await start();
      await deployments().create(deployment('web', 3));
      let sawWaiting = false;
      const running = rollout(bed, ['status', 'deployment/web'], (text) => {
        sawWaiting ||= text.includes(
          'Waiting for deployment "web" rollout to finish: 0 of 3 updated replicas are available...\n',
        );
      });
      await waitFor('the waiting line', () => sawWaiting);
      ready = true;
      for (const pod of await bed.pods()) kubelet.setReady(pod, true);
      const result = await running;
      expect(result.code).toBe(0);
      expect(result.stderr).toBe('');
      const lines = result.stdout.split('\n').filter(Boolean);
      expect(lines.at(-1)).toBe('deployment "web" successfully rolled out');
      for (const line of lines.slice(0, -1))
        expect(line).toMatch(
          /^(Waiting for deployment spec update to be observed\.\.\.|Waiting for deployment "web" rollout to finish: (\d+ out of 3 new replicas have been updated|\d+ old replicas are pending termination|\d of \d updated replicas are available)\.\.\.)$/,
        );
    });

    it('exits 1 when the deployment exceeds its progress deadline', async () => {
      await bed.startKubelet({ ready: () => false });
      await start();
      await deployments().create(deployment('web', 2, { progressDeadlineSeconds: 1 }));
      const result = await rollout(bed, ['status', 'deploy/web']);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe('error: deployment "web" exceeded its progress deadline\n');
    });

    it('with --watch=false prints the state once; with --timeout gives up', async () => {
      await bed.startKubelet({ ready: () => false });
      await start();
      await deployments().create(deployment('web', 2));
      await waitFor('2 unready pods seen', async () => (await getD()).status?.updatedReplicas === 2);
      const once = await rollout(bed, ['status', 'deployment', 'web', '--watch=false']);
      expect(once).toEqual({
        code: 0,
        stdout: 'Waiting for deployment "web" rollout to finish: 0 of 2 updated replicas are available...\n',
        stderr: '',
      });
      const timed = await rollout(bed, ['status', 'deployment/web', '--timeout', '500ms']);
      expect(timed.code).toBe(1);
      expect(timed.stderr).toBe('error: timed out waiting for the condition\n');
    });

    it('reports a missing deployment as the server does', async () => {
      const result = await rollout(bed, ['status', 'deployment/nope']);
      expect(result).toEqual({
        code: 1,
        stdout: '',
        stderr: 'Error from server (NotFound): deployments.apps "nope" not found\n',
      });
    });
  });

  describe('history and undo', () => {
    it('lists revisions with their change-cause, shows one, and rolls back reusing the old ReplicaSet', async () => {
      await bed.startKubelet();
      await start();
      await deployments().create(deployment('web', 2));
      await waitFor('v1 rolled out', rolledOut);
      await setImage('bosun/hello:v2', {
        'kubernetes.io/change-cause': 'kubectl set image deployment/web app=bosun/hello:v2',
      });
      await waitFor(
        'v2 rolled out',
        async () => (await rolledOut()) && (await getD()).status?.observedGeneration === 2,
      );

      const history = await rollout(bed, ['history', 'deployment/web']);
      expect(history).toEqual({
        code: 0,
        stderr: '',
        stdout: [
          'deployment.apps/web ',
          'REVISION  CHANGE-CAUSE',
          '1         <none>',
          '2         kubectl set image deployment/web app=bosun/hello:v2',
          '',
          '',
        ].join('\n'),
      });
      const sets = (await bed.client.resource('ReplicaSet').list('default')).items;
      const v1 = sets.find((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === '1')!;
      const hash = v1.metadata.labels!['pod-template-hash'];
      const one = await rollout(bed, ['history', 'deployment/web', '--revision', '1']);
      expect(one.stdout).toBe(
        [
          'deployment.apps/web with revision #1',
          'Pod Template:',
          '  Labels:\tapp=web',
          `\tpod-template-hash=${hash}`,
          '  Containers:',
          '   app:',
          '    Image:\tbosun/hello:local',
          '    Port:\t<none>',
          '    Host Port:\t<none>',
          '    Environment:\t<none>',
          '    Mounts:\t<none>',
          '  Volumes:\t<none>',
          '  Node-Selectors:\t<none>',
          '  Tolerations:\t<none>',
          '',
          '',
        ].join('\n'),
      );
      const missing = await rollout(bed, ['history', 'deployment/web', '--revision', '7']);
      expect(missing).toEqual({
        code: 1,
        stdout: '',
        stderr: 'error: unable to find the specified revision\n',
      });

      const undo = await rollout(bed, ['undo', 'deployment/web']);
      expect(undo).toEqual({ code: 0, stdout: 'deployment.apps/web rolled back\n', stderr: '' });
      const d: Deployment = await getD();
      expect(d.spec.template.spec.containers[0].image).toBe('bosun/hello:local');
      expect(d.spec.template.metadata?.labels).toEqual({ app: 'web' });
      await waitFor(
        'back on v1',
        async () =>
          (await rolledOut()) &&
          (await getD()).metadata.annotations?.['deployment.kubernetes.io/revision'] === '3',
      );
      const after = (await bed.client.resource('ReplicaSet').list('default')).items;
      expect(after).toHaveLength(2);
      const reused = after.find((rs) => rs.metadata.uid === v1.metadata.uid)!;
      expect(reused.spec.replicas).toBe(2);
      expect(reused.metadata.annotations).toMatchObject({
        'deployment.kubernetes.io/revision': '3',
        'deployment.kubernetes.io/revision-history': '1',
      });
      // The change-cause of the revision rolled back to (none) replaced the Deployment's.
      expect(d.metadata.annotations?.['kubernetes.io/change-cause']).toBeUndefined();

      const again = await rollout(bed, ['undo', 'deployment/web', '--to-revision', '3']);
      expect(again.stdout).toBe(
        'deployment.apps/web skipped rollback (current template already matches revision)\n',
      );
      const nowhere = await rollout(bed, ['undo', 'deployment/web', '--to-revision', '9']);
      expect(nowhere).toEqual({
        code: 1,
        stdout: '',
        stderr: 'error: unable to find specified revision 9 in history\n',
      });
      const history2 = await rollout(bed, ['history', 'deployment/web']);
      expect(history2.stdout.split('\n').slice(1, 4)).toEqual([
        'REVISION  CHANGE-CAUSE',
        '2         kubectl set image deployment/web app=bosun/hello:v2',
        '3         <none>',
      ]);
    });

    it('says so when there is no history yet', async () => {
      await deployments().create(deployment('web', 1));
      const result = await rollout(bed, ['history', 'deployment/web']);
      expect(result.stdout).toBe('deployment.apps/web \nNo rollout history found.\n');
      const undo = await rollout(bed, ['undo', 'deployment/web']);
      expect(undo.stderr).toBe('error: no rollout history found for deployment "web"\n');
    });
  });

  describe('pause, resume, restart', () => {
    it('pauses and resumes once each, refuses to restart while paused, restarts with restartedAt', async () => {
      await bed.startKubelet();
      await start();
      await deployments().create(deployment('web', 1));
      await waitFor('rolled out', rolledOut);
      expect(await rollout(bed, ['pause', 'deployment/web'])).toEqual({
        code: 0,
        stdout: 'deployment.apps/web paused\n',
        stderr: '',
      });
      expect((await rollout(bed, ['pause', 'deployment/web'])).stderr).toBe(
        'error: deployments.apps "web" is already paused\n',
      );
      const refused = await rollout(bed, ['restart', 'deployment/web']);
      expect(refused).toEqual({
        code: 1,
        stdout: '',
        stderr: `error: deployments.apps "web" can't restart paused deployment (run rollout resume first)\n`,
      });
      expect((await rollout(bed, ['undo', 'deployment/web'])).stderr).toBe(
        'error: no rollout history found for deployment "web"\n',
      );
      expect((await rollout(bed, ['resume', 'deployment/web'])).stdout).toBe('deployment.apps/web resumed\n');
      expect((await getD()).spec.paused).toBeUndefined();
      expect((await rollout(bed, ['resume', 'deployment/web'])).stderr).toBe(
        'error: deployments.apps "web" is not paused\n',
      );

      const restarted = await rollout(bed, ['restart', 'deployment/web']);
      expect(restarted.stdout).toBe('deployment.apps/web restarted\n');
      const annotation = (await getD()).spec.template.metadata?.annotations?.[
        'kubectl.kubernetes.io/restartedAt'
      ];
      expect(annotation).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/);
      await waitFor(
        'a second ReplicaSet rolled out',
        async () =>
          (await rolledOut()) && (await bed.client.resource('ReplicaSet').list('default')).items.length === 2,
      );
    });

    it('names what it cannot do for other kinds', async () => {
      const result = await rollout(bed, ['pause', 'statefulset/db']);
      expect(result.stderr).toBe('error: statefulsets.apps "db" pausing is not supported\n');
    });
  });

  it('rejects unknown subcommands and bad flags with usage', async () => {
    expect((await rollout(bed, ['frobnicate', 'deployment/web'])).stderr).toMatch(
      /^error: unknown command "frobnicate" for "bosun rollout"/,
    );
    expect((await rollout(bed, ['status', 'deployment/web', '--watch=maybe'])).code).toBe(1);
  });
});

describe('rollout helpers', () => {
  it.each([
    ['0', 0],
    ['500ms', 500],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
  ])('parses the Go duration %s', (text, ms) => {
    expect(parseDuration(text, -1, '--timeout')).toBe(ms);
  });

  it.each(['', '5', 'm', '5x', '1h 2m'])('rejects %j', (text) => {
    expect(() => parseDuration(text, -1, '--timeout')).toThrow('invalid duration');
  });

  it('describes ports, env, mounts, probes and volumes like kubectl describe', () => {
    const text = describePodTemplate({
      metadata: { labels: { app: 'web' }, annotations: { note: 'x' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'nginx',
            ports: [{ containerPort: 80, protocol: 'TCP' }],
            env: [{ name: 'MODE', value: 'prod' }],
            volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }],
            readinessProbe: { httpGet: { path: '/healthz', port: 80 } },
          },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    });
    expect(text).toBe(
      [
        'Pod Template:',
        '  Labels:\tapp=web',
        '  Annotations:\tnote: x',
        '  Containers:',
        '   web:',
        '    Image:\tnginx',
        '    Port:\t80/TCP',
        '    Host Port:\t0/TCP',
        '    Readiness:\thttp-get http://:80/healthz delay=0s timeout=1s period=10s #success=1 #failure=3',
        '    Environment:',
        '      MODE:\tprod',
        '    Mounts:',
        '      /data from data (ro)',
        '  Volumes:',
        '   data:',
        "    Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)",
        '    Medium:\t',
        '    SizeLimit:\t<unset>',
        '  Node-Selectors:\t<none>',
        '  Tolerations:\t<none>',
        '',
      ].join('\n'),
    );
  });
});
