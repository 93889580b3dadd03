/** core/v1 Pod and everything a PodSpec holds: containers, probes, volumes, affinity, tolerations. */
import {
  array,
  boolean,
  enumeration,
  freeForm,
  Infer,
  int32,
  int64,
  intOrString,
  map,
  mergeList,
  object,
  quantity,
  string,
  time,
  TypedSchema,
} from '../schema';
import { kubeObject, LabelSelectorSchema, ObjectMetaSchema } from './meta';

export const Protocols = ['SCTP', 'TCP', 'UDP'] as const;
export type Protocol = (typeof Protocols)[number];
export const RestartPolicies = ['Always', 'OnFailure', 'Never'] as const;
export type RestartPolicy = (typeof RestartPolicies)[number];
export const DNSPolicies = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'] as const;
export const PullPolicies = ['Always', 'IfNotPresent', 'Never'] as const;
export type PullPolicy = (typeof PullPolicies)[number];
export const TerminationMessagePolicies = ['File', 'FallbackToLogsOnError'] as const;
export const URISchemes = ['HTTP', 'HTTPS'] as const;
export const TaintEffects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'] as const;
export type TaintEffect = (typeof TaintEffects)[number];
export const TolerationOperators = ['Equal', 'Exists'] as const;
export const NodeSelectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt'] as const;
export const PodPhases = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
export type PodPhase = (typeof PodPhases)[number];
export const ConditionStatuses = ['True', 'False', 'Unknown'] as const;
export type ConditionStatus = (typeof ConditionStatuses)[number];

/**
 * A status condition of a core or apps object: type, status, reason, message and when it
 * last changed, plus the timestamps of its kind (a Pod's lastProbeTime, a Node's
 * lastHeartbeatTime, a Deployment's lastUpdateTime).
 */
export function conditionSchema<F extends Record<string, TypedSchema<unknown>>>(extra: F) {
  const common = {
    type: string(),
    status: enumeration(ConditionStatuses),
    lastTransitionTime: time(),
    reason: string(),
    message: string(),
  };
  return object<typeof common & F, 'type' | 'status'>(
    { ...common, ...extra },
    { required: ['type', 'status'] },
  );
}

/** A map of resource name (cpu, memory, ...) to quantity. */
export const ResourceListSchema = map(quantity());
export type ResourceList = Infer<typeof ResourceListSchema>;

export const LocalObjectReferenceSchema = object({ name: string() });
export type LocalObjectReference = Infer<typeof LocalObjectReferenceSchema>;

export const ObjectReferenceSchema = object({
  kind: string(),
  namespace: string(),
  name: string(),
  uid: string(),
  apiVersion: string(),
  resourceVersion: string(),
  fieldPath: string(),
});
export type ObjectReference = Infer<typeof ObjectReferenceSchema>;

// ---- Environment ----

export const ObjectFieldSelectorSchema = object(
  { apiVersion: string(), fieldPath: string() },
  { required: ['fieldPath'] },
);
export const ResourceFieldSelectorSchema = object(
  { containerName: string(), resource: string(), divisor: quantity() },
  { required: ['resource'] },
);
export const ConfigMapKeySelectorSchema = object(
  { name: string(), key: string(), optional: boolean() },
  { required: ['key'] },
);
export const SecretKeySelectorSchema = object(
  { name: string(), key: string(), optional: boolean() },
  { required: ['key'] },
);

export const EnvVarSourceSchema = object({
  fieldRef: ObjectFieldSelectorSchema,
  resourceFieldRef: ResourceFieldSelectorSchema,
  configMapKeyRef: ConfigMapKeySelectorSchema,
  secretKeyRef: SecretKeySelectorSchema,
});
export type EnvVarSource = Infer<typeof EnvVarSourceSchema>;

export const EnvVarSchema = object(
  { name: string(), value: string(), valueFrom: EnvVarSourceSchema },
  { required: ['name'] },
);
export type EnvVar = Infer<typeof EnvVarSchema>;

export const EnvFromSourceSchema = object({
  prefix: string(),
  configMapRef: object({ name: string(), optional: boolean() }),
  secretRef: object({ name: string(), optional: boolean() }),
});
export type EnvFromSource = Infer<typeof EnvFromSourceSchema>;

// ---- Ports, resources, mounts ----

