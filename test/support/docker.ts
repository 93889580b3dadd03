import Docker from 'dockerode';
import { execFile } from 'child_process';
import { randomBytes } from 'crypto';
import { join } from 'path';
import { promisify } from 'util';

/**
 * Every container, network and volume a test creates carries this label with the test
 * run's id, and cleanup removes exactly those: never anything else on the daemon, and
 * never another run's (two suites, or two people, may share one daemon).
 */
export const TEST_RUN_LABEL = 'bosun.test-run';

export const repoRoot = join(__dirname, '..', '..');

export function newTestRunId(): string {
  return `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

export function docker(): Docker {
  return new Docker();
}

/** Builds the local images (idempotent; fast when nothing changed). */
export async function buildImages(): Promise<void> {
  await promisify(execFile)('bash', [join(repoRoot, 'scripts', 'build-images.sh')], { cwd: repoRoot });
}

export async function removeTestResources(runId: string): Promise<void> {
  const client = docker();
  const filters = JSON.stringify({ label: [`${TEST_RUN_LABEL}=${runId}`] });
  const containers = await client.listContainers({ all: true, filters });
  await Promise.all(containers.map((c) => client.getContainer(c.Id).remove({ force: true, v: true })));
  const networks = await client.listNetworks({ filters });
  await Promise.all(networks.map((n) => client.getNetwork(n.Id).remove()));
  const { Volumes } = await client.listVolumes({ filters });
  await Promise.all((Volumes ?? []).map((v) => client.getVolume(v.Name).remove()));
}

/** A bridge network of the test run's own, so tests reach containers at their addresses. */
export async function createTestNetwork(
  runId: string,
  name = `bosun-test-${runId}`,
): Promise<Docker.Network> {
  return docker().createNetwork({ Name: name, Driver: 'bridge', Labels: { [TEST_RUN_LABEL]: runId } });
}

export async function containerAddress(container: Docker.Container, network: string): Promise<string> {
  const info = await container.inspect();
  const address = info.NetworkSettings.Networks[network]?.IPAddress;
  if (!address) throw new Error(`container ${info.Name} has no address on network ${network}`);
  return address;
}
