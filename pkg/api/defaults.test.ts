import { decodeManifests } from './decode';
import { applyDefaults, imageTag } from './defaults';
import type { Deployment, KubeObject, Namespace, Node, Pod, Secret, Service, StatefulSet } from './types';

function decode<T extends KubeObject>(yaml: string): T {
  const [entry] = decodeManifests(yaml, 'test.yaml');
  if (entry?.type !== 'object' || entry.errors.length > 0)
    throw new Error(`bad test manifest: ${entry?.type === 'object' ? entry.errors.join('; ') : entry?.type}`);
  return entry.object as T;
}

describe('applyDefaults', () => {
  const podYaml = `
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  initContainers: [{name: init, image: busybox}]
  containers:
    - name: app
      image: nginx:1.25
      ports: [{containerPort: 80}]
      env: [{name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}]
      resources: {limits: {cpu: 0.5, memory: 128Mi}, requests: {cpu: 100m}}
      livenessProbe: {httpGet: {port: 80}}
      readinessProbe: {tcpSocket: {port: 80}, failureThreshold: 0, periodSeconds: 3}
  volumes:
    - {name: scratch}
    - {name: config, configMap: {name: c}}
    - {name: creds, secret: {secretName: s, defaultMode: 0400}}
    - {name: info, downwardAPI: {items: [{path: name, fieldRef: {fieldPath: metadata.name}}]}}
    - {name: host, hostPath: {path: /tmp}}
`;

  it('fills in what Kubernetes fills in for a Pod', () => {
    const pod = applyDefaults(decode<Pod>(podYaml));
    expect(pod.metadata.namespace).toBe('default');
    expect(pod.spec).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      terminationGracePeriodSeconds: 30,
      schedulerName: 'default-scheduler',
      securityContext: {},
      enableServiceLinks: true,
    });
    const [app] = pod.spec.containers;
    expect(app).toMatchObject({
      imagePullPolicy: 'IfNotPresent',
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      ports: [{ containerPort: 80, protocol: 'TCP' }],
      env: [{ name: 'NODE', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'spec.nodeName' } } }],
      // Requests default to limits on a Pod; quantities are canonical.
      resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
      livenessProbe: {
        httpGet: { port: 80, path: '/', scheme: 'HTTP' },
        timeoutSeconds: 1,
        periodSeconds: 10,
        successThreshold: 1,
        failureThreshold: 3,
      },
      // 0 means unset for these fields.
      readinessProbe: { timeoutSeconds: 1, periodSeconds: 3, successThreshold: 1, failureThreshold: 3 },
    });
    expect(pod.spec.initContainers?.[0].imagePullPolicy).toBe('Always');
    expect(pod.spec.volumes).toEqual([
      { name: 'scratch', emptyDir: {} },
      { name: 'config', configMap: { name: 'c', defaultMode: 420 } },
      { name: 'creds', secret: { secretName: 's', defaultMode: 256 } },
      {
        name: 'info',
        downwardAPI: {
          defaultMode: 420,
          items: [{ path: 'name', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } }],
        },
      },
      { name: 'host', hostPath: { path: '/tmp', type: '' } },
    ]);
  });

  it('returns a copy and leaves its argument alone', () => {
    const pod = decode<Pod>(podYaml);
    const before = structuredClone(pod);
    const defaulted = applyDefaults(pod);
    expect(pod).toEqual(before);
    expect(defaulted).not.toBe(pod);
    expect(applyDefaults(defaulted)).toEqual(defaulted);
  });

  it.each([
    ['nginx', 'latest'],
    ['nginx:latest', 'latest'],
    ['nginx:1.25', '1.25'],
    ['registry:5000/team/app', 'latest'],
    ['registry:5000/team/app:v2', 'v2'],
    ['nginx@sha256:abc', ''],
    ['nginx:1.25@sha256:abc', '1.25'],
  ])('the tag of %s is %j', (image, tag) => {
    expect(imageTag(image)).toBe(tag);
  });

  it('pulls :latest and untagged images always, others if not present', () => {
    const pod = applyDefaults(
      decode<Pod>(`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - {name: a, image: nginx}
    - {name: b, image: 'nginx:latest'}
    - {name: c, image: 'bosun/hello:local'}
    - {name: d, image: 'nginx@sha256:0000'}
    - {name: e, image: 'nginx:1.25', imagePullPolicy: Never}
`),
    );
    expect(pod.spec.containers.map((container) => container.imagePullPolicy)).toEqual([
      'Always',
      'Always',
      'IfNotPresent',
      'IfNotPresent',
      'Never',
    ]);
  });

  it('defaults a Deployment and its pod template, but not Pod-only fields', () => {
    const deployment = applyDefaults(
      decode<Deployment>(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: nginx, resources: {limits: {cpu: '1'}}}]}
`),
    );
    expect(deployment.metadata.namespace).toBe('prod');
    expect(deployment.spec).toMatchObject({
      replicas: 1,
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    });
    const template = deployment.spec.template.spec;
    expect(template).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      terminationGracePeriodSeconds: 30,
    });
    expect(template.enableServiceLinks).toBeUndefined();
    expect(template.containers[0].resources).toEqual({ limits: { cpu: '1' } });
  });

  it('keeps explicit zero replicas and a Recreate strategy', () => {
    const deployment = applyDefaults(
      decode<Deployment>(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 0
  strategy: {type: Recreate}
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: app, image: nginx}]}}
`),
    );
    expect(deployment.spec.replicas).toBe(0);
    expect(deployment.spec.strategy).toEqual({ type: 'Recreate' });
  });

  it('defaults a StatefulSet', () => {
    const statefulSet = applyDefaults(
      decode<StatefulSet>(`
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  selector: {matchLabels: {app: db}}
  template: {metadata: {labels: {app: db}}, spec: {containers: [{name: db, image: postgres}]}}
  volumeClaimTemplates: [{metadata: {name: data}, spec: {resources: {requests: {storage: 1Gi}}}}]
`),
    );
    expect(statefulSet.spec).toMatchObject({
      replicas: 1,
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      revisionHistoryLimit: 10,
    });
    expect(statefulSet.spec.volumeClaimTemplates?.[0].spec?.volumeMode).toBe('Filesystem');
  });

  it('defaults Services by type', () => {
    const services = decodeManifests(
      `
apiVersion: v1
kind: Service
metadata: {name: a}
spec: {ports: [{port: 80}, {port: 53, protocol: UDP, targetPort: dns}], clusterIP: 10.0.0.5}
---
apiVersion: v1
kind: Service
metadata: {name: b}
spec: {type: NodePort, sessionAffinity: ClientIP, ports: [{port: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: c}
spec: {type: LoadBalancer, ports: [{port: 80}]}
`,
      's.yaml',
    ).map((entry) => (entry.type === 'object' ? applyDefaults(entry.object as Service) : undefined));
    expect(services[0]?.spec).toEqual({
      ports: [
        { port: 80, protocol: 'TCP', targetPort: 80 },
        { port: 53, protocol: 'UDP', targetPort: 'dns' },
      ],
      clusterIP: '10.0.0.5',
      clusterIPs: ['10.0.0.5'],
      type: 'ClusterIP',
      sessionAffinity: 'None',
      internalTrafficPolicy: 'Cluster',
    });
    expect(services[1]?.spec).toMatchObject({
      sessionAffinity: 'ClientIP',
      sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
    });
    expect(services[2]?.spec).toMatchObject({
      allocateLoadBalancerNodePorts: true,
      externalTrafficPolicy: 'Cluster',
    });
  });

  it('defaults Secrets, Namespaces and Nodes', () => {
    const secret = applyDefaults(
      decode<Secret>('apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: hunter2}\n'),
    );
    expect(secret).toMatchObject({ type: 'Opaque', data: { password: 'aHVudGVyMg==' } });
    expect(secret.stringData).toBeUndefined();

    const namespace = applyDefaults(
      decode<Namespace>('apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a, namespace: x}\n'),
    );
    expect(namespace.metadata).toEqual({
      name: 'team-a',
      labels: { 'kubernetes.io/metadata.name': 'team-a' },
    });
    expect(namespace.status?.phase).toBe('Active');

    const node = applyDefaults(
      decode<Node>(
        'apiVersion: v1\nkind: Node\nmetadata: {name: node-1}\nstatus: {capacity: {cpu: 4, memory: 8Gi}}\n',
      ),
    );
    expect(node.status?.allocatable).toEqual({ cpu: '4', memory: '8Gi' });
    expect(node.metadata.namespace).toBeUndefined();
  });
});
