/**
 * The protobuf field tables of every kind bosun serves: for each Go type of k8s.io/api and
 * k8s.io/apimachinery that bosun models, its field numbers (as in that package's generated.proto),
 * the JSON name of each field, and whether Go's JSON encoder keeps the field's zero value
 * (`KEEP`: a pointer, or a field without omitempty). Fields newer than bosun's types are left out on
 * purpose: a client that sends one gets a 400 naming the field number instead of a silent drop.
 *
 * protobuf.test.ts checks these tables against pkg/api's schemas, so a field added to a bosun type
 * without its number here fails a test.
 */
import type { FieldKind, FieldSpec, MessageType } from './protobuf';

const KEEP = { keep: true } as const;
type Options = { keep?: boolean };

function spec(name: string, kind: FieldKind, options: Options = {}, repeated = false): FieldSpec {
  return { name, kind, ...options, ...(repeated ? { repeated } : {}) };
}

const str = (name: string, options?: Options) => spec(name, { type: 'string' }, options);
const strs = (name: string) => spec(name, { type: 'string' }, {}, true);
const i32 = (name: string, options?: Options) => spec(name, { type: 'int32' }, options);
const i64 = (name: string, options?: Options) => spec(name, { type: 'int64' }, options);
const i64s = (name: string) => spec(name, { type: 'int64' }, {}, true);
const bool = (name: string, options?: Options) => spec(name, { type: 'bool' }, options);
const time = (name: string) => spec(name, { type: 'time' });
const microTime = (name: string) => spec(name, { type: 'microTime' });
const quantity = (name: string) => spec(name, { type: 'quantity' });
const intOrString = (name: string, options?: Options) => spec(name, { type: 'intOrString' }, options);
const msg = (name: string, message: MessageType) => spec(name, { type: 'message', message });
const msgs = (name: string, message: MessageType) => spec(name, { type: 'message', message }, {}, true);
const stringMap = (name: string) => spec(name, { type: 'map', value: 'string' });
const bytesMap = (name: string) => spec(name, { type: 'map', value: 'bytes' });
const quantityMap = (name: string) => spec(name, { type: 'map', value: 'quantity' });
const inline = (goName: string, message: MessageType): FieldSpec => ({
  name: goName,
  kind: { type: 'message', message },
  inline: true,
});
const unsupported = (name: string) => spec(name, { type: 'unsupported' });

function message(name: string, table: Record<number, FieldSpec>): MessageType {
  return { name, fields: new Map(Object.entries(table).map(([number, field]) => [Number(number), field])) };
}

// ---- k8s.io/apimachinery/pkg/apis/meta/v1 ----

export const OwnerReference = message('OwnerReference', {
  5: str('apiVersion', KEEP),
  1: str('kind', KEEP),
  3: str('name', KEEP),
  4: str('uid', KEEP),
  6: bool('controller', KEEP),
  7: bool('blockOwnerDeletion', KEEP),
});

export const ManagedFieldsEntry = message('ManagedFieldsEntry', {
  1: str('manager'),
  2: str('operation'),
  3: str('apiVersion'),
  4: time('time'),
  6: str('fieldsType'),
  7: spec('fieldsV1', { type: 'fieldsV1' }),
  8: str('subresource'),
});

export const ObjectMeta = message('ObjectMeta', {
  1: str('name'),
  2: str('generateName'),
  3: str('namespace'),
  4: str('selfLink'),
  5: str('uid'),
  6: str('resourceVersion'),
  7: i64('generation'),
  8: time('creationTimestamp'),
  9: time('deletionTimestamp'),
  10: i64('deletionGracePeriodSeconds', KEEP),
  11: stringMap('labels'),
  12: stringMap('annotations'),
  13: msgs('ownerReferences', OwnerReference),
  14: strs('finalizers'),
  17: msgs('managedFields', ManagedFieldsEntry),
});

export const ListMeta = message('ListMeta', {
  1: str('selfLink'),
  2: str('resourceVersion'),
  3: str('continue'),
  4: i64('remainingItemCount', KEEP),
});

export const LabelSelectorRequirement = message('LabelSelectorRequirement', {
  1: str('key', KEEP),
  2: str('operator', KEEP),
  3: strs('values'),
});

export const LabelSelector = message('LabelSelector', {
  1: stringMap('matchLabels'),
  2: msgs('matchExpressions', LabelSelectorRequirement),
});

export const Condition = message('Condition', {
  1: str('type', KEEP),
  2: str('status', KEEP),
  3: i64('observedGeneration'),
  4: time('lastTransitionTime'),
  5: str('reason', KEEP),
  6: str('message', KEEP),
});

export const StatusCause = message('StatusCause', {
  1: str('reason'),
  2: str('message'),
  3: str('field'),
});

export const StatusDetails = message('StatusDetails', {
  1: str('name'),
  2: str('group'),
  3: str('kind'),
  6: str('uid'),
  4: msgs('causes', StatusCause),
  5: i32('retryAfterSeconds'),
});

export const Status = message('Status', {
  1: msg('metadata', ListMeta),
  2: str('status'),
  3: str('message'),
  4: str('reason'),
  5: msg('details', StatusDetails),
  6: i32('code'),
});

export const Preconditions = message('Preconditions', {
  1: str('uid', KEEP),
  2: str('resourceVersion', KEEP),
});

export const DELETE_OPTIONS = message('DeleteOptions', {
  1: i64('gracePeriodSeconds', KEEP),
  2: msg('preconditions', Preconditions),
  3: bool('orphanDependents', KEEP),
  4: str('propagationPolicy', KEEP),
  5: strs('dryRun'),
  6: bool('ignoreStoreReadErrorWithClusterBreakingPotential', KEEP),
});

