/**
 * Validation, table-driven: every file in testdata/invalid is one bad manifest, with the
 * exact errors Kubernetes would report for it (field path and message); every manifest in
 * manifests/ and testdata/valid is clean. Then inline cases too big for a file, and updates.
 */
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import {
  applyDefaults,
  ConfigMap,
  decodeManifests,
  Deployment,
  FieldError,
  KubeObject,
  Pod,
  Secret,
  Service,
  StatefulSet,
  unknownFieldMessage,
  validate,
  validateUpdate,
  withoutFollowUps,
} from './index';

const TESTDATA = join(__dirname, 'testdata');
const REPO = join(__dirname, '..', '..');

/** Every problem of a manifest, as `bosun apply --dry-run=client` finds them. */
function problemsOf(text: string, source: string): string[] {
  const problems: string[] = [];
  for (const entry of decodeManifests(text, source)) {
    if (entry.type === 'parse-error') problems.push(`parse error: ${entry.message}`);
    else if (entry.type === 'unknown-kind') problems.push(...entry.errors.map(String));
    else {
      problems.push(...entry.errors.map(String), ...entry.unknownFields.map(unknownFieldMessage));
      problems.push(...withoutFollowUps(validate(applyDefaults(entry.object)), entry.errors).map(String));
    }
  }
  return problems;
}

function decodeOne<T extends KubeObject>(yaml: string): T {
  const [entry] = decodeManifests(yaml, 'inline.yaml');
  if (entry?.type !== 'object') throw new Error(`not an object: ${JSON.stringify(entry)}`);
  return applyDefaults(entry.object) as T;
}

