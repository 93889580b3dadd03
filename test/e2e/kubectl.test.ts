/**
 * The real kubectl (v1.32, from the PATH) against a real `bosun up` cluster, as a person uses
 * it: its output, messages and exit codes are the judges (bosun issue 8).
 */
import { writeFileSync } from 'fs';
import { join } from 'path';
import { buildImages } from '../support/docker';
import { CliResult, TestBosunCluster } from '../support/cluster';
import { kubectl as runKubectl } from '../support/kubectl';
import { waitFor } from '../support/wait';

jest.setTimeout(60_000);

let cluster: TestBosunCluster;

beforeAll(async () => {
  await buildImages();
  cluster = await TestBosunCluster.up(['--agents', '1']);
}, 120_000);

afterAll(async () => {
  await cluster?.down();
}, 120_000);

function kubectl(...args: string[]): Promise<CliResult> {
  return runKubectl(cluster, args);
}

function file(name: string, content: string): string {
  const path = join(cluster.dir, name);
  writeFileSync(path, content);
  return path;
}

describe('kubectl against bosun', () => {
  it('reads the version, cluster info and discovery', async () => {
    const version = await kubectl('version');
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^Server Version: v1\.32\.0\+bosun-/m);
    expect((await kubectl('cluster-info')).stdout).toContain(
      'Kubernetes control plane is running at https://127.0.0.1:',
    );
    const versions = await kubectl('api-versions');
    expect(versions.stdout.split('\n').filter(Boolean)).toEqual([
      'apps/v1',
      'coordination.k8s.io/v1',
      'discovery.k8s.io/v1',
      'v1',
    ]);
    const resources = await kubectl('api-resources');
    expect(resources.stdout).toMatch(/^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND$/m);
    expect(resources.stdout).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
  });

  it('gets with the server columns and every output format', async () => {
    const nodes = await kubectl('get', 'nodes');
    expect(nodes.stdout).toMatch(
      /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\nnode-1\s+Ready\s+<none>\s+\S+\s+v1\.32\.0/,
    );
    const ns = await kubectl('get', 'ns', 'default', '-o', 'name');
    expect(ns.stdout).toBe('namespace/default\n');
    const json = JSON.parse((await kubectl('get', 'ns', 'kube-system', '-o', 'json')).stdout) as {
      kind: string;
    };
    expect(json.kind).toBe('Namespace');
    expect((await kubectl('get', 'ns', 'default', '-o', 'yaml')).stdout).toMatch(/^kind: Namespace$/m);
    const jsonpath = await kubectl('get', 'ns', '-o', 'jsonpath={.items[*].metadata.name}');
    expect(jsonpath.stdout).toBe('default kube-node-lease kube-public kube-system');
    const missing = await kubectl('get', 'configmap', 'nope');
    expect(missing).toMatchObject({
      code: 1,
      stderr: 'Error from server (NotFound): configmaps "nope" not found\n',
    });
  });

  it('applies: created, unchanged, configured, a removed field removed, invalid input refused', async () => {
    const manifest = (data: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {app: web}
data:
${data}`;
    const path = file('settings.yaml', manifest('  a: "1"\n  b: "2"\n'));
    expect(await kubectl('apply', '-f', path)).toMatchObject({
      code: 0,
      stdout: 'configmap/settings created\n',
    });
    expect(await kubectl('apply', '-f', path)).toMatchObject({
      code: 0,
      stdout: 'configmap/settings unchanged\n',
    });
    file('settings.yaml', manifest('  a: "1"\n'));
    expect(await kubectl('apply', '-f', path)).toMatchObject({
      code: 0,
      stdout: 'configmap/settings configured\n',
    });
    expect((await kubectl('get', 'cm', 'settings', '-o', 'jsonpath={.data}')).stdout).toBe('{"a":"1"}');
    expect((await kubectl('get', 'cm', '-l', 'app=web', '-o', 'name')).stdout).toBe('configmap/settings\n');
    expect(
      (await kubectl('get', 'cm', '--field-selector', 'metadata.name=settings', '-o', 'name')).stdout,
    ).toBe('configmap/settings\n');

    const invalid = file('invalid.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n');
    const refused = await kubectl('apply', '-f', invalid);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('ConfigMap "Bad_Name" is invalid');
    expect(refused.stderr).toContain(
      'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain',
    );
    const unknownField = file(
      'unknown.yaml',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: typo\ndatta: {}\n',
    );
    const strict = await kubectl('apply', '-f', unknownField);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('unknown field "datta"');
  });

  it('labels, annotates and patches three ways', async () => {
    expect((await kubectl('label', 'cm', 'settings', 'tier=front')).stdout).toBe(
      'configmap/settings labeled\n',
    );
    expect((await kubectl('annotate', 'cm', 'settings', 'owner=me')).stdout).toBe(
      'configmap/settings annotated\n',
    );
    expect((await kubectl('patch', 'cm', 'settings', '-p', '{"data":{"m":"merge"}}')).stdout).toBe(
      'configmap/settings patched\n',
    );
    await kubectl(
      'patch',
      'cm',
      'settings',
      '--type=json',
      '-p',
      '[{"op":"add","path":"/data/j","value":"json"}]',
    );
    await kubectl('patch', 'cm', 'settings', '--type=merge', '-p', '{"data":{"a":null}}');
    const data = JSON.parse(
      (await kubectl('get', 'cm', 'settings', '-o', 'jsonpath={.data}')).stdout,
    ) as object;
    expect(data).toEqual({ m: 'merge', j: 'json' });
    const labels = (await kubectl('get', 'cm', 'settings', '-o', 'jsonpath={.metadata.labels.tier}')).stdout;
    expect(labels).toBe('front');
  });

  it('runs a pod, waits for it, reads its logs, describes it and deletes it', async () => {
    expect((await kubectl('run', 'solo', '--image=bosun/hello:local', '--restart=Never')).stdout).toBe(
      'pod/solo created\n',
    );
    const waited = await kubectl('wait', '--for=condition=Ready', 'pod/solo', '--timeout=45s');
    expect(waited).toMatchObject({ code: 0, stdout: 'pod/solo condition met\n' });
    const pods = await kubectl('get', 'pods');
    expect(pods.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nsolo\s+1\/1\s+Running\s+0\s+\S+$/m);
    const logs = await waitFor('the pod to log', async () => {
      const result = await kubectl('logs', 'solo');
      return result.stdout.includes('listening') ? result : undefined;
    });
    expect(logs.code).toBe(0);
    const described = await kubectl('describe', 'pod', 'solo');
    expect(described.stdout).toMatch(/^Node:\s+node-1\/127\.0\.1\.1$/m);
    expect(described.stdout).toMatch(/Successfully assigned default\/solo to node-1/);
    const exposed = await kubectl('expose', 'pod', 'solo', '--port=80', '--target-port=8080');
    expect(exposed.stdout).toBe('service/solo exposed\n');
    const services = await kubectl('get', 'svc', 'solo');
    expect(services.stdout).toMatch(
      /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\nsolo\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+80\/TCP\s+\S+$/m,
    );
    const deleted = await kubectl('delete', 'pod', 'solo', '--wait=true');
    expect(deleted).toMatchObject({ code: 0, stdout: 'pod "solo" deleted\n' });
    expect((await kubectl('get', 'pod', 'solo')).code).toBe(1);
  });

  it('reports a conflict when replacing a stale object', async () => {
    const current = JSON.parse((await kubectl('get', 'cm', 'settings', '-o', 'json')).stdout) as {
      metadata: { resourceVersion: string };
    };
    await kubectl('label', 'cm', 'settings', 'bump=1');
    const stale = file('stale.json', JSON.stringify(current));
    const replaced = await kubectl('replace', '-f', stale);
    expect(replaced.code).toBe(1);
    expect(replaced.stderr).toContain('Operation cannot be fulfilled on configmaps "settings"');
    expect(replaced.stderr).toContain(
      'the object has been modified; please apply your changes to the latest version and try again',
    );
  });
});
