import { mkdtempSync, promises as fs, utimesSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { claimNodeSubnet, releaseNodeSubnets, SubnetRegistry, subnetOf } from './node-subnet';

let registry: SubnetRegistry;
let live: Set<string>;

beforeEach(() => {
  live = new Set();
  registry = {
    dir: join(mkdtempSync(join(tmpdir(), 'bosun-subnets-test-')), 'claims'),
    isLive: async (dir) => live.has(dir),
  };
});

/** Ages a claim beyond the grace a starting cluster gets. */
function age(subnet: number): void {
  const old = new Date(Date.now() - 10 * 60_000);
  utimesSync(join(registry.dir, String(subnet)), old, old);
}

describe('node subnets', () => {
  it('gives a lone cluster 127.0.1.x and the next running one 127.0.2.x', async () => {
    expect(await claimNodeSubnet(registry, '/a')).toBe(1);
    live.add('/a');
    expect(await claimNodeSubnet(registry, '/b')).toBe(2);
    // Asking again for a cluster that holds one gives it the same.
    expect(await claimNodeSubnet(registry, '/a', 1)).toBe(1);
  });

  it("holds a young claim while its cluster starts, and takes over a stopped cluster's old one", async () => {
    expect(await claimNodeSubnet(registry, '/a')).toBe(1);
    expect(await claimNodeSubnet(registry, '/b')).toBe(2); // /a is not up yet, but starting
    age(1);
    expect(await claimNodeSubnet(registry, '/c')).toBe(1); // /a never came up: stale
    expect((await fs.readFile(join(registry.dir, '1'), 'utf8')).trim()).toBe('/c');
  });

  it('refuses a restarted cluster its own subnet when another running cluster holds it', async () => {
    expect(await claimNodeSubnet(registry, '/a')).toBe(1);
    age(1);
    expect(await claimNodeSubnet(registry, '/b')).toBe(1);
    live.add('/b');
    await expect(claimNodeSubnet(registry, '/a', 1)).rejects.toThrow(
      'node addresses 127.0.1.x are held by the running cluster in /b',
    );
  });

  it('lets go of what a purged cluster held', async () => {
    expect(await claimNodeSubnet(registry, '/a')).toBe(1);
    live.add('/a');
    await releaseNodeSubnets(registry, '/a');
    expect(await claimNodeSubnet(registry, '/b')).toBe(1);
  });

  it('reads N from a node address', () => {
    expect(subnetOf('127.0.7.2')).toBe(7);
    expect(subnetOf('10.0.0.1')).toBeUndefined();
  });
});
