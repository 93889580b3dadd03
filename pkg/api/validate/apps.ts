/** Deployments, ReplicaSets and StatefulSets, and what their updates may change. */
import { FieldError, FieldPath, stringMapValue } from '../field';
import {
  Deployment,
  LabelSelector,
  PersistentVolumeClaim,
  PodTemplateSpec,
  ReplicaSet,
  StatefulSet,
} from '../types';
import { intOrStringValue } from './container';
import {
  deepEqual,
  trySelector,
  validateImmutable,
  validateLabelSelector,
  validateNonnegative,
  validateMetadataOf,
  validateObjectMetaUpdate,
} from './meta';
import { isValidPercent } from './names';
import { validatePodTemplateSpec } from './pod';

type Workload = 'deployment' | 'replicaset' | 'statefulset';
const KIND_NAME: Record<Workload, string> = {
  deployment: 'Deployment',
  replicaset: 'ReplicaSet',
  statefulset: 'StatefulSet',
};

/**
 * The selector (required, valid, not empty, matching the template's labels) and the
 * template (a valid pod template that always restarts and has no deadline).
 */
function validateSelectorAndTemplate(
  workload: Workload,
  selector: LabelSelector | undefined,
  template: PodTemplateSpec,
  specPath: FieldPath,
  claimTemplates?: readonly PersistentVolumeClaim[],
): FieldError[] {
  const errors: FieldError[] = [];
  const selectorPath = specPath.child('selector');
  if (!selector) {
    errors.push(FieldError.required(selectorPath));
  } else {
    errors.push(...validateLabelSelector(selector, selectorPath));
    if (Object.keys(selector.matchLabels ?? {}).length + (selector.matchExpressions ?? []).length === 0) {
      // Kubernetes says "deployment" for ReplicaSets too.
      const noun = workload === 'statefulset' ? 'statefulset' : 'deployment';
      errors.push(FieldError.invalid(selectorPath, selector, `empty selector is invalid for ${noun}`));
    }
  }
  const templatePath = specPath.child('template');
  const parsed = trySelector(selector);
  if (selector && !parsed) {
    errors.push(FieldError.invalid(selectorPath, selector, 'invalid label selector'));
  } else if (parsed && !parsed.isEmpty() && !parsed.matches(template.metadata.labels)) {
    errors.push(
      FieldError.invalid(
        templatePath.child('metadata', 'labels'),
        stringMapValue(template.metadata.labels),
        '`selector` does not match template `labels`',
      ),
    );
  }
  errors.push(...validatePodTemplateSpec(template, { claimTemplates }, templatePath));
  const restartPolicy = template.spec.restartPolicy as string | undefined;
  if (restartPolicy !== 'Always') {
    errors.push(
      FieldError.notSupported(templatePath.child('spec', 'restartPolicy'), restartPolicy ?? '', ['Always']),
    );
  }
  if (template.spec.activeDeadlineSeconds !== undefined) {
    errors.push(
      FieldError.forbidden(
        templatePath.child('spec', 'activeDeadlineSeconds'),
        `activeDeadlineSeconds in ${KIND_NAME[workload]} is not Supported`,
      ),
    );
  }
  return errors;
}

/** An int or a percentage (`25%`), not negative. */
function validatePositiveIntOrPercent(value: number | string | undefined, path: FieldPath): FieldError[] {
  if (value === undefined) return [];
  if (typeof value === 'string')
    return isValidPercent(value).map((message) => FieldError.invalid(path, intOrStringValue(value), message));
  return validateNonnegative(value, path);
}

/** The number of an int-or-percent: `25%` is 25, 3 is 3, anything else 0. */
function intOrPercentValue(value: number | string | undefined): number {
  if (typeof value === 'number') return value;
  return value !== undefined && isValidPercent(value).length === 0 ? Number(value.slice(0, -1)) : 0;
}

function validateNotMoreThan100Percent(value: number | string | undefined, path: FieldPath): FieldError[] {
  if (typeof value !== 'string' || isValidPercent(value).length > 0 || Number(value.slice(0, -1)) <= 100)
    return [];
  return [FieldError.invalid(path, intOrStringValue(value), 'must not be greater than 100%')];
}

