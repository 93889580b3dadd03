import { ApiError, DeleteOptionsSchema, fromUnstructured, RESOURCES, ScaleSchema } from '../api';
import { Schema } from '../api/schema';
import { startLocalApiServer } from './local';
import {
  decodeKubernetesProtobuf,
  FieldSpec,
  MessageType,
  messageFor,
  PROTOBUF_MEDIA_TYPE,
  ProtoReader,
} from './protobuf';

/** A small protobuf writer, so each test states its message field by field. */
class Writer {
  private readonly bytes: number[] = [];

  raw(bytes: ArrayLike<number>): this {
    for (let i = 0; i < bytes.length; i++) this.bytes.push(bytes[i]);
    return this;
  }

  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    do {
      const byte = Number(v & 0x7fn);
      v >>= 7n;
      this.bytes.push(v > 0n ? byte | 0x80 : byte);
    } while (v > 0n);
    return this;
  }

  tag(field: number, wireType: number): this {
    return this.varint((field << 3) | wireType);
  }

  int(field: number, value: number | bigint): this {
    return this.tag(field, 0).varint(value);
  }

  bool(field: number, value: boolean): this {
    return this.int(field, value ? 1 : 0);
  }

  bytesField(field: number, value: ArrayLike<number>): this {
    return this.tag(field, 2).varint(value.length).raw(value);
  }

  string(field: number, value: string): this {
    return this.bytesField(field, Buffer.from(value, 'utf8'));
  }

  message(field: number, build: (w: Writer) => void): this {
    const inner = new Writer();
    build(inner);
    return this.bytesField(field, inner.finish());
  }

  /** A map<string, string> entry. */
  entry(field: number, key: string, value: string): this {
    return this.message(field, (e) => e.string(1, key).string(2, value));
  }

  bytesEntry(field: number, key: string, value: ArrayLike<number>): this {
    return this.message(field, (e) => e.string(1, key).bytesField(2, value));
  }

  quantityEntry(field: number, key: string, value: string): this {
    return this.message(field, (e) => e.string(1, key).message(2, (q) => q.string(1, value)));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

function pb(build: (w: Writer) => void): Uint8Array {
  const w = new Writer();
  build(w);
  return w.finish();
}

/** The `k8s\0` + runtime.Unknown body a Go client sends. */
function envelope(apiVersion: string, kind: string, raw: Uint8Array, extra?: (w: Writer) => void): Buffer {
  const unknown = pb((w) => {
    w.message(1, (t) => t.string(1, apiVersion).string(2, kind));
    w.bytesField(2, raw);
    w.string(3, '').string(4, '');
    extra?.(w);
  });
  return Buffer.concat([Buffer.from('k8s\0', 'latin1'), unknown]);
}

/** ObjectMeta as Go writes it for a new object: every non-pointer field present, zero or not. */
function objectMeta(w: Writer, name: string, labels: Record<string, string> = {}): void {
  w.string(1, name).string(2, '').string(3, '').string(4, '').string(5, '').string(6, '');
  w.int(7, 0);
  w.message(8, () => undefined); // zero creationTimestamp: an empty Time
  for (const [k, v] of Object.entries(labels)) w.entry(11, k, v);
}

function intOrString(w: Writer, field: number, value: number | string): void {
  w.message(field, (i) =>
    typeof value === 'number'
      ? i.int(1, 0).int(2, value).string(3, '')
      : i.int(1, 1).int(2, 0).string(3, value),
  );
}

function decodeError(body: Uint8Array): ApiError {
  try {
    decodeKubernetesProtobuf(body);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('expected a decoding error');
}

function schemaOf(apiVersion: string, kind: string) {
  const info = RESOURCES.find((r) => r.apiVersion === apiVersion && r.kind === kind);
  if (!info) throw new Error(`no resource ${apiVersion} ${kind}`);
  return info.schema;
}

/** The object passes bosun's own strict JSON decoding: no type errors, no unknown fields. */
function expectCleanJson(object: Record<string, unknown>): void {
  const { errors, unknownFields } = fromUnstructured(
    schemaOf(object.apiVersion as string, object.kind as string),
    object,
  );
  expect(errors.map((e) => `${e.field}: ${e.detail}`)).toEqual([]);
  expect(unknownFields).toEqual([]);
}

describe('wire reader', () => {
  it('reads varints of every length, including 64-bit and negative values', () => {
    const cases: [number | bigint, number, number][] = [
      [0, 0, 0],
      [1, 1, 0],
      [300, 300, 0],
      [2 ** 31, 2 ** 31, 0],
      [2 ** 32 + 5, 5, 1],
      [-1, 0xffffffff, 0xffffffff],
    ];
    for (const [value, lo, hi] of cases) {
      const reader = new ProtoReader(pb((w) => w.varint(value)));
      expect(reader.varint()).toEqual({ lo, hi });
      expect(reader.done).toBe(true);
    }
  });

  it('reads fixed-width fields and reports their wire types', () => {
    const bytes = pb((w) => w.tag(1, 5).raw([1, 2, 3, 4]).tag(2, 1).raw([1, 2, 3, 4, 5, 6, 7, 8]));
    const reader = new ProtoReader(bytes);
    expect(reader.field()).toEqual({ field: 1, wireType: 5, value: Uint8Array.of(1, 2, 3, 4) });
    expect(reader.field()).toMatchObject({ field: 2, wireType: 1 });
    expect(reader.done).toBe(true);
  });

  it('rejects truncated and overlong varints and runaway lengths', () => {
    expect(() => new ProtoReader(Uint8Array.of(0x80, 0x80)).varint()).toThrow('truncated varint');
    expect(() => new ProtoReader(new Uint8Array(11).fill(0xff)).varint()).toThrow('longer than 10 bytes');
    expect(() => new ProtoReader(Uint8Array.of(0x0a, 0x05, 1, 2)).field()).toThrow(
      /truncated: a 5-byte field/,
    );
    expect(() => new ProtoReader(Uint8Array.of(0x0b)).field()).toThrow(/wire type 3/);
  });
});

describe('decodeKubernetesProtobuf', () => {
  it('decodes a Deployment with a full pod template to the object its JSON would be', () => {
    const container = (c: Writer) => {
      c.string(1, 'web').string(2, 'bosun/hello:local');
      c.string(3, 'node').string(3, 'server.js');
      c.string(4, '--port=8080');
      c.string(5, '');
      c.message(6, (p) => p.string(1, 'http').int(2, 0).int(3, 8080).string(4, 'TCP').string(5, ''));
      c.message(6, (p) => p.string(1, '').int(2, 0).int(3, 9090).string(4, 'UDP').string(5, ''));
      c.message(7, (e) => e.string(1, 'GREETING').string(2, 'hello'));
      c.message(7, (e) =>
        e
          .string(1, 'FROM_CONFIG')
          .string(2, '')
          .message(3, (s) =>
            s.message(3, (k) =>
              k
                .message(1, (r) => r.string(1, 'settings'))
                .string(2, 'mode')
                .bool(3, true),
            ),
          ),
      );
      c.message(7, (e) =>
        e
          .string(1, 'POD_NAME')
          .string(2, '')
          .message(3, (s) => s.message(1, (f) => f.string(1, 'v1').string(2, 'metadata.name'))),
      );
      c.message(8, (r) => {
        r.quantityEntry(1, 'cpu', '500m').quantityEntry(1, 'memory', '128Mi');
        r.quantityEntry(2, 'cpu', '100m').quantityEntry(2, 'memory', '64Mi');
      });
      c.message(9, (m) =>
        m.string(1, 'config').bool(2, true).string(3, '/etc/config').string(4, '').string(6, ''),
      );
      c.message(9, (m) => m.string(1, 'scratch').bool(2, false).string(3, '/tmp/scratch').string(4, 'sub'));
      c.message(10, (probe) => {
        probe.message(1, (h) =>
          h.message(2, (g) => {
            g.string(1, '/healthz');
            intOrString(g, 2, 'http');
            g.string(3, '').string(4, 'HTTP');
            g.message(5, (hh) => hh.string(1, 'X-Probe').string(2, 'yes'));
          }),
        );
        probe.int(2, 5).int(3, 1).int(4, 10).int(5, 1).int(6, 3);
      });
      c.message(11, (probe) => {
        probe.message(1, (h) => h.message(3, (t) => (intOrString(t, 1, 8080), t.string(2, ''))));
        probe.int(2, 0).int(3, 0).int(4, 2).int(5, 0).int(6, 0);
      });
      c.message(22, (probe) => {
        probe.message(1, (h) => h.message(1, (x) => x.string(1, 'cat').string(1, '/tmp/ready')));
        probe.int(2, 0).int(3, 0).int(4, 0).int(5, 0).int(6, 30).int(7, 0);
      });
      c.string(13, '/dev/termination-log').string(20, 'File').string(14, 'IfNotPresent');
      c.message(15, (s) =>
        s
          .int(4, 0)
          .bool(5, false)
          .message(1, (cap) => cap.string(2, 'ALL')),
      );
      c.bool(16, false).bool(17, false).bool(18, false);
    };
    const podSpec = (s: Writer) => {
      s.message(1, (v) =>
        v.string(1, 'config').message(2, (src) =>
          src.message(19, (cm) =>
            cm
              .message(1, (r) => r.string(1, 'settings'))
              .message(2, (k) => k.string(1, 'mode').string(2, 'mode.txt').int(3, 0o644))
              .int(3, 0o444),
          ),
        ),
      );
      s.message(1, (v) =>
        v
          .string(1, 'scratch')
          .message(2, (src) =>
            src.message(2, (e) => e.string(1, 'Memory').message(2, (q) => q.string(1, '64Mi'))),
          ),
      );
      s.message(2, container);
      s.string(3, 'Always').int(4, 0).string(6, 'ClusterFirst');
      s.entry(7, 'disk', 'ssd');
      s.string(8, '').string(9, '').bool(21, false).string(10, '');
      s.bool(11, false).bool(12, false).bool(13, false);
      s.message(14, (sc) => sc.int(2, 1000).int(4, 2000).int(4, 3000).int(5, 0));
      s.string(16, '').string(17, '').string(19, 'default-scheduler');
      s.message(22, (t) =>
        t.string(1, 'dedicated').string(2, 'Equal').string(3, 'web').string(4, 'NoSchedule'),
      );
      s.string(24, '');
    };
    const raw = pb((d) => {
      d.message(1, (m) => objectMeta(m, 'web', { app: 'web' }));
      d.message(2, (spec) => {
        spec.int(1, 0);
        spec.message(2, (sel) => sel.entry(1, 'app', 'web'));
        spec.message(3, (t) => {
          t.message(1, (m) => objectMeta(m, '', { app: 'web' }));
          t.message(2, podSpec);
        });
        spec.message(4, (st) => {
          st.string(1, 'RollingUpdate');
          st.message(2, (ru) => (intOrString(ru, 1, 0), intOrString(ru, 2, '25%')));
        });
        spec.int(5, 0).int(6, 10).bool(7, false).int(9, 600);
      });
      d.message(3, (st) => st.int(1, 0).int(2, 0).int(3, 0).int(7, 0).int(4, 0).int(5, 0));
    });

    const decoded = decodeKubernetesProtobuf(envelope('apps/v1', 'Deployment', raw));

    expect(decoded).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', labels: { app: 'web' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            volumes: [
              {
                name: 'config',
                configMap: {
                  name: 'settings',
                  items: [{ key: 'mode', path: 'mode.txt', mode: 0o644 }],
                  defaultMode: 0o444,
                },
              },
              { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
            ],
            containers: [
              {
                name: 'web',
                image: 'bosun/hello:local',
                command: ['node', 'server.js'],
                args: ['--port=8080'],
                ports: [
                  { name: 'http', containerPort: 8080, protocol: 'TCP' },
                  { containerPort: 9090, protocol: 'UDP' },
                ],
                env: [
                  { name: 'GREETING', value: 'hello' },
                  {
                    name: 'FROM_CONFIG',
                    valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode', optional: true } },
                  },
                  {
                    name: 'POD_NAME',
                    valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } },
                  },
                ],
                resources: {
                  limits: { cpu: '500m', memory: '128Mi' },
                  requests: { cpu: '100m', memory: '64Mi' },
                },
                volumeMounts: [
                  { name: 'config', readOnly: true, mountPath: '/etc/config' },
                  { name: 'scratch', mountPath: '/tmp/scratch', subPath: 'sub' },
                ],
                livenessProbe: {
                  httpGet: {
                    path: '/healthz',
                    port: 'http',
                    scheme: 'HTTP',
                    httpHeaders: [{ name: 'X-Probe', value: 'yes' }],
                  },
                  initialDelaySeconds: 5,
                  timeoutSeconds: 1,
                  periodSeconds: 10,
                  successThreshold: 1,
                  failureThreshold: 3,
                },
                readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 2 },
                startupProbe: {
                  exec: { command: ['cat', '/tmp/ready'] },
                  failureThreshold: 30,
                  terminationGracePeriodSeconds: 0,
                },
                terminationMessagePath: '/dev/termination-log',
                terminationMessagePolicy: 'File',
                imagePullPolicy: 'IfNotPresent',
                securityContext: { capabilities: { drop: ['ALL'] }, runAsUser: 0, runAsNonRoot: false },
              },
            ],
            restartPolicy: 'Always',
            terminationGracePeriodSeconds: 0,
            dnsPolicy: 'ClusterFirst',
            nodeSelector: { disk: 'ssd' },
            automountServiceAccountToken: false,
            securityContext: { runAsUser: 1000, supplementalGroups: [2000, 3000], fsGroup: 0 },
            schedulerName: 'default-scheduler',
            tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' }],
          },
        },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: '25%' } },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      },
      status: {},
    });
    expectCleanJson(decoded);
  });

  it('decodes Secret data as base64 of the exact bytes, and keeps a pointer false', () => {
    const binary = [0x00, 0xff, 0x10, 0x80, 0x7f, 0x0a];
    const raw = pb((s) => {
      s.message(1, (m) => objectMeta(m, 'creds'));
      s.bool(5, false);
      s.bytesEntry(2, 'blob', binary);
      s.bytesEntry(2, 'password', Buffer.from('s3cret'));
      s.bytesEntry(2, 'empty', []);
      s.entry(4, 'plain', 'text');
      s.string(3, 'Opaque');
    });
    const decoded = decodeKubernetesProtobuf(envelope('v1', 'Secret', raw));
    expect(decoded).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'creds' },
      immutable: false,
      data: { blob: Buffer.from(binary).toString('base64'), password: 'czNjcmV0', empty: '' },
      stringData: { plain: 'text' },
      type: 'Opaque',
    });
    expectCleanJson(decoded);
  });

  it('decodes a Service targetPort by name, by number, and leaves out an unset one', () => {
    const port = (p: Writer, name: string, number: number, target: number | string) => {
      p.string(1, name).string(2, 'TCP').int(3, number);
      intOrString(p, 4, target);
      p.int(5, 0);
    };
    const raw = pb((s) => {
      s.message(1, (m) => objectMeta(m, 'web'));
      s.message(2, (spec) => {
        spec.message(1, (p) => port(p, 'http', 80, 'http'));
        spec.message(1, (p) => port(p, 'metrics', 9100, 9102));
        spec.message(1, (p) => port(p, 'same', 7000, 0));
        spec.entry(2, 'app', 'web');
        spec.string(3, '').string(4, 'ClusterIP').string(7, '').string(8, '').string(10, '');
        spec.string(11, '').int(12, 0).bool(13, false);
        spec.string(17, 'SingleStack');
      });
      s.message(3, (st) => st.message(1, () => undefined));
    });
    const decoded = decodeKubernetesProtobuf(envelope('v1', 'Service', raw));
    expect(decoded).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'web' },
      spec: {
        ports: [
          { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http' },
          { name: 'metrics', protocol: 'TCP', port: 9100, targetPort: 9102 },
          { name: 'same', protocol: 'TCP', port: 7000 },
        ],
        selector: { app: 'web' },
        type: 'ClusterIP',
        ipFamilyPolicy: 'SingleStack',
      },
      status: { loadBalancer: {} },
    });
    expectCleanJson(decoded);
  });

  it('decodes ConfigMap data and binaryData', () => {
    const raw = pb((c) => {
      c.message(1, (m) => objectMeta(m, 'settings'));
      c.entry(2, 'mode', 'fast');
      c.entry(2, 'multi', 'line one\nline two\n');
      c.bytesEntry(3, 'logo.png', [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    });
    const decoded = decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', raw));
    expect(decoded).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings' },
      data: { mode: 'fast', multi: 'line one\nline two\n' },
      binaryData: { 'logo.png': 'iVBORw0KGgo=' },
    });
    expectCleanJson(decoded);
  });

  it('writes Time with seconds and MicroTime with microseconds, in UTC', () => {
    const seconds = Date.UTC(2025, 0, 2, 3, 4, 5) / 1000;
    const lease = pb((l) => {
      l.message(1, (m) => {
        objectMeta(m, 'node-1');
        m.message(9, (t) => t.int(1, seconds).int(2, 999_000_000)); // Time drops the nanos
        m.int(10, 30);
      });
      l.message(2, (s) => {
        s.string(1, 'node-1').int(2, 40);
        s.message(3, (t) => t.int(1, seconds)); // whole second
        s.message(4, (t) => t.int(1, seconds).int(2, 123_456_789));
        s.int(5, 0);
      });
    });
    expect(decodeKubernetesProtobuf(envelope('coordination.k8s.io/v1', 'Lease', lease))).toEqual({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'node-1', deletionTimestamp: '2025-01-02T03:04:05Z', deletionGracePeriodSeconds: 30 },
      spec: {
        holderIdentity: 'node-1',
        leaseDurationSeconds: 40,
        acquireTime: '2025-01-02T03:04:05.000000Z',
        renewTime: '2025-01-02T03:04:05.123456Z',
        leaseTransitions: 0,
      },
    });
  });

  it('decodes negative int32, large int64, and repeated int64 packed or not', () => {
    const raw = pb((p) => {
      p.message(1, (m) => objectMeta(m, 'p'));
      p.message(2, (s) => {
        s.message(2, (c) => c.string(1, 'c').string(2, 'img'));
        s.int(5, 2 ** 40); // activeDeadlineSeconds, int64
        s.int(25, -5); // priority, int32 sign-extended to ten bytes
        s.message(14, (sc) => {
          sc.int(4, 1).int(4, 2);
          sc.bytesField(
            4,
            pb((packed) => packed.varint(3).varint(2 ** 33)),
          );
        });
      });
    });
    const decoded = decodeKubernetesProtobuf(envelope('v1', 'Pod', raw));
    expect(decoded.spec).toEqual({
      containers: [{ name: 'c', image: 'img' }],
      activeDeadlineSeconds: 2 ** 40,
      priority: -5,
      securityContext: { supplementalGroups: [1, 2, 3, 2 ** 33] },
    });
  });

  it('decodes an Event with its involved object, source and MicroTime eventTime', () => {
    const seconds = Date.UTC(2025, 5, 1, 12, 0, 0) / 1000;
    const raw = pb((e) => {
      e.message(1, (m) => objectMeta(m, 'web.1'));
      e.message(2, (o) =>
        o.string(1, 'Pod').string(2, 'default').string(3, 'web').string(4, 'u-1').string(5, 'v1'),
      );
      e.string(3, 'Started').string(4, 'Started container web');
      e.message(5, (s) => s.string(1, 'kubelet').string(2, 'node-1'));
      e.message(6, (t) => t.int(1, seconds));
      e.message(7, (t) => t.int(1, seconds + 1));
      e.int(8, 2).string(9, 'Normal');
      e.message(10, (t) => t.int(1, seconds).int(2, 5_000));
      e.string(12, '').string(14, 'kubelet').string(15, 'node-1');
    });
    const decoded = decodeKubernetesProtobuf(envelope('v1', 'Event', raw));
    expect(decoded).toEqual({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'web.1' },
      involvedObject: { kind: 'Pod', namespace: 'default', name: 'web', uid: 'u-1', apiVersion: 'v1' },
      reason: 'Started',
      message: 'Started container web',
      source: { component: 'kubelet', host: 'node-1' },
      firstTimestamp: '2025-06-01T12:00:00Z',
      lastTimestamp: '2025-06-01T12:00:01Z',
      count: 2,
      type: 'Normal',
      eventTime: '2025-06-01T12:00:00.000005Z',
      reportingComponent: 'kubelet',
      reportingInstance: 'node-1',
    });
    expectCleanJson(decoded);
  });

  it('decodes DeleteOptions under any group version, and a Scale', () => {
    const options = pb((o) => {
      o.int(1, 0);
      o.message(2, (p) => p.string(1, 'u-1'));
      o.string(4, 'Foreground');
      o.string(5, 'All');
    });
    for (const apiVersion of ['v1', 'meta.k8s.io/v1', 'apps/v1']) {
      const decoded = decodeKubernetesProtobuf(envelope(apiVersion, 'DeleteOptions', options));
      expect(decoded).toEqual({
        apiVersion,
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: 'u-1' },
        propagationPolicy: 'Foreground',
        dryRun: ['All'],
      });
      expect(fromUnstructured(DeleteOptionsSchema, decoded).unknownFields).toEqual([]);
    }
    const scale = pb((s) => {
      s.message(1, (m) => objectMeta(m, 'web'));
      s.message(2, (spec) => spec.int(1, 5));
      s.message(3, (st) => st.int(1, 0).string(2, 'app=web'));
    });
    const decoded = decodeKubernetesProtobuf(envelope('autoscaling/v1', 'Scale', scale));
    expect(decoded).toEqual({
      apiVersion: 'autoscaling/v1',
      kind: 'Scale',
      metadata: { name: 'web' },
      spec: { replicas: 5 },
      status: { replicas: 0, selector: 'app=web' },
    });
    expect(fromUnstructured(ScaleSchema, decoded).errors).toEqual([]);
  });

  it('decodes a v1 List whose RawExtension items hold JSON or nested protobuf', () => {
    const nested = envelope(
      'v1',
      'ConfigMap',
      pb((c) => c.message(1, (m) => objectMeta(m, 'b'))),
    );
    const raw = pb((l) => {
      l.message(1, () => undefined);
      l.message(2, (r) =>
        r.bytesField(1, Buffer.from('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}')),
      );
      l.message(2, (r) => r.bytesField(1, nested));
    });
    expect(decodeKubernetesProtobuf(envelope('v1', 'List', raw))).toEqual({
      apiVersion: 'v1',
      kind: 'List',
      metadata: {},
      items: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'b' } },
      ],
    });
  });

  it('merges a message that occurs twice; the last value of a scalar wins, as in Go', () => {
    const raw = pb((c) => {
      c.message(1, (m) => m.string(1, 'first').entry(11, 'a', '1'));
      c.message(1, (m) => m.string(1, 'second').entry(11, 'b', '2'));
      c.bool(4, true).bool(4, false);
    });
    expect(decodeKubernetesProtobuf(envelope('v1', 'ConfigMap', raw))).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'second', labels: { a: '1', b: '2' } },
      immutable: false,
    });
  });

  it('decodes managedFields with their FieldsV1 JSON', () => {
    const raw = pb((n) => {
      n.message(1, (m) => {
        objectMeta(m, 'x');
        m.message(17, (f) =>
          f
            .string(1, 'kubectl')
            .string(2, 'Update')
            .string(3, 'v1')
            .message(4, (t) => t.int(1, 0))
            .string(6, 'FieldsV1')
            .message(7, (v) => v.bytesField(1, Buffer.from('{"f:metadata":{"f:labels":{}}}'))),
        );
      });
    });
    expect(decodeKubernetesProtobuf(envelope('v1', 'Namespace', raw)).metadata).toEqual({
      name: 'x',
      managedFields: [
        {
          manager: 'kubectl',
          operation: 'Update',
          apiVersion: 'v1',
          time: '1970-01-01T00:00:00Z',
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:labels': {} } },
        },
      ],
    });
  });

  // Bodies captured from the real kubectl v1.32 (`kubectl create ...` against a logging server).
  const KUBECTL_BODIES: [string, string, Record<string, unknown>][] = [
    [
      'create deployment web --image=bosun/hello:local --replicas=2 --port=8080',
      'azhzAAoVCgdhcHBzL3YxEgpEZXBsb3ltZW50EsUBCh8KA3dlYhIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViEpMBCAISDAoKCgNhcHASA3dlYhp5ChwKABIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViElkSOwoFaGVsbG8SEWJvc3VuL2hlbGxvOmxvY2FsKgAyCwoAEAAYkD8iACoAQgBqAHIAgAEAiAEAkAEAogEAGgAyAEIASgBSAFgAYABoAIIBAIoBAJoBAMIBACICCgAoADgAGgwIABAAGAAgACgAOAAaACIA',
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'web', labels: { app: 'web' } },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              containers: [
                {
                  name: 'hello',
                  image: 'bosun/hello:local',
                  ports: [{ containerPort: 8080 }],
                  resources: {},
                },
              ],
            },
          },
          strategy: {},
        },
        status: {},
      },
    ],
    [
      'create secret generic s1 --from-literal=k=v',
      'azhzAAoMCgJ2MRIGU2VjcmV0Eh4KEgoCczESABoAIgAqADIAOABCABIGCgFrEgF2GgAaACIA',
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1' }, data: { k: 'dg==' } },
    ],
    [
      'create service clusterip web --tcp=80:8080',
      'azhzAAoNCgJ2MRIHU2VydmljZRJpCh8KA3dlYhIAGgAiACoAMgA4AEIAWgoKA2FwcBIDd2ViEkIKGwoHODAtODA4MBIDVENQGFAiBwgAEJA/GgAoABIKCgNhcHASA3dlYhoAIglDbHVzdGVySVA6AEIAUgBaAGAAaAAaAgoAGgAiAA==',
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', labels: { app: 'web' } },
        spec: {
          ports: [{ name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 }],
          selector: { app: 'web' },
          type: 'ClusterIP',
        },
        status: { loadBalancer: {} },
      },
    ],
    [
      'create namespace x',
      'azhzAAoPCgJ2MRIJTmFtZXNwYWNlEhkKEQoBeBIAGgAiACoAMgA4AEIAEgAaAgoAGgAiAA==',
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' }, spec: {}, status: {} },
    ],
  ];

  it.each(KUBECTL_BODIES)('decodes what `kubectl %s` sends', (_command, base64, expected) => {
    const decoded = decodeKubernetesProtobuf(Buffer.from(base64, 'base64'));
    expect(decoded).toEqual(expected);
    expectCleanJson(decoded);
  });
});

