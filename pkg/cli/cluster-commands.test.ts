import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PassThrough, Readable } from 'stream';
import { startLocalApiServer, LocalApiServer } from '../apiserver/local';
import './commands';
import { leaseRenewArgs, mustBeAlive, serviceCIDRFor } from './cluster';
import { main } from './main';

const REPO = join(__dirname, '..', '..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let api: LocalApiServer;

beforeAll(async () => {
  api = await startLocalApiServer();
});
afterAll(async () => {
  await api.close();
});

async function bosun(...args: string[]): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await main(args, {
    stdout,
    stderr,
    stdin: Readable.from([]),
    cwd: REPO,
    env: { BOSUN_SERVER: api.url, BOSUN_TOKEN: api.adminToken },
  });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

describe('cluster commands against an apiserver', () => {
  it('applies manifests: created, then unchanged, then configured when the file changes', async () => {
    const first = await bosun('apply', '-f', 'manifests/hello/');
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toBe(
      'configmap/hello-config created\ndeployment.apps/hello created\nservice/hello created\n',
    );
    const again = await bosun('apply', '-f', 'manifests/hello/');
    expect(again.stdout).toBe(
      'configmap/hello-config unchanged\ndeployment.apps/hello unchanged\nservice/hello unchanged\n',
    );

    const dir = mkdtempSync(join(tmpdir(), 'bosun-apply-'));
    const file = join(dir, 'cm.yaml');
    writeFileSync(
      file,
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tuned\ndata:\n  a: "1"\n  b: "2"\n',
    );
    expect((await bosun('apply', '-f', file)).stdout).toBe('configmap/tuned created\n');
    writeFileSync(file, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tuned\ndata:\n  a: "1"\n');
    expect((await bosun('apply', '-f', file)).stdout).toBe('configmap/tuned configured\n');
    const yaml = await bosun('get', 'cm', 'tuned', '-o', 'json');
    expect(JSON.parse(yaml.stdout).data).toEqual({ a: '1' }); // b removed from the file → removed from the object
  });

  it('prints server errors for invalid objects with the file and document', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bosun-apply-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: badsvc\nspec:\n  ports:\n  - port: 70000\n',
    );
    const result = await bosun('apply', '-f', file);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `error: ${file}: document 1: Service/badsvc: Service "badsvc" is invalid: [spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive`,
    );
  });

  it('gets tables, names, YAML and JSON like kubectl', async () => {
    const table = await bosun('get', 'deploy');
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/);
    expect(table.stdout).toMatch(/^hello\s+0\/3\s+0\s+0\s+\d+s$/m);
    const wide = await bosun('get', 'deployments.apps', '-o', 'wide');
    expect(wide.stdout.split('\n')[0]).toMatch(/CONTAINERS\s+IMAGES\s+SELECTOR$/);
    expect((await bosun('get', 'svc,cm', '-o', 'name')).stdout).toContain(
      'service/hello\nconfigmap/hello-config\n',
    );
    const all = await bosun('get', 'po,svc', '-A');
    expect(all.stdout).toMatch(/^NAMESPACE\s+NAME\s+TYPE\s+CLUSTER-IP/m);
    expect(all.stdout).toMatch(/^default\s+service\/hello\s+ClusterIP\s+\d+\.\d+\.\d+\.\d+/m);
    const yaml = await bosun('get', 'deploy/hello', '-o', 'yaml');
    expect(yaml.stdout).toMatch(/^apiVersion: apps\/v1\nkind: Deployment\n/);
    expect((await bosun('get', 'ns')).stdout).toMatch(/^kube-system\s+Active\s+\d+s$/m);
  });

  it('fails with the server message for a missing object and an unknown kind', async () => {
    const missing = await bosun('get', 'pod', 'nope');
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toBe('Error from server (NotFound): pods "nope" not found\n');
    const unknown = await bosun('get', 'widgets');
    expect(unknown).toMatchObject({
      code: 1,
      stderr: 'error: the server doesn\'t have a resource type "widgets"\n',
    });
    expect((await bosun('get', 'pods', '-n', 'kube-public')).stderr).toBe(
      'No resources found in kube-public namespace.\n',
    );
  });

  it('scales through the scale subresource', async () => {
    expect((await bosun('scale', 'deployment/hello', '--replicas', '5')).stdout).toBe(
      'deployment.apps/hello scaled\n',
    );
    expect(JSON.parse((await bosun('get', 'deploy', 'hello', '-o', 'json')).stdout).spec.replicas).toBe(5);
    expect((await bosun('scale', 'deploy', 'hello', '--replicas=-1')).code).toBe(1);
    expect((await bosun('scale', 'svc/hello', '--replicas', '2')).stderr).toBe(
      'error: services "hello" cannot be scaled\n',
    );
  });

  it('deletes by name and by file, and waits until the objects are gone', async () => {
    expect((await bosun('delete', 'cm', 'tuned')).stdout).toBe('configmap "tuned" deleted\n');
    const byFile = await bosun('delete', '-f', 'manifests/hello/');
    expect(byFile.stdout).toBe(
      'configmap "hello-config" deleted\ndeployment.apps "hello" deleted\nservice "hello" deleted\n',
    );
    expect((await bosun('get', 'deploy', 'hello')).code).toBe(1);
    const again = await bosun('delete', 'svc', 'hello');
    expect(again).toMatchObject({
      code: 1,
      stderr: 'Error from server (NotFound): services "hello" not found\n',
    });
    expect((await bosun('delete', 'svc', 'hello', '--ignore-not-found')).code).toBe(0);
  });
});

describe("the agents' lease renewal under bosun up", () => {
  const config = (masterFlags?: string[]) => ({ masterFlags }) as Parameters<typeof leaseRenewArgs>[0];

  it('is a quarter of the node grace period given to up', () => {
    expect(leaseRenewArgs(config(['--node-grace-period', '4s']))).toEqual([
      '--lease-renew-interval',
      '1000ms',
    ]);
    expect(leaseRenewArgs(config(['--pod-eviction-timeout', '30s', '--node-grace-period', '1m']))).toEqual([
      '--lease-renew-interval',
      '15000ms',
    ]);
  });

  it("is the agent's own default when up was given no grace period", () => {
    expect(leaseRenewArgs(config())).toEqual([]);
    expect(leaseRenewArgs(config(['--pod-eviction-timeout', '30s']))).toEqual([]);
  });
});

describe('bosun up waiting on its processes', () => {
  it('fails at once when one has exited, with the end of its log', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bosun-up-test-'));
    const log = join(dir, 'm2.log');
    writeFileSync(
      log,
      'starting\n{"level":"error","message":"listen EADDRINUSE: address already in use 127.0.0.1:41465"}\n',
    );
    const alive = { name: 'm1', pid: process.pid, args: [], log: join(dir, 'm1.log') };
    // A pid above the kernel's limit is never a live process.
    const dead = { name: 'm2', pid: 4_194_305, args: [], log };
    expect(() => mustBeAlive([alive])).not.toThrow();
    expect(() => mustBeAlive([alive, dead])).toThrow(
      /m2 \(pid 4194305\) exited while starting; the end of .*m2\.log:\nstarting\n.*EADDRINUSE/,
    );
  });
});

describe('the service CIDR of a cluster', () => {
  it("is Kubernetes' default for the first cluster on a host and its own /16 for the next", () => {
    expect(serviceCIDRFor(1)).toBeUndefined();
    expect(serviceCIDRFor(2)).toBe('10.97.0.0/16');
    expect(serviceCIDRFor(160)).toBe('10.255.0.0/16');
    expect(serviceCIDRFor(161)).toBeUndefined();
  });
});
