/** apps/v1 Deployment, ReplicaSet, StatefulSet. */
import {
  array,
  boolean,
  enumeration,
  Infer,
  int32,
  int64,
  intOrString,
  mergeList,
  object,
  string,
  time,
} from '../schema';
import { kubeObject, LabelSelectorSchema } from './meta';
import { conditionSchema, PersistentVolumeClaimSchema, PodTemplateSpecSchema } from './pod';

export const DeploymentConditionSchema = conditionSchema({ lastUpdateTime: time() });
export type DeploymentCondition = Infer<typeof DeploymentConditionSchema>;

export const DeploymentStrategyTypes = ['Recreate', 'RollingUpdate'] as const;

export const DeploymentSpecSchema = object(
  {
    replicas: int32(),
    selector: LabelSelectorSchema,
    template: PodTemplateSpecSchema,
    strategy: object({
      type: enumeration(DeploymentStrategyTypes),
      rollingUpdate: object({ maxUnavailable: intOrString(), maxSurge: intOrString() }),
    }),
    minReadySeconds: int32(),
    revisionHistoryLimit: int32(),
    paused: boolean(),
    progressDeadlineSeconds: int32(),
  },
  { required: ['template'] },
);
export type DeploymentSpec = Infer<typeof DeploymentSpecSchema>;

export const DeploymentStatusSchema = object({
  observedGeneration: int64(),
  replicas: int32(),
  updatedReplicas: int32(),
  readyReplicas: int32(),
  availableReplicas: int32(),
  unavailableReplicas: int32(),
  terminatingReplicas: int32(),
  conditions: mergeList(DeploymentConditionSchema, 'type', { listType: 'map', listMapKeys: ['type'] }),
  collisionCount: int32(),
});
export type DeploymentStatus = Infer<typeof DeploymentStatusSchema>;

export const DeploymentSchema = kubeObject(
  'apps/v1',
  'Deployment',
  { spec: DeploymentSpecSchema, status: DeploymentStatusSchema },
  { required: ['spec'] },
);
export type Deployment = Infer<typeof DeploymentSchema>;

export const ReplicaSetConditionSchema = conditionSchema({});
export type ReplicaSetCondition = Infer<typeof ReplicaSetConditionSchema>;

export const ReplicaSetSpecSchema = object({
  replicas: int32(),
  minReadySeconds: int32(),
  selector: LabelSelectorSchema,
  template: PodTemplateSpecSchema,
});
export type ReplicaSetSpec = Infer<typeof ReplicaSetSpecSchema>;

export const ReplicaSetStatusSchema = object(
  {
    replicas: int32(),
    fullyLabeledReplicas: int32(),
    readyReplicas: int32(),
    availableReplicas: int32(),
    terminatingReplicas: int32(),
    observedGeneration: int64(),
    conditions: mergeList(ReplicaSetConditionSchema, 'type', { listType: 'map', listMapKeys: ['type'] }),
  },
  { required: ['replicas'] },
);
export type ReplicaSetStatus = Infer<typeof ReplicaSetStatusSchema>;

export const ReplicaSetSchema = kubeObject(
  'apps/v1',
  'ReplicaSet',
  { spec: ReplicaSetSpecSchema, status: ReplicaSetStatusSchema },
  { required: ['spec'] },
);
export type ReplicaSet = Infer<typeof ReplicaSetSchema>;

export const PodManagementPolicies = ['OrderedReady', 'Parallel'] as const;
export const StatefulSetUpdateStrategyTypes = ['RollingUpdate', 'OnDelete'] as const;

export const StatefulSetSpecSchema = object(
  {
    replicas: int32(),
    selector: LabelSelectorSchema,
    template: PodTemplateSpecSchema,
    volumeClaimTemplates: array(PersistentVolumeClaimSchema, { listType: 'atomic' }),
    serviceName: string(),
    podManagementPolicy: enumeration(PodManagementPolicies),
    updateStrategy: object({
      type: enumeration(StatefulSetUpdateStrategyTypes),
      rollingUpdate: object({ partition: int32(), maxUnavailable: intOrString() }),
    }),
    revisionHistoryLimit: int32(),
    minReadySeconds: int32(),
    persistentVolumeClaimRetentionPolicy: object({
      whenDeleted: enumeration(['Retain', 'Delete']),
      whenScaled: enumeration(['Retain', 'Delete']),
    }),
    ordinals: object({ start: int32() }),
  },
  { required: ['template'] },
);
export type StatefulSetSpec = Infer<typeof StatefulSetSpecSchema>;

export const StatefulSetStatusSchema = object(
  {
    observedGeneration: int64(),
    replicas: int32(),
    readyReplicas: int32(),
    currentReplicas: int32(),
    updatedReplicas: int32(),
    currentRevision: string(),
    updateRevision: string(),
    collisionCount: int32(),
    conditions: mergeList(ReplicaSetConditionSchema, 'type', { listType: 'map', listMapKeys: ['type'] }),
    availableReplicas: int32(),
  },
  { required: ['replicas'] },
);
export type StatefulSetStatus = Infer<typeof StatefulSetStatusSchema>;

export const StatefulSetSchema = kubeObject(
  'apps/v1',
  'StatefulSet',
  { spec: StatefulSetSpecSchema, status: StatefulSetStatusSchema },
  { required: ['spec'] },
);
export type StatefulSet = Infer<typeof StatefulSetSchema>;
