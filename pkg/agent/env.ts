/**
 * A container's environment, as the kubelet builds it: the Service variables of its
 * namespace (`WEB_SERVICE_HOST`, ...), then envFrom, then env, where later entries win and
 * `$(VAR)` refers to one defined before. Values may come from ConfigMaps, Secrets, the pod's
 * own fields and its resources.
 */
import { ConfigMap, Container, Pod, Secret, Service, parseQuantity } from '../api';

/** What env resolution needs to look up: the objects of the pod's namespace. */
export interface EnvSources {
  configMap(namespace: string, name: string): ConfigMap | undefined;
  secret(namespace: string, name: string): Secret | undefined;
  services(namespace: string): Service[];
}

/** A ConfigMap, Secret or key a container needs is missing: the container waits (CreateContainerConfigError). */
export class EnvConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvConfigError';
  }
}

function decodeSecret(value: string): string {
  return Buffer.from(value, 'base64').toString('utf8');
}

function serviceVariableName(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

/** Kubernetes' service environment variables, Docker-link style included. */
export function serviceVariables(services: Service[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const service of services) {
    const ip = service.spec?.clusterIP;
    if (!ip || ip === 'None' || service.spec?.type === 'ExternalName') continue;
    const prefix = serviceVariableName(service.metadata.name ?? '');
    const ports = service.spec?.ports ?? [];
    if (ports.length === 0) continue;
    out.push([`${prefix}_SERVICE_HOST`, ip], [`${prefix}_SERVICE_PORT`, String(ports[0].port)]);
    for (const port of ports) {
      if (port.name)
        out.push([`${prefix}_SERVICE_PORT_${serviceVariableName(port.name)}`, String(port.port)]);
    }
    const first = ports[0];
    const protocol = (first.protocol ?? 'TCP').toLowerCase();
    out.push([`${prefix}_PORT`, `${protocol}://${ip}:${first.port}`]);
    for (const port of ports) {
      const proto = (port.protocol ?? 'TCP').toUpperCase();
      const base = `${prefix}_PORT_${port.port}_${proto}`;
      out.push(
        [base, `${proto.toLowerCase()}://${ip}:${port.port}`],
        [`${base}_PROTO`, proto.toLowerCase()],
        [`${base}_PORT`, String(port.port)],
        [`${base}_ADDR`, ip],
      );
    }
  }
  return out;
}

function fieldValue(pod: Pod, path: string, nodeName: string, hostIP: string, podIP: string): string {
  const labelMatch = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (labelMatch)
    return (
      (labelMatch[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[labelMatch[2]] ?? ''
    );
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name ?? '';
    case 'metadata.namespace':
      return pod.metadata.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata.uid ?? '';
    case 'spec.nodeName':
      return nodeName;
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? 'default';
    case 'status.hostIP':
      return hostIP;
    case 'status.podIP':
      return podIP;
    default:
      throw new EnvConfigError(`unsupported fieldRef ${path}`);
  }
}

function resourceValue(container: Container, resource: string, divisor: string | undefined): string {
  const [kind, name] = resource.split('.');
  const quantity = (kind === 'limits' ? container.resources?.limits : container.resources?.requests)?.[name];
  if (!quantity) return '0';
  const value = parseQuantity(quantity);
  const by = parseQuantity(divisor ?? '1');
  // Kubernetes rounds resource values up to a whole number of divisors.
  const units = (value.milliValue() + by.milliValue() - 1) / by.milliValue();
  return String(Math.floor(units));
}

/** Expands `$(NAME)` from variables defined before; `$$` escapes, unknown names stay as written. */
function expand(value: string, defined: Map<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return defined.get(name!) ?? match;
  });
}

export function containerEnvironment(
  pod: Pod,
  container: Container,
  sources: EnvSources,
  context: { nodeName: string; hostIP: string; podIP: string },
): Array<[string, string]> {
  const namespace = pod.metadata.namespace ?? 'default';
  const variables = new Map<string, string>();
  if (pod.spec.enableServiceLinks !== false) {
    for (const [name, value] of serviceVariables(sources.services(namespace))) variables.set(name, value);
  }
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) {
      const cm = sources.configMap(namespace, from.configMapRef.name ?? '');
      if (!cm && !from.configMapRef.optional)
        throw new EnvConfigError(`configmap "${from.configMapRef.name}" not found`);
      for (const [k, v] of Object.entries(cm?.data ?? {})) variables.set(prefix + k, v);
    }
    if (from.secretRef) {
      const secret = sources.secret(namespace, from.secretRef.name ?? '');
      if (!secret && !from.secretRef.optional)
        throw new EnvConfigError(`secret "${from.secretRef.name}" not found`);
      for (const [k, v] of Object.entries(secret?.data ?? {})) variables.set(prefix + k, decodeSecret(v));
    }
  }
  for (const env of container.env ?? []) {
    if (env.value !== undefined || !env.valueFrom) {
      variables.set(env.name, expand(env.value ?? '', variables));
      continue;
    }
    const from = env.valueFrom;
    if (from.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      const value = sources.configMap(namespace, ref.name ?? '')?.data?.[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        throw new EnvConfigError(`couldn't find key ${ref.key} in ConfigMap ${namespace}/${ref.name}`);
      }
      variables.set(env.name, value);
    } else if (from.secretKeyRef) {
      const ref = from.secretKeyRef;
      const value = sources.secret(namespace, ref.name ?? '')?.data?.[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        throw new EnvConfigError(`couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}`);
      }
      variables.set(env.name, decodeSecret(value));
    } else if (from.fieldRef) {
      variables.set(
        env.name,
        fieldValue(pod, from.fieldRef.fieldPath, context.nodeName, context.hostIP, context.podIP),
      );
    } else if (from.resourceFieldRef) {
      const ref = from.resourceFieldRef;
      const target = ref.containerName
        ? (pod.spec.containers.find((c) => c.name === ref.containerName) ?? container)
        : container;
      variables.set(env.name, resourceValue(target, ref.resource, ref.divisor));
    }
  }
  return [...variables];
}