/** v1 List: items are RawExtensions, each a whole object. */
export const LIST = message('List', {
  1: msg('metadata', ListMeta),
  2: spec('items', { type: 'rawExtension' }, {}, true),
});

// ---- k8s.io/api/core/v1: references and selectors ----

export const ObjectReference = message('ObjectReference', {
  1: str('kind'),
  2: str('namespace'),
  3: str('name'),
  4: str('uid'),
  5: str('apiVersion'),
  6: str('resourceVersion'),
  7: str('fieldPath'),
});

export const LocalObjectReference = message('LocalObjectReference', { 1: str('name') });

export const ObjectFieldSelector = message('ObjectFieldSelector', {
  1: str('apiVersion'),
  2: str('fieldPath', KEEP),
});

export const ResourceFieldSelector = message('ResourceFieldSelector', {
  1: str('containerName'),
  2: str('resource', KEEP),
  3: quantity('divisor'),
});

const keySelector = (name: string) =>
  message(name, {
    1: inline('LocalObjectReference', LocalObjectReference),
    2: str('key', KEEP),
    3: bool('optional', KEEP),
  });
export const ConfigMapKeySelector = keySelector('ConfigMapKeySelector');
export const SecretKeySelector = keySelector('SecretKeySelector');

// ---- Environment ----

export const EnvVarSource = message('EnvVarSource', {
  1: msg('fieldRef', ObjectFieldSelector),
  2: msg('resourceFieldRef', ResourceFieldSelector),
  3: msg('configMapKeyRef', ConfigMapKeySelector),
  4: msg('secretKeyRef', SecretKeySelector),
});

export const EnvVar = message('EnvVar', {
  1: str('name', KEEP),
  2: str('value'),
  3: msg('valueFrom', EnvVarSource),
});

const envSource = (name: string) =>
  message(name, {
    1: inline('LocalObjectReference', LocalObjectReference),
    2: bool('optional', KEEP),
  });

export const EnvFromSource = message('EnvFromSource', {
  1: str('prefix'),
  2: msg('configMapRef', envSource('ConfigMapEnvSource')),
  3: msg('secretRef', envSource('SecretEnvSource')),
});

// ---- Ports, resources, mounts ----

export const ContainerPort = message('ContainerPort', {
  1: str('name'),
  2: i32('hostPort'),
  3: i32('containerPort', KEEP),
  4: str('protocol'),
  5: str('hostIP'),
});

export const ResourceClaim = message('ResourceClaim', {
  1: str('name', KEEP),
  2: str('request'),
});

export const ResourceRequirements = message('ResourceRequirements', {
  1: quantityMap('limits'),
  2: quantityMap('requests'),
  3: msgs('claims', ResourceClaim),
});

export const VolumeMount = message('VolumeMount', {
  1: str('name', KEEP),
  2: bool('readOnly'),
  7: str('recursiveReadOnly', KEEP),
  3: str('mountPath', KEEP),
  4: str('subPath'),
  5: str('mountPropagation', KEEP),
  6: str('subPathExpr'),
});

export const VolumeDevice = message('VolumeDevice', {
  1: str('name', KEEP),
  2: str('devicePath', KEEP),
});

// ---- Probes and lifecycle ----

export const ExecAction = message('ExecAction', { 1: strs('command') });

export const HTTPHeader = message('HTTPHeader', {
  1: str('name', KEEP),
  2: str('value', KEEP),
});

export const HTTPGetAction = message('HTTPGetAction', {
  1: str('path'),
  2: intOrString('port', KEEP),
  3: str('host'),
  4: str('scheme'),
  5: msgs('httpHeaders', HTTPHeader),
});

export const TCPSocketAction = message('TCPSocketAction', {
  1: intOrString('port', KEEP),
  2: str('host'),
});

export const GRPCAction = message('GRPCAction', {
  1: i32('port', KEEP),
  2: str('service', KEEP),
});

export const ProbeHandler = message('ProbeHandler', {
  1: msg('exec', ExecAction),
  2: msg('httpGet', HTTPGetAction),
  3: msg('tcpSocket', TCPSocketAction),
  4: msg('grpc', GRPCAction),
});

export const Probe = message('Probe', {
  1: inline('ProbeHandler', ProbeHandler),
  2: i32('initialDelaySeconds'),
  3: i32('timeoutSeconds'),
  4: i32('periodSeconds'),
  5: i32('successThreshold'),
  6: i32('failureThreshold'),
  7: i64('terminationGracePeriodSeconds', KEEP),
});

export const SleepAction = message('SleepAction', { 1: i64('seconds', KEEP) });

export const LifecycleHandler = message('LifecycleHandler', {
  1: msg('exec', ExecAction),
  2: msg('httpGet', HTTPGetAction),
  3: msg('tcpSocket', TCPSocketAction),
  4: msg('sleep', SleepAction),
});

export const Lifecycle = message('Lifecycle', {
  1: msg('postStart', LifecycleHandler),
  2: msg('preStop', LifecycleHandler),
  3: str('stopSignal', KEEP),
});

// ---- Security ----

export const Capabilities = message('Capabilities', {
  1: strs('add'),
  2: strs('drop'),
});

export const SELinuxOptions = message('SELinuxOptions', {
  1: str('user'),
  2: str('role'),
  3: str('type'),
  4: str('level'),
});

export const WindowsSecurityContextOptions = message('WindowsSecurityContextOptions', {
  1: str('gmsaCredentialSpecName', KEEP),
  2: str('gmsaCredentialSpec', KEEP),
  3: str('runAsUserName', KEEP),
  4: bool('hostProcess', KEEP),
});

const profile = (name: string) =>
  message(name, {
    1: str('type', KEEP),
    2: str('localhostProfile', KEEP),
  });
export const SeccompProfile = profile('SeccompProfile');
export const AppArmorProfile = profile('AppArmorProfile');

