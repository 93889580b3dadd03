/** Namespaces, Nodes, Events, Bindings and Leases. */
import { FieldError, FieldPath } from '../field';
import { Binding, Event, EventTypes, Lease, Namespace, Node } from '../types';
import { validateResourceQuantity } from './container';
import { validateFinalizers, validateMetadataOf, validateObjectMetaUpdate } from './meta';
import { validateTaints } from './scheduling';

export function validateNamespace(namespace: Namespace): FieldError[] {
  const errors = validateMetadataOf(namespace);
  errors.push(...validateFinalizers(namespace.spec?.finalizers, FieldPath.root('spec', 'finalizers')));
  return errors;
}

export function validateNode(node: Node): FieldError[] {
  const errors = validateMetadataOf(node);
  // Kubernetes reports taints under metadata.taints (a slip in its code); the field is spec.taints.
  errors.push(...validateTaints(node.spec?.taints ?? [], FieldPath.root('spec', 'taints')));
  for (const field of ['capacity', 'allocatable'] as const) {
    for (const [name, value] of Object.entries(node.status?.[field] ?? {})) {
      errors.push(...validateResourceQuantity(value, FieldPath.root('status', field).key(name)).errors);
    }
  }
  return errors;
}

/** Addresses must stay unique; a provider ID and pod CIDRs, once set, stay. */
export function validateNodeUpdate(next: Node, previous: Node): FieldError[] {
  const errors = validateObjectMetaUpdate(next.metadata, previous.metadata, FieldPath.root('metadata'));
  const seen = new Set<string>();
  (next.status?.addresses ?? []).forEach((address, i) => {
    const key = `${address.type}/${address.address}`;
    if (seen.has(key))
      errors.push(FieldError.duplicate(FieldPath.root('status', 'addresses').index(i), address));
    seen.add(key);
  });
  const oldCIDRs = previous.spec?.podCIDRs ?? [];
  const newCIDRs = next.spec?.podCIDRs ?? [];
  if (
    oldCIDRs.length > 0 &&
    (oldCIDRs.length !== newCIDRs.length || oldCIDRs.some((cidr, i) => cidr !== newCIDRs[i]))
  ) {
    errors.push(
      FieldError.forbidden(
        FieldPath.root('spec', 'podCIDRs'),
        'node updates may not change podCIDR except from "" to valid',
      ),
    );
  }
  if (previous.spec?.providerID && previous.spec.providerID !== next.spec?.providerID) {
    errors.push(
      FieldError.forbidden(
        FieldPath.root('spec', 'providerID'),
        'node updates may not change providerID except from "" to valid',
      ),
    );
  }
  return errors;
}

export function validateEvent(event: Event): FieldError[] {
  const errors = validateMetadataOf(event);
  const involvedNamespace = event.involvedObject.namespace;
  if (involvedNamespace && event.metadata.namespace && involvedNamespace !== event.metadata.namespace) {
    errors.push(
      FieldError.invalid(
        FieldPath.root('involvedObject', 'namespace'),
        involvedNamespace,
        'does not match event.namespace',
      ),
    );
  }
  const type = event.type as string | undefined;
  if (type && !(EventTypes as readonly string[]).includes(type))
    errors.push(FieldError.notSupported(FieldPath.root('type'), type, EventTypes));
  return errors;
}

export function validateBinding(binding: Binding): FieldError[] {
  const errors = validateMetadataOf(binding);
  if (binding.target.kind && binding.target.kind !== 'Node') {
    errors.push(
      FieldError.notSupported(FieldPath.root('target', 'kind'), binding.target.kind, ['Node', '<empty>']),
    );
  }
  if (!binding.target.name) errors.push(FieldError.required(FieldPath.root('target', 'name')));
  return errors;
}

export function validateLease(lease: Lease): FieldError[] {
  const errors = validateMetadataOf(lease);
  const spec = lease.spec ?? {};
  if (spec.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds <= 0) {
    errors.push(
      FieldError.invalid(
        FieldPath.root('spec', 'leaseDurationSeconds'),
        spec.leaseDurationSeconds,
        'must be greater than 0',
      ),
    );
  }
  if (spec.leaseTransitions !== undefined && spec.leaseTransitions < 0) {
    errors.push(
      FieldError.invalid(
        FieldPath.root('spec', 'leaseTransitions'),
        spec.leaseTransitions,
        'must be greater than or equal to 0',
      ),
    );
  }
  return errors;
}
