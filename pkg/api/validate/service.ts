/** Services and Endpoints. */
import { FieldError, FieldPath } from '../field';
import { Endpoints, Service, ServicePort, ServiceTypes, SessionAffinities, TrafficPolicies } from '../types';
import { validateDNS1123Label, validatePortNumOrName, validateProtocol } from './container';
import { validateLabels, validateMetadataOf, validateObjectMetaUpdate } from './meta';
import { isQualifiedName, isValidIP, isValidPortNum, nameIsDNSSubdomain } from './names';

/** The default NodePort range of kube-apiserver (--service-node-port-range). */
export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;
const MAX_CLIENT_IP_AFFINITY_SECONDS = 86400;

function isHeadless(service: Service): boolean {
  const ips = service.spec.clusterIPs ?? [];
  return ips.length === 1 && ips[0] === 'None';
}

export function validateService(service: Service): FieldError[] {
  const spec = service.spec;
  const specPath = FieldPath.root('spec');
  const errors = validateMetadataOf(service);
  const ports = spec.ports ?? [];
  if (ports.length === 0 && !isHeadless(service) && spec.type !== 'ExternalName')
    errors.push(FieldError.required(specPath.child('ports')));

  switch (spec.type) {
    case 'LoadBalancer':
    case 'NodePort':
      if (isHeadless(service)) {
        errors.push(
          FieldError.invalid(
            specPath.child('clusterIPs').index(0),
            'None',
            `may not be set to 'None' for ${spec.type} services`,
          ),
        );
      }
      break;
    case 'ExternalName': {
      if ((spec.clusterIPs ?? []).length > 0)
        errors.push(
          FieldError.forbidden(specPath.child('clusterIPs'), 'may not be set for ExternalName services'),
        );
      if ((spec.ipFamilies ?? []).length > 0)
        errors.push(
          FieldError.forbidden(specPath.child('ipFamilies'), 'may not be set for ExternalName services'),
        );
      if (spec.ipFamilyPolicy)
        errors.push(
          FieldError.forbidden(specPath.child('ipFamilyPolicy'), 'may not be set for ExternalName services'),
        );
      const cname = (spec.externalName ?? '').replace(/\.$/, '');
      if (cname)
        errors.push(
          ...nameIsDNSSubdomain(cname, false).map((message) =>
            FieldError.invalid(specPath.child('externalName'), cname, message),
          ),
        );
      else errors.push(FieldError.required(specPath.child('externalName')));
      break;
    }
  }

  const names = new Set<string>();
  ports.forEach((port, i) =>
    errors.push(...validateServicePort(port, ports.length > 1, names, specPath.child('ports').index(i))),
  );
  if (spec.selector) errors.push(...validateLabels(spec.selector, specPath.child('selector')));

  const affinity = spec.sessionAffinity as string | undefined;
  if (!affinity) errors.push(FieldError.required(specPath.child('sessionAffinity')));
  else if (!(SessionAffinities as readonly string[]).includes(affinity)) {
    errors.push(FieldError.notSupported(specPath.child('sessionAffinity'), affinity, SessionAffinities));
  }
  const affinityConfigPath = specPath.child('sessionAffinityConfig');
  if (affinity === 'ClientIP') {
    const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
    if (!spec.sessionAffinityConfig)
      errors.push(FieldError.required(affinityConfigPath, 'when session affinity type is ClientIP'));
    else if (!spec.sessionAffinityConfig.clientIP)
      errors.push(
        FieldError.required(affinityConfigPath.child('clientIP'), 'when session affinity type is ClientIP'),
      );
    else if (timeout === undefined) {
      errors.push(
        FieldError.required(
          affinityConfigPath.child('clientIP', 'timeoutSeconds'),
          'when session affinity type is ClientIP',
        ),
      );
    } else if (timeout <= 0 || timeout > MAX_CLIENT_IP_AFFINITY_SECONDS) {
      errors.push(
        FieldError.invalid(
          affinityConfigPath.child('clientIP', 'timeoutSeconds'),
          timeout,
          `must be greater than 0 and less than ${MAX_CLIENT_IP_AFFINITY_SECONDS}`,
        ),
      );
    }
  } else if (affinity === 'None' && spec.sessionAffinityConfig) {
    errors.push(FieldError.forbidden(affinityConfigPath, 'must not be set when session affinity is None'));
  }

  errors.push(...validateClusterIPs(service, specPath));
  (spec.externalIPs ?? []).forEach((ip, i) =>
    errors.push(
      ...isValidIP(ip).map((message) =>
        FieldError.invalid(specPath.child('externalIPs').index(i), ip, message),
      ),
    ),
  );

  const type = spec.type as string | undefined;
  if (!type) errors.push(FieldError.required(specPath.child('type')));
  else if (!(ServiceTypes as readonly string[]).includes(type))
    errors.push(FieldError.notSupported(specPath.child('type'), type, ServiceTypes));

  const nodePorts = new Set<string>();
  const servicePorts = new Set<string>();
  ports.forEach((port, i) => {
    const portPath = specPath.child('ports').index(i);
    if (port.nodePort) {
      if (type === 'ClusterIP')
        errors.push(
          FieldError.forbidden(portPath.child('nodePort'), "may not be used when `type` is 'ClusterIP'"),
        );
      else if (port.nodePort < NODE_PORT_RANGE.min || port.nodePort > NODE_PORT_RANGE.max) {
        // Kubernetes' node port allocator says this, at create.
        errors.push(
          FieldError.invalid(
            portPath.child('nodePort'),
            port.nodePort,
            `provided port is not in the valid range. The range of valid ports is ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max}`,
          ),
        );
      }
      const nodeKey = `${port.protocol}/${port.nodePort}`;
      if (nodePorts.has(nodeKey))
        errors.push(FieldError.duplicate(portPath.child('nodePort'), port.nodePort));
      nodePorts.add(nodeKey);
    }
    const key = `${port.protocol}/${port.port}`;
    if (servicePorts.has(key))
      errors.push(FieldError.duplicate(portPath, { protocol: port.protocol, port: port.port }));
    servicePorts.add(key);
  });

  errors.push(...validateTrafficPolicies(service, specPath));
  return errors;
}

