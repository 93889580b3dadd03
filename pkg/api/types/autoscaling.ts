/** autoscaling/v1 Scale: the body of the scale subresource of Deployments, ReplicaSets, StatefulSets. */
import { Infer, int32, object, string } from '../schema';
import { kubeObject } from './meta';

export const ScaleSchema = kubeObject('autoscaling/v1', 'Scale', {
  spec: object({ replicas: int32() }),
  /** `selector` is the label selector of the pods, in its string form (`app=web`). */
  status: object({ replicas: int32(), selector: string() }, { required: ['replicas'] }),
});
export type Scale = Infer<typeof ScaleSchema>;
