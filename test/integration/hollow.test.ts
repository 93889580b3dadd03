/**
 * Hollow nodes (the benchmark's stand-ins for real agents) behave like nodes to the control
 * plane: they register, become Ready, and report the pods the scheduler binds to them Running.
 */
import { mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Pod } from '../../pkg/api';
import { startLocalApiServer, LocalApiServer } from '../../pkg/apiserver/local';
import { Client } from '../../pkg/client';
import { controllerContext, runControllers } from '../../pkg/controller/context';
import { Scheduler } from '../../pkg/scheduler/scheduler';
import { BosunProcess, spawnBosun } from '../support/process';
import { waitFor } from '../support/wait';

const workdir = mkdtempSync(join(tmpdir(), 'bosun-hollow-test-'));
let api: LocalApiServer;
let client: Client;
let agents: BosunProcess;
const stop = new AbortController();
let controlPlane: Promise<void>;

beforeAll(async () => {
  api = await startLocalApiServer();
  client = new Client({ servers: [api.url], token: api.adminToken });
  const context = controllerContext(client);
  controlPlane = runControllers(context, [new Scheduler(context)], stop.signal);
  agents = spawnBosun(
    [
      'agent',
      '--hollow',
      '--hollow-nodes',
      '3',
      '--name',
      'hollow',
      '--server',
      api.url,
      '--token',
      api.adminToken,
      '--data',
      workdir,
    ],
    join(workdir, 'agents.log'),
  );
});

afterAll(async () => {
  await agents?.kill();
  stop.abort();
  await controlPlane?.catch(() => undefined);
  client?.close();
  await api?.close();
});

afterEach(() => {
  if (expect.getState().assertionCalls > expect.getState().numPassingAsserts)
    process.stderr.write(
      `agent log:\n${readFileSync(agents.log, 'utf8').split('\n').slice(-40).join('\n')}\n`,
    );
});

it('registers hollow nodes that run scheduled pods without Docker', async () => {
  await waitFor(
    'three Ready hollow nodes',
    async () => {
      const nodes = (await client.resource('Node').list()).items;
      return (
        nodes.filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
          .length === 3
      );
    },
    { timeoutMs: 30_000 },
  );
  for (let i = 0; i < 30; i++) {
    await client.resource('Pod').create({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: `h-${i}`, namespace: 'default' },
      spec: { containers: [{ name: 'app', image: 'bosun/hello:local' }] },
    } as Pod);
  }
  const pods = await waitFor(
    'all 30 pods Running and Ready',
    async () => {
      const items = (await client.resource('Pod').list('default')).items;
      const ready = items.filter(
        (p) =>
          p.status?.phase === 'Running' &&
          p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return ready.length === 30 ? items : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  const perNode = new Map<string, number>();
  for (const p of pods) perNode.set(p.spec.nodeName!, (perNode.get(p.spec.nodeName!) ?? 0) + 1);
  expect([...perNode.keys()].sort()).toEqual(['hollow-0', 'hollow-1', 'hollow-2']);
  expect([...perNode.values()]).toEqual([10, 10, 10]);
  expect(new Set(pods.map((p) => p.status?.podIP)).size).toBe(30);

  // Graceful deletion completes: the hollow agent stops the pod and confirms.
  await client.resource('Pod').delete('default', 'h-0');
  await waitFor(
    'h-0 to be gone',
    async () => {
      const items = (await client.resource('Pod').list('default')).items;
      return !items.some((p) => p.metadata.name === 'h-0');
    },
    { timeoutMs: 30_000 },
  );
});
