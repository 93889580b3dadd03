/** Pods, PodSpecs and pod templates, and what a Pod update may change. */
import { FieldError, FieldPath } from '../field';
import {
  Container,
  DNSPolicies,
  PersistentVolumeClaim,
  Pod,
  PodSecurityContext,
  PodSpec,
  PodTemplateSpec,
  RestartPolicies,
} from '../types';
import {
  ContainerContext,
  validateContainerCommon,
  validateContainerHooks,
  validateDNS1123Label,
  validateHostPortConflicts,
  validateID,
  validateResourceQuantity,
} from './container';
import {
  deepEqual,
  validateAnnotations,
  validateLabels,
  validateMetadataOf,
  validateObjectMetaUpdate,
} from './meta';
import { inclusiveRangeError, isQualifiedName, isValidIP, nameIsDNSSubdomain } from './names';
import { validateAffinity, validateTolerations } from './scheduling';
import { validateVolumes } from './volume';

const MAX_INT32 = 2147483647;

export interface PodSpecOptions {
  /** The spec belongs to a Pod, not to a template (stricter on images and host ports). */
  isPod: boolean;
  /** StatefulSet volumeClaimTemplates: their names count as volumes for mounts. */
  claimTemplates?: readonly PersistentVolumeClaim[];
}

export function validatePodSpec(spec: PodSpec, options: PodSpecOptions, path: FieldPath): FieldError[] {
  const errors: FieldError[] = [];
  if (spec.terminationGracePeriodSeconds === undefined)
    errors.push(FieldError.required(path.child('terminationGracePeriodSeconds')));
  const volumes = validateVolumes(spec.volumes ?? [], path.child('volumes'), options.claimTemplates);
  errors.push(...volumes.errors);
  const context: ContainerContext = {
    volumes: volumes.volumes,
    terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds,
  };
  errors.push(...validateContainers(spec.containers, context, path.child('containers')));
  errors.push(
    ...validateInitContainers(
      spec.initContainers ?? [],
      spec.containers,
      context,
      path.child('initContainers'),
    ),
  );
  errors.push(...validateHostNetworkPorts(spec, options, path));

  const restartPolicy = spec.restartPolicy as string | undefined;
  if (!restartPolicy) errors.push(FieldError.required(path.child('restartPolicy')));
  else if (!(RestartPolicies as readonly string[]).includes(restartPolicy)) {
    errors.push(FieldError.notSupported(path.child('restartPolicy'), restartPolicy, RestartPolicies));
  }
  const dnsPolicy = spec.dnsPolicy as string | undefined;
  if (!dnsPolicy) errors.push(FieldError.required(path.child('dnsPolicy')));
  else if (!(DNSPolicies as readonly string[]).includes(dnsPolicy))
    errors.push(FieldError.notSupported(path.child('dnsPolicy'), dnsPolicy, DNSPolicies));

  errors.push(...validateLabels(spec.nodeSelector, path.child('nodeSelector')));
  errors.push(...validatePodSecurityContext(spec.securityContext, spec, path.child('securityContext')));
  errors.push(...validateAffinity(spec.affinity, path.child('affinity')));
  errors.push(...validateDNSConfig(spec, path.child('dnsConfig')));
  (spec.readinessGates ?? []).forEach((gate, i) => {
    const gatePath = path.child('readinessGates').index(i).child('conditionType');
    errors.push(
      ...isQualifiedName(gate.conditionType).map((message) =>
        FieldError.invalid(gatePath, gate.conditionType, message),
      ),
    );
  });
  for (const field of ['serviceAccountName', 'nodeName', 'priorityClassName'] as const) {
    const value = spec[field];
    if (value)
      errors.push(
        ...nameIsDNSSubdomain(value, false).map((message) =>
          FieldError.invalid(path.child(field), value, message),
        ),
      );
  }
  if (
    spec.activeDeadlineSeconds !== undefined &&
    (spec.activeDeadlineSeconds < 1 || spec.activeDeadlineSeconds > MAX_INT32)
  ) {
    errors.push(
      FieldError.invalid(
        path.child('activeDeadlineSeconds'),
        spec.activeDeadlineSeconds,
        inclusiveRangeError(1, MAX_INT32),
      ),
    );
  }
  if (spec.hostname) errors.push(...validateDNS1123Label(spec.hostname, path.child('hostname')));
  if (spec.subdomain) errors.push(...validateDNS1123Label(spec.subdomain, path.child('subdomain')));
  errors.push(...validateTolerations(spec.tolerations ?? [], path.child('tolerations')));
  (spec.hostAliases ?? []).forEach((alias, i) => {
    const aliasPath = path.child('hostAliases').index(i);
    errors.push(
      ...isValidIP(alias.ip).map((message) => FieldError.invalid(aliasPath.child('ip'), alias.ip, message)),
    );
    (alias.hostnames ?? []).forEach((hostname, j) => {
      errors.push(
        ...nameIsDNSSubdomain(hostname, false).map((message) =>
          FieldError.invalid(aliasPath.child('hostnames').index(j), hostname, message),
        ),
      );
    });
  });
  for (const [name, value] of Object.entries(spec.overhead ?? {})) {
    errors.push(...validateResourceQuantity(value, path.child('overhead').key(name)).errors);
  }
  return errors;
}

