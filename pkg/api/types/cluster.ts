/** core/v1 Namespace, Node, Event and Binding. */
import {
  array,
  boolean,
  enumeration,
  freeForm,
  Infer,
  int32,
  int64,
  mergeList,
  object,
  string,
  time,
} from '../schema';
import { kubeObject } from './meta';
import { conditionSchema, ObjectReferenceSchema, ResourceListSchema, TaintEffects } from './pod';

export const NamespaceSchema = kubeObject('v1', 'Namespace', {
  spec: object({ finalizers: array(string(), { listType: 'atomic' }) }),
  status: object({
    phase: enumeration(['Active', 'Terminating']),
    conditions: mergeList(conditionSchema({}), 'type', { listType: 'map', listMapKeys: ['type'] }),
  }),
});
export type Namespace = Infer<typeof NamespaceSchema>;

export const TaintSchema = object(
  { key: string(), value: string(), effect: enumeration(TaintEffects), timeAdded: time() },
  { required: ['key', 'effect'] },
);
export type Taint = Infer<typeof TaintSchema>;

export const NodeConditionSchema = conditionSchema({ lastHeartbeatTime: time() });
export type NodeCondition = Infer<typeof NodeConditionSchema>;

export const NodeAddressSchema = object(
  {
    type: enumeration(['Hostname', 'InternalIP', 'ExternalIP', 'InternalDNS', 'ExternalDNS']),
    address: string(),
  },
  { required: ['type', 'address'] },
);
export type NodeAddress = Infer<typeof NodeAddressSchema>;

export const NodeSystemInfoSchema = object(
  {
    machineID: string(),
    systemUUID: string(),
    bootID: string(),
    kernelVersion: string(),
    osImage: string(),
    containerRuntimeVersion: string(),
    kubeletVersion: string(),
    kubeProxyVersion: string(),
    operatingSystem: string(),
    architecture: string(),
    swap: object({ capacity: int64() }),
  },
  {
    required: [
      'machineID',
      'systemUUID',
      'bootID',
      'kernelVersion',
      'osImage',
      'containerRuntimeVersion',
      'kubeletVersion',
      'kubeProxyVersion',
      'operatingSystem',
      'architecture',
    ],
  },
);
export type NodeSystemInfo = Infer<typeof NodeSystemInfoSchema>;

export const NodeSpecSchema = object({
  podCIDR: string(),
  podCIDRs: array(string(), { patchStrategy: 'merge', listType: 'set' }),
  providerID: string(),
  unschedulable: boolean(),
  taints: array(TaintSchema, { listType: 'atomic' }),
  configSource: freeForm(),
  externalID: string(),
});
export type NodeSpec = Infer<typeof NodeSpecSchema>;

export const NodeStatusSchema = object({
  capacity: ResourceListSchema,
  allocatable: ResourceListSchema,
  phase: enumeration(['Pending', 'Running', 'Terminated']),
  conditions: mergeList(NodeConditionSchema, 'type', { listType: 'map', listMapKeys: ['type'] }),
  addresses: mergeList(NodeAddressSchema, 'type', { listType: 'map', listMapKeys: ['type'] }),
  /** Kubernetes spells this field `Port`, capitalised. */
  daemonEndpoints: object({ kubeletEndpoint: object({ Port: int32() }, { required: ['Port'] }) }),
  nodeInfo: NodeSystemInfoSchema,
  images: array(object({ names: array(string(), { listType: 'atomic' }), sizeBytes: int64() }), {
    listType: 'atomic',
  }),
  volumesInUse: array(string(), { listType: 'atomic' }),
  volumesAttached: array(
    object({ name: string(), devicePath: string() }, { required: ['name', 'devicePath'] }),
    {
      listType: 'atomic',
    },
  ),
  config: freeForm(),
  runtimeHandlers: array(freeForm(), { listType: 'atomic' }),
  features: freeForm(),
});
export type NodeStatus = Infer<typeof NodeStatusSchema>;

export const NodeSchema = kubeObject('v1', 'Node', { spec: NodeSpecSchema, status: NodeStatusSchema });
export type Node = Infer<typeof NodeSchema>;

export const EventTypes = ['Normal', 'Warning'] as const;

export const EventSchema = kubeObject(
  'v1',
  'Event',
  {
    involvedObject: ObjectReferenceSchema,
    reason: string(),
    message: string(),
    source: object({ component: string(), host: string() }),
    firstTimestamp: time(),
    lastTimestamp: time(),
    count: int32(),
    type: enumeration(EventTypes),
    eventTime: time(),
    series: object({ count: int32(), lastObservedTime: time() }),
    action: string(),
    related: ObjectReferenceSchema,
    reportingComponent: string(),
    reportingInstance: string(),
  },
  { required: ['involvedObject'] },
);
export type Event = Infer<typeof EventSchema>;

/** What the scheduler posts to pods/binding: the pod (metadata) goes to the node (target). */
export const BindingSchema = kubeObject(
  'v1',
  'Binding',
  { target: ObjectReferenceSchema },
  { required: ['target'] },
);
export type Binding = Infer<typeof BindingSchema>;
