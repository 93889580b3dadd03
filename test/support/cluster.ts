/**
 * A whole local cluster for end-to-end tests, brought up with the built `bosun up` as a
 * person would, in a temporary directory; every Docker resource its agents create carries the
 * test run's label, so cleanup removes exactly those.
 */
import { execFile } from 'child_process';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Pod } from '../../pkg/api';
import { Client } from '../../pkg/client';
import { ClusterConfig } from '../../pkg/cli/cluster-config';
import { newTestRunId, removeTestResources, repoRoot, TEST_RUN_LABEL } from './docker';
import { BOSUN } from './process';
import { waitFor } from './wait';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class TestBosunCluster {
  readonly runId = newTestRunId();
  readonly dir = mkdtempSync(join(tmpdir(), 'bosun-e2e-'));
  config!: ClusterConfig;
  client!: Client;

  static async up(args: string[] = []): Promise<TestBosunCluster> {
    const cluster = new TestBosunCluster();
    const result = await cluster.bosun([
      'up',
      '-q',
      '--docker-label',
      `${TEST_RUN_LABEL}=${cluster.runId}`,
      ...args,
    ]);
    if (result.code !== 0) {
      // A half-started cluster must not outlive the test: its agents would keep running.
      await cluster.down();
      throw new Error(`bosun up failed (${result.code}): ${result.stderr}${result.stdout}`);
    }
    cluster.config = JSON.parse(readFileSync(join(cluster.dir, 'config'), 'utf8')) as ClusterConfig;
    cluster.client = new Client({
      servers: cluster.config.masters.map((m) => m.api),
      token: cluster.config.adminToken,
    });
    return cluster;
  }

  /**
   * `bosun up --agents 2` with shortened node timings, and manifests/hello (3 replicas behind
   * the `hello` Service) applied and rolled out: the bed of the workload and Service suites.
   */
  static async upWithHello(graceMs: number, evictionMs: number): Promise<TestBosunCluster> {
    const cluster = await TestBosunCluster.up([
      '--agents',
      '2',
      '--node-grace-period',
      `${graceMs / 1000}s`,
      '--pod-eviction-timeout',
      `${evictionMs / 1000}s`,
    ]);
    const applied = await cluster.bosun(['apply', '-f', 'manifests/hello/']);
    const status = await cluster.bosun(['rollout', 'status', 'deployment/hello', '--timeout', '90s']);
    if (applied.code !== 0 || !status.stdout.includes('deployment "hello" successfully rolled out')) {
      const why = `${applied.stderr}${status.stderr}${status.stdout}`;
      await cluster.down();
      throw new Error(`manifests/hello did not roll out: ${why}`);
    }
    return cluster;
  }

  /** Runs the built `bosun` with this cluster's directory, as a person at a shell would. */
  async bosun(args: string[], input?: string): Promise<CliResult> {
    return new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [BOSUN, ...args],
        {
          cwd: repoRoot,
          env: { ...process.env, BOSUN_DIR: this.dir },
          maxBuffer: 16 * 1024 * 1024,
          timeout: 120_000,
        },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      if (input !== undefined) child.stdin!.end(input);
    });
  }

  /** The last lines of a process's log, for a failing test's output. */
  logTail(name: string, lines = 40): string {
    try {
      return readFileSync(join(this.dir, 'logs', `${name}.log`), 'utf8')
        .split('\n')
        .slice(-lines)
        .join('\n');
    } catch {
      return '';
    }
  }

  /** `bosun start` a killed agent, and wait until its node is Ready and untainted again. */
  async restartAgent(name: string): Promise<void> {
    const started = await this.bosun(['start', name]);
    if (started.code !== 0) throw new Error(`bosun start ${name}: ${started.stderr}`);
    await waitFor(
      `${name} Ready and untainted`,
      async () => {
        const n = await this.client.resource('Node').get(undefined, name);
        return (
          (n.spec?.taints ?? []).length === 0 &&
          n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
        );
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
  }

  /** After a failed test: the last lines of each named process's log on stderr. */
  showLogsIfFailed(names: string[], lines = 20): void {
    if (expect.getState().assertionCalls > expect.getState().numPassingAsserts)
      for (const name of names) process.stderr.write(`--- ${name}\n${this.logTail(name, lines)}\n`);
  }

  async down(): Promise<void> {
    this.client?.close();
    await this.bosun(['down', '--purge']);
    await removeTestResources(this.runId);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Ready, and not on its way out. */
export const isPodReady = (p: Pod): boolean =>
  !p.metadata.deletionTimestamp &&
  (p.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