export const SecurityContext = message('SecurityContext', {
  1: msg('capabilities', Capabilities),
  2: bool('privileged', KEEP),
  3: msg('seLinuxOptions', SELinuxOptions),
  10: msg('windowsOptions', WindowsSecurityContextOptions),
  4: i64('runAsUser', KEEP),
  8: i64('runAsGroup', KEEP),
  5: bool('runAsNonRoot', KEEP),
  6: bool('readOnlyRootFilesystem', KEEP),
  7: bool('allowPrivilegeEscalation', KEEP),
  9: str('procMount', KEEP),
  11: msg('seccompProfile', SeccompProfile),
  12: msg('appArmorProfile', AppArmorProfile),
});

export const Sysctl = message('Sysctl', {
  1: str('name', KEEP),
  2: str('value', KEEP),
});

export const PodSecurityContext = message('PodSecurityContext', {
  1: msg('seLinuxOptions', SELinuxOptions),
  8: msg('windowsOptions', WindowsSecurityContextOptions),
  2: i64('runAsUser', KEEP),
  6: i64('runAsGroup', KEEP),
  3: bool('runAsNonRoot', KEEP),
  4: i64s('supplementalGroups'),
  12: str('supplementalGroupsPolicy', KEEP),
  5: i64('fsGroup', KEEP),
  7: msgs('sysctls', Sysctl),
  9: str('fsGroupChangePolicy', KEEP),
  10: msg('seccompProfile', SeccompProfile),
  11: msg('appArmorProfile', AppArmorProfile),
  13: str('seLinuxChangePolicy', KEEP),
});

// ---- Containers ----

export const ContainerResizePolicy = message('ContainerResizePolicy', {
  1: str('resourceName', KEEP),
  2: str('restartPolicy', KEEP),
});

/** Container and EphemeralContainerCommon share their field numbers. */
const containerFields: Record<number, FieldSpec> = {
  1: str('name', KEEP),
  2: str('image'),
  3: strs('command'),
  4: strs('args'),
  5: str('workingDir'),
  6: msgs('ports', ContainerPort),
  19: msgs('envFrom', EnvFromSource),
  7: msgs('env', EnvVar),
  8: msg('resources', ResourceRequirements),
  23: msgs('resizePolicy', ContainerResizePolicy),
  24: str('restartPolicy', KEEP),
  9: msgs('volumeMounts', VolumeMount),
  21: msgs('volumeDevices', VolumeDevice),
  10: msg('livenessProbe', Probe),
  11: msg('readinessProbe', Probe),
  22: msg('startupProbe', Probe),
  12: msg('lifecycle', Lifecycle),
  13: str('terminationMessagePath'),
  20: str('terminationMessagePolicy'),
  14: str('imagePullPolicy'),
  15: msg('securityContext', SecurityContext),
  16: bool('stdin'),
  17: bool('stdinOnce'),
  18: bool('tty'),
};

export const Container = message('Container', containerFields);

export const EphemeralContainer = message('EphemeralContainer', {
  1: inline('EphemeralContainerCommon', message('EphemeralContainerCommon', containerFields)),
  2: str('targetContainerName'),
});

// ---- Volumes ----

export const KeyToPath = message('KeyToPath', {
  1: str('key', KEEP),
  2: str('path', KEEP),
  3: i32('mode', KEEP),
});

export const DownwardAPIVolumeFile = message('DownwardAPIVolumeFile', {
  1: str('path', KEEP),
  2: msg('fieldRef', ObjectFieldSelector),
  3: msg('resourceFieldRef', ResourceFieldSelector),
  4: i32('mode', KEEP),
});

export const TypedLocalObjectReference = message('TypedLocalObjectReference', {
  1: str('apiGroup', KEEP),
  2: str('kind', KEEP),
  3: str('name', KEEP),
});

export const TypedObjectReference = message('TypedObjectReference', {
  1: str('apiGroup', KEEP),
  2: str('kind', KEEP),
  3: str('name', KEEP),
  4: str('namespace', KEEP),
});

export const VolumeResourceRequirements = message('VolumeResourceRequirements', {
  1: quantityMap('limits'),
  2: quantityMap('requests'),
});

export const PersistentVolumeClaimSpec = message('PersistentVolumeClaimSpec', {
  1: strs('accessModes'),
  4: msg('selector', LabelSelector),
  2: msg('resources', VolumeResourceRequirements),
  3: str('volumeName'),
  5: str('storageClassName', KEEP),
  6: str('volumeMode', KEEP),
  7: msg('dataSource', TypedLocalObjectReference),
  8: msg('dataSourceRef', TypedObjectReference),
  9: str('volumeAttributesClassName', KEEP),
});

export const PersistentVolumeClaimCondition = message('PersistentVolumeClaimCondition', {
  1: str('type', KEEP),
  2: str('status', KEEP),
  3: time('lastProbeTime'),
  4: time('lastTransitionTime'),
  5: str('reason'),
  6: str('message'),
});

export const ModifyVolumeStatus = message('ModifyVolumeStatus', {
  1: str('targetVolumeAttributesClassName'),
  2: str('status', KEEP),
});

export const PersistentVolumeClaimStatus = message('PersistentVolumeClaimStatus', {
  1: str('phase'),
  2: strs('accessModes'),
  3: quantityMap('capacity'),
  4: msgs('conditions', PersistentVolumeClaimCondition),
  5: quantityMap('allocatedResources'),
  7: stringMap('allocatedResourceStatuses'),
  8: str('currentVolumeAttributesClassName', KEEP),
  9: msg('modifyVolumeStatus', ModifyVolumeStatus),
});

export const PersistentVolumeClaim = message('PersistentVolumeClaim', {
  1: msg('metadata', ObjectMeta),
  2: msg('spec', PersistentVolumeClaimSpec),
  3: msg('status', PersistentVolumeClaimStatus),
});

