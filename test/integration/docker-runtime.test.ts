import Docker from 'dockerode';
import { DockerRuntime } from '../../pkg/agent/runtime/docker';
import { ContainerConfig, ImagePullError, PodRef, RuntimeEvent } from '../../pkg/agent/runtime/types';
import { buildImages, newTestRunId, removeTestResources, TEST_RUN_LABEL } from '../support/docker';
import { waitFor } from '../support/wait';
import { freePort } from '../../pkg/util/ports';

jest.setTimeout(120_000);

const runId = newTestRunId();
const network = `bosun-test-${runId}`;
const runtime = new DockerRuntime({
  nodeName: `node-a-${runId}`,
  sandboxImage: 'bosun/pause:local',
  extraLabels: { [TEST_RUN_LABEL]: runId },
});
const otherNode = new DockerRuntime({
  nodeName: `node-b-${runId}`,
  sandboxImage: 'bosun/pause:local',
  extraLabels: { [TEST_RUN_LABEL]: runId },
});

let podCount = 0;
function newPod(): PodRef {
  podCount += 1;
  return { uid: `${runId}-uid-${podCount}`, namespace: 'default', name: `pod-${podCount}` };
}

function app(pod: PodRef, name: string, extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    pod,
    name,
    role: 'app',
    restartCount: 0,
    specHash: 'h1',
    image: 'bosun/hello:local',
    env: [['POD_NAME', pod.name]],
    mounts: [],
    ...extra,
  };
}

async function runApp(sandboxId: string, config: ContainerConfig): Promise<string> {
  const id = await runtime.createContainer(sandboxId, config);
  await runtime.startContainer(id);
  return id;
}

beforeAll(async () => {
  await buildImages();
  await runtime.ensureNetwork(network);
});

afterAll(async () => {
  await removeTestResources(runId);
});

