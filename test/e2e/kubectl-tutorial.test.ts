/**
 * The Kubernetes basic tutorial (create a Deployment, expose it, scale it, update its image,
 * roll back, read logs, describe, watch, delete) with the real kubectl v1.32 against
 * `bosun up --agents 2` and the local `bosun/hello` images. Each step asserts what kubectl
 * prints against a real cluster, exit codes included (bosun issue 8). The steps build on each
 * other, in order, as a person following the tutorial would.
 */
import { get } from 'http';
import { buildImages } from '../support/docker';
import { CliResult, TestBosunCluster } from '../support/cluster';
import { kubectl as runKubectl, spawnKubectl } from '../support/kubectl';
import { waitFor } from '../support/wait';

jest.setTimeout(120_000);

let cluster: TestBosunCluster;

beforeAll(async () => {
  await buildImages();
  cluster = await TestBosunCluster.up(['--agents', '2']);
}, 180_000);

afterAll(async () => {
  await cluster?.down();
}, 120_000);

function kubectl(...args: string[]): Promise<CliResult> {
  return runKubectl(cluster, args);
}

async function ok(...args: string[]): Promise<string> {
  const result = await kubectl(...args);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

async function rolledOut(): Promise<void> {
  const status = await kubectl('rollout', 'status', 'deployment/hello', '--timeout=90s');
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(/deployment "hello" successfully rolled out\n$/);
}

function jsonpath(kind: string, path: string, ...more: string[]): Promise<string> {
  return ok('get', kind, ...more, '-o', `jsonpath=${path}`);
}

/** The images the pods of the Deployment run, once every old pod is gone. */
async function podImages(): Promise<string[]> {
  return (await jsonpath('pods', '{.items[*].spec.containers[0].image}', '-l', 'app=hello'))
    .split(' ')
    .filter(Boolean);
}

function history(...revisions: number[]): string {
  const rows = revisions.map((r) => `${String(r).padEnd(10)}<none>\n`).join('');
  return `deployment.apps/hello \nREVISION  CHANGE-CAUSE\n${rows}\n`;
}

/** One request on a connection of its own: the service proxy balances connections, not requests. */
function podAnswering(clusterIP: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = get(
      { host: clusterIP, port: 80, path: '/json', agent: false, timeout: 3000 },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => {
          try {
            resolve((JSON.parse(body) as { pod: string }).pod);
          } catch (error) {
            reject(error as Error);
          }
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('no answer in 3 s')));
    request.on('error', reject);
  });
}

/**
 * Waits until every one of `pods` has answered at the Service's ClusterIP, through bosun's
 * service proxy (a pod on its way out may still answer while the proxy catches up).
 */
async function allAnswer(clusterIP: string, pods: readonly string[]): Promise<void> {
  const seen = new Set<string>();
  await waitFor(
    `${pods.join(', ')} to answer at ${clusterIP}:80`,
    async () => {
      seen.add(await podAnswering(clusterIP));
      return pods.every((pod) => seen.has(pod));
    },
    { timeoutMs: 30_000 },
  );
}

