import {
  lookupResource,
  objectDisplayName,
  qualifiedKind,
  qualifiedResource,
  resolveKind,
  resolveListKind,
  resourceFor,
  RESOURCES,
  UnknownResourceError,
} from './registry';

describe('resource registry', () => {
  it.each([
    ['pods', 'Pod'],
    ['pod', 'Pod'],
    ['po', 'Pod'],
    ['Pod', 'Pod'],
    ['PODS', 'Pod'],
    ['svc', 'Service'],
    ['services', 'Service'],
    ['ep', 'Endpoints'],
    ['endpoints', 'Endpoints'],
    ['cm', 'ConfigMap'],
    ['secret', 'Secret'],
    ['ns', 'Namespace'],
    ['no', 'Node'],
    ['ev', 'Event'],
    ['deploy', 'Deployment'],
    ['deployments.apps', 'Deployment'],
    ['Deployment.apps', 'Deployment'],
    ['deploy.apps', 'Deployment'],
    ['deployments.v1.apps', 'Deployment'],
    ['rs', 'ReplicaSet'],
    ['sts', 'StatefulSet'],
    ['statefulset', 'StatefulSet'],
    ['leases.coordination.k8s.io', 'Lease'],
    ['lease', 'Lease'],
    ['bindings', 'Binding'],
  ])('%s is %s', (name, kind) => {
    expect(lookupResource(name).kind).toBe(kind);
  });

  it('names the known resources when it does not know one', () => {
    expect(() => lookupResource('frobs')).toThrow(UnknownResourceError);
    expect(() => lookupResource('frobs')).toThrow(
      'the server doesn\'t have a resource type "frobs"; known resource types: pods (po), services (svc), endpoints (ep), configmaps (cm), ' +
        'secrets, namespaces (ns), nodes (no), events (ev), bindings, deployments (deploy), replicasets (rs), statefulsets (sts), leases',
    );
    expect(() => lookupResource('deployments.extensions')).toThrow(UnknownResourceError);
  });

  it('describes each resource as discovery does', () => {
    const deployments = lookupResource('deploy');
    expect(deployments).toMatchObject({
      group: 'apps',
      version: 'v1',
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      listKind: 'DeploymentList',
      resource: 'deployments',
      singular: 'deployment',
      shortNames: ['deploy'],
      namespaced: true,
      subresources: ['status', 'scale'],
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      categories: ['all'],
    });
    expect(lookupResource('pods').subresources).toEqual(['status', 'binding']);
    expect(lookupResource('nodes')).toMatchObject({ namespaced: false, subresources: ['status'] });
    expect(lookupResource('ns')).toMatchObject({
      namespaced: false,
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    });
    expect(lookupResource('leases').apiVersion).toBe('coordination.k8s.io/v1');
    expect(new Set(RESOURCES.map((info) => info.kind)).size).toBe(RESOURCES.length);
  });

  it('finds resources by REST path and list kind', () => {
    expect(resourceFor('', 'v1', 'pods')?.kind).toBe('Pod');
    expect(resourceFor('apps', 'v1', 'pods')).toBeUndefined();
    expect(resolveListKind('apps/v1', 'ReplicaSetList')?.kind).toBe('ReplicaSet');
    expect(resolveListKind('v1', 'ReplicaSetList')).toBeUndefined();
  });

  it('resolves apiVersion and kind exactly, or says what is supported', () => {
    const resolved = resolveKind('apps/v1', 'Deployment');
    expect(resolved.ok && resolved.info.resource).toBe('deployments');
    const wrongVersion = resolveKind('apps/v1beta2', 'Deployment');
    expect(!wrongVersion.ok && wrongVersion.errors.map(String)).toEqual([
      'apiVersion: Unsupported value: "apps/v1beta2": supported values: "apps/v1"',
    ]);
    const lowerCase = resolveKind('v1', 'pod');
    expect(!lowerCase.ok && lowerCase.errors[0].type).toBe('FieldValueNotSupported');
    const missing = resolveKind(undefined, 3);
    expect(!missing.ok && missing.errors.map(String)).toEqual([
      'apiVersion: Required value',
      'kind: Invalid value: 3: must be a string',
    ]);
  });

  it('names objects and resources the way Kubernetes and kubectl do', () => {
    expect(qualifiedResource(lookupResource('deploy'))).toBe('deployments.apps');
    expect(qualifiedResource(lookupResource('po'))).toBe('pods');
    expect(qualifiedKind(lookupResource('deploy'))).toBe('Deployment.apps');
    expect(objectDisplayName(lookupResource('deploy'), 'web')).toBe('deployment.apps/web');
    expect(objectDisplayName(lookupResource('svc'), 'hello')).toBe('service/hello');
  });
});
