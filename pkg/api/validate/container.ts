/** Containers: names, images, ports, env, resources, probes, lifecycle, mounts, security context. */
import { FieldError, FieldPath, Unquoted } from '../field';
import { Quantity, tryParseQuantity } from '../quantity';
import {
  Container,
  ContainerPort,
  EnvFromSource,
  EnvVar,
  HTTPGetAction,
  Probe,
  Protocols,
  PullPolicies,
  ResourceRequirements,
  SecurityContext,
  TerminationMessagePolicies,
  URISchemes,
  VolumeMount,
} from '../types';
import { IS_NEGATIVE_MESSAGE, validateNonnegative } from './meta';
import {
  inclusiveRangeError,
  isConfigMapKey,
  isDNS1123Label,
  isHTTPHeaderName,
  isQualifiedName,
  isRelaxedEnvVarName,
  isValidPortName,
  isValidPortNum,
  nameIsDNSSubdomain,
} from './names';
import { validateLocalDescendingPath } from './paths';

/** What container validation needs to know about the pod around it. */
export interface ContainerContext {
  /** Names of the volumes that validated, with whether each is a PersistentVolumeClaim. */
  volumes: ReadonlyMap<string, { claim: boolean }>;
  terminationGracePeriodSeconds: number | undefined;
}

export function validateDNS1123Label(value: string, path: FieldPath): FieldError[] {
  return isDNS1123Label(value).map((message) => FieldError.invalid(path, value, message));
}

/** Checks every container kind shares: regular, init and ephemeral. */
export function validateContainerCommon(
  container: Container,
  context: ContainerContext,
  path: FieldPath,
): FieldError[] {
  const errors: FieldError[] = [];
  if (!container.name) errors.push(FieldError.required(path.child('name')));
  else errors.push(...validateDNS1123Label(container.name, path.child('name')));
  if (!container.image) errors.push(FieldError.required(path.child('image')));
  const policy = container.terminationMessagePolicy as string | undefined;
  if (!policy) errors.push(FieldError.required(path.child('terminationMessagePolicy')));
  else if (!(TerminationMessagePolicies as readonly string[]).includes(policy)) {
    errors.push(
      FieldError.notSupported(path.child('terminationMessagePolicy'), policy, TerminationMessagePolicies),
    );
  }
  errors.push(...validateContainerPorts(container.ports ?? [], path.child('ports')));
  errors.push(...validateEnv(container.env ?? [], path.child('env')));
  errors.push(...validateEnvFrom(container.envFrom ?? [], path.child('envFrom')));
  errors.push(...validateVolumeMounts(container.volumeMounts ?? [], context, path.child('volumeMounts')));
  const pullPolicy = container.imagePullPolicy as string | undefined;
  if (!pullPolicy) errors.push(FieldError.required(path.child('imagePullPolicy')));
  else if (!(PullPolicies as readonly string[]).includes(pullPolicy)) {
    errors.push(FieldError.notSupported(path.child('imagePullPolicy'), pullPolicy, PullPolicies));
  }
  errors.push(...validateResourceRequirements(container.resources, path.child('resources')));
  errors.push(...validateSecurityContext(container.securityContext, path.child('securityContext')));
  return errors;
}

