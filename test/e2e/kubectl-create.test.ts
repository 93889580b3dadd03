/**
 * `kubectl create <generator>` against a real `bosun up` cluster. kubectl's typed clients send
 * built-in kinds as application/vnd.kubernetes.protobuf and never fall back to JSON, so these
 * commands are the end-to-end test of the apiserver's protobuf decoding: the objects must read
 * back exactly as created, defaulted and validated like JSON ones.
 */
import { randomBytes } from 'crypto';
import { writeFileSync } from 'fs';
import { join } from 'path';
import { ConfigMap, Deployment, Namespace, Secret, Service } from '../../pkg/api';
import { TestBosunCluster } from '../support/cluster';
import { kubectl as runKubectl } from '../support/kubectl';

jest.setTimeout(60_000);

let cluster: TestBosunCluster;

beforeAll(async () => {
  cluster = await TestBosunCluster.up(['--agents', '0']);
}, 120_000);

afterAll(async () => {
  await cluster?.down();
}, 120_000);

afterEach(() => {
  if (expect.getState().assertionCalls > expect.getState().numPassingAsserts)
    for (const name of ['m1', 'm2', 'm3'])
      process.stderr.write(`--- ${name}\n${cluster.logTail(name, 15)}\n`);
});

const kubectl = (...args: string[]) => runKubectl(cluster, args);

async function getJson<T>(...args: string[]): Promise<T> {
  const result = await kubectl('get', ...args, '-o', 'json');
  expect(result).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(result.stdout) as T;
}

function file(name: string, content: string | Buffer): string {
  const path = join(cluster.dir, name);
  writeFileSync(path, content);
  return path;
}

it('creates a deployment that reads back as created, defaulted', async () => {
  const created = await kubectl(
    'create',
    'deployment',
    'web',
    '--image=bosun/hello:local',
    '--replicas=2',
    '--port=8080',
  );
  expect(created).toEqual({ code: 0, stdout: 'deployment.apps/web created\n', stderr: '' });

  const deployment = await getJson<Deployment>('deployment', 'web');
  expect(deployment.metadata).toMatchObject({ name: 'web', namespace: 'default', labels: { app: 'web' } });
  expect(deployment.spec.replicas).toBe(2);
  expect(deployment.spec.selector).toEqual({ matchLabels: { app: 'web' } });
  expect(deployment.spec.template.metadata.labels).toEqual({ app: 'web' });
  expect(deployment.spec.template.spec.containers).toEqual([
    expect.objectContaining({
      name: 'hello',
      image: 'bosun/hello:local',
      ports: [{ containerPort: 8080, protocol: 'TCP' }],
      resources: {},
    }),
  ]);
  // Defaulted as a JSON-created one is.
  expect(deployment.spec.strategy).toEqual({
    type: 'RollingUpdate',
    rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' },
  });

  // An ordinary object from then on: the scale subresource and a patch work on it.
  expect(await kubectl('scale', 'deployment', 'web', '--replicas=3')).toEqual({
    code: 0,
    stdout: 'deployment.apps/web scaled\n',
    stderr: '',
  });
  expect((await kubectl('label', 'deployment', 'web', 'tier=front')).stdout).toBe(
    'deployment.apps/web labeled\n',
  );
  const scaled = await getJson<Deployment>('deployment', 'web');
  expect(scaled.spec.replicas).toBe(3);
  expect(scaled.metadata.labels).toEqual({ app: 'web', tier: 'front' });
});

it('refuses an invalid deployment with the same message as JSON', async () => {
  const refused = await kubectl('create', 'deployment', 'Bad_Name', '--image=x');
  expect(refused.code).toBe(1);
  expect(refused.stdout).toBe('');
  expect(refused.stderr).toContain(
    'error: failed to create deployment: Deployment.apps "Bad_Name" is invalid',
  );
  expect(refused.stderr).toContain(
    'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain',
  );
  expect((await kubectl('get', 'deployment', 'Bad_Name')).code).toBe(1);
});

it('creates a configmap from literals and from a binary file', async () => {
  const binary = randomBytes(64);
  binary[0] = 0xff; // never valid UTF-8, so kubectl puts it in binaryData
  const created = await kubectl(
    'create',
    'configmap',
    'settings',
    '--from-literal=mode=fast',
    `--from-literal=greeting=hello world`,
    `--from-file=blob=${file('blob.bin', binary)}`,
  );
  expect(created).toEqual({ code: 0, stdout: 'configmap/settings created\n', stderr: '' });
  const configMap = await getJson<ConfigMap>('configmap', 'settings');
  expect(configMap.data).toEqual({ mode: 'fast', greeting: 'hello world' });
  expect(configMap.binaryData).toEqual({ blob: binary.toString('base64') });
});