describe('malformed bodies are a 400 that says what is wrong', () => {
  const configMap = (build: (w: Writer) => void) =>
    envelope(
      'v1',
      'ConfigMap',
      pb((c) => {
        c.message(1, (m) => objectMeta(m, 'c'));
        build(c);
      }),
    );

  it.each([
    ['bad magic', Buffer.from('{"kind":"ConfigMap"}'), /does not start with the Kubernetes protobuf magic/],
    ['an empty body after the magic', Buffer.from('k8s\0'), /names no kind/],
    [
      'a truncated varint',
      Buffer.concat([Buffer.from('k8s\0'), Buffer.from([0x0a, 0x80])]),
      /truncated varint/,
    ],
    [
      'a length past the end',
      Buffer.concat([Buffer.from('k8s\0'), Buffer.from([0x12, 0x40, 0x01])]),
      /truncated: a 64-byte field/,
    ],
    [
      'an unknown field number',
      configMap((c) => c.string(42, 'surprise')),
      /unknown field number 42 \(wire type length-delimited\) in message ConfigMap/,
    ],
    [
      'an unknown field deep in a pod template, with its path',
      envelope(
        'apps/v1',
        'Deployment',
        pb((d) =>
          d.message(2, (s) =>
            s.message(3, (t) => t.message(2, (p) => p.message(2, (c) => c.string(1, 'web').string(99, 'x')))),
          ),
        ),
      ),
      /unknown field number 99 \(wire type length-delimited\) in message Container at spec\.template\.spec\.containers\[0\]/,
    ],
    [
      'a wrong wire type',
      configMap((c) => c.int(4, 1).int(2, 7)),
      /field 2 of ConfigMap has wire type varint, expected length-delimited/,
    ],
    [
      'invalid UTF-8 in a string',
      configMap((c) => c.message(2, (e) => e.bytesField(1, [0xc3, 0x28]))),
      /not valid UTF-8/,
    ],
    [
      'an unknown envelope field',
      envelope('v1', 'ConfigMap', new Uint8Array(), (w) => w.string(5, 'x')),
      /unknown field number 5 \(wire type length-delimited\) in message runtime\.Unknown/,
    ],
    [
      'an envelope of another content type',
      envelope('v1', 'ConfigMap', new Uint8Array(), (w) => w.string(4, 'application/json')),
      /the envelope's content type "application\/json" is not protobuf/,
    ],
    [
      'a kind bosun does not decode',
      envelope('batch/v1', 'Job', new Uint8Array()),
      /bosun does not decode batch\/v1 Job from protobuf/,
    ],
    [
      'a compressed envelope',
      envelope('v1', 'ConfigMap', new Uint8Array(), (w) => w.string(3, 'gzip')),
      /content encoding "gzip" is not supported/,
    ],
    [
      'a legacy cloud volume source',
      envelope(
        'v1',
        'Pod',
        pb((p) =>
          p.message(2, (s) =>
            s.message(1, (v) => v.string(1, 'd').message(2, (src) => src.message(3, () => undefined))),
          ),
        ),
      ),
      /VolumeSource\.gcePersistentDisk \(field 3\) is not supported in protobuf bodies/,
    ],
    [
      'FieldsV1 that is not JSON',
      envelope(
        'v1',
        'Namespace',
        pb((n) =>
          n.message(1, (m) =>
            m.message(17, (f) => f.message(7, (v) => v.bytesField(1, Buffer.from('{nope')))),
          ),
        ),
      ),
      /ManagedFieldsEntry\.fieldsV1 does not hold JSON/,
    ],
  ])('%s', (_name, body, message) => {
    const error = decodeError(body);
    expect(error.code).toBe(400);
    expect(error.reason).toBe('BadRequest');
    expect(error.message).toMatch(/^the protobuf body is not a valid Kubernetes object: /);
    expect(error.message).toMatch(message);
  });
});

