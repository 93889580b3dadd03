/** The real kubectl from the PATH, run against a test cluster's kubeconfig. */
import { execFile } from 'child_process';
import { join } from 'path';
import { CliResult, TestBosunCluster } from './cluster';

export function kubectl(cluster: TestBosunCluster, args: string[], input?: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      'kubectl',
      args,
      {
        // A cache directory of the test's own: kubectl caches discovery and OpenAPI per server.
        env: {
          ...process.env,
          KUBECONFIG: join(cluster.dir, 'kubeconfig'),
          KUBECACHEDIR: join(cluster.dir, 'kube-cache'),
        },
        timeout: 50_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}