function validateContainers(
  containers: readonly Container[],
  context: ContainerContext,
  path: FieldPath,
): FieldError[] {
  if (containers.length === 0) return [FieldError.required(path)];
  const errors: FieldError[] = [];
  const names = new Set<string>();
  containers.forEach((container, i) => {
    const containerPath = path.index(i);
    errors.push(...validateContainerCommon(container, context, containerPath));
    if (names.has(container.name))
      errors.push(FieldError.duplicate(containerPath.child('name'), container.name));
    else names.add(container.name);
    errors.push(...validateContainerHooks(container, context, containerPath));
    if (container.restartPolicy !== undefined) {
      errors.push(
        FieldError.forbidden(containerPath.child('restartPolicy'), 'may not be set for non-init containers'),
      );
    }
  });
  errors.push(...validateHostPortConflicts(containers, path));
  return errors;
}

/** Init containers share the name space of the regular containers. */
function validateInitContainers(
  initContainers: readonly Container[],
  containers: readonly Container[],
  context: ContainerContext,
  path: FieldPath,
): FieldError[] {
  const errors: FieldError[] = [];
  const names = new Set(containers.map((container) => container.name));
  initContainers.forEach((container, i) => {
    const containerPath = path.index(i);
    errors.push(...validateContainerCommon(container, context, containerPath));
    const restartPolicy = container.restartPolicy as string | undefined;
    if (restartPolicy !== undefined && restartPolicy !== 'Always') {
      errors.push(FieldError.notSupported(containerPath.child('restartPolicy'), restartPolicy, ['Always']));
    }
    if (names.has(container.name))
      errors.push(FieldError.duplicate(containerPath.child('name'), container.name));
    else if (container.name) names.add(container.name);
    // Init containers run one at a time, so only their own ports can collide.
    errors.push(...validateHostPortConflicts([container], path));
    if (restartPolicy === 'Always') {
      errors.push(...validateContainerHooks(container, context, containerPath));
    } else {
      for (const field of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
        if (container[field])
          errors.push(
            FieldError.forbidden(
              containerPath.child(field),
              'may not be set for init containers without restartPolicy=Always',
            ),
          );
      }
    }
  });
  return errors;
}

function validateHostNetworkPorts(spec: PodSpec, options: PodSpecOptions, path: FieldPath): FieldError[] {
  if (!spec.hostNetwork) return [];
  const errors: FieldError[] = [];
  spec.containers.forEach((container, i) => {
    (container.ports ?? []).forEach((port, j) => {
      const hostPort = port.hostPort ?? 0;
      if ((options.isPod || hostPort !== 0) && hostPort !== port.containerPort) {
        errors.push(
          FieldError.invalid(
            path.child('containers').index(i).child('ports').index(j).child('hostPort'),
            hostPort,
            'must match `containerPort` when `hostNetwork` is true',
          ),
        );
      }
    });
  });
  return errors;
}