function validateServicePort(
  port: ServicePort,
  requireName: boolean,
  names: Set<string>,
  path: FieldPath,
): FieldError[] {
  const errors: FieldError[] = [];
  if (requireName && !port.name) errors.push(FieldError.required(path.child('name')));
  else if (port.name) {
    errors.push(...validateDNS1123Label(port.name, path.child('name')));
    if (names.has(port.name)) errors.push(FieldError.duplicate(path.child('name'), port.name));
    else names.add(port.name);
  }
  errors.push(
    ...isValidPortNum(port.port).map((message) => FieldError.invalid(path.child('port'), port.port, message)),
  );
  errors.push(...validateProtocol(port.protocol, path.child('protocol')));
  errors.push(...validatePortNumOrName(port.targetPort ?? 0, path.child('targetPort')));
  if (port.appProtocol !== undefined) {
    errors.push(
      ...isQualifiedName(port.appProtocol).map((message) =>
        FieldError.invalid(path.child('appProtocol'), port.appProtocol, message),
      ),
    );
  }
  return errors;
}

function validateClusterIPs(service: Service, specPath: FieldPath): FieldError[] {
  const spec = service.spec;
  if (spec.type === 'ExternalName') return [];
  const errors: FieldError[] = [];
  const ipsPath = specPath.child('clusterIPs');
  const ips = spec.clusterIPs ?? [];
  if (spec.clusterIP) {
    if (ips.length === 0) errors.push(FieldError.required(ipsPath));
    else if (ips[0] !== spec.clusterIP)
      errors.push(FieldError.invalid(ipsPath, ips, 'first value must match `clusterIP`'));
  } else if (ips.length > 0) {
    errors.push(FieldError.invalid(ipsPath, ips, 'must be empty when `clusterIP` is not specified'));
  }
  ips.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (ips.length > 1)
        errors.push(FieldError.invalid(ipsPath, ips, "'None' must be the first and only value"));
      return;
    }
    errors.push(...isValidIP(ip).map((message) => FieldError.invalid(ipsPath.index(i), ip, message)));
  });
  if (ips.length > 2) errors.push(FieldError.invalid(ipsPath, ips, 'may only hold up to 2 values'));
  return errors;
}

