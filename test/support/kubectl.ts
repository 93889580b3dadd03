/** The real kubectl from the PATH, run against a test cluster's kubeconfig. */
import { ChildProcess, execFile, spawn } from 'child_process';
import { join } from 'path';
import { CliResult, TestBosunCluster } from './cluster';

/** The environment kubectl needs for a test cluster. */
export function kubectlEnv(cluster: TestBosunCluster): NodeJS.ProcessEnv {
  return {
    ...process.env,
    KUBECONFIG: join(cluster.dir, 'kubeconfig'),
    // A cache directory of the test's own: kubectl caches discovery and OpenAPI per server.
    KUBECACHEDIR: join(cluster.dir, 'kube-cache'),
  };
}

export function kubectl(cluster: TestBosunCluster, args: string[], input?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      'kubectl',
      args,
      { env: kubectlEnv(cluster), timeout: 50_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** A long-running kubectl (`get -w`, `port-forward`) whose output so far is in `output`. */
export interface KubectlProcess {
  child: ChildProcess;
  readonly output: { stdout: string; stderr: string };
  /** SIGTERM, and wait until it has exited. */
  stop(): Promise<void>;
}

export function spawnKubectl(cluster: TestBosunCluster, args: string[]): KubectlProcess {
  const child = spawn('kubectl', args, { env: kubectlEnv(cluster) });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.stderr += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    child,
    output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
