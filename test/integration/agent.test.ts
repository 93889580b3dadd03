/**
 * The agent against a real Docker daemon: a real `bosun agent` process, an apiserver in this
 * process (the scheduler is not needed: pods are created already bound to the node).
 */
import { mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ConfigMap, Pod } from '../../pkg/api';
import { DockerRuntime } from '../../pkg/agent/runtime/docker';
import { startLocalApiServer, LocalApiServer } from '../../pkg/apiserver/local';
import { Client } from '../../pkg/client';
import { buildImages, docker, newTestRunId, removeTestResources, TEST_RUN_LABEL } from '../support/docker';
import { BosunProcess, spawnBosun } from '../support/process';
import { waitFor } from '../support/wait';

jest.setTimeout(240_000);

const runId = newTestRunId();
const nodeName = `node-${runId}`;
const nodeToken = `node-token-${runId}`;
const network = `bosun-test-${runId}`;
const workdir = mkdtempSync(join(tmpdir(), 'bosun-agent-test-'));
let api: LocalApiServer;
let client: Client;
let agent: BosunProcess;
const runtime = new DockerRuntime({ nodeName, sandboxImage: 'bosun/pause:local' });

function startAgent(): BosunProcess {
  return spawnBosun(
    [
      'agent',
      '--name',
      nodeName,
      '--server',
      api.url,
      '--token',
      nodeToken,
      '--network',
      network,
      '--data',
      join(workdir, 'data'),
      '--backoff-initial',
      '1s',
      '--docker-label',
      `${TEST_RUN_LABEL}=${runId}`,
    ],
    join(workdir, 'agent.log'),
  );
}

beforeAll(async () => {
  await buildImages();
  api = await startLocalApiServer([
    { token: nodeToken, identity: { user: `system:node:${nodeName}`, role: 'node', node: nodeName } },
  ]);
  client = new Client({ servers: [api.url], token: api.adminToken });
  agent = startAgent();
  await waitFor(
    'the node to be Ready',
    async () => {
      const node = await client.resource('Node').get(undefined, nodeName);
      return node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    },
    { timeoutMs: 30_000 },
  );
});

afterAll(async () => {
  await agent?.kill();
  client?.close();
  await api?.close();
  await removeTestResources(runId);
});

afterEach(() => {
  if (expect.getState().assertionCalls > expect.getState().numPassingAsserts) {
    process.stderr.write(
      `agent log:\n${readFileSync(agent.log, 'utf8').split('\n').slice(-40).join('\n')}\n`,
    );
  }
});

let podCount = 0;
function pod(spec: Partial<Pod['spec']> & Pick<Pod['spec'], 'containers'>, name = `p${++podCount}`): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName, terminationGracePeriodSeconds: 2, ...spec },
  } as Pod;
}

async function create(manifest: Pod): Promise<Pod> {
  return client.resource('Pod').create(manifest);
}

async function current(name: string): Promise<Pod> {
  return client.resource('Pod').get('default', name);
}

async function until(
  name: string,
  what: string,
  check: (p: Pod) => boolean,
  timeoutMs = 60_000,
): Promise<Pod> {
  return waitFor(
    `pod ${name} ${what}`,
    async () => {
      const p = await current(name);
      return check(p) ? p : undefined;
    },
    { timeoutMs, intervalMs: 200 },
  );
}

const running = (p: Pod) =>
  p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).every((s) => s.state?.running);
const readyCondition = (p: Pod) => p.status?.conditions?.find((c) => c.type === 'Ready')?.status;

async function execIn(podName: string, container: string, command: string[]): Promise<string> {
  const p = await current(podName);
  const id = p
    .status!.containerStatuses!.find((s) => s.name === container)!
    .containerID!.replace('docker://', '');
  const result = await runtime.exec(id, command, 10_000);
  return result.stdout;
}

const HELLO = 'bosun/hello:local';

