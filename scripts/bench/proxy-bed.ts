/**
 * The test bed of the service proxy benchmarks (scripts/bench/proxy/bench.js and
 * proxy-fds.ts): `bosun/hello:local` containers on a Docker network of the run's own, and a
 * `hello` Service whose Endpoints are those containers, in an apiserver the proxy watches.
 */
import Docker from 'dockerode';
import { EndpointSubset, Service } from '../../pkg/api';
import { Client } from '../../pkg/client';

/** Creates `network` and `count` hello containers on it (all labelled); returns their addresses. */
export async function helloContainers(
  docker: Docker,
  network: string,
  labels: Record<string, string>,
  count = 3,
): Promise<string[]> {
  await docker.createNetwork({ Name: network, Driver: 'bridge', Labels: labels });
  const ips: string[] = [];
  for (let i = 1; i <= count; i++) {
    const c = await docker.createContainer({
      name: `${network}-hello-${i}`,
      Image: 'bosun/hello:local',
      Env: [`POD_NAME=hello-${i}`],
      Labels: labels,
      HostConfig: { NetworkMode: network },
    });
    await c.start();
    ips.push((await c.inspect()).NetworkSettings.Networks[network].IPAddress);
  }
  return ips;
}

/** The `hello` Service (port 80 to 8080 of `ips`, plus any `extra` subsets) and its Endpoints. */
export async function helloService(
  client: Client,
  ips: string[],
  extra: EndpointSubset[] = [],
  { name = 'hello', annotations }: { name?: string; annotations?: Record<string, string> } = {},
): Promise<Service> {
  const service = await client.resource('Service').create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', annotations },
    spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  await client.resource('Endpoints').create({
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name, namespace: 'default' },
    subsets: [{ addresses: ips.map((ip) => ({ ip })), ports: [{ name: 'http', port: 8080 }] }, ...extra],
  });
  return service;
}
