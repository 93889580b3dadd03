/** Discovery documents (/api, /apis, /api/v1, /apis/apps/v1, ...) built from pkg/api's registry. */
import { RESOURCES, ResourceInfo } from '../api';
import { bosunVersion, KUBERNETES_MINOR } from '../util/version';

export function versionInfo(): Record<string, string> {
  return {
    major: '1',
    minor: KUBERNETES_MINOR,
    gitVersion: `v1.${KUBERNETES_MINOR}.0+bosun-${bosunVersion()}`,
    gitCommit: '',
    gitTreeState: 'clean',
    buildDate: '',
    goVersion: `node ${process.version}`,
    compiler: 'tsc',
    platform: `${process.platform}/${process.arch}`,
  };
}

function groupsOf(): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const info of RESOURCES) {
    if (info.group === '') continue;
    const versions = groups.get(info.group) ?? [];
    if (!versions.includes(info.version)) versions.push(info.version);
    groups.set(info.group, versions);
  }
  return groups;
}

export function coreVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupDocument(name: string, versions: string[]): object {
  return {
    name,
    versions: versions.map((version) => ({ groupVersion: `${name}/${version}`, version })),
    preferredVersion: { groupVersion: `${name}/${versions[0]}`, version: versions[0] },
  };
}

export function groupList(): object {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groupsOf()].map(([name, versions]) => groupDocument(name, versions)),
  };
}

export function group(name: string): object | undefined {
  const versions = groupsOf().get(name);
  return versions ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDocument(name, versions) } : undefined;
}

function resourceEntries(info: ResourceInfo): object[] {
  const entries: object[] = [
    {
      name: info.resource,
      singularName: info.singular,
      namespaced: info.namespaced,
      kind: info.kind,
      verbs: info.verbs,
      ...(info.shortNames.length > 0 ? { shortNames: info.shortNames } : {}),
      ...(info.categories.length > 0 ? { categories: info.categories } : {}),
    },
  ];
  for (const sub of info.subresources) {
    if (sub === 'status') {
      entries.push({
        name: `${info.resource}/status`,
        singularName: '',
        namespaced: info.namespaced,
        kind: info.kind,
        verbs: ['get', 'patch', 'update'],
      });
    } else if (sub === 'scale') {
      entries.push({
        name: `${info.resource}/scale`,
        singularName: '',
        namespaced: info.namespaced,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: ['get', 'patch', 'update'],
      });
    } else if (sub === 'finalize') {
      entries.push({
        name: `${info.resource}/finalize`,
        singularName: '',
        namespaced: info.namespaced,
        kind: info.kind,
        verbs: ['update'],
      });
    } else if (sub === 'binding') {
      entries.push({
        name: `${info.resource}/binding`,
        singularName: '',
        namespaced: info.namespaced,
        kind: 'Binding',
        verbs: ['create'],
      });
    }
  }
  if (info.resource === 'pods') {
    // Served by the pod's agent through the apiserver (pod-logs.ts, pod-streams.ts).
    const sub = (name: string, kind: string, verbs: string[]) => ({
      name: `pods/${name}`,
      singularName: '',
      namespaced: true,
      kind,
      verbs,
    });
    entries.push(
      sub('log', 'Pod', ['get']),
      sub('exec', 'PodExecOptions', ['create', 'get']),
      sub('portforward', 'PodPortForwardOptions', ['create', 'get']),
    );
  }
  return entries;
}

/** The APIResourceList of one group version, or undefined when bosun serves no such version. */
export function resourceList(groupName: string, version: string): object | undefined {
  const infos = RESOURCES.filter((r) => r.group === groupName && r.version === version);
  if (infos.length === 0) return undefined;
  return {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: groupName === '' ? version : `${groupName}/${version}`,
    resources: infos.flatMap(resourceEntries),
  };
}
