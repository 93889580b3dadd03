/**
 * The real kubectl (v1.32) against `bosun up`: exec over WebSockets (v5.channel.k8s.io), with
 * exit codes and stdin, and port-forward over SPDY tunnelled in a WebSocket; then `bosun logs`
 * and `bosun exec` with the built binary.
 */
import { ChildProcess, execFile, spawn } from 'child_process';
import { buildImages } from '../support/docker';
import { TestBosunCluster } from '../support/cluster';
import { kubectlEnv } from '../support/kubectl';
import { waitFor } from '../support/wait';

jest.setTimeout(60_000);

let cluster: TestBosunCluster;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function kubectl(args: string[], options: { input?: string; token?: string } = {}): Promise<Result> {
  const extra = options.token ? [`--token=${options.token}`] : [];
  return new Promise((resolve) => {
    const child = execFile(
      'kubectl',
      [...extra, ...args],
      { env: kubectlEnv(cluster), timeout: 50_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    if (options.input !== undefined) child.stdin!.end(options.input);
  });
}

beforeAll(async () => {
  await buildImages();
  cluster = await TestBosunCluster.up(['--agents', '1']);
  const run = await kubectl(['run', 'p', '--image=bosun/hello:local']);
  expect(run.code).toBe(0);
  const waited = await kubectl(['wait', '--for=condition=Ready', 'pod/p', '--timeout=45s']);
  expect(waited.code).toBe(0);
}, 120_000);

afterAll(async () => {
  await cluster?.down();
}, 120_000);

describe('kubectl exec', () => {
  it('relays stdout and stderr and exits with the command exit code', async () => {
    const result = await kubectl(['exec', 'p', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('out\n');
    expect(result.stderr).toBe('err\ncommand terminated with exit code 3\n');
  });

  it('feeds stdin with -i and ends it at EOF', async () => {
    const result = await kubectl(['exec', '-i', 'p', '--', 'cat'], { input: 'hi\n' });
    expect(result).toMatchObject({ code: 0, stdout: 'hi\n' });
  });

  it('refuses a read-only token', async () => {
    const result = await kubectl(['exec', 'p', '--', 'true'], { token: cluster.config.readonlyToken });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'Error from server (Forbidden): pods "p" is forbidden: User "readonly" cannot create resource "pods/exec" in API group "" in the namespace "default"',
    );
  });
});

describe('kubectl port-forward', () => {
  let forward: ChildProcess | undefined;

  afterEach(async () => {
    if (forward && forward.exitCode === null && forward.signalCode === null) {
      const exited = new Promise((resolve) => forward!.once('exit', resolve));
      forward.kill('SIGTERM');
      await exited;
    }
  });

  it('forwards a local port to the pod, for several connections at once', async () => {
    let output = '';
    // ":8080": kubectl picks a free local port, so parallel runs on one machine never clash.
    forward = spawn('kubectl', ['port-forward', 'pod/p', ':8080'], { env: kubectlEnv(cluster) });
    forward.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    forward.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const localPort = await waitFor(
      'kubectl to listen',
      () => /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(output)?.[1],
      { timeoutMs: 20_000 },
    );
    const answers = await Promise.all(
      [1, 2, 3].map(async () => {
        const response = await fetch(`http://127.0.0.1:${localPort}/json`);
        return (await response.json()) as { pod: string; count: number };
      }),
    );
    expect(answers.map((a) => a.pod)).toEqual(['p', 'p', 'p']);
    expect(new Set(answers.map((a) => a.count)).size).toBe(3);
    expect(output).not.toContain('error');
  });
});

describe('bosun logs and bosun exec', () => {
  it('prints the log, the last lines with --tail', async () => {
    const logs = await waitFor('the pod to log', async () => {
      const result = await cluster.bosun(['logs', 'p']);
      return result.stdout.includes('"message":"listening"') ? result : undefined;
    });
    expect(logs.code).toBe(0);
    const tail = await cluster.bosun(['logs', 'p', '--tail', '1']);
    expect(tail.stdout.trim().split('\n')).toHaveLength(1);
    expect(await cluster.bosun(['logs', 'nope'])).toMatchObject({
      code: 1,
      stderr: 'Error from server (NotFound): pods "nope" not found\n',
    });
  });

  it('runs a command with its exit code, and stdin with -i', async () => {
    expect(await cluster.bosun(['exec', 'p', '--', 'sh', '-c', 'echo out; echo err >&2; exit 4'])).toEqual({
      code: 4,
      stdout: 'out\n',
      stderr: 'err\n',
    });
    expect(await cluster.bosun(['exec', '-i', 'p', '--', 'cat'], 'piped\n')).toEqual({
      code: 0,
      stdout: 'piped\n',
      stderr: '',
    });
  });
});
