/** Affinity, tolerations and taints. */
import { FieldError, FieldPath } from '../field';
import { Affinity, NodeSelectorTerm, PodAffinityTerm, Taint, TaintEffects, Toleration } from '../types';
import { validateLabelName, validateLabelSelector, validateSelectorRequirement } from './meta';
import { isLabelValue, nameIsDNSLabel } from './names';

export function validateTaintEffect(
  effect: string | undefined,
  allowEmpty: boolean,
  path: FieldPath,
): FieldError[] {
  if (!effect) return allowEmpty ? [] : [FieldError.required(path)];
  return (TaintEffects as readonly string[]).includes(effect)
    ? []
    : [FieldError.notSupported(path, effect, TaintEffects)];
}

export function validateTolerations(tolerations: readonly Toleration[], path: FieldPath): FieldError[] {
  const errors: FieldError[] = [];
  tolerations.forEach((toleration, i) => {
    const itemPath = path.index(i);
    const operator = (toleration.operator as string | undefined) ?? '';
    if (toleration.key) errors.push(...validateLabelName(toleration.key, itemPath.child('key')));
    if (!toleration.key && operator !== 'Exists') {
      errors.push(
        FieldError.invalid(
          itemPath.child('operator'),
          operator,
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      );
    }
    if (toleration.tolerationSeconds !== undefined && toleration.effect !== 'NoExecute') {
      errors.push(
        FieldError.invalid(
          itemPath.child('effect'),
          toleration.effect ?? '',
          "effect must be 'NoExecute' when `tolerationSeconds` is set",
        ),
      );
    }
    switch (operator) {
      case 'Equal':
      case '': {
        const valueErrors = isLabelValue(toleration.value ?? '');
        if (valueErrors.length > 0)
          errors.push(
            FieldError.invalid(itemPath.child('operator'), toleration.value ?? '', valueErrors.join(';')),
          );
        break;
      }
      case 'Exists':
        if (toleration.value)
          errors.push(
            FieldError.invalid(
              itemPath.child('operator'),
              toleration.value,
              "value must be empty when `operator` is 'Exists'",
            ),
          );
        break;
      default:
        errors.push(FieldError.notSupported(itemPath.child('operator'), operator, ['Equal', 'Exists']));
    }
    errors.push(...validateTaintEffect(toleration.effect, true, itemPath.child('effect')));
  });
  return errors;
}

export function validateTaints(taints: readonly Taint[], path: FieldPath): FieldError[] {
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  taints.forEach((taint, i) => {
    const itemPath = path.index(i);
    errors.push(...validateLabelName(taint.key, itemPath.child('key')));
    const valueErrors = isLabelValue(taint.value ?? '');
    if (valueErrors.length > 0)
      errors.push(FieldError.invalid(itemPath.child('value'), taint.value ?? '', valueErrors.join(';')));
    errors.push(...validateTaintEffect(taint.effect, false, itemPath.child('effect')));
    const identity = `${taint.effect}\u0000${taint.key}`;
    if (seen.has(identity)) {
      errors.push(FieldError.duplicate(itemPath, taint, 'taints must be unique by key and effect pair'));
      return;
    }
    seen.add(identity);
  });
  return errors;
}

function validateNodeSelectorTerm(
  term: NodeSelectorTerm,
  validateValues: boolean,
  path: FieldPath,
): FieldError[] {
  const errors: FieldError[] = [];
  (term.matchExpressions ?? []).forEach((requirement, j) => {
    const rules = { numericOperators: true, checkValues: validateValues };
    errors.push(...validateSelectorRequirement(requirement, rules, path.child('matchExpressions').index(j)));
  });
  (term.matchFields ?? []).forEach((requirement, j) => {
    const requirementPath = path.child('matchFields').index(j);
    if (
      (requirement.operator === 'In' || requirement.operator === 'NotIn') &&
      (requirement.values ?? []).length !== 1
    ) {
      errors.push(
        FieldError.required(
          requirementPath.child('values'),
          "must be only one value when `operator` is 'In' or 'NotIn' for node field selector",
        ),
      );
    } else if (requirement.operator !== 'In' && requirement.operator !== 'NotIn') {
      errors.push(
        FieldError.invalid(
          requirementPath.child('operator'),
          requirement.operator,
          'not a valid selector operator',
        ),
      );
    }
    if (requirement.key !== 'metadata.name') {
      errors.push(
        FieldError.invalid(requirementPath.child('key'), requirement.key, 'not a valid field selector key'),
      );
    }
  });
  return errors;
}

function validatePodAffinityTerm(term: PodAffinityTerm, path: FieldPath): FieldError[] {
  const errors = [
    ...validateLabelSelector(term.labelSelector, path.child('labelSelector')),
    ...validateLabelSelector(term.namespaceSelector, path.child('namespaceSelector')),
  ];
  for (const namespace of term.namespaces ?? []) {
    errors.push(
      ...nameIsDNSLabel(namespace, false).map((message) =>
        FieldError.invalid(path.child('namespace'), namespace, message),
      ),
    );
  }
  if (!term.topologyKey) errors.push(FieldError.required(path.child('topologyKey'), 'can not be empty'));
  errors.push(...validateLabelName(term.topologyKey, path.child('topologyKey')));
  return errors;
}

function validateWeight(weight: number, path: FieldPath): FieldError[] {
  return weight <= 0 || weight > 100 ? [FieldError.invalid(path, weight, 'must be in the range 1-100')] : [];
}

export function validateAffinity(affinity: Affinity | undefined, path: FieldPath): FieldError[] {
  if (!affinity) return [];
  const errors: FieldError[] = [];
  const nodeAffinity = affinity.nodeAffinity;
  if (nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution) {
    const required = nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    const termsPath = path.child(
      'nodeAffinity',
      'requiredDuringSchedulingIgnoredDuringExecution',
      'nodeSelectorTerms',
    );
    if (required.nodeSelectorTerms.length === 0)
      errors.push(FieldError.required(termsPath, 'must have at least one node selector term'));
    required.nodeSelectorTerms.forEach((term, i) =>
      errors.push(...validateNodeSelectorTerm(term, true, termsPath.index(i))),
    );
  }
  (nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((term, i) => {
    const termPath = path.child('nodeAffinity', 'preferredDuringSchedulingIgnoredDuringExecution').index(i);
    errors.push(...validateWeight(term.weight, termPath.child('weight')));
    // Preferred terms may name label values that no node has: they are only preferences.
    errors.push(...validateNodeSelectorTerm(term.preference, false, termPath.child('preference')));
  });
  for (const kind of ['podAffinity', 'podAntiAffinity'] as const) {
    const podAffinity = affinity[kind];
    if (!podAffinity) continue;
    (podAffinity.requiredDuringSchedulingIgnoredDuringExecution ?? []).forEach((term, i) => {
      errors.push(
        ...validatePodAffinityTerm(
          term,
          path.child(kind, 'requiredDuringSchedulingIgnoredDuringExecution').index(i),
        ),
      );
    });
    (podAffinity.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((term, i) => {
      const termPath = path.child(kind, 'preferredDuringSchedulingIgnoredDuringExecution').index(i);
      errors.push(...validateWeight(term.weight, termPath.child('weight')));
      errors.push(...validatePodAffinityTerm(term.podAffinityTerm, termPath.child('podAffinityTerm')));
    });
  }
  return errors;
}