export const PersistentVolumeClaimTemplate = message('PersistentVolumeClaimTemplate', {
  1: msg('metadata', ObjectMeta),
  2: msg('spec', PersistentVolumeClaimSpec),
});

const objectProjection = (name: string) =>
  message(name, {
    1: inline('LocalObjectReference', LocalObjectReference),
    2: msgs('items', KeyToPath),
    4: bool('optional', KEEP),
  });

export const ClusterTrustBundleProjection = message('ClusterTrustBundleProjection', {
  1: str('name', KEEP),
  2: str('signerName', KEEP),
  3: msg('labelSelector', LabelSelector),
  5: bool('optional', KEEP),
  4: str('path', KEEP),
});

export const VolumeProjection = message('VolumeProjection', {
  1: msg('secret', objectProjection('SecretProjection')),
  2: msg('downwardAPI', message('DownwardAPIProjection', { 1: msgs('items', DownwardAPIVolumeFile) })),
  3: msg('configMap', objectProjection('ConfigMapProjection')),
  4: msg(
    'serviceAccountToken',
    message('ServiceAccountTokenProjection', {
      1: str('audience'),
      2: i64('expirationSeconds', KEEP),
      3: str('path', KEEP),
    }),
  ),
  5: msg('clusterTrustBundle', ClusterTrustBundleProjection),
});

export const VolumeSource = message('VolumeSource', {
  1: msg('hostPath', message('HostPathVolumeSource', { 1: str('path', KEEP), 2: str('type', KEEP) })),
  2: msg('emptyDir', message('EmptyDirVolumeSource', { 1: str('medium'), 2: quantity('sizeLimit') })),
  3: unsupported('gcePersistentDisk'),
  4: unsupported('awsElasticBlockStore'),
  5: unsupported('gitRepo'),
  6: msg(
    'secret',
    message('SecretVolumeSource', {
      1: str('secretName'),
      2: msgs('items', KeyToPath),
      3: i32('defaultMode', KEEP),
      4: bool('optional', KEEP),
    }),
  ),
  7: msg(
    'nfs',
    message('NFSVolumeSource', { 1: str('server', KEEP), 2: str('path', KEEP), 3: bool('readOnly') }),
  ),
  8: unsupported('iscsi'),
  9: unsupported('glusterfs'),
  10: msg(
    'persistentVolumeClaim',
    message('PersistentVolumeClaimVolumeSource', { 1: str('claimName', KEEP), 2: bool('readOnly') }),
  ),
  11: unsupported('rbd'),
  12: unsupported('flexVolume'),
  13: unsupported('cinder'),
  14: unsupported('cephfs'),
  15: unsupported('flocker'),
  16: msg(
    'downwardAPI',
    message('DownwardAPIVolumeSource', {
      1: msgs('items', DownwardAPIVolumeFile),
      2: i32('defaultMode', KEEP),
    }),
  ),
  17: unsupported('fc'),
  18: unsupported('azureFile'),
  19: msg(
    'configMap',
    message('ConfigMapVolumeSource', {
      1: inline('LocalObjectReference', LocalObjectReference),
      2: msgs('items', KeyToPath),
      3: i32('defaultMode', KEEP),
      4: bool('optional', KEEP),
    }),
  ),
  20: unsupported('vsphereVolume'),
  21: unsupported('quobyte'),
  22: unsupported('azureDisk'),
  23: unsupported('photonPersistentDisk'),
  24: unsupported('portworxVolume'),
  25: unsupported('scaleIO'),
  26: msg(
    'projected',
    message('ProjectedVolumeSource', {
      1: msgs('sources', VolumeProjection),
      2: i32('defaultMode', KEEP),
    }),
  ),
  27: unsupported('storageos'),
  28: msg(
    'csi',
    message('CSIVolumeSource', {
      1: str('driver', KEEP),
      2: bool('readOnly', KEEP),
      3: str('fsType', KEEP),
      4: stringMap('volumeAttributes'),
      5: msg('nodePublishSecretRef', LocalObjectReference),
    }),
  ),
  29: msg(
    'ephemeral',
    message('EphemeralVolumeSource', { 1: msg('volumeClaimTemplate', PersistentVolumeClaimTemplate) }),
  ),
  30: msg('image', message('ImageVolumeSource', { 1: str('reference'), 2: str('pullPolicy') })),
});

export const Volume = message('Volume', {
  1: str('name', KEEP),
  2: inline('VolumeSource', VolumeSource),
});

// ---- Scheduling ----

export const NodeSelectorRequirement = message('NodeSelectorRequirement', {
  1: str('key', KEEP),
  2: str('operator', KEEP),
  3: strs('values'),
});

export const NodeSelectorTerm = message('NodeSelectorTerm', {
  1: msgs('matchExpressions', NodeSelectorRequirement),
  2: msgs('matchFields', NodeSelectorRequirement),
});

export const NodeAffinity = message('NodeAffinity', {
  1: msg(
    'requiredDuringSchedulingIgnoredDuringExecution',
    message('NodeSelector', { 1: msgs('nodeSelectorTerms', NodeSelectorTerm) }),
  ),
  2: msgs(
    'preferredDuringSchedulingIgnoredDuringExecution',
    message('PreferredSchedulingTerm', { 1: i32('weight', KEEP), 2: msg('preference', NodeSelectorTerm) }),
  ),
});

export const PodAffinityTerm = message('PodAffinityTerm', {
  1: msg('labelSelector', LabelSelector),
  2: strs('namespaces'),
  3: str('topologyKey', KEEP),
  4: msg('namespaceSelector', LabelSelector),
  5: strs('matchLabelKeys'),
  6: strs('mismatchLabelKeys'),
});