function validateTrafficPolicies(service: Service, specPath: FieldPath): FieldError[] {
  const spec = service.spec;
  const errors: FieldError[] = [];
  const externallyAccessible =
    spec.type === 'LoadBalancer' ||
    spec.type === 'NodePort' ||
    (spec.type === 'ClusterIP' && (spec.externalIPs ?? []).length > 0);
  const external = spec.externalTrafficPolicy as string | undefined;
  if (!externallyAccessible) {
    if (external)
      errors.push(
        FieldError.invalid(
          specPath.child('externalTrafficPolicy'),
          external,
          'may only be set for externally-accessible services',
        ),
      );
  } else if (!external) {
    errors.push(FieldError.required(specPath.child('externalTrafficPolicy')));
  } else if (!(TrafficPolicies as readonly string[]).includes(external)) {
    errors.push(FieldError.notSupported(specPath.child('externalTrafficPolicy'), external, TrafficPolicies));
  }
  const needsHealthCheck = spec.type === 'LoadBalancer' && external === 'Local';
  if (!needsHealthCheck && spec.healthCheckNodePort) {
    errors.push(
      FieldError.invalid(
        specPath.child('healthCheckNodePort'),
        spec.healthCheckNodePort,
        "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
      ),
    );
  }
  const internal = spec.internalTrafficPolicy as string | undefined;
  if (
    internal === undefined &&
    (spec.type === 'ClusterIP' || spec.type === 'NodePort' || spec.type === 'LoadBalancer')
  ) {
    errors.push(FieldError.required(specPath.child('internalTrafficPolicy')));
  }
  if (internal !== undefined && !(TrafficPolicies as readonly string[]).includes(internal)) {
    errors.push(FieldError.notSupported(specPath.child('internalTrafficPolicy'), internal, TrafficPolicies));
  }
  if (spec.allocateLoadBalancerNodePorts !== undefined && spec.type !== 'LoadBalancer') {
    errors.push(
      FieldError.forbidden(
        specPath.child('allocateLoadBalancerNodePorts'),
        "may only be used when `type` is 'LoadBalancer'",
      ),
    );
  }
  if (spec.loadBalancerClass !== undefined && spec.type !== 'LoadBalancer') {
    errors.push(
      FieldError.forbidden(
        specPath.child('loadBalancerClass'),
        "may only be used when `type` is 'LoadBalancer'",
      ),
    );
  }
  return errors;
}

/** Cluster IPs are fixed once allocated; the primary one can be neither changed nor dropped. */
export function validateServiceUpdate(next: Service, previous: Service): FieldError[] {
  const errors = validateObjectMetaUpdate(next.metadata, previous.metadata, FieldPath.root('metadata'));
  if (
    next.spec.type !== 'ExternalName' &&
    previous.spec.type !== 'ExternalName' &&
    !(isHeadless(next) && isHeadless(previous))
  ) {
    const before = previous.spec.clusterIPs ?? [];
    const after = next.spec.clusterIPs ?? [];
    const ipsPath = FieldPath.root('spec', 'clusterIPs');
    if (before.length === after.length) {
      before.forEach((ip, i) => {
        if (ip !== after[i])
          errors.push(FieldError.invalid(ipsPath.index(i), after, 'may not change once set'));
      });
    } else if (before.length > after.length) {
      if (after.length === 0)
        errors.push(FieldError.invalid(ipsPath.index(0), after, 'primary clusterIP can not be unset'));
      else if (after[0] !== before[0])
        errors.push(FieldError.invalid(ipsPath.index(0), after, 'may not change once set'));
    } else if (before.length > 0 && after[0] !== before[0]) {
      errors.push(FieldError.invalid(ipsPath.index(0), after, 'may not change once set'));
    }
  }
  return [...errors, ...validateService(next)];
}

export function validateEndpoints(endpoints: Endpoints): FieldError[] {
  const errors = validateMetadataOf(endpoints);
  (endpoints.subsets ?? []).forEach((subset, i) => {
    const subsetPath = FieldPath.root('subsets').index(i);
    const addresses = subset.addresses ?? [];
    const notReady = subset.notReadyAddresses ?? [];
    if (addresses.length === 0 && notReady.length === 0) {
      errors.push(FieldError.required(subsetPath, 'must specify `addresses` or `notReadyAddresses`'));
    }
    for (const [field, list] of [
      ['addresses', addresses],
      ['notReadyAddresses', notReady],
    ] as const) {
      list.forEach((address, j) => {
        const addressPath = subsetPath.child(field).index(j);
        errors.push(
          ...isValidIP(address.ip).map((message) =>
            FieldError.invalid(addressPath.child('ip'), address.ip, message),
          ),
        );
        if (address.hostname)
          errors.push(...validateDNS1123Label(address.hostname, addressPath.child('hostname')));
        if (address.nodeName) {
          errors.push(
            ...nameIsDNSSubdomain(address.nodeName, false).map((message) =>
              FieldError.invalid(addressPath.child('nodeName'), address.nodeName, message),
            ),
          );
        }
      });
    }
    const ports = subset.ports ?? [];
    ports.forEach((port, j) => {
      const portPath = subsetPath.child('ports').index(j);
      if (ports.length > 1 && !port.name) errors.push(FieldError.required(portPath.child('name')));
      else if (port.name) errors.push(...validateDNS1123Label(port.name, portPath.child('name')));
      errors.push(
        ...isValidPortNum(port.port).map((message) =>
          FieldError.invalid(portPath.child('port'), port.port, message),
        ),
      );
      errors.push(...validateProtocol(port.protocol, portPath.child('protocol')));
    });
  });
  return errors;
}