describe('bosun agent', () => {
  it('registers its node with capacity, addresses, node info and a lease', async () => {
    const node = await client.resource('Node').get(undefined, nodeName);
    expect(node.status?.capacity).toMatchObject({
      cpu: expect.any(String),
      memory: expect.stringMatching(/Ki$/),
      pods: '110',
    });
    expect(node.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^docker:\/\/\d+/);
    expect(node.status?.addresses).toEqual(
      expect.arrayContaining([{ type: 'InternalIP', address: '127.0.0.1' }]),
    );
    expect(node.status?.conditions?.map((c) => c.type).sort()).toEqual([
      'DiskPressure',
      'MemoryPressure',
      'PIDPressure',
      'Ready',
    ]);
    const lease = await client.resource('Lease').get('kube-node-lease', nodeName);
    expect(lease.spec?.holderIdentity).toBe(nodeName);
  });

  it('runs init containers in order, shares localhost between containers, and builds env from ConfigMaps and Secrets', async () => {
    await client.resource('ConfigMap').create({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'app-config', namespace: 'default' },
      data: { GREETING: 'howdy', 'file.txt': 'version-1' },
    });
    await client.resource('Secret').create({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'app-secret', namespace: 'default' },
      data: { password: Buffer.from('s3cret').toString('base64') },
    } as never);
    const name = 'twins';
    await create(
      pod(
        {
          volumes: [
            { name: 'work', emptyDir: {} },
            { name: 'config', configMap: { name: 'app-config' } },
          ],
          initContainers: [
            {
              name: 'first',
              image: HELLO,
              command: ['sh', '-c', 'echo one >> /work/order'],
              volumeMounts: [{ name: 'work', mountPath: '/work' }],
            },
            {
              name: 'second',
              image: HELLO,
              command: ['sh', '-c', 'echo two >> /work/order'],
              volumeMounts: [{ name: 'work', mountPath: '/work' }],
            },
          ],
          containers: [
            {
              name: 'web',
              image: HELLO,
              env: [
                { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'app-config', key: 'GREETING' } } },
                { name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'app-secret', key: 'password' } } },
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'MY_NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
              ],
              envFrom: [{ configMapRef: { name: 'app-config' }, prefix: 'CM_' }],
              volumeMounts: [
                { name: 'work', mountPath: '/work' },
                { name: 'config', mountPath: '/config' },
              ],
            },
            {
              name: 'sidecar',
              image: HELLO,
              command: [
                'sh',
                '-c',
                'while true; do node -e "fetch(\'http://localhost:8080/\').then(r=>r.text()).then(t=>process.stdout.write(t))" > /work/answer.tmp 2>/dev/null && mv /work/answer.tmp /work/answer; sleep 0.3; done',
              ],
              volumeMounts: [{ name: 'work', mountPath: '/work' }],
            },
          ],
        },
        name,
      ),
    );
    const up = await until(name, 'running', running);
    expect(up.status?.initContainerStatuses?.map((s) => s.state?.terminated?.reason)).toEqual([
      'Completed',
      'Completed',
    ]);
    expect(up.status?.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(await execIn(name, 'web', ['cat', '/work/order'])).toBe('one\ntwo\n');
    const env = JSON.parse(
      await execIn(name, 'web', ['node', '-e', 'console.log(JSON.stringify(process.env))']),
    );
    expect(env).toMatchObject({
      GREETING: 'howdy',
      PASSWORD: 's3cret',
      POD_NAME: name,
      MY_NODE: nodeName,
      CM_GREETING: 'howdy',
    });
    const answer = await waitFor('the sidecar to reach web over localhost', async () => {
      const text = await execIn(name, 'sidecar', ['cat', '/work/answer']).catch(() => '');
      return text.includes('howdy from') ? text : undefined;
    });
    expect(answer).toMatch(new RegExp(`^howdy from ${name} \\(host ${name}\\)`));

    expect(await execIn(name, 'web', ['cat', '/config/file.txt'])).toBe('version-1');
    const cm = await client.resource('ConfigMap').get('default', 'app-config');
    await client
      .resource('ConfigMap')
      .update({ ...cm, data: { ...cm.data, 'file.txt': 'version-2' } } as ConfigMap);
    await waitFor(
      'the configMap volume to show the new content',
      async () => (await execIn(name, 'web', ['cat', '/config/file.txt'])) === 'version-2',
      { timeoutMs: 30_000 },
    );
  });

  it('restarts a killed container and backs off a crashing one (CrashLoopBackOff, growing delays)', async () => {
    const name = 'killed';
    await create(pod({ containers: [{ name: 'web', image: HELLO }] }, name));
    const up = await until(name, 'running', running);
    const id = up.status!.containerStatuses![0].containerID!.replace('docker://', '');
    await docker().getContainer(id).kill();
    const restarted = await until(
      name,
      'restarted',
      (p) => running(p) && p.status!.containerStatuses![0].restartCount === 1,
    );
    expect(restarted.status!.containerStatuses![0].lastState?.terminated?.exitCode).toBe(137);

    const crasher = 'crasher';
    await create(
      pod({ containers: [{ name: 'crash', image: HELLO, command: ['sh', '-c', 'exit 3'] }] }, crasher),
    );
    const starts: number[] = [];
    let sawBackOff = false;
    await waitFor(
      'three restarts',
      async () => {
        const p = await current(crasher);
        const status = p.status?.containerStatuses?.[0];
        if (status?.state?.waiting?.reason === 'CrashLoopBackOff') sawBackOff = true;
        const count = status?.restartCount ?? 0;
        while (starts.length <= count) starts.push(Date.now());
        return count >= 3;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(sawBackOff).toBe(true);
    const gaps = [starts[2] - starts[1], starts[3] - starts[2]];
    expect(gaps[1]).toBeGreaterThan(gaps[0]); // 1 s, then 2 s, then 4 s
    const p = await current(crasher);
    expect(p.status?.containerStatuses?.[0].lastState?.terminated).toMatchObject({
      exitCode: 3,
      reason: 'Error',
    });
  });

  it('restarts a container whose liveness probe fails, and follows readiness both ways', async () => {
    const live = 'liveness';
    await create(
      pod(
        {
          containers: [
            {
              name: 'web',
              image: HELLO,
              env: [{ name: 'FAIL_LIVENESS_AFTER', value: '2' }],
              livenessProbe: {
                httpGet: { path: '/healthz', port: 8080 },
                periodSeconds: 1,
                failureThreshold: 2,
              },
            },
          ],
        },
        live,
      ),
    );
    await until(
      live,
      'restarted by its liveness probe',
      (p) => (p.status?.containerStatuses?.[0].restartCount ?? 0) >= 1,
      90_000,
    );

    const ready = 'readiness';
    await create(
      pod(
        {
          containers: [
            {
              name: 'web',
              image: HELLO,
              readinessProbe: {
                httpGet: { path: '/readyz', port: 8080 },
                periodSeconds: 1,
                failureThreshold: 1,
              },
            },
          ],
        },
        ready,
      ),
    );
    const p = await until(ready, 'ready', (x) => readyCondition(x) === 'True');
    await fetch(`http://${p.status!.podIP}:8080/control/readiness/fail`, { method: 'POST' });
    await until(ready, 'not ready', (x) => readyCondition(x) === 'False', 15_000);
    await fetch(`http://${p.status!.podIP}:8080/control/readiness/ok`, { method: 'POST' });
    await until(ready, 'ready again', (x) => readyCondition(x) === 'True', 15_000);
    expect((await current(ready)).status?.containerStatuses?.[0].restartCount).toBe(0);
  });

  it('reports an image that exists nowhere as ErrImagePull / ImagePullBackOff, and keeps serving other pods', async () => {
    const name = 'noimage';
    await create(
      pod(
        { containers: [{ name: 'c', image: 'bosun/not-there:1.0', imagePullPolicy: 'IfNotPresent' }] },
        name,
      ),
    );
    const stuck = await until(name, 'waiting on its image', (p) =>
      ['ErrImagePull', 'ImagePullBackOff'].includes(
        p.status?.containerStatuses?.[0].state?.waiting?.reason ?? '',
      ),
    );
    expect(stuck.status?.containerStatuses?.[0].state?.waiting?.message).toMatch(/bosun\/not-there/);
    await create(pod({ containers: [{ name: 'web', image: HELLO }] }, 'neighbour'));
    await until('neighbour', 'running', running);
  });

  it('serves pods/log through the apiserver from the agent, per container, with tail and previous', async () => {
    const name = 'talker';
    await create(
      pod(
        {
          containers: ['a', 'b'].map((c) => ({
            name: c,
            image: HELLO,
            command: ['sh', '-c', `echo first-from-${c}; echo second-from-${c}; exec sleep 3600`],
          })),
        },
        name,
      ),
    );
    await until(name, 'running', running);
    const logs = (query: string) =>
      fetch(`${api.url}/api/v1/namespaces/default/pods/${name}/log?${query}`, {
        headers: { authorization: `Bearer ${api.adminToken}` },
      });
    const text = await waitFor('the log of container a', async () => {
      const body = await (await logs('container=a')).text();
      return body.includes('second-from-a') ? body : undefined;
    });
    expect(text).toBe('first-from-a\nsecond-from-a\n');
    expect(await (await logs('container=b&tailLines=1')).text()).toBe('second-from-b\n');
    const ambiguous = await logs('');
    expect(ambiguous.status).toBe(400);
    expect(((await ambiguous.json()) as { message: string }).message).toBe(
      `a container name must be specified for pod ${name}, choose one of: [a b]`,
    );
    const previous = await logs('container=a&previous=true');
    expect(previous.status).toBe(400);
    expect(((await previous.json()) as { message: string }).message).toBe(
      `previous terminated container "a" in pod "${name}" not found`,
    );
    const missing = await logs('container=nope');
    expect(missing.status).toBe(400);
    await client.resource('Pod').delete('default', name, { gracePeriodSeconds: 0 });
  });

  it('reports OOMKilled when a container exceeds its memory limit', async () => {
    const name = 'hog';
    await create(
      pod(
        {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'hog',
              image: HELLO,
              command: ['node', '-e', 'const a=[]; setInterval(()=>a.push(Buffer.alloc(8<<20,1)),5)'],
              resources: { limits: { memory: '48Mi' } },
            },
          ],
        },
        name,
      ),
    );
    const dead = await until(
      name,
      'OOM-killed',
      (p) => p.status?.containerStatuses?.[0].state?.terminated?.reason === 'OOMKilled',
    );
    expect(dead.status?.phase).toBe('Failed');
  });

  it('deletes gracefully: containers get SIGTERM, then the pod object goes', async () => {
    const name = 'graceful';
    await create(pod({ containers: [{ name: 'web', image: HELLO }] }, name));
    await until(name, 'running', running);
    await client.resource('Pod').delete('default', name);
    await waitFor(
      'the pod to be gone',
      async () =>
        client
          .resource('Pod')
          .get('default', name)
          .then(
            () => false,
            () => true,
          ),
      { timeoutMs: 30_000 },
    );
    const left = (await runtime.listPodContainers()).filter((c) => c.pod.name === name);
    expect(left).toEqual([]);
  });

  it('adopts running containers after a SIGKILL restart, removes the deleted pod, starts the new one', async () => {
    await create(pod({ containers: [{ name: 'web', image: HELLO }] }, 'keep'));
    await create(pod({ containers: [{ name: 'web', image: HELLO }] }, 'drop'));
    const keep = await until('keep', 'running', running);
    await until('drop', 'running', running);
    const keptId = keep.status!.containerStatuses![0].containerID;

    await agent.kill();
    // While the agent is down: delete one pod for good (grace 0: no agent to wait for), add another.
    await client.resource('Pod').delete('default', 'drop', { gracePeriodSeconds: 0 });
    await create(pod({ containers: [{ name: 'web', image: HELLO }] }, 'late'));
    agent = startAgent();

    await until('late', 'running', running);
    await waitFor(
      "the dropped pod's containers to be removed",
      async () => (await runtime.listPodContainers()).every((c) => c.pod.name !== 'drop'),
      { timeoutMs: 30_000 },
    );
    const after = await current('keep');
    expect(after.status!.containerStatuses![0].containerID).toBe(keptId);
    expect(after.status!.containerStatuses![0].restartCount).toBe(0);
    const keepContainers = (await runtime.listPodContainers()).filter(
      (c) => c.pod.name === 'keep' && c.role === 'app',
    );
    expect(keepContainers).toHaveLength(1);
  });
});