const WeightedPodAffinityTerm = message('WeightedPodAffinityTerm', {
  1: i32('weight', KEEP),
  2: msg('podAffinityTerm', PodAffinityTerm),
});

const podAffinity = (name: string) =>
  message(name, {
    1: msgs('requiredDuringSchedulingIgnoredDuringExecution', PodAffinityTerm),
    2: msgs('preferredDuringSchedulingIgnoredDuringExecution', WeightedPodAffinityTerm),
  });

export const Affinity = message('Affinity', {
  1: msg('nodeAffinity', NodeAffinity),
  2: msg('podAffinity', podAffinity('PodAffinity')),
  3: msg('podAntiAffinity', podAffinity('PodAntiAffinity')),
});

export const Toleration = message('Toleration', {
  1: str('key'),
  2: str('operator'),
  3: str('value'),
  4: str('effect'),
  5: i64('tolerationSeconds', KEEP),
});

export const TopologySpreadConstraint = message('TopologySpreadConstraint', {
  1: i32('maxSkew', KEEP),
  2: str('topologyKey', KEEP),
  3: str('whenUnsatisfiable', KEEP),
  4: msg('labelSelector', LabelSelector),
  5: i32('minDomains', KEEP),
  6: str('nodeAffinityPolicy', KEEP),
  7: str('nodeTaintsPolicy', KEEP),
  8: strs('matchLabelKeys'),
});

// ---- PodSpec ----

export const PodSpec = message('PodSpec', {
  1: msgs('volumes', Volume),
  20: msgs('initContainers', Container),
  2: msgs('containers', Container),
  34: msgs('ephemeralContainers', EphemeralContainer),
  3: str('restartPolicy'),
  4: i64('terminationGracePeriodSeconds', KEEP),
  5: i64('activeDeadlineSeconds', KEEP),
  6: str('dnsPolicy'),
  7: stringMap('nodeSelector'),
  8: str('serviceAccountName'),
  9: str('serviceAccount'),
  21: bool('automountServiceAccountToken', KEEP),
  10: str('nodeName'),
  11: bool('hostNetwork'),
  12: bool('hostPID'),
  13: bool('hostIPC'),
  27: bool('shareProcessNamespace', KEEP),
  14: msg('securityContext', PodSecurityContext),
  15: msgs('imagePullSecrets', LocalObjectReference),
  16: str('hostname'),
  17: str('subdomain'),
  18: msg('affinity', Affinity),
  19: str('schedulerName'),
  22: msgs('tolerations', Toleration),
  23: msgs('hostAliases', message('HostAlias', { 1: str('ip', KEEP), 2: strs('hostnames') })),
  24: str('priorityClassName'),
  25: i32('priority', KEEP),
  26: msg(
    'dnsConfig',
    message('PodDNSConfig', {
      1: strs('nameservers'),
      2: strs('searches'),
      3: msgs('options', message('PodDNSConfigOption', { 1: str('name'), 2: str('value', KEEP) })),
    }),
  ),
  28: msgs('readinessGates', message('PodReadinessGate', { 1: str('conditionType', KEEP) })),
  29: str('runtimeClassName', KEEP),
  30: bool('enableServiceLinks', KEEP),
  31: str('preemptionPolicy', KEEP),
  32: quantityMap('overhead'),
  33: msgs('topologySpreadConstraints', TopologySpreadConstraint),
  35: bool('setHostnameAsFQDN', KEEP),
  36: msg('os', message('PodOS', { 1: str('name', KEEP) })),
  37: bool('hostUsers', KEEP),
  38: msgs('schedulingGates', message('PodSchedulingGate', { 1: str('name', KEEP) })),
  39: msgs(
    'resourceClaims',
    message('PodResourceClaim', {
      1: str('name', KEEP),
      3: str('resourceClaimName', KEEP),
      4: str('resourceClaimTemplateName', KEEP),
    }),
  ),
  40: msg('resources', ResourceRequirements),
});

export const PodTemplateSpec = message('PodTemplateSpec', {
  1: msg('metadata', ObjectMeta),
  2: msg('spec', PodSpec),
});

// ---- PodStatus ----

export const ContainerState = message('ContainerState', {
  1: msg('waiting', message('ContainerStateWaiting', { 1: str('reason'), 2: str('message') })),
  2: msg('running', message('ContainerStateRunning', { 1: time('startedAt') })),
  3: msg(
    'terminated',
    message('ContainerStateTerminated', {
      1: i32('exitCode', KEEP),
      2: i32('signal'),
      3: str('reason'),
      4: str('message'),
      5: time('startedAt'),
      6: time('finishedAt'),
      7: str('containerID'),
    }),
  ),
});

export const ContainerStatus = message('ContainerStatus', {
  1: str('name', KEEP),
  2: msg('state', ContainerState),
  3: msg('lastState', ContainerState),
  4: bool('ready', KEEP),
  5: i32('restartCount', KEEP),
  6: str('image', KEEP),
  7: str('imageID', KEEP),
  8: str('containerID'),
  9: bool('started', KEEP),
  10: quantityMap('allocatedResources'),
  11: msg('resources', ResourceRequirements),
  12: msgs(
    'volumeMounts',
    message('VolumeMountStatus', {
      1: str('name', KEEP),
      2: str('mountPath', KEEP),
      3: bool('readOnly'),
      4: str('recursiveReadOnly', KEEP),
    }),
  ),
  13: msg(
    'user',
    message('ContainerUser', {
      1: msg(
        'linux',
        message('LinuxContainerUser', {
          1: i64('uid', KEEP),
          2: i64('gid', KEEP),
          3: i64s('supplementalGroups'),
        }),
      ),
    }),
  ),
  14: msgs(
    'allocatedResourcesStatus',
    message('ResourceStatus', {
      1: str('name', KEEP),
      2: msgs('resources', message('ResourceHealth', { 1: str('resourceID', KEEP), 2: str('health') })),
    }),
  ),
  15: str('stopSignal', KEEP),
});