const BAD_MANIFESTS: [string, string[]][] = [
  [
    'annotation-key-with-space.yaml',
    [
      "metadata.annotations: Invalid value: \"my note\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ],
  ],
  [
    'api-version-old.yaml',
    ['apiVersion: Unsupported value: "extensions/v1beta1": supported values: "apps/v1"'],
  ],
  ['boolean-quoted.yaml', ['spec.hostNetwork: Invalid value: "yes": must be a boolean']],
  [
    'configmap-key-in-both.yaml',
    ['data[logo]: Invalid value: "logo": duplicate of key present in binaryData'],
  ],
  [
    'configmap-key-invalid.yaml',
    [
      "data[my key]: Invalid value: \"my key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    ],
  ],
  [
    'configmap-name-too-long.yaml',
    [
      'metadata.name: Invalid value: "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": must be no more than 253 characters',
    ],
  ],
  [
    'configmap-value-number.yaml',
    [
      'data[PORT]: Invalid value: 8080: must be a string',
      'data[DEBUG]: Invalid value: true: must be a string',
    ],
  ],
  ['container-name-duplicate-init.yaml', ['spec.initContainers[0].name: Duplicate value: "app"']],
  [
    'container-name-invalid.yaml',
    [
      "spec.containers[0].name: Invalid value: \"My_App\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ],
  ],
  ['container-port-missing.yaml', ['spec.containers[0].ports[0].containerPort: Required value']],
  [
    'container-port-out-of-range.yaml',
    [
      'spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive',
    ],
  ],
  [
    'container-restart-policy.yaml',
    ['spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers'],
  ],
  ['containers-not-a-list.yaml', ['spec.containers: Invalid value: {...}: must be an array']],
  ['deployment-image-missing.yaml', ['spec.template.spec.containers[0].image: Required value']],
  ['deployment-missing-name.yaml', ['metadata.name: Required value: name or generateName is required']],
  [
    'deployment-progress-deadline.yaml',
    ['spec.progressDeadlineSeconds: Invalid value: 20: must be greater than minReadySeconds'],
  ],
  [
    'deployment-recreate-with-rolling-update.yaml',
    ["spec.strategy.rollingUpdate: Forbidden: may not be specified when strategy `type` is 'Recreate'"],
  ],
  [
    'deployment-replicas-negative.yaml',
    ['spec.replicas: Invalid value: -1: must be greater than or equal to 0'],
  ],
  [
    'deployment-replicas-overflow.yaml',
    ['spec.replicas: Invalid value: 3000000000: must be an integer between -2147483648 and 2147483647'],
  ],
  ['deployment-replicas-string.yaml', ['spec.replicas: Invalid value: "three": must be an integer']],
  [
    'deployment-restart-policy-never.yaml',
    ['spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'],
  ],
  [
    'deployment-selector-bad-operator.yaml',
    [
      'spec.selector.matchExpressions[0].operator: Invalid value: "Equals": not a valid selector operator',
      'spec.selector: Invalid value: {"matchExpressions":[{"key":"app","operator":"Equals","values":["web"]}]}: invalid label selector',
    ],
  ],
  [
    'deployment-selector-empty.yaml',
    ['spec.selector: Invalid value: {}: empty selector is invalid for deployment'],
  ],
  [
    'deployment-selector-mismatch.yaml',
    [
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
    ],
  ],
  [
    'deployment-selector-missing.yaml',
    [
      'spec.selector: Required value',
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"web"}: `selector` does not match template `labels`',
    ],
  ],
  [
    'deployment-strategy-unsupported.yaml',
    ['spec.strategy: Unsupported value: {"type":"BlueGreen"}: supported values: "Recreate", "RollingUpdate"'],
  ],
  [
    'env-config-map-key-missing.yaml',
    ['spec.containers[0].env[0].valueFrom.configMapKeyRef.key: Required value'],
  ],
  [
    'env-field-ref-unsupported.yaml',
    [
      'spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: "status.phase": supported values: "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"',
      'spec.containers[0].env[1].valueFrom.fieldRef.fieldPath: Invalid value: "metadata.whatever": error converting fieldPath: field label not supported: metadata.whatever',
    ],
  ],
  [
    'env-from-without-source.yaml',
    ['spec.containers[0].envFrom: Invalid value: "": must specify one of: `configMapRef` or `secretRef`'],
  ],
  [
    'env-name-with-equals.yaml',
    [
      'spec.containers[0].env[0].name: Invalid value: "MODE=fast": a valid environment variable name must consist only of printable ASCII characters other than \'=\'',
    ],
  ],
  [
    'env-resource-field-ref-unsupported.yaml',
    [
      'spec.containers[0].env[0].valueFrom.resourceFieldRef.resource: Unsupported value: "limits.gpu": supported values: "limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu", "requests.ephemeral-storage", "requests.memory"',
    ],
  ],
  [
    'env-secret-key-invalid.yaml',
    [
      "spec.containers[0].env[0].valueFrom.secretKeyRef.key: Invalid value: \"db password\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    ],
  ],
  [
    'env-value-and-value-from.yaml',
    [
      'spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when `value` is not empty',
    ],
  ],
  [
    'env-value-from-empty.yaml',
    [
      'spec.containers[0].env[0].valueFrom: Invalid value: "": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`',
    ],
  ],
  ['host-port-conflict.yaml', ['spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"']],
  [
    'image-pull-policy-unsupported.yaml',
    [
      'spec.containers[0].imagePullPolicy: Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"',
    ],
  ],
  [
    'init-container-with-probe.yaml',
    [
      'spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always',
    ],
  ],
  ['kind-missing.yaml', ['kind: Required value']],
  [
    'kind-unknown.yaml',
    [
      'kind: Unsupported value: "Frobnicator": supported values: "Binding", "ConfigMap", "Deployment", "EndpointSlice", "Endpoints", "Event", "Lease", "Namespace", "Node", "Pod", "ReplicaSet", "Secret", "Service", "StatefulSet"',
    ],
  ],
  [
    'label-key-prefix-uppercase.yaml',
    [
      "metadata.labels: Invalid value: \"Example.com/app\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ],
  ],
  [
    'label-key-starts-with-dash.yaml',
    [
      "metadata.labels: Invalid value: \"-bad\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ],
  ],
  [
    'label-key-two-slashes.yaml',
    [
      "metadata.labels: Invalid value: \"a/b/c\": a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ],
  ],
  [
    'label-value-too-long.yaml',
    [
      'metadata.labels: Invalid value: "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv": must be no more than 63 characters',
    ],
  ],
  [
    'label-value-with-space.yaml',
    [
      "metadata.labels: Invalid value: \"hello world\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
    ],
  ],
  [
    'endpointslice-invalid.yaml',
    [
      'endpoints[0].addresses: Required value: must contain at least 1 address',
      'endpoints[1].addresses[0]: Invalid value: "fe80::1": must be a valid IPv4 address',
      'ports[1].name: Duplicate value: "http"',
      'ports[1].port: Invalid value: 70000: must be between 1 and 65535, inclusive',
    ],
  ],
  [
    'lease-durations-invalid.yaml',
    [
      'spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0',
      'spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0',
    ],
  ],
  [
    'liveness-success-threshold.yaml',
    ['spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1'],
  ],
  ['metadata-not-an-object.yaml', ['metadata: Invalid value: [...]: must be an object']],
  ['namespace-name-with-dot.yaml', ['metadata.name: Invalid value: "team.a": must not contain dots']],
  [
    'node-affinity-invalid.yaml',
    [
      "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
      'spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].operator: Invalid value: "Like": not a valid selector operator',
      'spec.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: Invalid value: 0: must be in the range 1-100',
    ],
  ],
  [
    'node-taint-effect-unsupported.yaml',
    [
      'spec.taints[0].effect: Unsupported value: "NoRun": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
    ],
  ],
  [
    'node-taints-duplicate.yaml',
    [
      'spec.taints[1]: Duplicate value: {"key":"dedicated","value":"other","effect":"NoSchedule"}: taints must be unique by key and effect pair',
      'spec.taints[2].effect: Required value',
    ],
  ],
  [
    'pod-generate-name-invalid.yaml',
    [
      "metadata.generateName: Invalid value: \"Web-\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ],
  ],
  [
    'pod-name-uppercase.yaml',
    [
      "metadata.name: Invalid value: \"Foo_1\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ],
  ],
  ['pod-no-containers.yaml', ['spec.containers: Required value']],
  [
    'pod-restart-policy-unsupported.yaml',
    ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'],
  ],
  ['port-name-duplicate.yaml', ['spec.containers[0].ports[1].name: Duplicate value: "http"']],
  [
    'port-name-invalid.yaml',
    [
      'spec.containers[0].ports[0].name: Invalid value: "HTTP_port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      'spec.containers[0].ports[1].name: Invalid value: "metricsendpoint1": must be no more than 15 characters',
    ],
  ],
  [
    'port-name-no-letter.yaml',
    ['spec.containers[0].ports[0].name: Invalid value: "8080": must contain at least one letter (a-z)'],
  ],
  [
    'port-protocol-unsupported.yaml',
    [
      'spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"',
    ],
  ],
  [
    'probe-negative-threshold.yaml',
    [
      'spec.containers[0].readinessProbe.periodSeconds: Invalid value: -5: must be greater than or equal to 0',
      'spec.containers[0].readinessProbe.failureThreshold: Invalid value: -1: must be greater than or equal to 0',
    ],
  ],
  [
    'probe-no-handler.yaml',
    ['spec.containers[0].readinessProbe: Required value: must specify a handler type'],
  ],
  [
    'probe-port-missing.yaml',
    [
      'spec.containers[0].readinessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive',
    ],
  ],
  [
    'probe-port-name-invalid.yaml',
    [
      'spec.containers[0].livenessProbe.httpGet.port: Invalid value: "Web_Port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
    ],
  ],
  [
    'probe-scheme-unsupported.yaml',
    [
      'spec.containers[0].readinessProbe.httpGet.scheme: Unsupported value: "FTP": supported values: "HTTP", "HTTPS"',
    ],
  ],
  [
    'probe-two-handlers.yaml',
    ['spec.containers[0].livenessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type'],
  ],
  [
    'quantity-bad-suffix.yaml',
    ['spec.containers[0].resources.limits[memory]: Invalid value: "1K": unable to parse quantity\'s suffix'],
  ],
  [
    'quantity-invalid.yaml',
    [
      'spec.containers[0].resources.limits[cpu]: Invalid value: "lots": quantities must match the regular expression \'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$\'',
    ],
  ],
  [
    'quantity-negative.yaml',
    [
      'spec.containers[0].resources.requests[memory]: Invalid value: "-1Gi": must be greater than or equal to 0',
    ],
  ],
  [
    'replicaset-selector-mismatch.yaml',
    [
      'spec.template.metadata.labels: Invalid value: map[string]string{"tier":"backend"}: `selector` does not match template `labels`',
    ],
  ],
  [
    'requests-exceed-limits.yaml',
    [
      'spec.template.spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
    ],
  ],
  [
    'resource-name-unknown.yaml',
    [
      'spec.containers[0].resources.limits[cpus]: Invalid value: "cpus": must be a standard resource for containers',
      'spec.containers[0].resources.requests[cpus]: Invalid value: "cpus": must be a standard resource for containers',
    ],
  ],
  [
    'rolling-update-bad-percentages.yaml',
    [
      "spec.strategy.rollingUpdate.maxSurge: Invalid value: lots: a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
      'spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 150%: must not be greater than 100%',
    ],
  ],
  [
    'rolling-update-both-zero.yaml',
    ['spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0'],
  ],
  [
    'secret-data-not-base64.yaml',
    ['data[password]: Invalid value: "<redacted>": illegal base64 data at input byte 7'],
  ],
  ['secret-tls-keys-missing.yaml', ['data[tls.crt]: Required value', 'data[tls.key]: Required value']],
  [
    'service-cluster-ip-node-port.yaml',
    ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"],
  ],
  ['service-external-name-missing.yaml', ['spec.externalName: Required value']],
  [
    'service-headless-node-port.yaml',
    ['spec.clusterIPs[0]: Invalid value: "None": may not be set to \'None\' for NodePort services'],
  ],
  [
    'service-name-starts-with-digit.yaml',
    [
      "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    ],
  ],
  [
    'service-name-with-dot.yaml',
    [
      "metadata.name: Invalid value: \"web.svc\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    ],
  ],
  [
    'service-node-port-out-of-range.yaml',
    [
      'spec.ports[0].nodePort: Invalid value: 40000: provided port is not in the valid range. The range of valid ports is 30000-32767',
    ],
  ],
  [
    'service-port-zero.yaml',
    ['spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive'],
  ],
  ['service-ports-duplicate.yaml', ['spec.ports[1]: Duplicate value: {"protocol":"TCP","port":80}']],
  [
    'service-ports-unnamed.yaml',
    ['spec.ports[0].name: Required value', 'spec.ports[1].name: Required value'],
  ],
  [
    'service-session-affinity-unsupported.yaml',
    ['spec.sessionAffinity: Unsupported value: "Sticky": supported values: "ClientIP", "None"'],
  ],
  [
    'service-target-port-name-invalid.yaml',
    [
      'spec.ports[0].targetPort: Invalid value: "HTTP": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      'spec.ports[0].targetPort: Invalid value: "HTTP": must contain at least one letter (a-z)',
    ],
  ],
  [
    'service-type-unsupported.yaml',
    [
      'spec.type: Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"',
    ],
  ],
  ['service-without-ports.yaml', ['spec.ports: Required value']],
  ['statefulset-name-with-dot.yaml', ['metadata.name: Invalid value: "db.main": must not contain dots']],
  [
    'statefulset-policies-invalid.yaml',
    [
      "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
      'spec.updateStrategy: Invalid value: {"type":"BlueGreen"}: must be \'RollingUpdate\' or \'OnDelete\'',
    ],
  ],
  [
    'toleration-empty-key-equal.yaml',
    [
      'spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"',
    ],
  ],
  [
    'toleration-exists-with-value.yaml',
    ['spec.tolerations[0].operator: Invalid value: "gpu": value must be empty when `operator` is \'Exists\''],
  ],
  [
    'toleration-operator-unsupported.yaml',
    ['spec.tolerations[0].operator: Unsupported value: "Like": supported values: "Equal", "Exists"'],
  ],
  [
    'toleration-seconds-no-execute.yaml',
    [
      'spec.tolerations[0].effect: Invalid value: "NoSchedule": effect must be \'NoExecute\' when `tolerationSeconds` is set',
    ],
  ],
  ['unknown-field-typo.yaml', ['unknown field "spec.template.spec.containers[0].imagePullPolicyy"']],
  [
    'volume-default-mode-too-big.yaml',
    [
      'spec.volumes[0].configMap.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive',
    ],
  ],
  ['volume-host-path-missing.yaml', ['spec.volumes[0].hostPath.path: Required value']],
  [
    'volume-item-path-escapes.yaml',
    [
      'spec.volumes[0].configMap.items[0].path: Invalid value: "/etc/a": must be a relative path',
      'spec.volumes[0].configMap.items[1].path: Invalid value: "../b": must not contain \'..\'',
    ],
  ],
  [
    'volume-mount-path-duplicate.yaml',
    ['spec.containers[0].volumeMounts[1].mountPath: Invalid value: "/data": must be unique'],
  ],
  [
    'volume-mount-unknown-volume.yaml',
    ['spec.template.spec.containers[0].volumeMounts[0].name: Not found: "data"'],
  ],
  ['volume-name-duplicate.yaml', ['spec.volumes[1].name: Duplicate value: "data"']],
  [
    'volume-name-invalid.yaml',
    [
      "spec.volumes[0].name: Invalid value: \"Data_Vol\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
      'spec.containers[0].volumeMounts[0].name: Not found: "Data_Vol"',
    ],
  ],
  ['volume-secret-name-missing.yaml', ['spec.volumes[0].secret.secretName: Required value']],
  [
    'volume-two-sources.yaml',
    [
      'spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type',
      'spec.containers[0].volumeMounts[0].name: Not found: "data"',
    ],
  ],
];

describe('bad manifests in testdata/invalid', () => {
  it.each(BAD_MANIFESTS)('%s', (file, expected) => {
    const text = readFileSync(join(TESTDATA, 'invalid', file), 'utf8');
    expect(problemsOf(text, file)).toEqual(expected);
  });

  it('has a row for every file and a file for every row', () => {
    const files = readdirSync(join(TESTDATA, 'invalid')).sort();
    expect(BAD_MANIFESTS.map(([file]) => file).sort()).toEqual(files);
    expect(files.length).toBeGreaterThanOrEqual(60);
  });
});

describe('good manifests', () => {
  const sources = [
    ...['hello', 'two-tier'].flatMap((dir) =>
      readdirSync(join(REPO, 'manifests', dir)).map((file) => join(REPO, 'manifests', dir, file)),
    ),
    ...readdirSync(join(TESTDATA, 'valid')).map((file) => join(TESTDATA, 'valid', file)),
  ];

  it.each(sources)('%s decodes without unknown fields and validates clean', (path) => {
    const entries = decodeManifests(readFileSync(path, 'utf8'), path);
    expect(entries.length).toBeGreaterThan(0);
    expect(problemsOf(readFileSync(path, 'utf8'), path)).toEqual([]);
  });
});

describe('inline bad objects', () => {
  const pod = (extra: Partial<Pod['metadata']> = {}): Pod =>
    applyDefaults({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', ...extra },
      spec: { containers: [{ name: 'app', image: 'nginx:1.25' }] },
    });

  it('rejects annotations over 256 KiB in total', () => {
    const errors = validate(pod({ annotations: { a: 'x'.repeat(200 * 1024), b: 'y'.repeat(60 * 1024) } }));
    expect(errors.map(String)).toEqual(['metadata.annotations: Too long: must have at most 262144 bytes']);
  });

  it('accepts annotations of exactly 256 KiB', () => {
    expect(validate(pod({ annotations: { a: 'x'.repeat(256 * 1024 - 1) } }))).toEqual([]);
  });

  it('rejects ConfigMap data over 1 MiB, pointing at the whole object', () => {
    const configMap: ConfigMap = applyDefaults({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'big' },
      data: { a: 'x'.repeat(600 * 1024), b: 'y'.repeat(600 * 1024) },
    });
    expect(validate(configMap).map(String)).toEqual(['Too long: must have at most 1048576 bytes']);
  });

  it('rejects Secret data over 1 MiB, counting decoded bytes', () => {
    const secret: Secret = applyDefaults({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'big' },
      stringData: { key: 'x'.repeat(1024 * 1024 + 1) },
    });
    expect(validate(secret).map(String)).toEqual(['data: Too long: must have at most 1048576 bytes']);
  });

  it('needs no name when generateName is given: the apiserver generates it first', () => {
    expect(validate(pod({ name: undefined, generateName: 'web-' }))).toEqual([]);
  });

  it('says which problem comes from the value and which from the field, per Kubernetes', () => {
    const error = FieldError.invalid('spec.replicas', -1, 'must be greater than or equal to 0');
    expect(error.toString()).toBe('spec.replicas: Invalid value: -1: must be greater than or equal to 0');
    expect(error.body()).toBe('Invalid value: -1: must be greater than or equal to 0');
    expect(FieldError.required('spec.template.spec.containers[0].image').toString()).toBe(
      'spec.template.spec.containers[0].image: Required value',
    );
    expect(
      FieldError.notSupported('spec.restartPolicy', 'Sometimes', ['Always', 'OnFailure', 'Never']).toString(),
    ).toBe(
      'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
    );
    expect(FieldError.tooMany('spec.containers', -1, 10).toString()).toBe(
      'spec.containers: Too many: must have at most 10 items',
    );
    expect(FieldError.tooMany('spec.containers', 12, 10).toString()).toBe(
      'spec.containers: Too many: 12: must have at most 10 items',
    );
  });
});

describe('validateUpdate', () => {
  const deployment = decodeOne<Deployment>(
    readFileSync(join(REPO, 'manifests', 'hello', 'deployment.yaml'), 'utf8'),
  );

  it('accepts an update that changes what may change', () => {
    const next = structuredClone(deployment);
    next.spec.replicas = 5;
    next.spec.template.spec.containers[0].image = 'bosun/hello:v2';
    expect(validateUpdate(deployment, next)).toEqual([]);
  });

  it('refuses to change a Deployment selector, and still validates the new object', () => {
    const next = structuredClone(deployment);
    next.spec.selector = { matchLabels: { app: 'other' } };
    next.spec.template.metadata.labels = { app: 'other' };
    next.spec.replicas = -2;
    expect(validateUpdate(deployment, next).map(String)).toEqual([
      'spec.selector: Invalid value: {"matchLabels":{"app":"other"}}: field is immutable',
      'spec.replicas: Invalid value: -2: must be greater than or equal to 0',
    ]);
  });

  it('refuses to rename, move or re-identify an object', () => {
    const previous = { ...deployment, metadata: { ...deployment.metadata, uid: 'u1', generation: 3 } };
    const next = structuredClone(previous);
    next.metadata.name = 'hello2';
    next.metadata.namespace = 'other';
    next.metadata.uid = 'u2';
    next.metadata.generation = 2;
    expect(validateUpdate(previous, next).map(String)).toEqual([
      'metadata.generation: Invalid value: 2: must not be decremented',
      'metadata.name: Invalid value: "hello2": field is immutable',
      'metadata.namespace: Invalid value: "other": field is immutable',
      'metadata.uid: Invalid value: "u2": field is immutable',
    ]);
  });

  it('refuses to change the kind', () => {
    const configMap = decodeOne<ConfigMap>('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hello}\n');
    expect(validateUpdate(deployment, configMap).map(String)).toEqual([
      'kind: Invalid value: "ConfigMap": field is immutable',
    ]);
  });

  const pod = decodeOne<Pod>(`
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  activeDeadlineSeconds: 600
  tolerations: [{key: a, operator: Exists}]
  containers:
    - name: app
      image: nginx:1.25
      ports: [{containerPort: 80}]
`);

  it('lets a Pod change images, lower its deadline and add tolerations', () => {
    const next = structuredClone(pod);
    next.spec.containers[0].image = 'nginx:1.26';
    next.spec.activeDeadlineSeconds = 300;
    next.spec.tolerations!.push({ key: 'b', operator: 'Exists' });
    expect(validateUpdate(pod, next)).toEqual([]);
  });

  it('lists what else a Pod update changed', () => {
    const next = structuredClone(pod);
    next.spec.containers[0].ports![0].containerPort = 8080;
    next.spec.restartPolicy = 'Never';
    const errors = validateUpdate(pod, next);
    expect(errors).toHaveLength(1);
    expect(errors[0].type).toBe('FieldValueForbidden');
    expect(errors[0].toString()).toBe(
      'spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,' +
        '`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),' +
        '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n' +
        'changed: spec.containers[0].ports[0].containerPort, spec.restartPolicy',
    );
  });

  it('refuses to add containers, raise the deadline or drop tolerations', () => {
    const more = structuredClone(pod);
    more.spec.containers.push({ ...more.spec.containers[0], name: 'second' });
    expect(validateUpdate(pod, more).map(String)).toEqual([
      'spec.containers: Forbidden: pod updates may not add or remove containers',
    ]);

    const later = structuredClone(pod);
    later.spec.activeDeadlineSeconds = 900;
    expect(validateUpdate(pod, later).map(String)).toEqual([
      'spec.activeDeadlineSeconds: Invalid value: 900: must be less than or equal to previous value',
    ]);

    const fewer = structuredClone(pod);
    fewer.spec.tolerations = [];
    expect(validateUpdate(pod, fewer).map(String)).toEqual([
      'spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds',
    ]);
  });

  it("keeps a Service's cluster IP", () => {
    const service = decodeOne<Service>(
      'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {clusterIP: 10.0.0.1, ports: [{port: 80}]}\n',
    );
    const moved = structuredClone(service);
    moved.spec.clusterIP = '10.0.0.2';
    moved.spec.clusterIPs = ['10.0.0.2'];
    expect(validateUpdate(service, moved).map(String)).toEqual([
      'spec.clusterIPs[0]: Invalid value: []string{"10.0.0.2"}: may not change once set',
    ]);
    const dropped = structuredClone(service);
    delete dropped.spec.clusterIP;
    delete dropped.spec.clusterIPs;
    expect(validateUpdate(service, dropped).map(String)).toEqual([
      'spec.clusterIPs[0]: Invalid value: []string{}: primary clusterIP can not be unset',
    ]);
  });

  it('keeps immutable ConfigMaps and Secrets as they are', () => {
    const configMap = decodeOne<ConfigMap>(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nimmutable: true\ndata: {a: "1"}\n',
    );
    const changed = structuredClone(configMap);
    changed.data = { a: '2' };
    changed.immutable = false;
    expect(validateUpdate(configMap, changed).map(String)).toEqual([
      'immutable: Forbidden: field is immutable when `immutable` is set',
      'data: Forbidden: field is immutable when `immutable` is set',
    ]);

    const secret = decodeOne<Secret>('apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ntype: Opaque\n');
    const retyped = structuredClone(secret);
    retyped.type = 'kubernetes.io/basic-auth';
    retyped.data = { username: 'YQ==' };
    expect(validateUpdate(secret, retyped).map(String)).toEqual([
      'type: Invalid value: "kubernetes.io/basic-auth": field is immutable',
    ]);
  });

  it('lets a StatefulSet change only replicas, template, updateStrategy and the like', () => {
    const text = readFileSync(join(TESTDATA, 'valid', 'statefulset.yaml'), 'utf8').split('---')[1];
    const statefulSet = decodeOne<StatefulSet>(text);
    const scaled = structuredClone(statefulSet);
    scaled.spec.replicas = 5;
    expect(validateUpdate(statefulSet, scaled)).toEqual([]);
    const renamed = structuredClone(statefulSet);
    renamed.spec.serviceName = 'other';
    expect(validateUpdate(statefulSet, renamed).map(String)).toEqual([
      "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', " +
        "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ]);
  });
});