export const ContainerPortSchema = object(
  {
    name: string(),
    hostPort: int32(),
    containerPort: int32(),
    protocol: enumeration(Protocols),
    hostIP: string(),
  },
  { required: ['containerPort'] },
);
export type ContainerPort = Infer<typeof ContainerPortSchema>;

export const ResourceRequirementsSchema = object({
  limits: ResourceListSchema,
  requests: ResourceListSchema,
  claims: array(object({ name: string(), request: string() }, { required: ['name'] }), {
    listType: 'map',
    listMapKeys: ['name'],
  }),
});
export type ResourceRequirements = Infer<typeof ResourceRequirementsSchema>;

export const VolumeMountSchema = object(
  {
    name: string(),
    readOnly: boolean(),
    recursiveReadOnly: string(),
    mountPath: string(),
    subPath: string(),
    mountPropagation: enumeration(['None', 'HostToContainer', 'Bidirectional']),
    subPathExpr: string(),
  },
  { required: ['name', 'mountPath'] },
);
export type VolumeMount = Infer<typeof VolumeMountSchema>;

export const VolumeDeviceSchema = object(
  { name: string(), devicePath: string() },
  { required: ['name', 'devicePath'] },
);

// ---- Probes and lifecycle ----

export const ExecActionSchema = object({ command: array(string(), { listType: 'atomic' }) });
export const HTTPGetActionSchema = object(
  {
    path: string(),
    port: intOrString(),
    host: string(),
    scheme: enumeration(URISchemes),
    httpHeaders: array(object({ name: string(), value: string() }, { required: ['name', 'value'] })),
  },
  { required: ['port'] },
);
export type HTTPGetAction = Infer<typeof HTTPGetActionSchema>;
export const TCPSocketActionSchema = object({ port: intOrString(), host: string() }, { required: ['port'] });
export const GRPCActionSchema = object({ port: int32(), service: string() }, { required: ['port'] });

export const ProbeSchema = object({
  exec: ExecActionSchema,
  httpGet: HTTPGetActionSchema,
  tcpSocket: TCPSocketActionSchema,
  grpc: GRPCActionSchema,
  initialDelaySeconds: int32(),
  timeoutSeconds: int32(),
  periodSeconds: int32(),
  successThreshold: int32(),
  failureThreshold: int32(),
  terminationGracePeriodSeconds: int64(),
});
export type Probe = Infer<typeof ProbeSchema>;

export const LifecycleHandlerSchema = object({
  exec: ExecActionSchema,
  httpGet: HTTPGetActionSchema,
  tcpSocket: TCPSocketActionSchema,
  sleep: object({ seconds: int64() }, { required: ['seconds'] }),
});
export const LifecycleSchema = object({
  postStart: LifecycleHandlerSchema,
  preStop: LifecycleHandlerSchema,
  stopSignal: string(),
});

// ---- Security ----

const SELinuxOptionsSchema = object({ user: string(), role: string(), type: string(), level: string() });
const WindowsSecurityContextOptionsSchema = object({
  gmsaCredentialSpecName: string(),
  gmsaCredentialSpec: string(),
  runAsUserName: string(),
  hostProcess: boolean(),
});
const SeccompProfileSchema = object(
  { type: enumeration(['Localhost', 'RuntimeDefault', 'Unconfined']), localhostProfile: string() },
  { required: ['type'] },
);
const AppArmorProfileSchema = object(
  { type: enumeration(['Localhost', 'RuntimeDefault', 'Unconfined']), localhostProfile: string() },
  { required: ['type'] },
);

export const SecurityContextSchema = object({
  capabilities: object({
    add: array(string(), { listType: 'atomic' }),
    drop: array(string(), { listType: 'atomic' }),
  }),
  privileged: boolean(),
  seLinuxOptions: SELinuxOptionsSchema,
  windowsOptions: WindowsSecurityContextOptionsSchema,
  runAsUser: int64(),
  runAsGroup: int64(),
  runAsNonRoot: boolean(),
  readOnlyRootFilesystem: boolean(),
  allowPrivilegeEscalation: boolean(),
  procMount: enumeration(['Default', 'Unmasked']),
  seccompProfile: SeccompProfileSchema,
  appArmorProfile: AppArmorProfileSchema,
});
export type SecurityContext = Infer<typeof SecurityContextSchema>;