/** Probes and lifecycle hooks, allowed on regular containers and on init containers with restartPolicy Always. */
export function validateContainerHooks(
  container: Container,
  context: ContainerContext,
  path: FieldPath,
): FieldError[] {
  const errors: FieldError[] = [];
  const grace = context.terminationGracePeriodSeconds;
  if (container.lifecycle) {
    for (const hook of ['postStart', 'preStop'] as const) {
      const handler = container.lifecycle[hook];
      if (handler) errors.push(...validateHandler(handler, grace, path.child('lifecycle', hook)));
    }
  }
  const liveness = container.livenessProbe;
  if (liveness) {
    errors.push(...validateProbe(liveness, path.child('livenessProbe')));
    if (liveness.successThreshold !== 1)
      errors.push(
        FieldError.invalid(
          path.child('livenessProbe', 'successThreshold'),
          liveness.successThreshold ?? 0,
          'must be 1',
        ),
      );
  }
  const readiness = container.readinessProbe;
  if (readiness) {
    errors.push(...validateProbe(readiness, path.child('readinessProbe')));
    if (readiness.terminationGracePeriodSeconds !== undefined) {
      errors.push(
        FieldError.invalid(
          path.child('readinessProbe', 'terminationGracePeriodSeconds'),
          readiness.terminationGracePeriodSeconds,
          'must not be set for readinessProbes',
        ),
      );
    }
  }
  const startup = container.startupProbe;
  if (startup) {
    errors.push(...validateProbe(startup, path.child('startupProbe')));
    if (startup.successThreshold !== 1)
      errors.push(
        FieldError.invalid(
          path.child('startupProbe', 'successThreshold'),
          startup.successThreshold ?? 0,
          'must be 1',
        ),
      );
  }
  return errors;
}

function validateContainerPorts(ports: readonly ContainerPort[], path: FieldPath): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const portPath = path.index(i);
    if (port.name) {
      const nameErrors = isValidPortName(port.name);
      if (nameErrors.length > 0)
        errors.push(
          ...nameErrors.map((message) => FieldError.invalid(portPath.child('name'), port.name, message)),
        );
      else if (names.has(port.name)) errors.push(FieldError.duplicate(portPath.child('name'), port.name));
      else names.add(port.name);
    }
    if (!port.containerPort) errors.push(FieldError.required(portPath.child('containerPort')));
    else
      errors.push(
        ...isValidPortNum(port.containerPort).map((message) =>
          FieldError.invalid(portPath.child('containerPort'), port.containerPort, message),
        ),
      );
    if (port.hostPort) {
      errors.push(
        ...isValidPortNum(port.hostPort).map((message) =>
          FieldError.invalid(portPath.child('hostPort'), port.hostPort, message),
        ),
      );
    }
    errors.push(...validateProtocol(port.protocol, portPath.child('protocol')));
  });
  return errors;
}

export function validateProtocol(protocol: string | undefined, path: FieldPath): FieldError[] {
  if (!protocol) return [FieldError.required(path)];
  if (!(Protocols as readonly string[]).includes(protocol))
    return [FieldError.notSupported(path, protocol, Protocols)];
  return [];
}

/** Host ports must not collide across the containers given (protocol, host IP and port). */
export function validateHostPortConflicts(containers: readonly Container[], path: FieldPath): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  containers.forEach((container, i) => {
    (container.ports ?? []).forEach((port, j) => {
      if (!port.hostPort) return;
      const key = `${port.protocol ?? ''}/${port.hostIP ?? ''}/${port.hostPort}`;
      if (seen.has(key))
        errors.push(FieldError.duplicate(path.index(i).child('ports').index(j).child('hostPort'), key));
      else seen.add(key);
    });
  });
  return errors;
}

// ---- Environment ----

/** Downward API fields a container's env may read (fieldRef.fieldPath), sorted as Kubernetes lists them. */
const ENV_FIELD_PATHS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'status.hostIP',
  'status.hostIPs',
  'status.podIP',
  'status.podIPs',
];
/** Every field label the v1 downward API converts; others fail conversion before the list above is consulted. */
const CONVERTIBLE_FIELD_PATHS = new Set([
  ...ENV_FIELD_PATHS,
  'metadata.annotations',
  'metadata.labels',
  'spec.restartPolicy',
  'spec.schedulerName',
  'status.phase',
]);
const RESOURCE_FIELD_PATHS = [
  'limits.cpu',
  'limits.ephemeral-storage',
  'limits.memory',
  'requests.cpu',
  'requests.ephemeral-storage',
  'requests.memory',
];

