/**
 * Real `bosun master` processes for tests: a three-master cluster on loopback with free
 * ports and a temporary data directory, and a small client for the masters' internal API.
 */
import { mkdtempSync, promises as fs, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { BosunProcess, spawnBosun } from './process';
import { waitFor } from './wait';
import { freePort } from '../../pkg/util/ports';

export interface MasterStatus {
  name: string;
  role: string;
  term: number;
  leader: string;
  commit: number;
  applied: number;
  revision: number;
  members: { voters: string[]; learners: string[] };
}

export interface TestMaster {
  name: string;
  api: string;
  peer: string;
  data: string;
  log: string;
  process?: BosunProcess;
}

export class TestCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'bosun-masters-'));
  readonly masters: TestMaster[] = [];
  readonly token = 'admin-token-for-tests';

  static async start(size = 3, extraArgs: string[] = []): Promise<TestCluster> {
    const cluster = new TestCluster();
    await fs.writeFile(join(cluster.dir, 'secret'), 'cluster-secret\n');
    await fs.writeFile(
      join(cluster.dir, 'tokens.json'),
      JSON.stringify({ admin: cluster.token, readonly: 'ro', nodes: {} }),
    );
    for (let i = 1; i <= size; i++) {
      cluster.masters.push({
        name: `m${i}`,
        api: `127.0.0.1:${await freePort()}`,
        peer: `127.0.0.1:${await freePort()}`,
        data: join(cluster.dir, `m${i}`),
        log: join(cluster.dir, `m${i}.log`),
      });
    }
    cluster.extraArgs = extraArgs;
    for (const master of cluster.masters) cluster.startMaster(master.name);
    await cluster.waitForLeader();
    return cluster;
  }

  private extraArgs: string[] = [];

  master(name: string): TestMaster {
    const master = this.masters.find((m) => m.name === name);
    if (!master) throw new Error(`no master ${name}`);
    return master;
  }

  startMaster(name: string, args: string[] = [], secret = 'secret'): BosunProcess {
    const master = this.master(name);
    master.process = spawnBosun(
      [
        'master',
        '--name',
        name,
        '--data',
        master.data,
        '--peers',
        this.masters.map((m) => `${m.name}=${m.peer}`).join(','),
        '--api',
        master.api,
        '--secret-file',
        join(this.dir, secret),
        '--tokens-file',
        join(this.dir, 'tokens.json'),
        ...this.extraArgs,
        ...args,
      ],
      master.log,
    );
    return master.process;
  }

  async status(name: string): Promise<MasterStatus | undefined> {
    try {
      const response = await fetch(`http://${this.master(name).api}/bosun/v1/status`, {
        headers: { authorization: `Bearer ${this.token}` },
        signal: AbortSignal.timeout(1000),
      });
      return response.ok ? ((await response.json()) as MasterStatus) : undefined;
    } catch {
      return undefined;
    }
  }

  /** The leader all running masters agree on. */
  async waitForLeader(exclude = '', timeoutMs = 15_000): Promise<string> {
    return waitFor(
      'a leader all running masters agree on',
      async () => {
        const running = this.masters.filter(
          (m) => m.process && m.process.child.exitCode === null && m.name !== exclude,
        );
        const statuses = await Promise.all(running.map((m) => this.status(m.name)));
        const leaders = new Set(statuses.map((s) => s?.leader));
        if (statuses.some((s) => !s) || leaders.size !== 1) return undefined;
        const leader = statuses[0]!.leader;
        return leader && leader !== exclude ? leader : undefined;
      },
      { timeoutMs, intervalMs: 20 },
    );
  }

  async put(name: string, key: string, value: string): Promise<Response> {
    return fetch(`http://${this.master(name).api}/bosun/v1/kv${key}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${this.token}` },
      body: value,
      signal: AbortSignal.timeout(6000),
    });
  }

  async get(name: string, key: string): Promise<Response> {
    return fetch(`http://${this.master(name).api}/bosun/v1/kv${key}`, {
      headers: { authorization: `Bearer ${this.token}` },
      signal: AbortSignal.timeout(6000),
    });
  }

  async list(
    name: string,
    revision?: number,
  ): Promise<{ revision: number; items: Array<{ key: string; value: string; modRevision: number }> }> {
    const query = revision === undefined ? '' : `&revision=${revision}`;
    const response = await fetch(`http://${this.master(name).api}/bosun/v1/kv?prefix=/${query}`, {
      headers: { authorization: `Bearer ${this.token}` },
      signal: AbortSignal.timeout(6000),
    });
    if (!response.ok) throw new Error(`list on ${name}: ${response.status} ${await response.text()}`);
    return (await response.json()) as {
      revision: number;
      items: Array<{ key: string; value: string; modRevision: number }>;
    };
  }

  async member(name: string, change: { type: string; node: string; address?: string }): Promise<Response> {
    return fetch(`http://${this.master(name).api}/bosun/v1/members`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(change),
    });
  }

  logOf(name: string): string {
    try {
      return readFileSync(this.master(name).log, 'utf8');
    } catch {
      return '';
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.masters.map((m) => m.process?.kill()));
  }
}