export const PodSecurityContextSchema = object({
  seLinuxOptions: SELinuxOptionsSchema,
  windowsOptions: WindowsSecurityContextOptionsSchema,
  runAsUser: int64(),
  runAsGroup: int64(),
  runAsNonRoot: boolean(),
  supplementalGroups: array(int64(), { listType: 'atomic' }),
  supplementalGroupsPolicy: enumeration(['Merge', 'Strict']),
  fsGroup: int64(),
  sysctls: array(object({ name: string(), value: string() }, { required: ['name', 'value'] })),
  fsGroupChangePolicy: enumeration(['OnRootMismatch', 'Always']),
  seccompProfile: SeccompProfileSchema,
  appArmorProfile: AppArmorProfileSchema,
  seLinuxChangePolicy: string(),
});
export type PodSecurityContext = Infer<typeof PodSecurityContextSchema>;

// ---- Containers ----

/** Container fields; EphemeralContainer adds targetContainerName, as Go inlines EphemeralContainerCommon. */
const containerFields = {
  name: string(),
  image: string(),
  command: array(string(), { listType: 'atomic' }),
  args: array(string(), { listType: 'atomic' }),
  workingDir: string(),
  ports: mergeList(ContainerPortSchema, 'containerPort', {
    listType: 'map',
    listMapKeys: ['containerPort', 'protocol'],
  }),
  envFrom: array(EnvFromSourceSchema, { listType: 'atomic' }),
  env: mergeList(EnvVarSchema, 'name', { listType: 'map', listMapKeys: ['name'] }),
  resources: ResourceRequirementsSchema,
  resizePolicy: array(
    object(
      { resourceName: string(), restartPolicy: string() },
      { required: ['resourceName', 'restartPolicy'] },
    ),
    {
      listType: 'atomic',
    },
  ),
  restartPolicy: enumeration(['Always']),
  volumeMounts: mergeList(VolumeMountSchema, 'mountPath', { listType: 'map', listMapKeys: ['mountPath'] }),
  volumeDevices: mergeList(VolumeDeviceSchema, 'devicePath', {
    listType: 'map',
    listMapKeys: ['devicePath'],
  }),
  livenessProbe: ProbeSchema,
  readinessProbe: ProbeSchema,
  startupProbe: ProbeSchema,
  lifecycle: LifecycleSchema,
  terminationMessagePath: string(),
  terminationMessagePolicy: enumeration(TerminationMessagePolicies),
  imagePullPolicy: enumeration(PullPolicies),
  securityContext: SecurityContextSchema,
  stdin: boolean(),
  stdinOnce: boolean(),
  tty: boolean(),
};

export const ContainerSchema = object(containerFields, { required: ['name'] });
export type Container = Infer<typeof ContainerSchema>;

export const EphemeralContainerSchema = object(
  { ...containerFields, targetContainerName: string() },
  { required: ['name'] },
);
export type EphemeralContainer = Infer<typeof EphemeralContainerSchema>;

// ---- Volumes ----

export const KeyToPathSchema = object(
  { key: string(), path: string(), mode: int32() },
  { required: ['key', 'path'] },
);
export type KeyToPath = Infer<typeof KeyToPathSchema>;

export const DownwardAPIVolumeFileSchema = object(
  {
    path: string(),
    fieldRef: ObjectFieldSelectorSchema,
    resourceFieldRef: ResourceFieldSelectorSchema,
    mode: int32(),
  },
  { required: ['path'] },
);

export const PersistentVolumeClaimSpecSchema = object({
  accessModes: array(string(), { listType: 'atomic' }),
  selector: LabelSelectorSchema,
  resources: object({ limits: ResourceListSchema, requests: ResourceListSchema }),
  volumeName: string(),
  storageClassName: string(),
  volumeMode: enumeration(['Block', 'Filesystem']),
  dataSource: object({ apiGroup: string(), kind: string(), name: string() }, { required: ['kind', 'name'] }),
  dataSourceRef: object(
    { apiGroup: string(), kind: string(), name: string(), namespace: string() },
    { required: ['kind', 'name'] },
  ),
  volumeAttributesClassName: string(),
});
export type PersistentVolumeClaimSpec = Infer<typeof PersistentVolumeClaimSpecSchema>;

export const PersistentVolumeClaimSchema = object(
  {
    apiVersion: string(),
    kind: string(),
    metadata: ObjectMetaSchema,
    spec: PersistentVolumeClaimSpecSchema,
    status: freeForm(),
  },
  { required: ['metadata'] },
);
export type PersistentVolumeClaim = Infer<typeof PersistentVolumeClaimSchema>;

