import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PassThrough, Readable } from 'stream';
import { CommandIO } from './io';
import { main } from './main';
import './commands';

const REPO = join(__dirname, '..', '..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[], options: { cwd?: string; stdin?: string } = {}): Promise<Run> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  const io: CommandIO = {
    stdout,
    stderr,
    stdin: Readable.from([options.stdin ?? '']),
    cwd: options.cwd ?? REPO,
    env: {},
  };
  const code = await main(['apply', ...args], io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

describe('bosun apply --dry-run=client', () => {
  let scratch: string;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'bosun-apply-'));
  });

  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('passes every manifest in manifests/, recursively', async () => {
    const result = await run(['--dry-run=client', '-R', '-f', 'manifests/']);
    expect(result).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        'configmap/hello-config created (dry run)',
        'deployment.apps/hello created (dry run)',
        'service/hello created (dry run)',
        'deployment.apps/backend created (dry run)',
        'service/backend created (dry run)',
        'deployment.apps/frontend created (dry run)',
        'service/frontend created (dry run)',
        '',
      ].join('\n'),
    });
  });

  it('takes several -f, files and directories', async () => {
    const result = await run([
      '--dry-run=client',
      '-f',
      'manifests/hello',
      '-f',
      'manifests/two-tier/backend.yaml',
    ]);
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toEqual([
      'configmap/hello-config created (dry run)',
      'deployment.apps/hello created (dry run)',
      'service/hello created (dry run)',
      'deployment.apps/backend created (dry run)',
      'service/backend created (dry run)',
    ]);
  });

  it('does not descend into directories without -R', async () => {
    const result = await run(['--dry-run=client', '-f', 'manifests']);
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'error: no objects passed to apply\n' });
  });

  it('reports every problem of a broken file with file, document and field path, and goes on', async () => {
    const file = join(scratch, 'broken.yaml');
    writeFileSync(
      file,
      `apiVersion: v1
kind: ConfigMap
metadata:
  name: fine
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: -1
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: api
    spec:
      containers:
        - name: app
          imagePullPolicyy: Always
---
kind: [
---
apiVersion: v1
kind: Frobnicator
metadata:
  name: x
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata:
      name: web.svc
    spec:
      ports:
        - port: 80
`,
    );
    const result = await run(['--dry-run=client', '-f', file]);
    expect(result.code).toBe(1);
    expect(lines(result.stdout)).toEqual(['configmap/fine created (dry run)']);
    expect(lines(result.stderr)).toEqual([
      `error: ${file}: document 2: Deployment/web: unknown field "spec.template.spec.containers[0].imagePullPolicyy"`,
      `error: ${file}: document 2: Deployment/web: spec.replicas: Invalid value: -1: must be greater than or equal to 0`,
      `error: ${file}: document 2: Deployment/web: spec.template.metadata.labels: Invalid value: map[string]string{"app":"api"}: \`selector\` does not match template \`labels\``,
      `error: ${file}: document 2: Deployment/web: spec.template.spec.containers[0].image: Required value`,
      `error: ${file}: document 3: line 25, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]`,
      `error: ${file}: document 4: Frobnicator/x: kind: Unsupported value: "Frobnicator": supported values: "Binding", "ConfigMap", "Deployment", "EndpointSlice", "Endpoints", "Event", "Lease", "Namespace", "Node", "Pod", "ReplicaSet", "Secret", "Service", "StatefulSet"`,
      `error: ${file}: document 5, items[0]: Service/web.svc: metadata.name: Invalid value: "web.svc": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`,
    ]);
  });

  it('reports a type error once, not again as what validation makes of the dropped value', async () => {
    const result = await run(['--dry-run=client', '-f', '-'], {
      stdin:
        'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: {name: app, image: nginx}\n',
    });
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: 'error: -: document 1: Pod/p: spec.containers: Invalid value: {...}: must be an array\n',
    });
  });

  it('reads stdin for -f -', async () => {
    const result = await run(['--dry-run=client', '-f', '-'], {
      stdin: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } }),
    });
    expect(result).toEqual({ code: 0, stdout: 'namespace/team-a created (dry run)\n', stderr: '' });
  });

  it('reads only manifest files from a directory, sorted', async () => {
    const dir = join(scratch, 'mixed');
    mkdirSync(join(dir, 'nested'), { recursive: true });
    writeFileSync(join(dir, 'b.yml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n');
    writeFileSync(
      join(dir, 'a.json'),
      '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}',
    );
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    writeFileSync(join(dir, 'nested', 'c.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
    expect(lines((await run(['--dry-run=client', '-f', dir])).stdout)).toEqual([
      'configmap/a created (dry run)',
      'configmap/b created (dry run)',
    ]);
    expect(lines((await run(['--dry-run=client', '-R', '-f', dir])).stdout)).toEqual([
      'configmap/a created (dry run)',
      'configmap/b created (dry run)',
      'configmap/c created (dry run)',
    ]);
  });

  it('treats the same object twice as a create and then an update', async () => {
    const deployment = (selector: string): string =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: ${selector}}}\n` +
      `  template:\n    metadata: {labels: {app: ${selector}}}\n    spec: {containers: [{name: app, image: nginx}]}\n`;
    const same = await run(['--dry-run=client', '-f', '-'], {
      stdin: `${deployment('web')}---\n${deployment('web')}`,
    });
    expect(lines(same.stdout)).toEqual([
      'deployment.apps/web created (dry run)',
      'deployment.apps/web configured (dry run)',
    ]);
    const changed = await run(['--dry-run=client', '-f', '-'], {
      stdin: `${deployment('web')}---\n${deployment('api')}`,
    });
    expect(changed.code).toBe(1);
    expect(lines(changed.stderr)).toEqual([
      'error: -: document 2: Deployment/web: spec.selector: Invalid value: {"matchLabels":{"app":"api"}}: field is immutable',
    ]);
  });

  it('warns about unknown fields with --validate=warn and ignores them with --validate=ignore', async () => {
    const stdin = 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndatas: {a: b}\n';
    expect(await run(['--dry-run=client', '--validate=warn', '-f', '-'], { stdin })).toEqual({
      code: 0,
      stdout: 'configmap/c created (dry run)\n',
      stderr: 'Warning: -: document 1: ConfigMap/c: unknown field "datas"\n',
    });
    expect(await run(['--dry-run=client', '--validate=ignore', '-f', '-'], { stdin })).toEqual({
      code: 0,
      stdout: 'configmap/c created (dry run)\n',
      stderr: '',
    });
    expect((await run(['--dry-run=client', '-f', '-'], { stdin })).stderr).toBe(
      'error: -: document 1: ConfigMap/c: unknown field "datas"\n',
    );
  });

  it('needs a name: generateName is for create', async () => {
    const result = await run(['--dry-run=client', '-f', '-'], {
      stdin: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {generateName: c-}\n',
    });
    expect(result.stderr).toBe(
      'error: -: document 1: ConfigMap/<no name>: metadata.name: Required value: apply needs a name; generateName only works with create\n',
    );
  });

  it('reports a missing path and still reads the others', async () => {
    const result = await run([
      '--dry-run=client',
      '-f',
      'no/such/file.yaml',
      '-f',
      'manifests/hello/configmap.yaml',
    ]);
    expect(result).toEqual({
      code: 1,
      stdout: 'configmap/hello-config created (dry run)\n',
      stderr: 'error: the path "no/such/file.yaml" does not exist\n',
    });
  });
});

describe('bosun apply arguments', () => {
  it('says there is no cluster when none was started in this directory', async () => {
    for (const args of [
      ['-R', '-f', 'manifests/', '--dir', '/nonexistent/.bosun'],
      ['--dry-run=server', '-R', '-f', 'manifests/', '--dir', '/nonexistent/.bosun'],
    ]) {
      const result = await run(args);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        'error: no cluster: /nonexistent/.bosun/config does not exist. Start one with "bosun up", or pass --server and --token\n',
      );
    }
  });

  it('rejects bad arguments with the usage', async () => {
    expect((await run(['--dry-run=maybe', '-f', 'x'])).stderr).toBe(
      'error: Invalid dry-run value (maybe). Must be "none", "server", or "client".\n',
    );
    const noFile = await run(['--dry-run=client']);
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toContain('must specify at least one -f FILE|DIR|-');
    const unknown = await run(['--dry-run=client', '--force', '-f', 'x']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("Unknown option '--force'");
    expect((await run(['--dry-run=client', '--validate=loose', '-f', 'x'])).stderr).toBe(
      'error: invalid --validate value "loose"; use strict, warn or ignore\n',
    );
  });

  it('shows its usage for --help', async () => {
    const result = await run(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'Usage: bosun apply -f FILE|DIR|- [-f ...] [-R] [-n NAMESPACE] [--dry-run=none|server|client]',
    );
  });
});