export const PodCondition = message('PodCondition', {
  1: str('type', KEEP),
  7: i64('observedGeneration'),
  2: str('status', KEEP),
  3: time('lastProbeTime'),
  4: time('lastTransitionTime'),
  5: str('reason'),
  6: str('message'),
});

const IP = (name: string) => message(name, { 1: str('ip', KEEP) });

export const PodStatus = message('PodStatus', {
  17: i64('observedGeneration'),
  1: str('phase'),
  2: msgs('conditions', PodCondition),
  3: str('message'),
  4: str('reason'),
  11: str('nominatedNodeName'),
  5: str('hostIP'),
  16: msgs('hostIPs', IP('HostIP')),
  6: str('podIP'),
  12: msgs('podIPs', IP('PodIP')),
  7: time('startTime'),
  10: msgs('initContainerStatuses', ContainerStatus),
  8: msgs('containerStatuses', ContainerStatus),
  9: str('qosClass'),
  13: msgs('ephemeralContainerStatuses', ContainerStatus),
  14: str('resize'),
  15: msgs(
    'resourceClaimStatuses',
    message('PodResourceClaimStatus', { 1: str('name', KEEP), 2: str('resourceClaimName', KEEP) }),
  ),
});

export const Pod = message('Pod', {
  1: msg('metadata', ObjectMeta),
  2: msg('spec', PodSpec),
  3: msg('status', PodStatus),
});

// ---- Service, Endpoints ----

export const ServicePort = message('ServicePort', {
  1: str('name'),
  2: str('protocol'),
  6: str('appProtocol', KEEP),
  3: i32('port', KEEP),
  4: intOrString('targetPort'),
  5: i32('nodePort'),
});

export const ServiceSpec = message('ServiceSpec', {
  1: msgs('ports', ServicePort),
  2: stringMap('selector'),
  3: str('clusterIP'),
  18: strs('clusterIPs'),
  4: str('type'),
  5: strs('externalIPs'),
  7: str('sessionAffinity'),
  8: str('loadBalancerIP'),
  9: strs('loadBalancerSourceRanges'),
  10: str('externalName'),
  11: str('externalTrafficPolicy'),
  12: i32('healthCheckNodePort'),
  13: bool('publishNotReadyAddresses'),
  14: msg(
    'sessionAffinityConfig',
    message('SessionAffinityConfig', {
      1: msg('clientIP', message('ClientIPConfig', { 1: i32('timeoutSeconds', KEEP) })),
    }),
  ),
  19: strs('ipFamilies'),
  17: str('ipFamilyPolicy', KEEP),
  20: bool('allocateLoadBalancerNodePorts', KEEP),
  21: str('loadBalancerClass', KEEP),
  22: str('internalTrafficPolicy', KEEP),
  23: str('trafficDistribution', KEEP),
});

export const LoadBalancerIngress = message('LoadBalancerIngress', {
  1: str('ip'),
  2: str('hostname'),
  3: str('ipMode', KEEP),
  4: msgs(
    'ports',
    message('PortStatus', { 1: i32('port', KEEP), 2: str('protocol', KEEP), 3: str('error', KEEP) }),
  ),
});

export const ServiceStatus = message('ServiceStatus', {
  1: msg('loadBalancer', message('LoadBalancerStatus', { 1: msgs('ingress', LoadBalancerIngress) })),
  2: msgs('conditions', Condition),
});

export const Service = message('Service', {
  1: msg('metadata', ObjectMeta),
  2: msg('spec', ServiceSpec),
  3: msg('status', ServiceStatus),
});

export const EndpointAddress = message('EndpointAddress', {
  1: str('ip', KEEP),
  3: str('hostname'),
  4: str('nodeName', KEEP),
  2: msg('targetRef', ObjectReference),
});

export const EndpointPort = message('EndpointPort', {
  1: str('name'),
  2: i32('port', KEEP),
  3: str('protocol'),
  4: str('appProtocol', KEEP),
});

export const EndpointSubset = message('EndpointSubset', {
  1: msgs('addresses', EndpointAddress),
  2: msgs('notReadyAddresses', EndpointAddress),
  3: msgs('ports', EndpointPort),
});

export const Endpoints = message('Endpoints', {
  1: msg('metadata', ObjectMeta),
  2: msgs('subsets', EndpointSubset),
});

// ---- ConfigMap, Secret ----

export const ConfigMap = message('ConfigMap', {
  1: msg('metadata', ObjectMeta),
  4: bool('immutable', KEEP),
  2: stringMap('data'),
  3: bytesMap('binaryData'),
});

export const Secret = message('Secret', {
  1: msg('metadata', ObjectMeta),
  5: bool('immutable', KEEP),
  2: bytesMap('data'),
  4: stringMap('stringData'),
  3: str('type'),
});

// ---- Namespace, Node, Event, Binding ----

export const Namespace = message('Namespace', {
  1: msg('metadata', ObjectMeta),
  2: msg('spec', message('NamespaceSpec', { 1: strs('finalizers') })),
  3: msg(
    'status',
    message('NamespaceStatus', {
      1: str('phase'),
      2: msgs(
        'conditions',
        message('NamespaceCondition', {
          1: str('type', KEEP),
          2: str('status', KEEP),
          4: time('lastTransitionTime'),
          5: str('reason'),
          6: str('message'),
        }),
      ),
    }),
  ),
});

export const Taint = message('Taint', {
  1: str('key', KEEP),
  2: str('value'),
  3: str('effect', KEEP),
  4: time('timeAdded'),
});