export function validateDeployment(deployment: Deployment): FieldError[] {
  const spec = deployment.spec;
  const specPath = FieldPath.root('spec');
  const errors = validateMetadataOf(deployment);
  errors.push(...validateNonnegative(spec.replicas, specPath.child('replicas')));
  errors.push(...validateSelectorAndTemplate('deployment', spec.selector, spec.template, specPath));

  const strategyPath = specPath.child('strategy');
  const strategy = spec.strategy ?? {};
  switch (strategy.type as string | undefined) {
    case 'Recreate':
      if (strategy.rollingUpdate) {
        errors.push(
          FieldError.forbidden(
            strategyPath.child('rollingUpdate'),
            "may not be specified when strategy `type` is 'Recreate'",
          ),
        );
      }
      break;
    case 'RollingUpdate': {
      const rollingUpdate = strategy.rollingUpdate;
      const rollingPath = strategyPath.child('rollingUpdate');
      if (!rollingUpdate) {
        errors.push(FieldError.required(rollingPath, 'this should be defaulted and never be nil'));
        break;
      }
      errors.push(
        ...validatePositiveIntOrPercent(rollingUpdate.maxUnavailable, rollingPath.child('maxUnavailable')),
      );
      errors.push(...validatePositiveIntOrPercent(rollingUpdate.maxSurge, rollingPath.child('maxSurge')));
      if (
        intOrPercentValue(rollingUpdate.maxUnavailable) === 0 &&
        intOrPercentValue(rollingUpdate.maxSurge) === 0
      ) {
        errors.push(
          FieldError.invalid(
            rollingPath.child('maxUnavailable'),
            intOrStringValue(rollingUpdate.maxUnavailable ?? 0),
            'may not be 0 when `maxSurge` is 0',
          ),
        );
      }
      errors.push(
        ...validateNotMoreThan100Percent(rollingUpdate.maxUnavailable, rollingPath.child('maxUnavailable')),
      );
      break;
    }
    default:
      errors.push(FieldError.notSupported(strategyPath, strategy, ['Recreate', 'RollingUpdate']));
  }
  errors.push(...validateNonnegative(spec.minReadySeconds, specPath.child('minReadySeconds')));
  errors.push(...validateNonnegative(spec.revisionHistoryLimit, specPath.child('revisionHistoryLimit')));
  if (spec.progressDeadlineSeconds !== undefined) {
    errors.push(
      ...validateNonnegative(spec.progressDeadlineSeconds, specPath.child('progressDeadlineSeconds')),
    );
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      errors.push(
        FieldError.invalid(
          specPath.child('progressDeadlineSeconds'),
          spec.progressDeadlineSeconds,
          'must be greater than minReadySeconds',
        ),
      );
    }
  }
  return errors;
}

export function validateReplicaSet(replicaSet: ReplicaSet): FieldError[] {
  const spec = replicaSet.spec;
  const specPath = FieldPath.root('spec');
  const errors = validateMetadataOf(replicaSet);
  errors.push(...validateNonnegative(spec.replicas, specPath.child('replicas')));
  errors.push(...validateNonnegative(spec.minReadySeconds, specPath.child('minReadySeconds')));
  // A ReplicaSet's template is optional in the Go type; the zero template fails its own checks.
  const template = spec.template ?? { metadata: {}, spec: { containers: [] } };
  errors.push(...validateSelectorAndTemplate('replicaset', spec.selector, template, specPath));
  return errors;
}