const volumeProjectionSchema = object({
  secret: object({
    name: string(),
    items: array(KeyToPathSchema, { listType: 'atomic' }),
    optional: boolean(),
  }),
  configMap: object({
    name: string(),
    items: array(KeyToPathSchema, { listType: 'atomic' }),
    optional: boolean(),
  }),
  downwardAPI: object({ items: array(DownwardAPIVolumeFileSchema, { listType: 'atomic' }) }),
  serviceAccountToken: object(
    { audience: string(), expirationSeconds: int64(), path: string() },
    { required: ['path'] },
  ),
  clusterTrustBundle: freeForm(),
});

/**
 * Volume sources bosun runs (emptyDir, hostPath, configMap, secret, projected, downwardAPI,
 * persistentVolumeClaim) are described fully; network and cloud volume sources are accepted as
 * free-form objects so real manifests decode without unknown-field errors.
 */
const volumeSourceFields = {
  emptyDir: object({ medium: string(), sizeLimit: quantity() }),
  hostPath: object(
    {
      path: string(),
      type: enumeration([
        '',
        'DirectoryOrCreate',
        'Directory',
        'FileOrCreate',
        'File',
        'Socket',
        'CharDevice',
        'BlockDevice',
      ]),
    },
    { required: ['path'] },
  ),
  gitRepo: freeForm(),
  gcePersistentDisk: freeForm(),
  awsElasticBlockStore: freeForm(),
  secret: object({
    secretName: string(),
    items: array(KeyToPathSchema, { listType: 'atomic' }),
    defaultMode: int32(),
    optional: boolean(),
  }),
  nfs: object({ server: string(), path: string(), readOnly: boolean() }, { required: ['server', 'path'] }),
  iscsi: freeForm(),
  glusterfs: freeForm(),
  flocker: freeForm(),
  persistentVolumeClaim: object({ claimName: string(), readOnly: boolean() }, { required: ['claimName'] }),
  rbd: freeForm(),
  cinder: freeForm(),
  cephfs: freeForm(),
  quobyte: freeForm(),
  downwardAPI: object({
    items: array(DownwardAPIVolumeFileSchema, { listType: 'atomic' }),
    defaultMode: int32(),
  }),
  fc: freeForm(),
  flexVolume: freeForm(),
  configMap: object({
    name: string(),
    items: array(KeyToPathSchema, { listType: 'atomic' }),
    defaultMode: int32(),
    optional: boolean(),
  }),
  azureFile: freeForm(),
  vsphereVolume: freeForm(),
  photonPersistentDisk: freeForm(),
  portworxVolume: freeForm(),
  azureDisk: freeForm(),
  storageos: freeForm(),
  projected: object({ sources: array(volumeProjectionSchema, { listType: 'atomic' }), defaultMode: int32() }),
  scaleIO: freeForm(),
  csi: object(
    {
      driver: string(),
      readOnly: boolean(),
      fsType: string(),
      volumeAttributes: map(string()),
      nodePublishSecretRef: LocalObjectReferenceSchema,
    },
    { required: ['driver'] },
  ),
  ephemeral: object({
    volumeClaimTemplate: object(
      { metadata: ObjectMetaSchema, spec: PersistentVolumeClaimSpecSchema },
      { required: ['spec'] },
    ),
  }),
  image: object({ reference: string(), pullPolicy: enumeration(PullPolicies) }),
};

/** The names of every volume source field, in Kubernetes' validation order. */
export const VolumeSourceNames = Object.keys(volumeSourceFields) as (keyof typeof volumeSourceFields)[];

export const VolumeSchema = object({ name: string(), ...volumeSourceFields }, { required: ['name'] });
export type Volume = Infer<typeof VolumeSchema>;

// ---- Scheduling ----

export const NodeSelectorRequirementSchema = object(
  {
    key: string(),
    operator: enumeration(NodeSelectorOperators),
    values: array(string(), { listType: 'atomic' }),
  },
  { required: ['key', 'operator'] },
);
export const NodeSelectorTermSchema = object({
  matchExpressions: array(NodeSelectorRequirementSchema, { listType: 'atomic' }),
  matchFields: array(NodeSelectorRequirementSchema, { listType: 'atomic' }),
});
export type NodeSelectorTerm = Infer<typeof NodeSelectorTermSchema>;

