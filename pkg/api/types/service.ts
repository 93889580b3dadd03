/** core/v1 Service and Endpoints. */
import {
  array,
  boolean,
  enumeration,
  Infer,
  int32,
  intOrString,
  map,
  mergeList,
  object,
  string,
} from '../schema';
import { ConditionSchema, kubeObject } from './meta';
import { ObjectReferenceSchema, Protocols } from './pod';

/** Sorted, as Kubernetes lists them in `Unsupported value` messages. */
export const ServiceTypes = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'] as const;
export type ServiceType = (typeof ServiceTypes)[number];
export const SessionAffinities = ['ClientIP', 'None'] as const;
export const TrafficPolicies = ['Cluster', 'Local'] as const;

export const ServicePortSchema = object(
  {
    name: string(),
    protocol: enumeration(Protocols),
    appProtocol: string(),
    port: int32(),
    targetPort: intOrString(),
    nodePort: int32(),
  },
  { required: ['port'] },
);
export type ServicePort = Infer<typeof ServicePortSchema>;

export const ServiceSpecSchema = object({
  ports: mergeList(ServicePortSchema, 'port', { listType: 'map', listMapKeys: ['port', 'protocol'] }),
  selector: map(string()),
  clusterIP: string(),
  clusterIPs: array(string(), { listType: 'atomic' }),
  type: enumeration(ServiceTypes),
  externalIPs: array(string(), { listType: 'atomic' }),
  sessionAffinity: enumeration(SessionAffinities),
  loadBalancerIP: string(),
  loadBalancerSourceRanges: array(string(), { listType: 'atomic' }),
  externalName: string(),
  externalTrafficPolicy: enumeration(TrafficPolicies),
  healthCheckNodePort: int32(),
  publishNotReadyAddresses: boolean(),
  sessionAffinityConfig: object({ clientIP: object({ timeoutSeconds: int32() }) }),
  ipFamilies: array(enumeration(['IPv4', 'IPv6']), { listType: 'atomic' }),
  ipFamilyPolicy: enumeration(['PreferDualStack', 'RequireDualStack', 'SingleStack']),
  allocateLoadBalancerNodePorts: boolean(),
  loadBalancerClass: string(),
  internalTrafficPolicy: enumeration(TrafficPolicies),
  trafficDistribution: string(),
});
export type ServiceSpec = Infer<typeof ServiceSpecSchema>;

export const LoadBalancerIngressSchema = object({
  ip: string(),
  hostname: string(),
  ipMode: enumeration(['Proxy', 'VIP']),
  ports: array(
    object(
      { port: int32(), protocol: enumeration(Protocols), error: string() },
      { required: ['port', 'protocol'] },
    ),
    { listType: 'atomic' },
  ),
});
export type LoadBalancerIngress = Infer<typeof LoadBalancerIngressSchema>;

export const ServiceStatusSchema = object({
  loadBalancer: object({ ingress: array(LoadBalancerIngressSchema, { listType: 'atomic' }) }),
  conditions: mergeList(ConditionSchema, 'type', { listType: 'map', listMapKeys: ['type'] }),
});

export const ServiceSchema = kubeObject(
  'v1',
  'Service',
  { spec: ServiceSpecSchema, status: ServiceStatusSchema },
  { required: ['spec'] },
);
export type Service = Infer<typeof ServiceSchema>;

export const EndpointAddressSchema = object(
  { ip: string(), hostname: string(), nodeName: string(), targetRef: ObjectReferenceSchema },
  { required: ['ip'] },
);
export type EndpointAddress = Infer<typeof EndpointAddressSchema>;

export const EndpointPortSchema = object(
  { name: string(), port: int32(), protocol: enumeration(Protocols), appProtocol: string() },
  { required: ['port'] },
);
export type EndpointPort = Infer<typeof EndpointPortSchema>;

export const EndpointSubsetSchema = object({
  addresses: array(EndpointAddressSchema, { listType: 'atomic' }),
  notReadyAddresses: array(EndpointAddressSchema, { listType: 'atomic' }),
  ports: array(EndpointPortSchema, { listType: 'atomic' }),
});
export type EndpointSubset = Infer<typeof EndpointSubsetSchema>;

export const EndpointsSchema = kubeObject('v1', 'Endpoints', {
  subsets: array(EndpointSubsetSchema, { listType: 'atomic' }),
});
export type Endpoints = Infer<typeof EndpointsSchema>;
