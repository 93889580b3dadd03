/** discovery.k8s.io/v1 EndpointSlice: what kubectl 1.32 reads a Service's endpoints from. */
import { array, boolean, enumeration, Infer, int32, map, object, string } from '../schema';
import { kubeObject } from './meta';
import { ObjectReferenceSchema, Protocols } from './pod';

export const AddressTypes = ['FQDN', 'IPv4', 'IPv6'] as const;

export const EndpointConditionsSchema = object({
  ready: boolean(),
  serving: boolean(),
  terminating: boolean(),
});
export type EndpointConditions = Infer<typeof EndpointConditionsSchema>;

export const EndpointSchema = object(
  {
    addresses: array(string(), { listType: 'set' }),
    conditions: EndpointConditionsSchema,
    hostname: string(),
    targetRef: ObjectReferenceSchema,
    deprecatedTopology: map(string()),
    nodeName: string(),
    zone: string(),
    hints: object({
      forZones: array(object({ name: string() }, { required: ['name'] }), { listType: 'atomic' }),
      forNodes: array(object({ name: string() }, { required: ['name'] }), { listType: 'atomic' }),
    }),
  },
  { required: ['addresses'] },
);
export type Endpoint = Infer<typeof EndpointSchema>;

export const EndpointSlicePortSchema = object({
  name: string(),
  protocol: enumeration(Protocols),
  port: int32(),
  appProtocol: string(),
});
export type EndpointSlicePort = Infer<typeof EndpointSlicePortSchema>;

export const EndpointSliceSchema = kubeObject(
  'discovery.k8s.io/v1',
  'EndpointSlice',
  {
    addressType: enumeration(AddressTypes),
    endpoints: array(EndpointSchema, { listType: 'atomic' }),
    ports: array(EndpointSlicePortSchema, { listType: 'atomic' }),
  },
  { required: ['addressType'] },
);
export type EndpointSlice = Infer<typeof EndpointSliceSchema>;
