/**
 * The scheduler on a real cluster: `bosun up --agents 2`, pods applied with the CLI land on
 * nodes and run in Docker; one that fits nowhere stays Pending and says why; after the leader
 * master is killed, the new leader's scheduler carries on.
 */
import { Pod } from '../../pkg/api';
import { buildImages } from '../support/docker';
import { TestBosunCluster } from '../support/cluster';
import { waitFor } from '../support/wait';

jest.setTimeout(60_000);

let cluster: TestBosunCluster;

beforeAll(async () => {
  await buildImages();
  cluster = await TestBosunCluster.up(['--agents', '2']);
}, 120_000);

afterAll(async () => {
  await cluster?.down();
}, 120_000);

afterEach(() => {
  if (expect.getState().assertionCalls > expect.getState().numPassingAsserts)
    for (const name of ['m1', 'm2', 'm3', 'node-1', 'node-2'])
      process.stderr.write(`--- ${name}\n${cluster.logTail(name, 15)}\n`);
});

function podYaml(name: string, memory = '32Mi'): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: bosun/hello:local
    resources:
      requests:
        memory: ${memory}
`;
}

async function pod(name: string): Promise<Pod> {
  return cluster.client.resource('Pod').get('default', name);
}

async function running(name: string): Promise<Pod> {
  return waitFor(
    `${name} Running`,
    async () => {
      const p = await pod(name);
      return p.status?.phase === 'Running' ? p : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
}

it('schedules applied pods onto the nodes and runs them', async () => {
  const applied = await cluster.bosun(['apply', '-f', '-'], podYaml('first') + '---\n' + podYaml('second'));
  expect(applied).toMatchObject({ code: 0, stdout: 'pod/first created\npod/second created\n' });
  const [first, second] = [await running('first'), await running('second')];
  // Two equal pods on two empty nodes: one each.
  expect(new Set([first.spec.nodeName, second.spec.nodeName])).toEqual(new Set(['node-1', 'node-2']));
  const events = (await cluster.client.resource('Event').list('default')).items;
  expect(events.find((e) => e.involvedObject.name === 'first' && e.reason === 'Scheduled')?.message).toBe(
    `Successfully assigned default/first to ${first.spec.nodeName}`,
  );
  const described = await cluster.bosun(['describe', 'pod', 'first']);
  expect(described.code).toBe(0);
  expect(described.stdout).toMatch(new RegExp(`^Node:\\s+${first.spec.nodeName}/127\\.0\\.1\\.\\d$`, 'm'));
  expect(described.stdout).toMatch(/^Status:\s+Running$/m);
  expect(described.stdout).toMatch(/^ {4}State:\s+Running$/m);
  expect(described.stdout).toMatch(
    new RegExp(
      `^  Normal\\s+Scheduled\\s+\\S+\\s+default-scheduler\\s+Successfully assigned default/first to ${first.spec.nodeName}$`,
      'm',
    ),
  );
  const missing = await cluster.bosun(['describe', 'pod', 'nope']);
  expect(missing).toMatchObject({ code: 1, stderr: 'Error from server (NotFound): pods "nope" not found\n' });
  const wide = await cluster.bosun(['get', 'pods', '-o', 'wide']);
  expect(wide.stdout).toMatch(
    new RegExp(`first\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+${first.status!.podIP}\\s+${first.spec.nodeName}`),
  );
});

it('leaves a pod that fits no node Pending with the reason per node', async () => {
  await cluster.bosun(['apply', '-f', '-'], podYaml('too-big', '100Ti'));
  const condition = await waitFor('the Unschedulable condition', async () =>
    (await pod('too-big')).status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False'),
  );
  expect(condition.message).toBe('0/2 nodes are available: 2 Insufficient memory.');
  const listed = await cluster.bosun(['get', 'pod', 'too-big']);
  expect(listed.stdout).toMatch(/too-big\s+0\/1\s+Pending/);
  await cluster.bosun(['delete', 'pod', 'too-big']);
});

it('keeps scheduling after the leader master is killed', async () => {
  const killed = await cluster.bosun(['kill', 'leader']);
  expect(killed.code).toBe(0);
  const killedName = /^(m\d) /.exec(killed.stdout)![1];
  const status = await waitFor('a new leader', async () => {
    const s = await cluster.bosun(['status']);
    const leader = /^(m\d)\s+master\s+\d+\s+\S+\s+leader/m.exec(s.stdout);
    return leader && leader[1] !== killedName ? s.stdout : undefined;
  });
  expect(status).toMatch(new RegExp(`^${killedName}\\s+master\\s+-`, 'm'));
  const applied = await cluster.bosun(['apply', '-f', '-'], podYaml('after-failover'));
  expect(applied.code).toBe(0);
  expect((await running('after-failover')).spec.nodeName).toMatch(/^node-[12]$/);
  expect((await cluster.bosun(['start', killedName])).code).toBe(0);
});
