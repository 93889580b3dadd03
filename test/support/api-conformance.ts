/**
 * The API conformance suite: Kubernetes REST semantics checked over real HTTP. It runs
 * against whatever `start` brings up: the in-process apiserver (pkg/apiserver) and a real
 * three-master cluster (test/e2e) run the very same checks.
 */
import { ConflictError, Deployment, Pod, Service } from '../../pkg/api';
import { Client } from '../../pkg/client';

export interface ApiUnderTest {
  /** Every master's API address. */
  servers: string[];
  adminToken: string;
  readonlyToken: string;
  /** The store events the API under test keeps (it must be started with a small history). */
  historyEvents: number;
  close(): Promise<void>;
}

function podManifest(name: string, labels: Record<string, string> = {}, namespace = 'default'): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels },
    spec: { containers: [{ name: 'app', image: 'bosun/hello:local' }] },
  } as Pod;
}

function deploymentManifest(name: string, replicas = 2): Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'web', image: 'bosun/hello:local' }] },
      },
    },
  } as Deployment;
}

export function describeApiConformance(title: string, start: () => Promise<ApiUnderTest>): void {
  describe(title, () => {
    let api: ApiUnderTest;
    let client: Client;
    let server: string;
    let unique = 0;
    const name = (base: string) => `${base}-${Date.now().toString(36)}-${++unique}`;

    async function http(
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
      token: string | null = api.adminToken,
    ): Promise<{ status: number; json: Record<string, unknown>; text: string; headers: Headers }> {
      const response = await fetch(server + path, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(text);
      } catch {
        // not JSON (healthz, metrics)
      }
      return { status: response.status, json, text, headers: response.headers };
    }

    beforeAll(async () => {
      api = await start();
      server = api.servers[0];
      client = new Client({ servers: api.servers, token: api.adminToken });
    });

    afterAll(async () => {
      client?.close();
      await api?.close();
    });

    describe('discovery and health', () => {
      it('serves /version, /healthz, /readyz and the discovery documents', async () => {
        expect((await http('GET', '/version', undefined, {}, null)).json).toMatchObject({
          major: '1',
          minor: '32',
        });
        expect((await http('GET', '/healthz', undefined, {}, null)).text).toBe('ok');
        expect((await http('GET', '/readyz', undefined, {}, null)).status).toBe(200);
        expect((await http('GET', '/api')).json).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
        const groups = (await http('GET', '/apis')).json as { groups: Array<{ name: string }> };
        expect(groups.groups.map((g) => g.name)).toEqual(
          expect.arrayContaining(['apps', 'coordination.k8s.io']),
        );
        const core = (await http('GET', '/api/v1')).json as {
          resources: Array<{ name: string; shortNames?: string[]; namespaced: boolean; verbs: string[] }>;
        };
        expect(core.resources.find((r) => r.name === 'pods')).toMatchObject({
          shortNames: ['po'],
          namespaced: true,
          verbs: expect.arrayContaining(['watch']),
        });
        expect(core.resources.map((r) => r.name)).toEqual(
          expect.arrayContaining(['pods/status', 'pods/binding', 'nodes', 'services']),
        );
        const apps = (await http('GET', '/apis/apps/v1')).json as { resources: Array<{ name: string }> };
        expect(apps.resources.map((r) => r.name)).toEqual(
          expect.arrayContaining(['deployments', 'deployments/scale', 'replicasets']),
        );
        expect((await http('GET', '/apis/apps')).json).toMatchObject({ kind: 'APIGroup', name: 'apps' });
      });

      it('exports Prometheus metrics', async () => {
        const metrics = await http('GET', '/metrics');
        expect(metrics.text).toContain('apiserver_request_total');
        expect(metrics.text).toContain('apiserver_request_duration_seconds');
      });
    });

    describe('auth and request limits', () => {
      it('refuses a request without a token or with a wrong one with 401', async () => {
        const none = await http('GET', '/api/v1/namespaces', undefined, {}, null);
        expect(none.status).toBe(401);
        expect(none.json).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
        expect((await http('GET', '/api/v1/namespaces', undefined, {}, 'not-a-token')).status).toBe(401);
      });

      it('lets a read-only token read and refuses its writes with 403', async () => {
        expect(
          (await http('GET', '/api/v1/namespaces/default/pods', undefined, {}, api.readonlyToken)).status,
        ).toBe(200);
        const write = await http(
          'POST',
          '/api/v1/namespaces/default/pods',
          podManifest(name('ro')),
          {},
          api.readonlyToken,
        );
        expect(write.status).toBe(403);
        expect(write.json).toMatchObject({ reason: 'Forbidden', code: 403 });
      });

      it('answers bodies over 3 MiB with 413', async () => {
        const big = podManifest(name('big'));
        big.metadata.annotations = { filler: 'x'.repeat(3 * 1024 * 1024 + 10) };
        const response = await http('POST', '/api/v1/namespaces/default/pods', big);
        expect(response.status).toBe(413);
        expect(response.json).toMatchObject({ kind: 'Status', reason: 'RequestEntityTooLarge' });
      });

      it('answers malformed JSON and YAML, a wrong kind and an unknown resource with 400/404 Statuses, never 500', async () => {
        const badJson = await http(
          'POST',
          '/api/v1/namespaces/default/pods',
          '{"apiVersion": "v1", "kind": ',
        );
        expect(badJson.status).toBe(400);
        expect(badJson.json.message).toMatch(/not valid JSON/);
        const badYaml = await http('POST', '/api/v1/namespaces/default/pods', 'kind: Pod\n  metadata: [', {
          'content-type': 'application/yaml',
        });
        expect(badYaml.status).toBe(400);
        expect(badYaml.json.message).toMatch(/not valid YAML/);
        const wrongKind = await http('POST', '/api/v1/namespaces/default/pods', {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'x' },
        });
        expect(wrongKind.status).toBe(400);
        expect(wrongKind.json.message).toMatch(/cannot be handled as a Pod/);
        expect((await http('GET', '/api/v1/namespaces/default/widgets')).status).toBe(404);
        expect((await http('GET', '/apis/nope.io/v1/things')).status).toBe(404);
      });

      it('takes YAML bodies', async () => {
        const podName = name('yaml');
        const yaml = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${podName}\nspec:\n  containers:\n  - name: app\n    image: bosun/hello:local\n`;
        expect(
          (
            await http('POST', '/api/v1/namespaces/default/pods', yaml, {
              'content-type': 'application/yaml',
            })
          ).status,
        ).toBe(201);
      });
    });

    describe('object semantics', () => {
      it('creates with uid, creationTimestamp, resourceVersion and defaults, and refuses a second create with 409', async () => {
        const pods = client.resource('Pod');
        const created = await pods.create(podManifest(name('p')));
        expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
        expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        expect(Number(created.metadata.resourceVersion)).toBeGreaterThan(0);
        expect(created.spec.restartPolicy).toBe('Always');
        expect(created.status?.phase).toBe('Pending');
        const again = await http(
          'POST',
          '/api/v1/namespaces/default/pods',
          podManifest(created.metadata.name!),
        );
        expect(again.status).toBe(409);
        expect(again.json).toMatchObject({
          reason: 'AlreadyExists',
          message: `pods "${created.metadata.name}" already exists`,
        });
      });

      it('names objects from generateName', async () => {
        const pod = podManifest('');
        delete pod.metadata.name;
        pod.metadata.generateName = 'gen-';
        const created = await client.resource('Pod').create(pod);
        expect(created.metadata.name).toMatch(/^gen-[a-z0-9]{5}$/);
      });

      it('answers invalid objects with 422 and every field cause', async () => {
        const pod = podManifest('Bad_Name');
        pod.spec.containers.push({ name: 'app', image: '' } as Pod['spec']['containers'][0]);
        const response = await http('POST', '/api/v1/namespaces/default/pods', pod);
        expect(response.status).toBe(422);
        expect(response.json.reason).toBe('Invalid');
        const causes = (response.json.details as { causes: Array<{ field: string; reason: string }> }).causes;
        expect(causes.map((c) => c.field)).toEqual(
          expect.arrayContaining(['metadata.name', 'spec.containers[1].name', 'spec.containers[1].image']),
        );
      });

      it('refuses objects in a namespace that does not exist', async () => {
        const response = await http(
          'POST',
          '/api/v1/namespaces/nowhere/pods',
          podManifest('x', {}, 'nowhere'),
        );
        expect(response.status).toBe(404);
        expect(response.json.message).toBe('namespaces "nowhere" not found');
      });

      it('uses optimistic concurrency: an update with a stale resourceVersion gets 409 Conflict', async () => {
        const configMaps = client.resource('ConfigMap');
        const created = await configMaps.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: name('cm'), namespace: 'default' },
          data: { a: '1' },
        });
        const updated = await configMaps.update({ ...created, data: { a: '2' } });
        expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(
          Number(created.metadata.resourceVersion),
        );
        await expect(configMaps.update({ ...created, data: { a: '3' } })).rejects.toBeInstanceOf(
          ConflictError,
        );
        const unconditional = await configMaps.update({
          ...updated,
          metadata: { ...updated.metadata, resourceVersion: undefined },
          data: { a: '4' },
        });
        expect(unconditional.data).toEqual({ a: '4' });
      });

      it('re-applies a patch that raced another writer, unless the patch names a resourceVersion', async () => {
        const configMaps = client.resource('ConfigMap');
        const created = await configMaps.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: name('race'), namespace: 'default' },
        });
        const n = created.metadata.name!;
        const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
        await Promise.all(keys.map((k) => configMaps.patch('default', n, { data: { [k]: k } })));
        const merged = await configMaps.get('default', n);
        expect(Object.keys(merged.data ?? {}).sort()).toEqual([...keys].sort());
        await expect(
          configMaps.patch('default', n, {
            metadata: { resourceVersion: created.metadata.resourceVersion },
            data: { stale: 'yes' },
          }),
        ).rejects.toBeInstanceOf(ConflictError);
      });

      it('bumps generation on spec changes only, and keeps status out of main-resource writes', async () => {
        const deployments = client.resource('Deployment');
        const created = await deployments.create(deploymentManifest(name('gen')));
        expect(created.metadata.generation).toBe(1);
        const labelled = await deployments.patch('default', created.metadata.name!, {
          metadata: { labels: { x: 'y' } },
        });
        expect(labelled.metadata.generation).toBe(1);
        const scaled = await deployments.patch('default', created.metadata.name!, {
          spec: { replicas: 5 },
          status: { replicas: 99 },
        });
        expect(scaled.metadata.generation).toBe(2);
        // The Deployment controller may have written a status of its own by now, never this one.
        expect(scaled.status?.replicas).not.toBe(99);
        const status = await deployments.patch(
          'default',
          created.metadata.name!,
          { status: { replicas: 3 }, spec: { replicas: 1 } },
          'merge',
          { subresource: 'status' },
        );
        expect(status.status?.replicas).toBe(3);
        expect(status.spec.replicas).toBe(5);
        expect(status.metadata.generation).toBe(2);
      });

      it('applies merge, JSON and strategic merge patches', async () => {
        const deployments = client.resource('Deployment');
        const created = await deployments.create(deploymentManifest(name('patch')));
        const n = created.metadata.name!;
        const json = await deployments.patch(
          'default',
          n,
          [{ op: 'replace', path: '/spec/replicas', value: 4 }],
          'json',
        );
        expect(json.spec.replicas).toBe(4);
        const strategic = await deployments.patch(
          'default',
          n,
          { spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'bosun/hello:local' }] } } } },
          'strategic',
        );
        expect(strategic.spec.template.spec.containers.map((c) => c.name)).toEqual(['web', 'sidecar']);
        const merge = await deployments.patch(
          'default',
          n,
          { spec: { template: { spec: { containers: [{ name: 'only', image: 'x:1' }] } } } },
          'merge',
        );
        expect(merge.spec.template.spec.containers.map((c) => c.name)).toEqual(['only']);
        const failed = await http(
          'PATCH',
          `/apis/apps/v1/namespaces/default/deployments/${n}`,
          [{ op: 'test', path: '/spec/replicas', value: 99 }],
          {
            'content-type': 'application/json-patch+json',
          },
        );
        expect(failed.status).toBe(400);
      });

      it('serves the scale subresource', async () => {
        const deployments = client.resource('Deployment');
        const created = await deployments.create(deploymentManifest(name('scale'), 2));
        const scale = await deployments.getScale('default', created.metadata.name!);
        expect(scale).toMatchObject({
          kind: 'Scale',
          apiVersion: 'autoscaling/v1',
          spec: { replicas: 2 },
          status: { selector: `app=${created.metadata.name}` },
        });
        await deployments.updateScale('default', created.metadata.name!, 7);
        expect((await deployments.get('default', created.metadata.name!)).spec.replicas).toBe(7);
      });

      it('binds a pod to a node once', async () => {
        const pod = await client.resource('Pod').create(podManifest(name('bind')));
        await client.bind('default', pod.metadata.name!, 'node-1');
        const bound = await client.resource('Pod').get('default', pod.metadata.name!);
        expect(bound.spec.nodeName).toBe('node-1');
        expect(bound.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status).toBe('True');
        await expect(client.bind('default', pod.metadata.name!, 'node-2')).rejects.toBeInstanceOf(
          ConflictError,
        );
      });
    });

    describe('deletion', () => {
      it('deletes at once, keeps an object with finalizers until they are removed', async () => {
        const configMaps = client.resource('ConfigMap');
        const plain = await configMaps.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: name('del'), namespace: 'default' },
        });
        await configMaps.delete('default', plain.metadata.name!);
        expect(
          (await http('GET', `/api/v1/namespaces/default/configmaps/${plain.metadata.name}`)).status,
        ).toBe(404);

        const guarded = await configMaps.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: name('fin'), namespace: 'default', finalizers: ['example.com/hold'] },
        });
        await configMaps.delete('default', guarded.metadata.name!);
        const marked = await configMaps.get('default', guarded.metadata.name!);
        expect(marked.metadata.deletionTimestamp).toBeDefined();
        await configMaps.patch('default', guarded.metadata.name!, { metadata: { finalizers: null } });
        expect(
          (await http('GET', `/api/v1/namespaces/default/configmaps/${guarded.metadata.name}`)).status,
        ).toBe(404);
      });

      it('deletes a scheduled pod gracefully: marked with a grace period, gone once deleted with grace 0', async () => {
        const pods = client.resource('Pod');
        const pod = await pods.create(podManifest(name('grace')));
        await client.bind('default', pod.metadata.name!, 'node-1');
        await pods.delete('default', pod.metadata.name!);
        const terminating = await pods.get('default', pod.metadata.name!);
        expect(terminating.metadata.deletionGracePeriodSeconds).toBe(30);
        expect(terminating.metadata.deletionTimestamp).toBeDefined();
        await pods.delete('default', pod.metadata.name!, { gracePeriodSeconds: 0 });
        expect((await http('GET', `/api/v1/namespaces/default/pods/${pod.metadata.name}`)).status).toBe(404);
      });

      it('marks a deleted namespace Terminating and refuses new content in it', async () => {
        const namespaces = client.resource('Namespace');
        const ns = await namespaces.create({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: name('ns') },
        });
        await namespaces.delete(undefined, ns.metadata.name!);
        expect((await namespaces.get(undefined, ns.metadata.name!)).status?.phase).toBe('Terminating');
        const response = await http('POST', `/api/v1/namespaces/${ns.metadata.name}/configmaps`, {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'late' },
        });
        expect(response.status).toBe(403);
        expect(response.json.message).toMatch(/because it is being terminated/);
      });

      it('honours uid and resourceVersion preconditions', async () => {
        const configMaps = client.resource('ConfigMap');
        const cm = await configMaps.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: name('pre'), namespace: 'default' },
        });
        await expect(
          configMaps.delete('default', cm.metadata.name!, { preconditions: { uid: 'other' } }),
        ).rejects.toBeInstanceOf(ConflictError);
        await expect(
          configMaps.delete('default', cm.metadata.name!, { preconditions: { resourceVersion: '1' } }),
        ).rejects.toBeInstanceOf(ConflictError);
        await configMaps.delete('default', cm.metadata.name!, { preconditions: { uid: cm.metadata.uid } });
      });
    });

    describe('lists', () => {
      it('filters by label and field selectors, across namespaces too', async () => {
        const tag = name('sel');
        const pods = client.resource('Pod');
        await pods.create(podManifest(`${tag}-a`, { tier: 'front', run: tag }));
        await pods.create(podManifest(`${tag}-b`, { tier: 'back', run: tag }));
        const front = await pods.list('default', { labelSelector: `run=${tag},tier in (front)` });
        expect(front.items.map((p) => p.metadata.name)).toEqual([`${tag}-a`]);
        const byName = await pods.list('default', { fieldSelector: `metadata.name=${tag}-b` });
        expect(byName.items.map((p) => p.metadata.name)).toEqual([`${tag}-b`]);
        const everywhere = await pods.list(undefined, { labelSelector: `run=${tag}` });
        expect(everywhere.items).toHaveLength(2);
        const bad = await http('GET', '/api/v1/namespaces/default/pods?fieldSelector=spec.bogus%3Dx');
        expect(bad.status).toBe(400);
      });

      it('pages with limit and continue, consistently at the first page revision', async () => {
        const tag = name('page');
        const configMaps = client.resource('ConfigMap');
        for (let i = 0; i < 5; i++) {
          await configMaps.create({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `${tag}-${i}`, namespace: 'default', labels: { page: tag } },
          });
        }
        const first = await configMaps.list('default', { labelSelector: `page=${tag}`, limit: 2 });
        expect(first.items).toHaveLength(2);
        expect(first.metadata?.continue).toBeTruthy();
        await configMaps.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `${tag}-9`, namespace: 'default', labels: { page: tag } },
        });
        const rest = await configMaps.list('default', {
          labelSelector: `page=${tag}`,
          limit: 10,
          continue: first.metadata!.continue,
        });
        expect(rest.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
        expect([...first.items, ...rest.items].map((c) => c.metadata.name)).toEqual(
          [0, 1, 2, 3, 4].map((i) => `${tag}-${i}`),
        );
      });

      it('returns a Table for kubectl-style requests', async () => {
        const pod = await client.resource('Pod').create(podManifest(name('table')));
        const table = await http(
          'GET',
          `/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3D${pod.metadata.name}`,
          undefined,
          {
            accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json',
          },
        );
        expect(table.json.kind).toBe('Table');
        const columns = (table.json.columnDefinitions as Array<{ name: string }>).map((c) => c.name);
        expect(columns.slice(0, 5)).toEqual(['Name', 'Ready', 'Status', 'Restarts', 'Age']);
        expect((table.json.rows as Array<{ cells: unknown[] }>)[0].cells.slice(0, 4)).toEqual([
          pod.metadata.name,
          '0/1',
          'Pending',
          '0',
        ]);
      });
    });

    describe('watch', () => {
      it('streams ADDED, MODIFIED and DELETED from a revision, with label selectors on both sides of a change', async () => {
        const tag = name('watch');
        const configMaps = client.resource('ConfigMap');
        const start = await configMaps.list('default', { limit: 1 });
        const controller = new AbortController();
        const seen: string[] = [];
        const done = (async () => {
          for await (const event of configMaps.watch(
            'default',
            { resourceVersion: start.metadata!.resourceVersion, labelSelector: `w=${tag}` },
            controller.signal,
          )) {
            if (event.type === 'BOOKMARK') continue;
            seen.push(`${event.type} ${event.object.metadata.name} ${event.object.data?.v ?? ''}`);
            if (seen.length === 5) controller.abort();
          }
        })();
        await configMaps.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `${tag}-a`, namespace: 'default', labels: { w: tag } },
          data: { v: '1' },
        });
        await configMaps.patch('default', `${tag}-a`, { data: { v: '2' } });
        await configMaps.patch('default', `${tag}-a`, { metadata: { labels: { w: 'other' } } });
        await configMaps.patch('default', `${tag}-a`, { metadata: { labels: { w: tag } } });
        await configMaps.delete('default', `${tag}-a`);
        await done;
        expect(seen).toEqual([
          `ADDED ${tag}-a 1`,
          `MODIFIED ${tag}-a 2`,
          `DELETED ${tag}-a 2`,
          `ADDED ${tag}-a 2`,
          `DELETED ${tag}-a 2`,
        ]);
      });

      it('resumes from any revision it saw with no missed or repeated event', async () => {
        const tag = name('resume');
        const configMaps = client.resource('ConfigMap');
        const revisions: string[] = [];
        for (let i = 0; i < 4; i++) {
          const cm = await configMaps.create({
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: `${tag}-${i}`, namespace: 'default', labels: { r: tag } },
          });
          revisions.push(cm.metadata.resourceVersion!);
        }
        const controller = new AbortController();
        const names: string[] = [];
        for await (const event of configMaps.watch(
          'default',
          { resourceVersion: revisions[1], labelSelector: `r=${tag}` },
          controller.signal,
        )) {
          if (event.type === 'BOOKMARK') continue;
          names.push(event.object.metadata.name!);
          if (names.length === 2) controller.abort();
        }
        expect(names).toEqual([`${tag}-2`, `${tag}-3`]);
      });

      it('answers a watch from a compacted revision with 410 Expired', async () => {
        const configMaps = client.resource('ConfigMap');
        const tag = name('compact');
        const first = await configMaps.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: tag, namespace: 'default' },
          data: { n: '0' },
        });
        // Enough writes to push the first one out of the kept history.
        let current = first;
        for (let i = 1; i <= api.historyEvents * 1.2 + 10; i++)
          current = await configMaps.update({ ...current, data: { n: String(i) } });
        let failure: unknown;
        try {
          for await (const event of configMaps.watch('default', {
            resourceVersion: first.metadata.resourceVersion,
          })) {
            void event;
            break;
          }
        } catch (error) {
          failure = error;
        }
        expect(failure).toMatchObject({ code: 410, reason: 'Expired' });
        // The current revision still watches fine.
        const controller = new AbortController();
        const watch = configMaps.watch(
          'default',
          { resourceVersion: current.metadata.resourceVersion },
          controller.signal,
        );
        await configMaps.update({ ...current, data: { n: 'last' } });
        for await (const event of watch) {
          if (event.type === 'BOOKMARK') continue;
          expect(event).toMatchObject({ type: 'MODIFIED', object: { data: { n: 'last' } } });
          controller.abort();
        }
      });

      it('sends the current objects first when no revision is given', async () => {
        const tag = name('initial');
        const configMaps = client.resource('ConfigMap');
        await configMaps.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `${tag}-x`, namespace: 'default', labels: { i: tag } },
        });
        const controller = new AbortController();
        for await (const event of configMaps.watch(
          'default',
          { labelSelector: `i=${tag}` },
          controller.signal,
        )) {
          expect(event.type).toBe('ADDED');
          controller.abort();
        }
      });
    });

    describe('services', () => {
      it('allocates distinct cluster IPs and node ports and keeps them across updates', async () => {
        const services = client.resource('Service');
        const make = (n: string, type: 'ClusterIP' | 'NodePort') =>
          services.create({
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: n, namespace: 'default' },
            spec: { type, selector: { app: n }, ports: [{ port: 80, targetPort: 8080 }] },
          } as Service);
        const a = await make(name('svc'), 'ClusterIP');
        const b = await make(name('svc'), 'NodePort');
        expect(a.spec?.clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        expect(b.spec?.clusterIP).not.toBe(a.spec?.clusterIP);
        const nodePort = b.spec?.ports?.[0].nodePort ?? 0;
        expect(nodePort).toBeGreaterThanOrEqual(30000);
        expect(nodePort).toBeLessThanOrEqual(32767);
        const { clusterIP: _ip, clusterIPs: _ips, ...withoutIP } = b.spec!;
        const reapplied = await services.update({
          ...b,
          spec: { ...withoutIP, ports: [{ port: 80, targetPort: 8080 }] },
        });
        expect(reapplied.spec?.clusterIP).toBe(b.spec?.clusterIP);
        expect(reapplied.spec?.ports?.[0].nodePort).toBe(nodePort);
        const taken = await http('POST', '/api/v1/namespaces/default/services', {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: name('svc') },
          spec: { type: 'NodePort', ports: [{ port: 80, nodePort }] },
        });
        expect(taken.status).toBe(422);
        expect(taken.json.message).toMatch(/provided port is already allocated/);
      });
    });
  });
}