function validateEnv(env: readonly EnvVar[], path: FieldPath): FieldError[] {
  const errors: FieldError[] = [];
  env.forEach((variable, i) => {
    const itemPath = path.index(i);
    if (!variable.name) errors.push(FieldError.required(itemPath.child('name')));
    else
      errors.push(
        ...isRelaxedEnvVarName(variable.name).map((message) =>
          FieldError.invalid(itemPath.child('name'), variable.name, message),
        ),
      );
    errors.push(...validateEnvValueFrom(variable, itemPath.child('valueFrom')));
  });
  return errors;
}

function validateEnvValueFrom(variable: EnvVar, path: FieldPath): FieldError[] {
  const source = variable.valueFrom;
  if (!source) return [];
  const errors: FieldError[] = [];
  let sources = 0;
  if (source.fieldRef) {
    sources += 1;
    errors.push(...validateObjectFieldSelector(source.fieldRef, path.child('fieldRef')));
  }
  if (source.resourceFieldRef) {
    sources += 1;
    const ref = source.resourceFieldRef;
    const refPath = path.child('resourceFieldRef');
    if (!ref.resource) errors.push(FieldError.required(refPath.child('resource')));
    else if (
      !RESOURCE_FIELD_PATHS.includes(ref.resource) &&
      !/^(limits|requests)\.hugepages-/.test(ref.resource)
    ) {
      errors.push(FieldError.notSupported(refPath.child('resource'), ref.resource, RESOURCE_FIELD_PATHS));
    }
    errors.push(...validateResourceDivisor(ref.resource, ref.divisor, refPath));
  }
  for (const kind of ['configMapKeyRef', 'secretKeyRef'] as const) {
    const ref = source[kind];
    if (!ref) continue;
    sources += 1;
    const refPath = path.child(kind);
    errors.push(
      ...nameIsDNSSubdomain(ref.name ?? '', false).map((message) =>
        FieldError.invalid(refPath.child('name'), ref.name ?? '', message),
      ),
    );
    if (!ref.key) errors.push(FieldError.required(refPath.child('key')));
    else
      errors.push(
        ...isConfigMapKey(ref.key).map((message) =>
          FieldError.invalid(refPath.child('key'), ref.key, message),
        ),
      );
  }
  if (sources === 0) {
    errors.push(
      FieldError.invalid(
        path,
        '',
        'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
      ),
    );
  } else if (variable.value) {
    errors.push(FieldError.invalid(path, '', 'may not be specified when `value` is not empty'));
  } else if (sources > 1) {
    errors.push(FieldError.invalid(path, '', 'may not have more than one field specified at a time'));
  }
  return errors;
}

export function validateObjectFieldSelector(
  selector: { apiVersion?: string; fieldPath: string },
  path: FieldPath,
  allowed = ENV_FIELD_PATHS,
): FieldError[] {
  if (!selector.apiVersion) return [FieldError.required(path.child('apiVersion'))];
  if (!selector.fieldPath) return [FieldError.required(path.child('fieldPath'))];
  const subscripted = /^(metadata\.(?:labels|annotations))\['([^']*)'\]$/.exec(selector.fieldPath);
  const field = subscripted ? subscripted[1] : selector.fieldPath;
  if (selector.apiVersion !== 'v1' || !CONVERTIBLE_FIELD_PATHS.has(field)) {
    const reason =
      selector.apiVersion !== 'v1'
        ? `unsupported pod version: ${selector.apiVersion}`
        : `field label not supported: ${selector.fieldPath}`;
    return [
      FieldError.invalid(
        path.child('fieldPath'),
        selector.fieldPath,
        `error converting fieldPath: ${reason}`,
      ),
    ];
  }
  if (subscripted) {
    const key = field === 'metadata.annotations' ? subscripted[2].toLowerCase() : subscripted[2];
    return isQualifiedName(key).map((message) => FieldError.invalid(path, key, message));
  }
  return allowed.includes(field) ? [] : [FieldError.notSupported(path.child('fieldPath'), field, allowed)];
}