it('creates generic and docker-registry secrets with their exact bytes', async () => {
  const key = randomBytes(48);
  const generic = await kubectl(
    'create',
    'secret',
    'generic',
    'creds',
    '--from-literal=user=admin',
    `--from-file=key=${file('key.bin', key)}`,
  );
  expect(generic).toEqual({ code: 0, stdout: 'secret/creds created\n', stderr: '' });
  const secret = await getJson<Secret>('secret', 'creds');
  expect(secret.type).toBe('Opaque');
  expect(secret.data).toEqual({ user: Buffer.from('admin').toString('base64'), key: key.toString('base64') });

  const registry = await kubectl(
    'create',
    'secret',
    'docker-registry',
    'pull',
    '--docker-server=registry.local',
    '--docker-username=u',
    '--docker-password=p',
  );
  expect(registry).toEqual({ code: 0, stdout: 'secret/pull created\n', stderr: '' });
  const pull = await getJson<Secret>('secret', 'pull');
  expect(pull.type).toBe('kubernetes.io/dockerconfigjson');
  const config = JSON.parse(Buffer.from(pull.data!['.dockerconfigjson'], 'base64').toString()) as {
    auths: Record<string, { username: string }>;
  };
  expect(config.auths['registry.local'].username).toBe('u');
});

it('creates services: a targetPort number, a named one, and a node port', async () => {
  const created = await kubectl('create', 'service', 'clusterip', 'web', '--tcp=80:8080');
  expect(created).toEqual({ code: 0, stdout: 'service/web created\n', stderr: '' });
  const service = await getJson<Service>('service', 'web');
  expect(service.spec.type).toBe('ClusterIP');
  expect(service.spec.selector).toEqual({ app: 'web' });
  expect(service.spec.ports).toEqual([{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }]);
  expect(service.spec.clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);

  const named = await kubectl('create', 'service', 'clusterip', 'named', '--tcp=81:http');
  expect(named.stdout).toBe('service/named created\n');
  expect((await getJson<Service>('service', 'named')).spec.ports![0].targetPort).toBe('http');

  const nodePort = await kubectl('create', 'service', 'nodeport', 'np', '--tcp=82:8082');
  expect(nodePort).toEqual({ code: 0, stdout: 'service/np created\n', stderr: '' });
  const np = await getJson<Service>('service', 'np');
  expect(np.spec.type).toBe('NodePort');
  expect(np.spec.ports![0].nodePort).toBeGreaterThanOrEqual(30000);

  const listed = await kubectl('get', 'svc', 'web');
  expect(listed.stdout).toMatch(/^web\s+ClusterIP\s+10\.96\.\d+\.\d+\s+<none>\s+80\/TCP\s+\S+$/m);
});

it('creates a namespace and objects in it', async () => {
  expect(await kubectl('create', 'namespace', 'team-a')).toEqual({
    code: 0,
    stdout: 'namespace/team-a created\n',
    stderr: '',
  });
  const namespace = await getJson<Namespace>('namespace', 'team-a');
  expect(namespace.status?.phase).toBe('Active');
  const inside = await kubectl('create', 'configmap', 'local', '-n', 'team-a', '--from-literal=a=b');
  expect(inside.stdout).toBe('configmap/local created\n');
  expect((await getJson<ConfigMap>('configmap', 'local', '-n', 'team-a')).metadata.namespace).toBe('team-a');
});

it('checks --dry-run=server without storing anything', async () => {
  const dry = await kubectl('create', 'deployment', 'dry', '--image=x', '--dry-run=server', '-o', 'name');
  expect(dry).toEqual({ code: 0, stdout: 'deployment.apps/dry\n', stderr: '' });
  expect((await kubectl('get', 'deployment', 'dry')).stderr).toContain('deployments.apps "dry" not found');
});

it('creates from a file and replaces from it', async () => {
  const manifest = (value: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: from-file
data:
  value: "${value}"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: from-file
spec:
  replicas: 1
  selector:
    matchLabels: {app: from-file}
  template:
    metadata:
      labels: {app: from-file}
    spec:
      containers:
      - name: web
        image: bosun/hello:${value}
`;
  const path = file('from-file.yaml', manifest('one'));
  expect(await kubectl('create', '-f', path)).toEqual({
    code: 0,
    stdout: 'configmap/from-file created\ndeployment.apps/from-file created\n',
    stderr: '',
  });
  const again = await kubectl('create', '-f', path);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain('configmaps "from-file" already exists');

  file('from-file.yaml', manifest('two'));
  expect(await kubectl('replace', '-f', path)).toEqual({
    code: 0,
    stdout: 'configmap/from-file replaced\ndeployment.apps/from-file replaced\n',
    stderr: '',
  });
  expect((await getJson<ConfigMap>('configmap', 'from-file')).data).toEqual({ value: 'two' });
  const deployment = await getJson<Deployment>('deployment', 'from-file');
  expect(deployment.spec.template.spec.containers[0].image).toBe('bosun/hello:two');
  expect(deployment.metadata.generation).toBe(2);
});