/** The JSON names of a message's fields, inlined messages flattened as Go's JSON flattens them. */
function jsonFields(message: MessageType): Map<string, FieldSpec> {
  const result = new Map<string, FieldSpec>();
  for (const field of message.fields.values()) {
    if (field.inline && field.kind.type === 'message')
      for (const [name, inner] of jsonFields(field.kind.message)) result.set(name, inner);
    else result.set(field.name, field);
  }
  return result;
}

/** Every field of a bosun schema has a protobuf field of a matching kind; returns the mismatches. */
function compare(schema: Schema, field: FieldSpec, path: string, problems: string[]): void {
  if (schema.kind === 'array') {
    if (!field.repeated) problems.push(`${path}: a list in the schema, not repeated in the table`);
    else compare(schema.items, { ...field, repeated: false }, `${path}[]`, problems);
    return;
  }
  if (field.repeated) {
    problems.push(`${path}: repeated in the table, not a list in the schema`);
    return;
  }
  const kind = field.kind;
  switch (schema.kind) {
    case 'free-form':
      return;
    case 'object':
      if (kind.type !== 'message')
        problems.push(`${path}: an object in the schema, ${kind.type} in the table`);
      else compareMessage(schema.fields, kind.message, path, problems);
      return;
    case 'map': {
      const value = schema.values;
      const expected =
        value.kind === 'quantity'
          ? 'quantity'
          : value.kind === 'string' && value.format === 'byte'
            ? 'bytes'
            : 'string';
      if (kind.type !== 'map' || kind.value !== expected)
        problems.push(`${path}: a map of ${expected} in the schema, ${kind.type} in the table`);
      return;
    }
    case 'string': {
      const expected = schema.format === 'date-time' ? ['time', 'microTime'] : ['string'];
      if (!expected.includes(kind.type))
        problems.push(`${path}: ${expected[0]} in the schema, ${kind.type} in the table`);
      return;
    }
    case 'int':
      if (kind.type !== schema.format)
        problems.push(`${path}: ${schema.format} in the schema, ${kind.type} in the table`);
      return;
    case 'boolean':
      if (kind.type !== 'bool') problems.push(`${path}: boolean in the schema, ${kind.type} in the table`);
      return;
    case 'quantity':
      if (kind.type !== 'quantity')
        problems.push(`${path}: quantity in the schema, ${kind.type} in the table`);
      return;
    case 'int-or-string':
      if (kind.type !== 'intOrString')
        problems.push(`${path}: int-or-string in the schema, ${kind.type} in the table`);
      return;
  }
}

