/**
 * The host side of a cluster's Docker bridge network: its Linux bridge device (where
 * ClusterIPs are added as /32 addresses) and its gateway (the pods' default route, where
 * cluster DNS listens). The proxy creates the network when it starts before any agent, with
 * the same name and labels an agent would use, so either may come first.
 */
import { execFile } from 'child_process';
import { promisify } from 'util';
import type Docker from 'dockerode';
import { logger } from '../util/log';
import { Serial } from '../util/serial';

const run = promisify(execFile);
const log = logger('proxy-addresses');

export interface BridgeNetwork {
  name: string;
  id: string;
  /** The Linux bridge device, e.g. `br-0123456789ab`. */
  device: string;
  subnet: string;
  gateway: string;
}

/** The Linux bridge device of a Docker bridge network. */
export function bridgeDevice(info: Pick<Docker.NetworkInspectInfo, 'Id' | 'Options'>): string {
  // Docker names a user-defined bridge br-<first 12 hex of the id> unless told otherwise.
  return info.Options?.['com.docker.network.bridge.name'] ?? `br-${info.Id.slice(0, 12)}`;
}

function describe(info: Docker.NetworkInspectInfo): BridgeNetwork {
  const config = info.IPAM?.Config?.[0];
  return {
    name: info.Name,
    id: info.Id,
    device: bridgeDevice(info),
    subnet: config?.Subnet ?? '',
    gateway: config?.Gateway ?? '',
  };
}

export async function ensureBridgeNetwork(
  docker: Docker,
  name: string,
  labels: Record<string, string>,
): Promise<BridgeNetwork> {
  const inspect = () => docker.getNetwork(name).inspect() as Promise<Docker.NetworkInspectInfo>;
  try {
    return describe(await inspect());
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode !== 404) throw error;
  }
  try {
    await docker.createNetwork({
      Name: name,
      Driver: 'bridge',
      CheckDuplicate: true,
      Labels: { ...labels, 'bosun.managed': 'true' },
    });
  } catch (error) {
    // An agent sharing the daemon created it first.
    if ((error as { statusCode?: number }).statusCode !== 409) throw error;
  }
  return describe(await inspect());
}

/** Whether this process may add addresses to interfaces (root on Linux). */
export function canManageAddresses(): boolean {
  return process.platform === 'linux' && process.getuid?.() === 0;
}

/**
 * ClusterIPs as /32 addresses on one device. Adds and removes are serialized (they are `ip`
 * commands); `sync` removes /32 addresses left on the device by a proxy that died without
 * cleaning up. Only /32s are touched: the device's own (gateway) address has the subnet's prefix.
 */
export class HostAddresses {
  private readonly held = new Set<string>();
  private readonly serial = new Serial();

  constructor(readonly device: string) {}

  has(ip: string): boolean {
    return this.held.has(ip);
  }

  get addresses(): string[] {
    return [...this.held];
  }

  /** The /32 addresses now on the device. */
  async list(): Promise<string[]> {
    const { stdout } = await run('ip', ['-4', '-o', 'addr', 'show', 'dev', this.device]);
    return [...stdout.matchAll(/inet (\d+\.\d+\.\d+\.\d+)\/32/g)].map((m) => m[1]);
  }

  add(ip: string): Promise<void> {
    return this.serial.run(async () => {
      if (this.held.has(ip)) return;
      try {
        await run('ip', ['addr', 'add', `${ip}/32`, 'dev', this.device]);
      } catch (error) {
        // Already there (left by an earlier run of this proxy): ours now.
        if (!/File exists/.test((error as { stderr?: string }).stderr ?? '')) throw error;
      }
      this.held.add(ip);
      log.debug('address added', { ip, device: this.device });
    });
  }

  remove(ip: string): Promise<void> {
    return this.serial.run(async () => {
      this.held.delete(ip);
      try {
        await run('ip', ['addr', 'del', `${ip}/32`, 'dev', this.device]);
        log.debug('address removed', { ip, device: this.device });
      } catch (error) {
        const stderr = (error as { stderr?: string }).stderr ?? '';
        // Gone already, or the whole network (and its device) was removed.
        if (!/Cannot assign|Cannot find device|does not exist/.test(stderr)) throw error;
      }
    });
  }

  /** Removes every /32 on the device that is not in `keep`. */
  async sync(keep: Set<string>): Promise<void> {
    const present = await this.list().catch(() => []);
    for (const ip of present) if (!keep.has(ip)) await this.remove(ip).catch(() => undefined);
  }

  async removeAll(): Promise<void> {
    const present = new Set([...this.held, ...(await this.list().catch(() => []))]);
    for (const ip of present) await this.remove(ip).catch(() => undefined);
  }
}