function validatePodSecurityContext(
  context: PodSecurityContext | undefined,
  spec: PodSpec,
  path: FieldPath,
): FieldError[] {
  if (!context) return [];
  const errors = [
    ...validateID(context.fsGroup, path.child('fsGroup')),
    ...validateID(context.runAsUser, path.child('runAsUser')),
    ...validateID(context.runAsGroup, path.child('runAsGroup')),
  ];
  (context.supplementalGroups ?? []).forEach((group, i) =>
    errors.push(...validateID(group, path.child('supplementalGroups').index(i))),
  );
  if (spec.shareProcessNamespace && spec.hostPID) {
    errors.push(
      FieldError.invalid(
        path.child('shareProcessNamespace'),
        true,
        'ShareProcessNamespace and HostPID cannot both be enabled',
      ),
    );
  }
  const sysctlNames = new Set<string>();
  (context.sysctls ?? []).forEach((sysctl, i) => {
    const namePath = path.child('sysctls').index(i).child('name');
    if (!sysctl.name) errors.push(FieldError.required(namePath));
    else if (sysctlNames.has(sysctl.name)) errors.push(FieldError.duplicate(namePath, sysctl.name));
    sysctlNames.add(sysctl.name);
  });
  return errors;
}

function validateDNSConfig(spec: PodSpec, path: FieldPath): FieldError[] {
  const config = spec.dnsConfig;
  if (spec.dnsPolicy === 'None') {
    if (!config) return [FieldError.required(path, 'must provide `dnsConfig` when `dnsPolicy` is None')];
    if ((config.nameservers ?? []).length === 0) {
      return [
        FieldError.required(
          path.child('nameservers'),
          'must provide at least one DNS nameserver when `dnsPolicy` is None',
        ),
      ];
    }
  }
  if (!config) return [];
  const errors: FieldError[] = [];
  const nameservers = config.nameservers ?? [];
  if (nameservers.length > 3)
    errors.push(
      FieldError.invalid(path.child('nameservers'), nameservers, 'must not have more than 3 nameservers'),
    );
  nameservers.forEach((server, i) =>
    errors.push(
      ...isValidIP(server).map((message) =>
        FieldError.invalid(path.child('nameservers').index(i), server, message),
      ),
    ),
  );
  const searches = config.searches ?? [];
  if (searches.length > 32)
    errors.push(
      FieldError.invalid(path.child('searches'), searches, 'must not have more than 32 search paths'),
    );
  searches.forEach((search, i) => {
    const trimmed = search.replace(/\.$/, '');
    errors.push(
      ...nameIsDNSSubdomain(trimmed, false).map((message) =>
        FieldError.invalid(path.child('searches').index(i), trimmed, message),
      ),
    );
  });
  (config.options ?? []).forEach((option, i) => {
    if (!option.name) errors.push(FieldError.required(path.child('options').index(i), 'must not be empty'));
  });
  return errors;
}

export function validatePodTemplateSpec(
  template: PodTemplateSpec,
  options: Omit<PodSpecOptions, 'isPod'>,
  path: FieldPath,
): FieldError[] {
  const errors = [
    ...validateLabels(template.metadata.labels, path.child('metadata', 'labels')),
    ...validateAnnotations(template.metadata.annotations, path.child('metadata', 'annotations')),
    ...validatePodSpec(template.spec, { ...options, isPod: false }, path.child('spec')),
  ];
  if ((template.spec.ephemeralContainers ?? []).length > 0) {
    errors.push(
      FieldError.forbidden(
        path.child('spec', 'ephemeralContainers'),
        'ephemeral containers not allowed in pod template',
      ),
    );
  }
  return errors;
}

export function validatePod(pod: Pod): FieldError[] {
  const specPath = FieldPath.root('spec');
  const errors = [...validateMetadataOf(pod), ...validatePodSpec(pod.spec, { isPod: true }, specPath)];
  for (const list of ['containers', 'initContainers'] as const) {
    (pod.spec[list] ?? []).forEach((container, i) => {
      const image = container.image ?? '';
      if (image.length !== image.trim().length) {
        errors.push(
          FieldError.invalid(
            specPath.child(list).index(i).child('image'),
            image,
            'must not have leading or trailing whitespace',
          ),
        );
      }
    });
  }
  return errors;
}

/** On create only: ephemeral containers come through their own subresource. */
export function validatePodCreate(pod: Pod): FieldError[] {
  const errors = validatePod(pod);
  if ((pod.spec.ephemeralContainers ?? []).length > 0) {
    errors.push(
      FieldError.forbidden(FieldPath.root('spec', 'ephemeralContainers'), 'cannot be set on create'),
    );
  }
  if (pod.spec.nodeName && (pod.spec.schedulingGates ?? []).length > 0) {
    errors.push(
      FieldError.forbidden(
        FieldPath.root('spec', 'nodeName'),
        'cannot be set until all schedulingGates have been cleared',
      ),
    );
  }
  return errors;
}