function compareMessage(
  schemaFields: Readonly<Record<string, Schema>>,
  message: MessageType,
  path: string,
  problems: string[],
): void {
  const table = jsonFields(message);
  for (const [name, schema] of Object.entries(schemaFields)) {
    // An object's apiVersion and kind (TypeMeta) are never in its message: the envelope carries
    // them, and embedded objects (a StatefulSet's volumeClaimTemplates) lose them, as in Go.
    if ((name === 'apiVersion' || name === 'kind') && (path === '' || 'metadata' in schemaFields)) continue;
    const field = table.get(name);
    const fieldPath = path ? `${path}.${name}` : name;
    if (!field) {
      // Free-form schema fields may be known-but-unsupported; anything else must be there.
      if (schema.kind !== 'free-form') problems.push(`${fieldPath}: missing from ${message.name}`);
      continue;
    }
    if (field.kind.type === 'unsupported') continue;
    compare(schema, field, fieldPath, problems);
  }
}

describe('the field tables', () => {
  const kinds = [
    ...RESOURCES.map((info) => ({ apiVersion: info.apiVersion, kind: info.kind, schema: info.schema })),
    { apiVersion: 'autoscaling/v1', kind: 'Scale', schema: ScaleSchema },
    { apiVersion: 'v1', kind: 'DeleteOptions', schema: DeleteOptionsSchema },
  ];

  it.each(kinds)('cover every field of $apiVersion $kind', ({ apiVersion, kind, schema }) => {
    const message = messageFor(apiVersion, kind);
    expect(message).toBeDefined();
    if (schema.kind !== 'object') throw new Error('a top-level schema is an object');
    const problems: string[] = [];
    compareMessage(schema.fields, message!, '', problems);
    expect(problems).toEqual([]);
  });
});