export const NodeAffinitySchema = object({
  requiredDuringSchedulingIgnoredDuringExecution: object(
    { nodeSelectorTerms: array(NodeSelectorTermSchema, { listType: 'atomic' }) },
    { required: ['nodeSelectorTerms'] },
  ),
  preferredDuringSchedulingIgnoredDuringExecution: array(
    object({ weight: int32(), preference: NodeSelectorTermSchema }, { required: ['weight', 'preference'] }),
    { listType: 'atomic' },
  ),
});
export type NodeAffinity = Infer<typeof NodeAffinitySchema>;

export const PodAffinityTermSchema = object(
  {
    labelSelector: LabelSelectorSchema,
    namespaces: array(string(), { listType: 'atomic' }),
    topologyKey: string(),
    namespaceSelector: LabelSelectorSchema,
    matchLabelKeys: array(string(), { listType: 'atomic' }),
    mismatchLabelKeys: array(string(), { listType: 'atomic' }),
  },
  { required: ['topologyKey'] },
);
export type PodAffinityTerm = Infer<typeof PodAffinityTermSchema>;

const podAffinityFields = {
  requiredDuringSchedulingIgnoredDuringExecution: array(PodAffinityTermSchema, { listType: 'atomic' }),
  preferredDuringSchedulingIgnoredDuringExecution: array(
    object(
      { weight: int32(), podAffinityTerm: PodAffinityTermSchema },
      { required: ['weight', 'podAffinityTerm'] },
    ),
    { listType: 'atomic' },
  ),
};

export const AffinitySchema = object({
  nodeAffinity: NodeAffinitySchema,
  podAffinity: object(podAffinityFields),
  podAntiAffinity: object(podAffinityFields),
});
export type Affinity = Infer<typeof AffinitySchema>;

export const TolerationSchema = object({
  key: string(),
  operator: enumeration(TolerationOperators),
  value: string(),
  effect: enumeration(TaintEffects),
  tolerationSeconds: int64(),
});
export type Toleration = Infer<typeof TolerationSchema>;

export const TopologySpreadConstraintSchema = object(
  {
    maxSkew: int32(),
    topologyKey: string(),
    whenUnsatisfiable: enumeration(['DoNotSchedule', 'ScheduleAnyway']),
    labelSelector: LabelSelectorSchema,
    minDomains: int32(),
    nodeAffinityPolicy: enumeration(['Honor', 'Ignore']),
    nodeTaintsPolicy: enumeration(['Honor', 'Ignore']),
    matchLabelKeys: array(string(), { listType: 'atomic' }),
  },
  { required: ['maxSkew', 'topologyKey', 'whenUnsatisfiable'] },
);

// ---- PodSpec ----

export const PodSpecSchema = object(
  {
    volumes: mergeList(VolumeSchema, 'name', {
      patchStrategy: 'merge,retainKeys',
      listType: 'map',
      listMapKeys: ['name'],
    }),
    initContainers: mergeList(ContainerSchema, 'name', { listType: 'map', listMapKeys: ['name'] }),
    containers: mergeList(ContainerSchema, 'name', { listType: 'map', listMapKeys: ['name'] }),
    ephemeralContainers: mergeList(EphemeralContainerSchema, 'name', {
      listType: 'map',
      listMapKeys: ['name'],
    }),
    restartPolicy: enumeration(RestartPolicies),
    terminationGracePeriodSeconds: int64(),
    activeDeadlineSeconds: int64(),
    dnsPolicy: enumeration(DNSPolicies),
    nodeSelector: map(string()),
    serviceAccountName: string(),
    serviceAccount: string(),
    automountServiceAccountToken: boolean(),
    nodeName: string(),
    hostNetwork: boolean(),
    hostPID: boolean(),
    hostIPC: boolean(),
    shareProcessNamespace: boolean(),
    securityContext: PodSecurityContextSchema,
    imagePullSecrets: mergeList(LocalObjectReferenceSchema, 'name', {
      listType: 'map',
      listMapKeys: ['name'],
    }),
    hostname: string(),
    subdomain: string(),
    affinity: AffinitySchema,
    schedulerName: string(),
    tolerations: array(TolerationSchema, { listType: 'atomic' }),
    hostAliases: mergeList(
      object({ ip: string(), hostnames: array(string(), { listType: 'atomic' }) }, { required: ['ip'] }),
      'ip',
      {
        listType: 'map',
        listMapKeys: ['ip'],
      },
    ),
    priorityClassName: string(),
    priority: int32(),
    dnsConfig: object({
      nameservers: array(string(), { listType: 'atomic' }),
      searches: array(string(), { listType: 'atomic' }),
      options: array(object({ name: string(), value: string() }), { listType: 'atomic' }),
    }),
    readinessGates: array(object({ conditionType: string() }, { required: ['conditionType'] }), {
      listType: 'atomic',
    }),
    runtimeClassName: string(),
    enableServiceLinks: boolean(),
    preemptionPolicy: enumeration(['PreemptLowerPriority', 'Never']),
    overhead: ResourceListSchema,
    topologySpreadConstraints: mergeList(TopologySpreadConstraintSchema, 'topologyKey', {
      listType: 'map',
      listMapKeys: ['topologyKey', 'whenUnsatisfiable'],
    }),
    setHostnameAsFQDN: boolean(),
    os: object({ name: enumeration(['linux', 'windows']) }, { required: ['name'] }),
    hostUsers: boolean(),
    schedulingGates: mergeList(object({ name: string() }, { required: ['name'] }), 'name', {
      listType: 'map',
      listMapKeys: ['name'],
    }),
    resourceClaims: mergeList(
      object(
        { name: string(), resourceClaimName: string(), resourceClaimTemplateName: string() },
        { required: ['name'] },
      ),
      'name',
      { patchStrategy: 'merge,retainKeys', listType: 'map', listMapKeys: ['name'] },
    ),
    resources: ResourceRequirementsSchema,
  },
  { required: ['containers'] },
);
export type PodSpec = Infer<typeof PodSpecSchema>;

