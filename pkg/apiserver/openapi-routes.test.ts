import { startLocalApiServer, LocalApiServer } from './local';

let api: LocalApiServer;

beforeAll(async () => {
  api = await startLocalApiServer();
});

afterAll(async () => {
  await api.close();
});

async function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${api.url}${path}`, {
    headers: { authorization: `Bearer ${api.adminToken}` },
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

type Doc = {
  paths: Record<
    string,
    Record<string, { parameters?: Array<{ name: string }>; 'x-kubernetes-group-version-kind'?: unknown }>
  >;
  components: { schemas: Record<string, Record<string, unknown>> };
};

describe('OpenAPI v3', () => {
  it('lists one document per group-version, addressed by its hash', async () => {
    const root = (await get('/openapi/v3')).body as { paths: Record<string, { serverRelativeURL: string }> };
    expect(Object.keys(root.paths).sort()).toEqual([
      'api/v1',
      'apis/apps/v1',
      'apis/coordination.k8s.io/v1',
      'apis/discovery.k8s.io/v1',
    ]);
    expect(root.paths['api/v1'].serverRelativeURL).toMatch(/^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]{128}$/);
    const response = await fetch(`${api.url}${root.paths['apis/apps/v1'].serverRelativeURL}`, {
      headers: { authorization: `Bearer ${api.adminToken}` },
    });
    expect(response.headers.get('cache-control')).toBe('public, immutable');
  });

  it('tells kubectl the server validates fields (PATCH takes fieldValidation) and gives patch merge keys', async () => {
    const doc = (await get('/openapi/v3/apis/apps/v1')).body as unknown as Doc;
    const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
    expect(patch['x-kubernetes-group-version-kind']).toEqual({
      group: 'apps',
      version: 'v1',
      kind: 'Deployment',
    });
    expect(patch.parameters!.map((p) => p.name)).toContain('fieldValidation');
    const deployment = doc.components.schemas['io.k8s.api.apps.v1.Deployment'] as {
      'x-kubernetes-group-version-kind': unknown;
      properties: Record<
        string,
        {
          properties: Record<
            string,
            { properties: Record<string, { properties: Record<string, Record<string, unknown>> }> }
          >;
        }
      >;
    };
    expect(deployment['x-kubernetes-group-version-kind']).toEqual([
      { group: 'apps', version: 'v1', kind: 'Deployment' },
    ]);
    const containers = deployment.properties.spec.properties.template.properties.spec.properties.containers;
    expect(containers['x-kubernetes-patch-merge-key']).toBe('name');
    expect(containers['x-kubernetes-patch-strategy']).toBe('merge');
  });

  it('answers 404 for a group-version it does not serve', async () => {
    expect((await get('/openapi/v3/apis/batch/v1')).status).toBe(404);
  });
});