describe('the apiserver', () => {
  let api: Awaited<ReturnType<typeof startLocalApiServer>>;

  beforeAll(async () => {
    api = await startLocalApiServer();
  });

  afterAll(async () => {
    await api?.close();
  });

  async function post(path: string, body: Uint8Array, contentType = PROTOBUF_MEDIA_TYPE) {
    const response = await fetch(`${api.url}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${api.adminToken}`,
        'content-type': contentType,
        accept: `${PROTOBUF_MEDIA_TYPE},application/json`,
      },
      body,
    });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      body: (await response.json()) as { message: string },
    };
  }

  it('creates an object from a protobuf body and answers in JSON, as the Accept header allows', async () => {
    const raw = pb((c) => {
      c.message(1, (m) => objectMeta(m, 'from-protobuf', { app: 'web' }));
      c.entry(2, 'a', 'b');
    });
    const created = await post('/api/v1/namespaces/default/configmaps', envelope('v1', 'ConfigMap', raw));
    expect(created.status).toBe(201);
    expect(created.type).toMatch(/^application\/json/);
    expect(created.body).toMatchObject({
      kind: 'ConfigMap',
      metadata: { name: 'from-protobuf', namespace: 'default', labels: { app: 'web' } },
      data: { a: 'b' },
    });
    const stored = await api.objects.get(
      RESOURCES.find((r) => r.kind === 'ConfigMap')!,
      'default',
      'from-protobuf',
    );
    expect(stored).toMatchObject({ data: { a: 'b' } });
  });

  it('runs protobuf bodies through the same validation as JSON', async () => {
    const raw = pb((d) => {
      d.message(1, (m) => objectMeta(m, 'Bad_Name'));
      d.message(2, (s) => s.message(3, (t) => t.message(2, () => undefined)));
    });
    const rejected = await post(
      '/apis/apps/v1/namespaces/default/deployments',
      envelope('apps/v1', 'Deployment', raw),
    );
    expect(rejected.status).toBe(422);
    expect(rejected.body.message).toMatch(/metadata\.name: Invalid value: "Bad_Name"/);
    expect(rejected.body.message).toMatch(/spec\.template\.spec\.containers: Required value/);
  });

  it('answers a malformed protobuf body with a 400 Status', async () => {
    const bad = await post('/api/v1/namespaces/default/configmaps', Buffer.from('k8s\0\x0a\x80', 'latin1'));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
    expect(bad.body.message).toMatch(/truncated varint/);
  });

  it('lists protobuf among the accepted media types of a 415', async () => {
    const unsupported = await post(
      '/api/v1/namespaces/default/configmaps',
      Buffer.from('x'),
      'application/cbor',
    );
    expect(unsupported.status).toBe(415);
    expect(unsupported.body.message).toBe(
      'the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf',
    );
  });
});
