import { ResourceInfo } from '../api';

/** `/registry/<resource>/<namespace>/<name>`, or `/registry/<resource>/<name>` for cluster-scoped kinds. */
export function objectStorageKey(info: ResourceInfo, namespace: string | undefined, name: string): string {
  return info.namespaced
    ? `/registry/${info.resource}/${namespace}/${name}`
    : `/registry/${info.resource}/${name}`;
}

/** The prefix of every object of a resource, or of one namespace of it. Always ends with '/'. */
export function resourcePrefix(info: ResourceInfo, namespace?: string): string {
  return info.namespaced && namespace
    ? `/registry/${info.resource}/${namespace}/`
    : `/registry/${info.resource}/`;
}
