import { ContainerRole, PodRef } from './types';

/**
 * The labels every sandbox, container and volume bosun creates carries. They are the agent's
 * only memory: after a restart, an agent finds its pods' containers by them and adopts them.
 */
export const LABEL = {
  /** Marks anything created by bosun. */
  managed: 'bosun.managed',
  node: 'bosun.node',
  podUid: 'bosun.pod.uid',
  podNamespace: 'bosun.pod.namespace',
  podName: 'bosun.pod.name',
  role: 'bosun.role',
  containerName: 'bosun.container.name',
  restartCount: 'bosun.container.restart-count',
  specHash: 'bosun.container.spec-hash',
  /** Volumes: which pod volume this is; persistent claims carry `claim` instead of a pod uid. */
  volumeName: 'bosun.volume.name',
  claim: 'bosun.volume.claim',
} as const;

export function podLabels(nodeName: string, pod: PodRef, role: ContainerRole): Record<string, string> {
  return {
    [LABEL.managed]: 'true',
    [LABEL.node]: nodeName,
    [LABEL.podUid]: pod.uid,
    [LABEL.podNamespace]: pod.namespace,
    [LABEL.podName]: pod.name,
    [LABEL.role]: role,
  };
}

/**
 * Docker names are unique per daemon, and several agents may share one daemon, so the name
 * holds the pod uid; the attempt makes a restarted container's name differ from the one it
 * replaces (which is kept, exited, until the next restart, for `logs --previous`).
 */
export function dockerName(pod: PodRef, container: string, attempt: number): string {
  const safe = (s: string) => s.replace(/[^a-zA-Z0-9_.-]/g, '-');
  return `bosun_${safe(container || 'POD')}_${safe(pod.name)}_${safe(pod.namespace)}_${pod.uid.slice(0, 8)}_${attempt}`;
}