describe('DockerRuntime against a real daemon', () => {
  it('reports the daemon version and creates its network once', async () => {
    const version = await runtime.version();
    expect(version.runtime).toBe('docker');
    expect(version.version).toMatch(/^\d+\.\d+/);
    const again = await runtime.ensureNetwork(network);
    expect(again.name).toBe(network);
    expect(again.subnet).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
  });

  it('leaves one network when two agents create it at the same moment (Docker allows duplicate names)', async () => {
    for (let i = 0; i < 5; i++) {
      const name = `${network}-race-${i}`;
      const [a, b] = await Promise.all([runtime.ensureNetwork(name), otherNode.ensureNetwork(name)]);
      expect(a.id).toBe(b.id);
      const named = (await new Docker().listNetworks({ filters: { name: [name] } })).filter(
        (n) => n.Name === name,
      );
      expect(named.map((n) => n.Id)).toEqual([a.id]);
      // Lookups by name work (they fail as ambiguous when two networks share it).
      expect((await runtime.ensureNetwork(name)).id).toBe(a.id);
    }
  });

  it('waits for another agent that holds the network lock, then uses the network it made', async () => {
    const name = `${network}-locked`;
    const lockName = `bosun-network-lock-${name}`;
    const lock = await new Docker().createContainer({
      name: lockName,
      Image: 'bosun/pause:local',
      Labels: { [TEST_RUN_LABEL]: runId },
    });
    // The waiter's own client, watched so the test knows when it is waiting on the lock.
    const docker = new Docker();
    let lockChecks = 0;
    const getContainer = docker.getContainer.bind(docker);
    docker.getContainer = (id: string) => {
      if (id === lockName) lockChecks++;
      return getContainer(id);
    };
    const waiter = new DockerRuntime({
      nodeName: `waiter-${runId}`,
      sandboxImage: 'bosun/pause:local',
      extraLabels: { [TEST_RUN_LABEL]: runId },
      docker,
    });
    const ensured = waiter.ensureNetwork(name);
    await waitFor('the waiter to find the lock held twice', async () => lockChecks >= 2);
    const networks = async () =>
      (await new Docker().listNetworks({ filters: { name: [name] } })).filter((n) => n.Name === name);
    expect(await networks()).toEqual([]);
    // The holder makes the network and lets go; the waiter must take that one, not make its own.
    const made = await new Docker().createNetwork({ Name: name, Labels: { [TEST_RUN_LABEL]: runId } });
    await lock.remove({ force: true });
    expect((await ensured).id).toBe(made.id);
    expect((await networks()).map((n) => n.Id)).toEqual([made.id]);
  });

  it('puts the containers of a pod in one network namespace: they share localhost, hostname and the pod IP', async () => {
    const pod = newPod();
    const sandbox = await runtime.runSandbox({
      pod,
      hostname: pod.name,
      network,
      attempt: 0,
      portBindings: [],
    });
    expect(sandbox.role).toBe('sandbox');
    expect(sandbox.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    await runApp(sandbox.id, app(pod, 'web'));
    const answer = await waitFor('the pod IP to answer', async () => {
      const response = await fetch(`http://${sandbox.ip}:8080/`, { signal: AbortSignal.timeout(1000) });
      return response.text();
    });
    expect(answer).toContain(`from ${pod.name} (host ${pod.name})`);

    const sidecar = await runApp(
      sandbox.id,
      app(pod, 'sidecar', {
        command: ['sh', '-c'],
        args: [
          `hostname; node -e "fetch('http://localhost:8080/').then(r => r.text()).then(t => console.log(t))"`,
        ],
      }),
    );
    await waitFor('the sidecar to exit', async () => (await runtime.inspect(sidecar))?.state === 'exited');
    const logs = await new Promise<string>((resolve, reject) => {
      runtime.logs(sidecar, { follow: false, timestamps: false }).then((stream) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        stream.on('error', reject);
      }, reject);
    });
    expect(logs).toContain(pod.name);
    expect(logs).toMatch(/hello from pod-\d+ .* #\d+/);
  });

  it('labels everything with the node, and another node on the same daemon sees none of it', async () => {
    const pod = newPod();
    const sandbox = await runtime.runSandbox({
      pod,
      hostname: pod.name,
      network,
      attempt: 0,
      portBindings: [],
    });
    const web = await runApp(sandbox.id, app(pod, 'web', { restartCount: 2, specHash: 'abc' }));

    const mine = await runtime.listPodContainers();
    const listed = mine.find((c) => c.id === web);
    expect(listed).toMatchObject({
      pod,
      role: 'app',
      name: 'web',
      restartCount: 2,
      specHash: 'abc',
      state: 'running',
    });
    expect(mine.find((c) => c.id === sandbox.id)).toMatchObject({ pod, role: 'sandbox', name: '' });
    expect((await otherNode.listPodContainers()).map((c) => c.id)).not.toContain(web);
    // Another cluster on the same daemon with a node of the same name sees none of it either.
    const sameNameOtherCluster = new DockerRuntime({
      nodeName: `node-a-${runId}`,
      sandboxImage: 'bosun/pause:local',
      extraLabels: { [TEST_RUN_LABEL]: runId, 'bosun.cluster': 'another' },
    });
    expect(await sameNameOtherCluster.listPodContainers()).toEqual([]);
  });

  it('stops with SIGTERM within the grace period and reports the exit', async () => {
    const pod = newPod();
    const sandbox = await runtime.runSandbox({
      pod,
      hostname: pod.name,
      network,
      attempt: 0,
      portBindings: [],
    });
    const web = await runApp(sandbox.id, app(pod, 'web'));
    // Answering means Node has installed its SIGTERM handler (PID 1 ignores signals it does not handle).
    await waitFor('web to answer', () => fetch(`http://${sandbox.ip}:8080/healthz`).then((r) => r.ok));
    const started = Date.now();
    await runtime.stopContainer(web, 10);
    // hello exits 0 on SIGTERM at once; a SIGKILL after the grace period would take 10 s and give 137.
    expect(Date.now() - started).toBeLessThan(8000);
    const stopped = await runtime.inspect(web);
    expect(stopped).toMatchObject({ state: 'exited', exitCode: 0, oomKilled: false });
    expect(stopped!.finishedAt!.getTime()).toBeGreaterThanOrEqual(stopped!.startedAt!.getTime());

    await runtime.stopContainer(web, 1); // stopping twice is fine
    await runtime.removeContainer(web);
    await runtime.removeContainer(web); // and so is removing twice
    expect(await runtime.inspect(web)).toBeUndefined();
  });

  it('applies the memory limit: a container over it is OOM-killed', async () => {
    const pod = newPod();
    const sandbox = await runtime.runSandbox({
      pod,
      hostname: pod.name,
      network,
      attempt: 0,
      portBindings: [],
    });
    const hog = await runApp(
      sandbox.id,
      app(pod, 'hog', {
        command: ['node', '-e', 'const a = []; setInterval(() => a.push(Buffer.alloc(8 << 20, 1)), 5)'],
        memoryLimitBytes: 48 * 1024 * 1024,
        cpuLimitMilli: 500,
        cpuRequestMilli: 100,
      }),
    );
    const dead = await waitFor(
      'the hog to be killed',
      async () => {
        const c = await runtime.inspect(hog);
        return c?.state === 'exited' ? c : undefined;
      },
      { timeoutMs: 30_000 },
    );
    expect(dead.oomKilled).toBe(true);
    expect(dead.exitCode).toBe(137);
  });

  it('runs commands in a container with exec, with exit code and output', async () => {
    const pod = newPod();
    const sandbox = await runtime.runSandbox({
      pod,
      hostname: pod.name,
      network,
      attempt: 0,
      portBindings: [],
    });
    const web = await runApp(sandbox.id, app(pod, 'web'));
    const ok = await runtime.exec(web, ['sh', '-c', 'echo out; echo err >&2; exit 3'], 5000);
    expect(ok).toEqual({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
    await expect(runtime.exec(web, ['sleep', '5'], 300)).rejects.toThrow('timed out after 300 ms');
  });

  it('binds host ports of the sandbox on the node address', async () => {
    const pod = newPod();
    const hostPort = await freePort();
    const sandbox = await runtime.runSandbox({
      pod,
      hostname: pod.name,
      network,
      attempt: 0,
      portBindings: [{ containerPort: 8080, hostPort, hostIP: '127.0.0.1', protocol: 'TCP' }],
    });
    await runApp(sandbox.id, app(pod, 'web'));
    const body = await waitFor('the host port to answer', async () => {
      const response = await fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(1000) });
      return response.text();
    });
    expect(body).toContain(pod.name);
  });

  it('streams container events of this node only', async () => {
    const controller = new AbortController();
    const seen: RuntimeEvent[] = [];
    const done = (async () => {
      for await (const event of runtime.events(controller.signal)) seen.push(event);
    })();
    const pod = newPod();
    const sandbox = await runtime.runSandbox({
      pod,
      hostname: pod.name,
      network,
      attempt: 0,
      portBindings: [],
    });
    const quick = await runApp(sandbox.id, app(pod, 'quick', { command: ['sh', '-c', 'exit 4'] }));
    await waitFor('a die event', () => seen.some((e) => e.containerId === quick && e.action === 'die'));
    expect(seen.find((e) => e.containerId === quick && e.action === 'die')).toMatchObject({
      role: 'app',
      podUid: pod.uid,
      name: 'quick',
    });
    controller.abort();
    await done;
  });

  it('fails to pull an image that exists nowhere with the daemon message', async () => {
    const error = await runtime.pullImage('bosun/does-not-exist:nope').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImagePullError);
    expect((error as ImagePullError).message).toMatch(
      /does-not-exist|pull access denied|not found|dial|lookup|resolve/i,
    );
    expect(await runtime.imageId('bosun/does-not-exist:nope')).toBeUndefined();
    expect(await runtime.imageId('bosun/hello:local')).toMatch(/^sha256:/);
  });

  it('creates, lists and removes labelled volumes', async () => {
    const name = `bosun-test-${runId}-data`;
    await runtime.ensureVolume(name, { 'bosun.node': `node-a-${runId}`, 'bosun.volume.name': 'data' });
    await runtime.ensureVolume(name, { 'bosun.node': `node-a-${runId}`, 'bosun.volume.name': 'data' });
    expect((await runtime.listVolumes()).map((v) => v.name)).toContain(name);
    expect((await otherNode.listVolumes()).map((v) => v.name)).not.toContain(name);
    await runtime.removeVolume(name);
    expect((await runtime.listVolumes()).map((v) => v.name)).not.toContain(name);
  });
});