export const PodTemplateSpecSchema = object(
  { metadata: ObjectMetaSchema, spec: PodSpecSchema },
  { required: ['metadata', 'spec'] },
);
export type PodTemplateSpec = Infer<typeof PodTemplateSpecSchema>;

// ---- PodStatus ----

export const ContainerStateSchema = object({
  waiting: object({ reason: string(), message: string() }),
  running: object({ startedAt: time() }),
  terminated: object(
    {
      exitCode: int32(),
      signal: int32(),
      reason: string(),
      message: string(),
      startedAt: time(),
      finishedAt: time(),
      containerID: string(),
    },
    { required: ['exitCode'] },
  ),
});
export type ContainerState = Infer<typeof ContainerStateSchema>;

export const ContainerStatusSchema = object(
  {
    name: string(),
    state: ContainerStateSchema,
    lastState: ContainerStateSchema,
    ready: boolean(),
    restartCount: int32(),
    image: string(),
    imageID: string(),
    containerID: string(),
    started: boolean(),
    allocatedResources: ResourceListSchema,
    resources: ResourceRequirementsSchema,
    volumeMounts: array(freeForm()),
    user: freeForm(),
    allocatedResourcesStatus: array(freeForm()),
    stopSignal: string(),
  },
  { required: ['name', 'ready', 'restartCount', 'image', 'imageID'] },
);
export type ContainerStatus = Infer<typeof ContainerStatusSchema>;

export const PodConditionSchema = conditionSchema({ observedGeneration: int64(), lastProbeTime: time() });
export type PodCondition = Infer<typeof PodConditionSchema>;

const IPSchema = object({ ip: string() }, { required: ['ip'] });

export const PodStatusSchema = object({
  observedGeneration: int64(),
  phase: enumeration(PodPhases),
  conditions: mergeList(PodConditionSchema, 'type', { listType: 'map', listMapKeys: ['type'] }),
  message: string(),
  reason: string(),
  nominatedNodeName: string(),
  hostIP: string(),
  hostIPs: mergeList(IPSchema, 'ip', { listType: 'atomic' }),
  podIP: string(),
  podIPs: mergeList(IPSchema, 'ip', { listType: 'map', listMapKeys: ['ip'] }),
  startTime: time(),
  initContainerStatuses: array(ContainerStatusSchema, { listType: 'atomic' }),
  containerStatuses: array(ContainerStatusSchema, { listType: 'atomic' }),
  qosClass: enumeration(['Guaranteed', 'Burstable', 'BestEffort']),
  ephemeralContainerStatuses: array(ContainerStatusSchema, { listType: 'atomic' }),
  resize: string(),
  resourceClaimStatuses: array(freeForm()),
});
export type PodStatus = Infer<typeof PodStatusSchema>;

export const PodSchema = kubeObject(
  'v1',
  'Pod',
  { spec: PodSpecSchema, status: PodStatusSchema },
  { required: ['spec'] },
);
export type Pod = Infer<typeof PodSchema>;