function validateResourceDivisor(
  resource: string,
  divisor: string | undefined,
  path: FieldPath,
): FieldError[] {
  const value = divisor === undefined ? undefined : tryParseQuantity(divisor);
  if (!value || value.isZero()) return [];
  const text = value.toString();
  if (resource.endsWith('.cpu') && !['1m', '1'].includes(text)) {
    return [
      FieldError.invalid(
        path.child('divisor'),
        resource,
        "only divisor's values 1m and 1 are supported with the cpu resource",
      ),
    ];
  }
  const byteDivisors = ['1', '1k', '1M', '1G', '1T', '1P', '1E', '1Ki', '1Mi', '1Gi', '1Ti', '1Pi', '1Ei'];
  if (resource.endsWith('.memory') && !byteDivisors.includes(text)) {
    return [
      FieldError.invalid(
        path.child('divisor'),
        resource,
        "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported with the memory resource",
      ),
    ];
  }
  return [];
}

function validateEnvFrom(sources: readonly EnvFromSource[], path: FieldPath): FieldError[] {
  const errors: FieldError[] = [];
  sources.forEach((source, i) => {
    const itemPath = path.index(i);
    if (source.prefix) {
      errors.push(
        ...isRelaxedEnvVarName(source.prefix).map((message) =>
          FieldError.invalid(itemPath.child('prefix'), source.prefix, message),
        ),
      );
    }
    let count = 0;
    for (const kind of ['configMapRef', 'secretRef'] as const) {
      const ref = source[kind];
      if (!ref) continue;
      count += 1;
      if (!ref.name) errors.push(FieldError.required(itemPath.child(kind, 'name')));
      else
        errors.push(
          ...nameIsDNSSubdomain(ref.name, true).map((message) =>
            FieldError.invalid(itemPath.child(kind, 'name'), ref.name, message),
          ),
        );
    }
    // Kubernetes reports these two at the list, not at the item.
    if (count === 0)
      errors.push(FieldError.invalid(path, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (count > 1)
      errors.push(FieldError.invalid(path, '', 'may not have more than one field specified at a time'));
  });
  return errors;
}

// ---- Resources ----

const STANDARD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);

function isHugePages(name: string): boolean {
  return name.startsWith('hugepages-');
}

/** Extended resources (`example.com/gpu`) and hugepages cannot be overcommitted: requests must equal limits. */
function isOvercommitAllowed(name: string): boolean {
  const native = !name.includes('/') || name.startsWith('kubernetes.io/') || name.includes('.kubernetes.io/');
  return native && !isHugePages(name);
}

function validateResourceName(name: string, path: FieldPath): FieldError[] {
  const errors = isQualifiedName(name).map((message) => FieldError.invalid(path, name, message));
  if (errors.length > 0) return errors;
  if (!name.includes('/') && !STANDARD_CONTAINER_RESOURCES.has(name) && !isHugePages(name)) {
    return [FieldError.invalid(path, name, 'must be a standard resource for containers')];
  }
  return [];
}

/** A resource quantity: parseable and not negative. */
export function validateResourceQuantity(
  value: string,
  path: FieldPath,
): { quantity?: Quantity; errors: FieldError[] } {
  const quantity = tryParseQuantity(value.trim());
  if (!quantity) return { errors: [FieldError.invalid(path, value, 'must be a valid quantity')] };
  if (quantity.sign() < 0)
    return { quantity, errors: [FieldError.invalid(path, quantity.toString(), IS_NEGATIVE_MESSAGE)] };
  return { quantity, errors: [] };
}

export function validateResourceRequirements(
  requirements: ResourceRequirements | undefined,
  path: FieldPath,
): FieldError[] {
  if (!requirements) return [];
  const errors: FieldError[] = [];
  const limitsPath = path.child('limits');
  const requestsPath = path.child('requests');
  const limits = new Map<string, Quantity>();
  for (const [name, value] of Object.entries(requirements.limits ?? {})) {
    errors.push(...validateResourceName(name, limitsPath.key(name)));
    const checked = validateResourceQuantity(value, limitsPath.key(name));
    errors.push(...checked.errors);
    if (checked.quantity) limits.set(name, checked.quantity);
  }
  for (const [name, value] of Object.entries(requirements.requests ?? {})) {
    errors.push(...validateResourceName(name, requestsPath.key(name)));
    const checked = validateResourceQuantity(value, requestsPath.key(name));
    errors.push(...checked.errors);
    const request = checked.quantity;
    const limit = limits.get(name);
    if (request && limit) {
      // Kubernetes reports this at `requests`, not at the key.
      if (!isOvercommitAllowed(name) && request.cmp(limit) !== 0) {
        errors.push(
          FieldError.invalid(
            requestsPath,
            request.toString(),
            `must be equal to ${name} limit of ${limit.toString()}`,
          ),
        );
      } else if (request.cmp(limit) > 0) {
        errors.push(
          FieldError.invalid(
            requestsPath,
            request.toString(),
            `must be less than or equal to ${name} limit of ${limit.toString()}`,
          ),
        );
      }
    } else if (request && !isOvercommitAllowed(name)) {
      errors.push(FieldError.required(limitsPath, 'Limit must be set for non overcommitable resources'));
    }
  }
  return errors;
}

// ---- Probes and handlers ----

type Handler = Pick<Probe, 'exec' | 'httpGet' | 'tcpSocket' | 'grpc'> & { sleep?: { seconds: number } };

function validateHandler(handler: Handler, gracePeriod: number | undefined, path: FieldPath): FieldError[] {
  const errors: FieldError[] = [];
  let count = 0;
  const one = (name: string, validate: () => FieldError[]): void => {
    if (count > 0) {
      errors.push(FieldError.forbidden(path.child(name), 'may not specify more than 1 handler type'));
      return;
    }
    count += 1;
    errors.push(...validate());
  };
  if (handler.exec) {
    const exec = handler.exec;
    one('exec', () =>
      (exec.command ?? []).length === 0 ? [FieldError.required(path.child('exec', 'command'))] : [],
    );
  }
  if (handler.httpGet) {
    const httpGet = handler.httpGet;
    one('httpGet', () => validateHTTPGet(httpGet, path.child('httpGet')));
  }
  if (handler.tcpSocket) {
    const tcpSocket = handler.tcpSocket;
    one('tcpSocket', () => validatePortNumOrName(tcpSocket.port, path.child('tcpSocket', 'port')));
  }
  if (handler.grpc) {
    const grpc = handler.grpc;
    one('grpc', () => validatePortNumOrName(grpc.port, path.child('grpc', 'port')));
  }
  if (handler.sleep) {
    const sleep = handler.sleep;
    one('sleep', () =>
      gracePeriod !== undefined && (sleep.seconds < 0 || sleep.seconds > gracePeriod)
        ? [
            FieldError.invalid(
              path.child('sleep'),
              sleep.seconds,
              `must be non-negative and less than terminationGracePeriodSeconds (${gracePeriod})`,
            ),
          ]
        : [],
    );
  }
  if (count === 0) errors.push(FieldError.required(path, 'must specify a handler type'));
  return errors;
}

function validateHTTPGet(action: HTTPGetAction, path: FieldPath): FieldError[] {
  const errors: FieldError[] = [];
  if (!action.path) errors.push(FieldError.required(path.child('path')));
  errors.push(...validatePortNumOrName(action.port, path.child('port')));
  const scheme = action.scheme as string | undefined;
  if (!scheme || !(URISchemes as readonly string[]).includes(scheme)) {
    errors.push(FieldError.notSupported(path.child('scheme'), scheme ?? '', URISchemes));
  }
  for (const header of action.httpHeaders ?? []) {
    errors.push(
      ...isHTTPHeaderName(header.name).map((message) =>
        FieldError.invalid(path.child('httpHeaders'), header.name, message),
      ),
    );
  }
  return errors;
}

/** A port given as a number (1-65535) or a name (IANA_SVC_NAME). */
export function validatePortNumOrName(port: number | string, path: FieldPath): FieldError[] {
  if (typeof port === 'number')
    return isValidPortNum(port).map((message) => FieldError.invalid(path, port, message));
  return isValidPortName(port).map((message) => FieldError.invalid(path, port, message));
}

function validateProbe(probe: Probe, path: FieldPath): FieldError[] {
  const errors = validateHandler(probe, undefined, path);
  for (const field of [
    'initialDelaySeconds',
    'timeoutSeconds',
    'periodSeconds',
    'successThreshold',
    'failureThreshold',
  ] as const) {
    errors.push(...validateNonnegative(probe[field], path.child(field)));
  }
  if (probe.terminationGracePeriodSeconds !== undefined && probe.terminationGracePeriodSeconds <= 0) {
    errors.push(
      FieldError.invalid(
        path.child('terminationGracePeriodSeconds'),
        probe.terminationGracePeriodSeconds,
        'must be greater than 0',
      ),
    );
  }
  return errors;
}

// ---- Mounts ----

function validateVolumeMounts(
  mounts: readonly VolumeMount[],
  context: ContainerContext,
  path: FieldPath,
): FieldError[] {
  const errors: FieldError[] = [];
  const mountPoints = new Set<string>();
  mounts.forEach((mount, i) => {
    const mountPath = path.index(i);
    if (!mount.name) errors.push(FieldError.required(mountPath.child('name')));
    if (!context.volumes.has(mount.name))
      errors.push(FieldError.notFound(mountPath.child('name'), mount.name));
    if (!mount.mountPath) errors.push(FieldError.required(mountPath.child('mountPath')));
    if (mountPoints.has(mount.mountPath))
      errors.push(FieldError.invalid(mountPath.child('mountPath'), mount.mountPath, 'must be unique'));
    mountPoints.add(mount.mountPath);
    // Kubernetes reports subPath problems at the list's path, not the item's.
    if (mount.subPath) errors.push(...validateLocalDescendingPath(mount.subPath, path.child('subPath')));
    if (mount.subPathExpr) {
      if (mount.subPath) {
        errors.push(
          FieldError.invalid(
            mountPath.child('subPathExpr'),
            mount.subPathExpr,
            'subPathExpr and subPath are mutually exclusive',
          ),
        );
      }
      errors.push(...validateLocalDescendingPath(mount.subPathExpr, path.child('subPathExpr')));
    }
  });
  return errors;
}

// ---- Security ----

const MAX_ID = 4294967295;

export function validateID(value: number | undefined, path: FieldPath): FieldError[] {
  return value !== undefined && (value < 0 || value > MAX_ID)
    ? [FieldError.invalid(path, value, inclusiveRangeError(0, MAX_ID))]
    : [];
}

function validateSecurityContext(context: SecurityContext | undefined, path: FieldPath): FieldError[] {
  if (!context) return [];
  const errors = [
    ...validateID(context.runAsUser, path.child('runAsUser')),
    ...validateID(context.runAsGroup, path.child('runAsGroup')),
  ];
  const procMount = context.procMount as string | undefined;
  if (procMount !== undefined && procMount !== 'Default' && procMount !== 'Unmasked') {
    errors.push(FieldError.notSupported(path.child('procMount'), procMount, ['Default', 'Unmasked']));
  }
  if (context.allowPrivilegeEscalation === false) {
    if (context.privileged) {
      errors.push(
        FieldError.invalid(
          path,
          context,
          'cannot set `allowPrivilegeEscalation` to false and `privileged` to true',
        ),
      );
    }
    if ((context.capabilities?.add ?? []).includes('CAP_SYS_ADMIN')) {
      errors.push(
        FieldError.invalid(
          path,
          context,
          'cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN',
        ),
      );
    }
  }
  return errors;
}

/** The value of an IntOrString as Kubernetes prints it in a message: bare, never quoted. */
export function intOrStringValue(value: number | string): Unquoted {
  return new Unquoted(String(value));
}