export const NodeConfigSource = message('NodeConfigSource', {
  2: msg(
    'configMap',
    message('ConfigMapNodeConfigSource', {
      1: str('namespace', KEEP),
      2: str('name', KEEP),
      3: str('uid'),
      4: str('resourceVersion'),
      5: str('kubeletConfigKey', KEEP),
    }),
  ),
});

export const NodeSpec = message('NodeSpec', {
  1: str('podCIDR'),
  7: strs('podCIDRs'),
  3: str('providerID'),
  4: bool('unschedulable'),
  5: msgs('taints', Taint),
  6: msg('configSource', NodeConfigSource),
  2: str('externalID'),
});

export const NodeCondition = message('NodeCondition', {
  1: str('type', KEEP),
  2: str('status', KEEP),
  3: time('lastHeartbeatTime'),
  4: time('lastTransitionTime'),
  5: str('reason'),
  6: str('message'),
});

export const NodeSystemInfo = message('NodeSystemInfo', {
  1: str('machineID', KEEP),
  2: str('systemUUID', KEEP),
  3: str('bootID', KEEP),
  4: str('kernelVersion', KEEP),
  5: str('osImage', KEEP),
  6: str('containerRuntimeVersion', KEEP),
  7: str('kubeletVersion', KEEP),
  8: str('kubeProxyVersion', KEEP),
  9: str('operatingSystem', KEEP),
  10: str('architecture', KEEP),
  11: msg('swap', message('NodeSwapStatus', { 1: i64('capacity', KEEP) })),
});

export const NodeStatus = message('NodeStatus', {
  1: quantityMap('capacity'),
  2: quantityMap('allocatable'),
  3: str('phase'),
  4: msgs('conditions', NodeCondition),
  5: msgs('addresses', message('NodeAddress', { 1: str('type', KEEP), 2: str('address', KEEP) })),
  6: msg(
    'daemonEndpoints',
    message('NodeDaemonEndpoints', {
      1: msg('kubeletEndpoint', message('DaemonEndpoint', { 1: i32('Port', KEEP) })),
    }),
  ),
  7: msg('nodeInfo', NodeSystemInfo),
  8: msgs('images', message('ContainerImage', { 1: strs('names'), 2: i64('sizeBytes') })),
  9: strs('volumesInUse'),
  10: msgs(
    'volumesAttached',
    message('AttachedVolume', { 1: str('name', KEEP), 2: str('devicePath', KEEP) }),
  ),
  11: msg(
    'config',
    message('NodeConfigStatus', {
      1: msg('assigned', NodeConfigSource),
      2: msg('active', NodeConfigSource),
      3: msg('lastKnownGood', NodeConfigSource),
      4: str('error'),
    }),
  ),
  12: msgs(
    'runtimeHandlers',
    message('NodeRuntimeHandler', {
      1: str('name', KEEP),
      2: msg(
        'features',
        message('NodeRuntimeHandlerFeatures', {
          1: bool('recursiveReadOnlyMounts', KEEP),
          2: bool('userNamespaces', KEEP),
        }),
      ),
    }),
  ),
  13: msg('features', message('NodeFeatures', { 1: bool('supplementalGroupsPolicy', KEEP) })),
});

export const Node = message('Node', {
  1: msg('metadata', ObjectMeta),
  2: msg('spec', NodeSpec),
  3: msg('status', NodeStatus),
});

export const Event = message('Event', {
  1: msg('metadata', ObjectMeta),
  2: msg('involvedObject', ObjectReference),
  3: str('reason'),
  4: str('message'),
  5: msg('source', message('EventSource', { 1: str('component'), 2: str('host') })),
  6: time('firstTimestamp'),
  7: time('lastTimestamp'),
  8: i32('count'),
  9: str('type'),
  10: microTime('eventTime'),
  11: msg('series', message('EventSeries', { 1: i32('count'), 2: microTime('lastObservedTime') })),
  12: str('action'),
  13: msg('related', ObjectReference),
  14: str('reportingComponent', KEEP),
  15: str('reportingInstance', KEEP),
});

export const Binding = message('Binding', {
  1: msg('metadata', ObjectMeta),
  2: msg('target', ObjectReference),
});

// ---- k8s.io/api/apps/v1 ----

const appsCondition = (name: string) =>
  message(name, {
    1: str('type', KEEP),
    2: str('status', KEEP),
    3: time('lastTransitionTime'),
    4: str('reason'),
    5: str('message'),
  });

export const DeploymentSpec = message('DeploymentSpec', {
  1: i32('replicas', KEEP),
  2: msg('selector', LabelSelector),
  3: msg('template', PodTemplateSpec),
  4: msg(
    'strategy',
    message('DeploymentStrategy', {
      1: str('type'),
      2: msg(
        'rollingUpdate',
        message('RollingUpdateDeployment', {
          1: intOrString('maxUnavailable', KEEP),
          2: intOrString('maxSurge', KEEP),
        }),
      ),
    }),
  ),
  5: i32('minReadySeconds'),
  6: i32('revisionHistoryLimit', KEEP),
  7: bool('paused'),
  9: i32('progressDeadlineSeconds', KEEP),
});

export const DeploymentStatus = message('DeploymentStatus', {
  1: i64('observedGeneration'),
  2: i32('replicas'),
  3: i32('updatedReplicas'),
  7: i32('readyReplicas'),
  4: i32('availableReplicas'),
  5: i32('unavailableReplicas'),
  9: i32('terminatingReplicas', KEEP),
  // DeploymentCondition numbers lastTransitionTime 7 and lastUpdateTime 6, unlike the others.
  6: msgs(
    'conditions',
    message('DeploymentCondition', {
      1: str('type', KEEP),
      2: str('status', KEEP),
      6: time('lastUpdateTime'),
      7: time('lastTransitionTime'),
      4: str('reason'),
      5: str('message'),
    }),
  ),
  8: i32('collisionCount', KEEP),
});