const UPDATABLE_POD_FIELDS = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

/**
 * What a Pod update may change: images, activeDeadlineSeconds (down only), tolerations
 * (additions only); nothing else in the spec. Where Kubernetes appends a Go diff to the
 * message, this lists the paths that changed.
 */
export function validatePodUpdate(next: Pod, previous: Pod): FieldError[] {
  const specPath = FieldPath.root('spec');
  const errors = [
    ...validateObjectMetaUpdate(next.metadata, previous.metadata, FieldPath.root('metadata')),
    ...validatePod(next),
  ];
  for (const list of ['containers', 'initContainers'] as const) {
    const nextContainers = next.spec[list] ?? [];
    if (nextContainers.length !== (previous.spec[list] ?? []).length) {
      errors.push(FieldError.forbidden(specPath.child(list), 'pod updates may not add or remove containers'));
      return errors;
    }
  }
  const nextDeadline = next.spec.activeDeadlineSeconds;
  const previousDeadline = previous.spec.activeDeadlineSeconds;
  if (nextDeadline !== undefined) {
    if (nextDeadline < 0 || nextDeadline > MAX_INT32) {
      errors.push(
        FieldError.invalid(
          specPath.child('activeDeadlineSeconds'),
          nextDeadline,
          inclusiveRangeError(0, MAX_INT32),
        ),
      );
      return errors;
    }
    if (previousDeadline !== undefined && previousDeadline < nextDeadline) {
      errors.push(
        FieldError.invalid(
          specPath.child('activeDeadlineSeconds'),
          nextDeadline,
          'must be less than or equal to previous value',
        ),
      );
      return errors;
    }
  } else if (previousDeadline !== undefined) {
    errors.push(
      FieldError.invalid(
        specPath.child('activeDeadlineSeconds'),
        null,
        'must not update from a positive integer to nil value',
      ),
    );
  }
  const nextTolerations = next.spec.tolerations ?? [];
  for (const old of previous.spec.tolerations ?? []) {
    const kept = nextTolerations.some((candidate) =>
      deepEqual({ ...old, tolerationSeconds: candidate.tolerationSeconds }, candidate),
    );
    if (!kept) {
      errors.push(
        FieldError.forbidden(
          specPath.child('tolerations'),
          'existing toleration can not be modified except its tolerationSeconds',
        ),
      );
      break;
    }
  }

  // Everything else must be equal once the updatable fields are taken from the old spec.
  const munged: PodSpec = {
    ...next.spec,
    containers: next.spec.containers.map((container, i) => ({
      ...container,
      image: previous.spec.containers[i].image,
    })),
    activeDeadlineSeconds: previous.spec.activeDeadlineSeconds,
    tolerations: previous.spec.tolerations,
    schedulingGates: previous.spec.schedulingGates,
  };
  if (next.spec.initContainers) {
    munged.initContainers = next.spec.initContainers.map((container, i) => ({
      ...container,
      image: previous.spec.initContainers![i].image,
    }));
  }
  const previousGrace = previous.spec.terminationGracePeriodSeconds;
  if (previousGrace !== undefined && previousGrace < 0 && munged.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = previousGrace;
  }
  const changed = changedPaths(previous.spec, munged, specPath);
  if (changed.length > 0) {
    errors.push(
      FieldError.forbidden(
        specPath,
        `pod updates may not change fields other than ${UPDATABLE_POD_FIELDS.join(',')}\nchanged: ${changed.join(', ')}`,
      ),
    );
  }
  return errors;
}

/** The paths where two JSON values differ, at most a few, for messages. */
export function changedPaths(a: unknown, b: unknown, path: FieldPath, limit = 5): string[] {
  const found: string[] = [];
  const walk = (x: unknown, y: unknown, at: FieldPath): void => {
    if (found.length >= limit || deepEqual(x, y)) return;
    if (Array.isArray(x) && Array.isArray(y) && x.length === y.length) {
      x.forEach((item, i) => walk(item, y[i], at.index(i)));
      return;
    }
    if (isRecord(x) && isRecord(y)) {
      for (const key of new Set([...Object.keys(x), ...Object.keys(y)])) walk(x[key], y[key], at.child(key));
      return;
    }
    found.push(at.toString());
  };
  walk(a, b, path);
  return found;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