describe('the Kubernetes basic tutorial with kubectl', () => {
  let clusterIP: string;

  it('creates a Deployment and waits until it is Available', async () => {
    expect(await kubectl('create', 'deployment', 'hello', '--image=bosun/hello:local')).toMatchObject({
      code: 0,
      stdout: 'deployment.apps/hello created\n',
    });
    const waited = await kubectl('wait', '--for=condition=Available', 'deployment/hello', '--timeout=90s');
    expect(waited).toMatchObject({ code: 0, stdout: 'deployment.apps/hello condition met\n' });
    expect(await ok('get', 'deployments')).toMatch(
      /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nhello\s+1\/1\s+1\s+1\s+\S+\n$/,
    );
  });

  it('exposes it as a Service that answers at its ClusterIP', async () => {
    expect(
      await kubectl('expose', 'deployment', 'hello', '--port', '80', '--target-port', '8080'),
    ).toMatchObject({ code: 0, stdout: 'service/hello exposed\n' });
    const services = await ok('get', 'services', 'hello');
    expect(services).toMatch(
      /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\nhello\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+80\/TCP\s+\S+\n$/,
    );
    clusterIP = await jsonpath('service', '{.spec.clusterIP}', 'hello');
    expect(services).toContain(clusterIP);
    const pod = await jsonpath('pods', '{.items[*].metadata.name}', '-l', 'app=hello');
    expect(pod).toMatch(/^hello-[a-z0-9]+-[a-z0-9]{5}$/);
    await allAnswer(clusterIP, [pod]);
  });

  it('scales to three replicas over both nodes, all behind the Service', async () => {
    expect(await kubectl('scale', 'deployment', 'hello', '--replicas=3')).toMatchObject({
      code: 0,
      stdout: 'deployment.apps/hello scaled\n',
    });
    await rolledOut();
    expect(await jsonpath('deployment', '{.status.readyReplicas}', 'hello')).toBe('3');
    const wide = await ok('get', 'pods', '-l', 'app=hello', '-o', 'wide');
    expect(wide).toMatch(
      /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES\n/,
    );
    const rows = wide.trim().split('\n').slice(1);
    expect(rows).toHaveLength(3);
    for (const row of rows)
      expect(row).toMatch(/^hello-\S+\s+1\/1\s+Running\s+0\s+\S+\s+\d+\.\d+\.\d+\.\d+\s+node-[12]\s/);
    // The scheduler spreads one owner's pods, so both nodes run some.
    expect(new Set(rows.map((row) => row.split(/\s+/)[6]))).toEqual(new Set(['node-1', 'node-2']));
    const names = (await jsonpath('pods', '{.items[*].metadata.name}', '-l', 'app=hello')).split(' ');
    await allAnswer(clusterIP, names);
  });

  it('updates the image with a rolling update and records the revision', async () => {
    expect(await kubectl('set', 'image', 'deployment/hello', 'hello=bosun/hello:v2')).toMatchObject({
      code: 0,
      stdout: 'deployment.apps/hello image updated\n',
    });
    await rolledOut();
    await waitFor(
      'the old pods to go',
      async () => (await podImages()).join() === Array(3).fill('bosun/hello:v2').join(),
    );
    expect(await kubectl('rollout', 'history', 'deployment/hello')).toMatchObject({
      code: 0,
      stdout: history(1, 2),
    });
    const revision = await ok('rollout', 'history', 'deployment/hello', '--revision=2');
    expect(revision).toMatch(/^deployment\.apps\/hello with revision #2\nPod Template:\n/);
    expect(revision).toMatch(/^ {4}Image:\s+bosun\/hello:v2$/m);
  });

  it('rolls back, to the previous revision and to a named one', async () => {
    expect(await kubectl('rollout', 'undo', 'deployment/hello')).toMatchObject({
      code: 0,
      stdout: 'deployment.apps/hello rolled back\n',
    });
    await rolledOut();
    expect(await jsonpath('deployment', '{.spec.template.spec.containers[0].image}', 'hello')).toBe(
      'bosun/hello:local',
    );
    // Revision 1 became revision 3: a template is recorded once, under its newest number.
    expect((await kubectl('rollout', 'history', 'deployment/hello')).stdout).toBe(history(2, 3));

    expect(await kubectl('rollout', 'undo', 'deployment/hello', '--to-revision=2')).toMatchObject({
      code: 0,
      stdout: 'deployment.apps/hello rolled back\n',
    });
    await rolledOut();
    expect(await jsonpath('deployment', '{.spec.template.spec.containers[0].image}', 'hello')).toBe(
      'bosun/hello:v2',
    );
    expect((await kubectl('rollout', 'history', 'deployment/hello')).stdout).toBe(history(3, 4));
    expect(await kubectl('rollout', 'undo', 'deployment/hello', '--to-revision=99')).toMatchObject({
      code: 1,
      stderr: 'error: unable to find specified revision 99 in history\n',
    });
  });

  it('restarts the rollout: new pods of the same image, a new revision', async () => {
    const before = new Set(
      (await jsonpath('pods', '{.items[*].metadata.name}', '-l', 'app=hello')).split(' '),
    );
    expect(await kubectl('rollout', 'restart', 'deployment/hello')).toMatchObject({
      code: 0,
      stdout: 'deployment.apps/hello restarted\n',
    });
    await rolledOut();
    expect(
      await jsonpath(
        'deployment',
        "{.spec.template.metadata.annotations['kubectl\\.kubernetes\\.io/restartedAt']}",
        'hello',
      ),
    ).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const after = await waitFor('only new pods to remain', async () => {
      const names = (await jsonpath('pods', '{.items[*].metadata.name}', '-l', 'app=hello')).split(' ');
      return names.length === 3 && names.every((name) => !before.has(name)) ? names : undefined;
    });
    expect(after).toHaveLength(3);
    expect((await kubectl('rollout', 'history', 'deployment/hello')).stdout).toBe(history(3, 4, 5));
    await allAnswer(clusterIP, after);
  });

  it('reads the logs of the Deployment and of its pods by label', async () => {
    const names = (await jsonpath('pods', '{.items[*].metadata.name}', '-l', 'app=hello')).split(' ');
    const one = await waitFor('a pod of the Deployment to log', async () => {
      const result = await kubectl('logs', 'deploy/hello');
      return result.code === 0 && result.stdout.includes('"message":"listening"') ? result : undefined;
    });
    expect(names).toContain((JSON.parse(one.stdout.split('\n')[0]) as { pod: string }).pod);
    // kubectl says which of the pods it read, on stderr, as against Kubernetes.
    expect(one.stderr).toMatch(/^Found 3 pods, using pod\/hello-\S+\n$/);
    const all = await kubectl('logs', '-l', 'app=hello');
    expect(all.code).toBe(0);
    const loggers = all.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { pod: string }).pod);
    expect(new Set(loggers)).toEqual(new Set(names));
  });

  it('describes the Deployment, the Service and a node, with their events', async () => {
    const deployment = await ok('describe', 'deployment', 'hello');
    expect(deployment).toMatch(/^Name:\s+hello$/m);
    expect(deployment).toMatch(
      /^Replicas:\s+3 desired \| 3 updated \| 3 total \| 3 available \| 0 unavailable$/m,
    );
    expect(deployment).toMatch(/^ {4}Image:\s+bosun\/hello:v2$/m);
    expect(deployment).toMatch(/^\s+Available\s+True\s+MinimumReplicasAvailable$/m);
    expect(deployment).toMatch(/^NewReplicaSet:\s+hello-[a-z0-9]+ \(3\/3 replicas created\)$/m);
    expect(deployment).toMatch(/^Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n/m);
    expect(deployment).toMatch(
      /Normal\s+ScalingReplicaSet\s+.*deployment-controller\s+Scaled up replica set hello-[a-z0-9]+ to 1$/m,
    );

    const service = await ok('describe', 'service', 'hello');
    expect(service).toMatch(/^Type:\s+ClusterIP$/m);
    expect(service).toMatch(new RegExp(`^IP:\\s+${clusterIP.replace(/\./g, '\\.')}$`, 'm'));
    expect(service).toMatch(/^Port:\s+<unset>\s+80\/TCP$/m);
    expect(service).toMatch(/^TargetPort:\s+8080\/TCP$/m);
    // kubectl 1.32 reads a Service's endpoints from its EndpointSlices.
    const podIPs = (await jsonpath('pods', '{.items[*].status.podIP}', '-l', 'app=hello')).split(' ');
    const endpoints = /^Endpoints:\s+(.*)$/m.exec(service)?.[1] ?? '';
    expect(endpoints.split(',').sort()).toEqual(podIPs.map((ip) => `${ip}:8080`).sort());

    const node = await ok('describe', 'node', 'node-1');
    expect(node).toMatch(/^Name:\s+node-1$/m);
    expect(node).toMatch(/^\s+Ready\s+True\s.*KubeletReady\s+kubelet is posting ready status$/m);
    expect(node).toMatch(/^Non-terminated Pods:\s+\(\d+ in total\)$/m);
    expect(node).toMatch(
      /Normal\s+RegisteredNode\s+\S+\s+node-controller\s+Node node-1 event: Registered Node node-1 in Controller/,
    );
  });

  it('prints fields with jsonpath and lists the API resources', async () => {
    expect(
      await jsonpath(
        'deployment',
        '{.spec.replicas} {.status.availableReplicas} {.metadata.labels.app}',
        'hello',
      ),
    ).toBe('3 3 hello');
    expect(await jsonpath('nodes', '{range .items[*]}{.metadata.name}{"\\n"}{end}')).toBe('node-1\nnode-2\n');
    const resources = await ok('api-resources');
    expect(resources).toMatch(/^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND\n/);
    expect(resources).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    expect(resources).toMatch(/^services\s+svc\s+v1\s+true\s+Service$/m);
    expect(resources).toMatch(/^nodes\s+no\s+v1\s+false\s+Node$/m);
    expect(resources).toMatch(/^endpointslices\s+discovery\.k8s\.io\/v1\s+true\s+EndpointSlice$/m);
    const namespaced = await ok('api-resources', '--namespaced=false', '-o', 'name');
    expect(namespaced.split('\n').filter(Boolean).sort()).toEqual(['namespaces', 'nodes']);
  });

  it('watches the Deployment and sees the next change', async () => {
    const watch = spawnKubectl(cluster, ['get', 'deployment', 'hello', '-w']);
    try {
      await waitFor('the first rows', () => /^hello\s+3\/3\s+3\s+3\s+\S+$/m.test(watch.output.stdout), {
        timeoutMs: 20_000,
      });
      expect(watch.output.stdout).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\n/);
      expect(await kubectl('scale', 'deployment', 'hello', '--replicas=2')).toMatchObject({ code: 0 });
      await waitFor(
        'the watch to print the scaled Deployment',
        () => /^hello\s+2\/2\s+2\s+2\s+\S+$/m.test(watch.output.stdout),
        { timeoutMs: 30_000 },
      );
      expect(watch.output.stderr).toBe('');
    } finally {
      await watch.stop();
    }
  });

  it('deletes in the foreground: the ReplicaSets and pods are gone when kubectl returns', async () => {
    expect(await kubectl('delete', 'deployment', 'hello', '--cascade=foreground', '--wait')).toMatchObject({
      code: 0,
      stdout: 'deployment.apps "hello" deleted\n',
    });
    expect(await kubectl('get', 'deployment,replicasets,pods', '-l', 'app=hello')).toMatchObject({
      code: 0,
      stdout: '',
      stderr: 'No resources found in default namespace.\n',
    });
  });

  it('deletes with --cascade=orphan: the ReplicaSet and its pods stay, unowned', async () => {
    expect(
      await kubectl('create', 'deployment', 'hello', '--image=bosun/hello:local', '--replicas=2'),
    ).toMatchObject({ code: 0 });
    expect(
      await kubectl('wait', '--for=condition=Available', 'deployment/hello', '--timeout=90s'),
    ).toMatchObject({ code: 0 });
    const pods = await jsonpath('pods', '{.items[*].metadata.name}', '-l', 'app=hello');
    expect(await kubectl('delete', 'deployment', 'hello', '--cascade=orphan')).toMatchObject({
      code: 0,
      stdout: 'deployment.apps "hello" deleted\n',
    });
    expect(await kubectl('get', 'deployment', 'hello')).toMatchObject({
      code: 1,
      stderr: 'Error from server (NotFound): deployments.apps "hello" not found\n',
    });
    // kubectl waited for the deletion, so the orphan finalizer has already released the dependents.
    expect(await jsonpath('replicasets', '{.items[*].metadata.ownerReferences}', '-l', 'app=hello')).toBe('');
    expect(await ok('get', 'replicasets', '-l', 'app=hello')).toMatch(/^hello-[a-z0-9]+\s+2\s+2\s+2\s+\S+$/m);
    expect(await jsonpath('pods', '{.items[*].metadata.name}', '-l', 'app=hello')).toBe(pods);
    expect(await jsonpath('pods', '{.items[*].status.phase}', '-l', 'app=hello')).toBe('Running Running');
  });
});
