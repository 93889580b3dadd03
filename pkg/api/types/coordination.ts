/** coordination.k8s.io/v1 Lease. */
import { Infer, int32, object, string, time } from '../schema';
import { ObjectMetaSchema, typeMeta } from './meta';

export const LeaseSpecSchema = object({
  holderIdentity: string(),
  leaseDurationSeconds: int32(),
  acquireTime: time(),
  renewTime: time(),
  leaseTransitions: int32(),
  strategy: string(),
  preferredHolder: string(),
});
export type LeaseSpec = Infer<typeof LeaseSpecSchema>;

export const LeaseSchema = object(
  { ...typeMeta('coordination.k8s.io/v1', 'Lease'), metadata: ObjectMetaSchema, spec: LeaseSpecSchema },
  { required: ['apiVersion', 'kind', 'metadata'] },
);
export type Lease = Infer<typeof LeaseSchema>;
