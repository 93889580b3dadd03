/**
 * Which loopback /24 a local cluster's nodes live on: 127.0.N.1, 127.0.N.2, ... Node ports and
 * host ports bind on node addresses, so two clusters on one host need different N. Claims are
 * files in a host-wide directory, one per N, naming the cluster directory that holds it; a
 * claim whose cluster no longer runs is free to take.
 */
import { promises as fs } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { UsageError } from './io';

export const DEFAULT_SUBNET_REGISTRY = join(tmpdir(), 'bosun-node-subnets');
const FIRST = 1;
const LAST = 254;
/** A claim this young is held whatever its cluster looks like: that cluster may be starting up. */
const STARTING_GRACE_MS = 120_000;

export interface SubnetRegistry {
  /** Where the claims are kept. */
  dir: string;
  /** Whether the cluster in this directory still runs (a claim of one that does not is stale). */
  isLive(clusterDir: string): Promise<boolean>;
}

async function holder(registry: SubnetRegistry, subnet: number): Promise<string | undefined> {
  try {
    return (await fs.readFile(join(registry.dir, String(subnet)), 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Takes `subnet` for `clusterDir` unless another live cluster holds it; true when taken. */
async function tryClaim(registry: SubnetRegistry, subnet: number, clusterDir: string): Promise<boolean> {
  const path = join(registry.dir, String(subnet));
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fs.writeFile(path, clusterDir + '\n', { flag: 'wx' });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const held = await holder(registry, subnet);
    if (held === clusterDir) return true;
    const age = Date.now() - (await fs.stat(path).catch(() => ({ mtimeMs: 0 }))).mtimeMs;
    if (held !== undefined && (age < STARTING_GRACE_MS || (await registry.isLive(held)))) return false;
    // Stale (its cluster is gone or stopped): let it go and race for it again.
    await fs.rm(path, { force: true });
  }
  return false;
}

/**
 * The subnet N for a cluster's node addresses 127.0.N.x. `wanted` (a restarted cluster's own)
 * is taken or refused; otherwise the lowest free one from 1, so a lone cluster keeps 127.0.1.x.
 */
export async function claimNodeSubnet(
  registry: SubnetRegistry,
  clusterDir: string,
  wanted?: number,
): Promise<number> {
  await fs.mkdir(registry.dir, { recursive: true });
  if (wanted !== undefined) {
    if (await tryClaim(registry, wanted, clusterDir)) return wanted;
    throw new UsageError(
      `this cluster's node addresses 127.0.${wanted}.x are held by the running cluster in ${await holder(registry, wanted)}: stop that one first, or start this one afresh after "bosun down --purge"`,
    );
  }
  for (let subnet = FIRST; subnet <= LAST; subnet++) {
    if (await tryClaim(registry, subnet, clusterDir)) return subnet;
  }
  throw new UsageError(`every node subnet 127.0.${FIRST}-${LAST}.x is held by a running cluster`);
}

/** Gives back whatever `clusterDir` holds (its state is deleted: nothing will restart it). */
export async function releaseNodeSubnets(registry: SubnetRegistry, clusterDir: string): Promise<void> {
  let names: string[];
  try {
    names = await fs.readdir(registry.dir);
  } catch {
    return;
  }
  for (const name of names) {
    if ((await holder(registry, Number(name)).catch(() => undefined)) === clusterDir)
      await fs.rm(join(registry.dir, name), { force: true });
  }
}

/** N of a node address 127.0.N.x, if it is one. */
export function subnetOf(address: string): number | undefined {
  const match = /^127\.0\.(\d+)\.\d+$/.exec(address);
  return match ? Number(match[1]) : undefined;
}