export const Deployment = message('Deployment', {
  1: msg('metadata', ObjectMeta),
  2: msg('spec', DeploymentSpec),
  3: msg('status', DeploymentStatus),
});

export const ReplicaSet = message('ReplicaSet', {
  1: msg('metadata', ObjectMeta),
  2: msg(
    'spec',
    message('ReplicaSetSpec', {
      1: i32('replicas', KEEP),
      4: i32('minReadySeconds'),
      2: msg('selector', LabelSelector),
      3: msg('template', PodTemplateSpec),
    }),
  ),
  3: msg(
    'status',
    message('ReplicaSetStatus', {
      1: i32('replicas', KEEP),
      2: i32('fullyLabeledReplicas'),
      4: i32('readyReplicas'),
      5: i32('availableReplicas'),
      7: i32('terminatingReplicas', KEEP),
      3: i64('observedGeneration'),
      6: msgs('conditions', appsCondition('ReplicaSetCondition')),
    }),
  ),
});

export const StatefulSet = message('StatefulSet', {
  1: msg('metadata', ObjectMeta),
  2: msg(
    'spec',
    message('StatefulSetSpec', {
      1: i32('replicas', KEEP),
      2: msg('selector', LabelSelector),
      3: msg('template', PodTemplateSpec),
      4: msgs('volumeClaimTemplates', PersistentVolumeClaim),
      5: str('serviceName', KEEP),
      6: str('podManagementPolicy'),
      7: msg(
        'updateStrategy',
        message('StatefulSetUpdateStrategy', {
          1: str('type'),
          2: msg(
            'rollingUpdate',
            message('RollingUpdateStatefulSetStrategy', {
              1: i32('partition', KEEP),
              2: intOrString('maxUnavailable', KEEP),
            }),
          ),
        }),
      ),
      8: i32('revisionHistoryLimit', KEEP),
      9: i32('minReadySeconds'),
      10: msg(
        'persistentVolumeClaimRetentionPolicy',
        message('StatefulSetPersistentVolumeClaimRetentionPolicy', {
          1: str('whenDeleted'),
          2: str('whenScaled'),
        }),
      ),
      11: msg('ordinals', message('StatefulSetOrdinals', { 1: i32('start', KEEP) })),
    }),
  ),
  3: msg(
    'status',
    message('StatefulSetStatus', {
      1: i64('observedGeneration'),
      2: i32('replicas', KEEP),
      3: i32('readyReplicas'),
      4: i32('currentReplicas'),
      5: i32('updatedReplicas'),
      6: str('currentRevision'),
      7: str('updateRevision'),
      9: i32('collisionCount', KEEP),
      10: msgs('conditions', appsCondition('StatefulSetCondition')),
      11: i32('availableReplicas', KEEP),
    }),
  ),
});

// ---- k8s.io/api/coordination/v1, autoscaling/v1 ----

export const Lease = message('Lease', {
  1: msg('metadata', ObjectMeta),
  2: msg(
    'spec',
    message('LeaseSpec', {
      1: str('holderIdentity', KEEP),
      2: i32('leaseDurationSeconds', KEEP),
      3: microTime('acquireTime'),
      4: microTime('renewTime'),
      5: i32('leaseTransitions', KEEP),
      6: str('strategy', KEEP),
      7: str('preferredHolder', KEEP),
    }),
  ),
});

// ---- k8s.io/api/discovery/v1 ----

export const EndpointSlice = message('EndpointSlice', {
  1: msg('metadata', ObjectMeta),
  4: str('addressType', KEEP),
  2: msgs(
    'endpoints',
    message('Endpoint', {
      1: strs('addresses'),
      2: msg(
        'conditions',
        message('EndpointConditions', {
          1: bool('ready', KEEP),
          2: bool('serving', KEEP),
          3: bool('terminating', KEEP),
        }),
      ),
      3: str('hostname', KEEP),
      4: msg('targetRef', ObjectReference),
      5: stringMap('deprecatedTopology'),
      6: str('nodeName', KEEP),
      7: str('zone', KEEP),
      8: msg(
        'hints',
        message('EndpointHints', {
          1: msgs('forZones', message('ForZone', { 1: str('name', KEEP) })),
          2: msgs('forNodes', message('ForNode', { 1: str('name', KEEP) })),
        }),
      ),
    }),
  ),
  3: msgs(
    'ports',
    message('EndpointSlicePort', {
      1: str('name', KEEP),
      2: str('protocol', KEEP),
      3: i32('port', KEEP),
      4: str('appProtocol', KEEP),
    }),
  ),
});

export const Scale = message('Scale', {
  1: msg('metadata', ObjectMeta),
  2: msg('spec', message('ScaleSpec', { 1: i32('replicas') })),
  3: msg('status', message('ScaleStatus', { 1: i32('replicas', KEEP), 2: str('selector') })),
});

/** Every top-level kind decoded from protobuf, by `apiVersion/kind`. */
export const MESSAGES_BY_KIND: ReadonlyMap<string, MessageType> = new Map([
  ['v1/Pod', Pod],
  ['v1/Service', Service],
  ['v1/Endpoints', Endpoints],
  ['v1/ConfigMap', ConfigMap],
  ['v1/Secret', Secret],
  ['v1/Namespace', Namespace],
  ['v1/Node', Node],
  ['v1/Event', Event],
  ['v1/Binding', Binding],
  ['v1/Status', Status],
  ['meta.k8s.io/v1/Status', Status],
  ['apps/v1/Deployment', Deployment],
  ['apps/v1/ReplicaSet', ReplicaSet],
  ['apps/v1/StatefulSet', StatefulSet],
  ['coordination.k8s.io/v1/Lease', Lease],
  ['discovery.k8s.io/v1/EndpointSlice', EndpointSlice],
  ['autoscaling/v1/Scale', Scale],
]);