export function validateStatefulSet(statefulSet: StatefulSet): FieldError[] {
  const spec = statefulSet.spec;
  const specPath = FieldPath.root('spec');
  const errors = validateMetadataOf(statefulSet);
  const policy = spec.podManagementPolicy as string | undefined;
  if (!policy) errors.push(FieldError.required(specPath.child('podManagementPolicy')));
  else if (policy !== 'OrderedReady' && policy !== 'Parallel') {
    errors.push(
      FieldError.invalid(
        specPath.child('podManagementPolicy'),
        policy,
        "must be 'OrderedReady' or 'Parallel'",
      ),
    );
  }
  const strategy = spec.updateStrategy ?? {};
  const strategyPath = specPath.child('updateStrategy');
  switch (strategy.type as string | undefined) {
    case undefined:
    case '':
      errors.push(FieldError.required(strategyPath));
      break;
    case 'OnDelete':
      if (strategy.rollingUpdate) {
        errors.push(
          FieldError.invalid(
            strategyPath.child('rollingUpdate'),
            strategy.rollingUpdate,
            "only allowed for updateStrategy 'RollingUpdate'",
          ),
        );
      }
      break;
    case 'RollingUpdate': {
      const rollingUpdate = strategy.rollingUpdate;
      if (!rollingUpdate) break;
      const rollingPath = strategyPath.child('rollingUpdate');
      errors.push(...validateNonnegative(rollingUpdate.partition, rollingPath.child('partition')));
      if (rollingUpdate.maxUnavailable !== undefined) {
        const maxUnavailablePath = rollingPath.child('maxUnavailable');
        errors.push(...validatePositiveIntOrPercent(rollingUpdate.maxUnavailable, maxUnavailablePath));
        if (intOrPercentValue(rollingUpdate.maxUnavailable) === 0) {
          errors.push(
            FieldError.invalid(
              maxUnavailablePath,
              intOrStringValue(rollingUpdate.maxUnavailable),
              'cannot be 0',
            ),
          );
        }
        errors.push(...validateNotMoreThan100Percent(rollingUpdate.maxUnavailable, maxUnavailablePath));
      }
      break;
    }
    default:
      errors.push(FieldError.invalid(strategyPath, strategy, "must be 'RollingUpdate' or 'OnDelete'"));
  }
  const retention = spec.persistentVolumeClaimRetentionPolicy;
  for (const field of ['whenDeleted', 'whenScaled'] as const) {
    const value = retention?.[field] as string | undefined;
    if (retention && value !== 'Retain' && value !== 'Delete') {
      errors.push(
        FieldError.notSupported(specPath.child('persistentVolumeClaimRetentionPolicy', field), value ?? '', [
          'Retain',
          'Delete',
        ]),
      );
    }
  }
  errors.push(...validateNonnegative(spec.replicas, specPath.child('replicas')));
  errors.push(...validateNonnegative(spec.minReadySeconds, specPath.child('minReadySeconds')));
  if (spec.ordinals)
    errors.push(...validateNonnegative(spec.ordinals.start, specPath.child('ordinals.start')));
  // Kubernetes does not validate a StatefulSet's pod template; bosun does, counting the claim templates as volumes.
  errors.push(
    ...validateSelectorAndTemplate(
      'statefulset',
      spec.selector,
      spec.template,
      specPath,
      spec.volumeClaimTemplates ?? [],
    ),
  );
  return errors;
}

/** A workload's selector decides which pods it owns: it may not change. */
export function validateDeploymentUpdate(
  next: Deployment | ReplicaSet,
  previous: Deployment | ReplicaSet,
): FieldError[] {
  return [
    ...validateObjectMetaUpdate(next.metadata, previous.metadata, FieldPath.root('metadata')),
    ...validateImmutable(next.spec.selector, previous.spec.selector, FieldPath.root('spec', 'selector')),
  ];
}

/** Only replicas, ordinals, template, updateStrategy, the claim retention policy and minReadySeconds may change. */
export function validateStatefulSetUpdate(next: StatefulSet, previous: StatefulSet): FieldError[] {
  const errors = validateObjectMetaUpdate(next.metadata, previous.metadata, FieldPath.root('metadata'));
  const comparable = (spec: StatefulSet['spec']) => ({
    ...spec,
    replicas: undefined,
    ordinals: undefined,
    template: undefined,
    updateStrategy: undefined,
    persistentVolumeClaimRetentionPolicy: undefined,
    minReadySeconds: undefined,
  });
  if (!deepEqual(comparable(next.spec), comparable(previous.spec))) {
    errors.push(
      FieldError.forbidden(
        FieldPath.root('spec'),
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      ),
    );
  }
  return errors;
}
