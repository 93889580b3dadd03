/**
 * Cluster IPs and node ports of Services. An allocation is a key in the replicated store
 * (`/registry/allocations/serviceips/<ip>`, `/registry/allocations/nodeports/<port>`), written
 * in the same transaction as the Service and required absent by it, so two Services can
 * never hold the same address or port, even when created at once on two masters.
 */
import { FieldError, FieldPath, KubeObject, newInvalid, lookupResource } from '../api';
import { ObjectHooks, ObjectStore } from './objects';
import { TxnOperation } from '../store/types';
import { objectStorageKey } from './keys';

type Service = Extract<KubeObject, { kind: 'Service' }>;

export interface ServiceAllocationOptions {
  /** The range cluster IPs come from, e.g. 10.96.0.0/16. */
  serviceCIDR: string;
  nodePortRange: [number, number];
  random?: () => number;
}

const IP_KEY = '/registry/allocations/serviceips/';
const PORT_KEY = '/registry/allocations/nodeports/';

function ipToNumber(ip: string): number {
  return ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function numberToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export function parseCIDR(cidr: string): { first: number; size: number } {
  const match = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr);
  if (!match || Number(match[2]) > 30)
    throw new Error(`invalid service CIDR ${cidr}: want an IPv4 range like 10.96.0.0/16`);
  const bits = 32 - Number(match[2]);
  const size = 2 ** bits;
  const base = Math.floor(ipToNumber(match[1]) / size) * size;
  return { first: base, size };
}

function needsClusterIP(service: Service): boolean {
  return service.spec?.type !== 'ExternalName' && service.spec?.clusterIP !== 'None';
}

function needsNodePorts(service: Service): boolean {
  return service.spec?.type === 'NodePort' || service.spec?.type === 'LoadBalancer';
}

function nodePortsOf(service: Service): number[] {
  return (service.spec?.ports ?? [])
    .map((p) => p.nodePort)
    .filter((p): p is number => typeof p === 'number' && p > 0);
}

export function serviceAllocationHooks(options: ServiceAllocationOptions): ObjectHooks {
  const range = parseCIDR(options.serviceCIDR);
  const random = options.random ?? Math.random;
  const services = lookupResource('services');
  const [lowPort, highPort] = options.nodePortRange;

  async function isFree(objects: ObjectStore, key: string, taken: Set<string>): Promise<boolean> {
    return !taken.has(key) && (await objects.storage.get(key)) === undefined;
  }

  /** A free value from a random starting point, so concurrent allocations rarely collide. */
  async function pick(
    objects: ObjectStore,
    count: number,
    keyOf: (offset: number) => string,
    taken: Set<string>,
  ): Promise<number | undefined> {
    const start = Math.floor(random() * count);
    for (let i = 0; i < count; i++) {
      const offset = (start + i) % count;
      if (await isFree(objects, keyOf(offset), taken)) return offset;
    }
    return undefined;
  }

  async function allocate(service: Service, previous: Service | undefined, objects: ObjectStore) {
    const owner = new TextEncoder().encode(
      objectStorageKey(services, service.metadata.namespace, service.metadata.name!),
    );
    const operations: TxnOperation[] = [];
    const absentKeys: string[] = [];
    const taken = new Set<string>();
    const name = service.metadata.name ?? '';
    const spec = (service.spec ??= {});
    if (needsClusterIP(service) && !previous?.spec?.clusterIP) {
      if (spec.clusterIP) {
        const n = ipToNumber(spec.clusterIP);
        if (n <= range.first || n >= range.first + range.size - 1) {
          throw newInvalid(services, name, [
            FieldError.invalid(
              FieldPath.root('spec', 'clusterIPs').index(0),
              spec.clusterIP,
              `provided IP is not in the valid range. The range of valid IPs is ${options.serviceCIDR}`,
            ),
          ]);
        }
        if (!(await isFree(objects, IP_KEY + spec.clusterIP, taken))) {
          throw newInvalid(services, name, [
            FieldError.invalid(
              FieldPath.root('spec', 'clusterIPs').index(0),
              spec.clusterIP,
              `failed to allocate IP ${spec.clusterIP}: provided IP is already allocated`,
            ),
          ]);
        }
      } else {
        // Skip the network address and .1 (kept for the cluster's own `kubernetes` service).
        const offset = await pick(
          objects,
          range.size - 3,
          (o) => IP_KEY + numberToIp(range.first + 2 + o),
          taken,
        );
        if (offset === undefined) {
          throw newInvalid(services, name, [
            FieldError.invalid(
              FieldPath.root('spec', 'clusterIPs'),
              null,
              `failed to allocate a serviceIP: range is full`,
            ),
          ]);
        }
        spec.clusterIP = numberToIp(range.first + 2 + offset);
      }
      spec.clusterIPs = [spec.clusterIP];
      spec.ipFamilies = ['IPv4'];
      spec.ipFamilyPolicy = 'SingleStack';
      absentKeys.push(IP_KEY + spec.clusterIP);
      operations.push({ type: 'put', key: IP_KEY + spec.clusterIP, value: owner });
      taken.add(IP_KEY + spec.clusterIP);
    } else if (spec.clusterIP === 'None') {
      spec.clusterIPs = ['None'];
    }
    const held = new Set(previous ? nodePortsOf(previous) : []);
    if (needsNodePorts(service)) {
      for (const [i, port] of (spec.ports ?? []).entries()) {
        if (port.nodePort && held.has(port.nodePort)) continue;
        if (port.nodePort) {
          if (!(await isFree(objects, PORT_KEY + port.nodePort, taken))) {
            throw newInvalid(services, name, [
              FieldError.invalid(
                FieldPath.root('spec', 'ports').index(i).child('nodePort'),
                port.nodePort,
                'provided port is already allocated',
              ),
            ]);
          }
        } else {
          const offset = await pick(objects, highPort - lowPort + 1, (o) => PORT_KEY + (lowPort + o), taken);
          if (offset === undefined) {
            throw newInvalid(services, name, [
              FieldError.invalid(
                FieldPath.root('spec', 'ports').index(i).child('nodePort'),
                null,
                'failed to allocate a nodePort: range is full',
              ),
            ]);
          }
          port.nodePort = lowPort + offset;
        }
        absentKeys.push(PORT_KEY + port.nodePort);
        operations.push({ type: 'put', key: PORT_KEY + port.nodePort, value: owner });
        taken.add(PORT_KEY + port.nodePort);
      }
    } else {
      for (const port of spec.ports ?? []) delete port.nodePort;
    }
    const kept = new Set(nodePortsOf(service));
    for (const port of held) if (!kept.has(port)) operations.push({ type: 'delete', key: PORT_KEY + port });
    return { operations, absentKeys };
  }

  return {
    onCreate: (object, objects) => allocate(object as Service, undefined, objects),
    onUpdate: (next, previous, objects) => allocate(next as Service, previous as Service, objects),
    onDelete: (object) => {
      const service = object as Service;
      const operations: TxnOperation[] = nodePortsOf(service).map((port) => ({
        type: 'delete',
        key: PORT_KEY + port,
      }));
      const ip = service.spec?.clusterIP;
      if (ip && ip !== 'None') operations.push({ type: 'delete', key: IP_KEY + ip });
      return operations;
    },
  };
}
