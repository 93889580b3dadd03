import { AlreadyExistsError, lookupResource } from '../api';
import { ObjectStore } from './objects';

/** The namespaces every cluster has from the start, as in Kubernetes. */
export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** Creates the system namespaces that do not exist yet (idempotent; run by the leader). */
export async function ensureSystemNamespaces(objects: ObjectStore): Promise<void> {
  const namespaces = lookupResource('namespaces');
  for (const name of SYSTEM_NAMESPACES) {
    try {
      await objects.create(namespaces, undefined, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name },
      });
    } catch (error) {
      if (!(error instanceof AlreadyExistsError)) throw error;
    }
  }
}
