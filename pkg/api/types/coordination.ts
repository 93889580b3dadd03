/** coordination.k8s.io/v1 Lease. */
import { Infer, int32, object, string, time } from '../schema';
import { kubeObject } from './meta';

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

export const LeaseSchema = kubeObject('coordination.k8s.io/v1', 'Lease', { spec: LeaseSpecSchema });
export type Lease = Infer<typeof LeaseSchema>;
