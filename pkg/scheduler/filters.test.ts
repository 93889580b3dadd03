import { Node, Pod } from '../api';
import { explain, FILTERS } from './filters';
import { NodeInfo } from './node-info';
import { pickNode } from './scores';

type NodeOptions = {
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: NonNullable<Node['spec']>['taints'];
  unschedulable?: boolean;
  ready?: 'True' | 'False' | 'Unknown';
};

function testNode(name: string, o: NodeOptions = {}): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
    status: {
      allocatable: { cpu: o.cpu ?? '2', memory: o.memory ?? '4Gi', pods: o.pods ?? '110' },
      conditions: [{ type: 'Ready', status: o.ready ?? 'True' }],
    },
  } as Node;
}

type PodOptions = {
  cpu?: string;
  memory?: string;
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Pod['spec']['tolerations'];
  hostPort?: number;
  affinity?: Pod['spec']['affinity'];
  owner?: string;
  initMemory?: string;
};

function testPod(name: string, o: PodOptions = {}): Pod {
  const requests: Record<string, string> = {};
  if (o.cpu) requests.cpu = o.cpu;
  if (o.memory) requests.memory = o.memory;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      ownerReferences: o.owner
        ? [
            {
              apiVersion: 'apps/v1',
              kind: 'ReplicaSet',
              name: o.owner,
              uid: `uid-${o.owner}`,
              controller: true,
            },
          ]
        : undefined,
    },
    spec: {
      nodeName: o.nodeName,
      nodeSelector: o.nodeSelector,
      tolerations: o.tolerations,
      affinity: o.affinity,
      initContainers: o.initMemory
        ? [{ name: 'init', image: 'busybox', resources: { requests: { memory: o.initMemory } } }]
        : undefined,
      containers: [
        {
          name: 'app',
          image: 'hello',
          resources: { requests },
          ports: o.hostPort ? [{ containerPort: 80, hostPort: o.hostPort, protocol: 'TCP' }] : undefined,
        },
      ],
    },
  } as Pod;
}

function info(node: Node, pods: Pod[] = []): NodeInfo {
  const i = new NodeInfo(node);
  pods.forEach((p, n) => i.addPod(`default/existing-${n}`, p));
  return i;
}

/** The reasons the filters give, in order, stopping at the first failing filter as the scheduler does. */
function reasons(pod: Pod, node: NodeInfo): string[] | undefined {
  for (const filter of FILTERS) {
    const failed = filter.check(pod, node);
    if (failed) return failed;
  }
  return undefined;
}

describe('scheduler filters', () => {
  const cases: Array<[string, Pod, NodeInfo, string[] | undefined]> = [
    ['fits an empty node', testPod('p', { cpu: '500m', memory: '1Gi' }), info(testNode('n')), undefined],
    ['node not ready', testPod('p'), info(testNode('n', { ready: 'False' })), ["node(s) weren't ready"]],
    [
      'node readiness unknown',
      testPod('p'),
      info(testNode('n', { ready: 'Unknown' })),
      ["node(s) weren't ready"],
    ],
    [
      'cordoned node',
      testPod('p'),
      info(testNode('n', { unschedulable: true })),
      ['node(s) were unschedulable'],
    ],
    [
      'cordoned node, tolerated',
      testPod('p', {
        tolerations: [{ key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' }],
      }),
      info(testNode('n', { unschedulable: true })),
      undefined,
    ],
    [
      'other nodeName',
      testPod('p', { nodeName: 'm' }),
      info(testNode('n')),
      ["node(s) didn't match the requested node name"],
    ],
    ['memory too large', testPod('p', { memory: '5Gi' }), info(testNode('n')), ['Insufficient memory']],
    ['cpu too large', testPod('p', { cpu: '2100m' }), info(testNode('n')), ['Insufficient cpu']],
    [
      'both too large',
      testPod('p', { cpu: '3', memory: '8Gi' }),
      info(testNode('n')),
      ['Insufficient cpu', 'Insufficient memory'],
    ],
    [
      'fits only without the pods already bound',
      testPod('p', { memory: '2Gi' }),
      info(testNode('n'), [testPod('a', { memory: '1Gi' }), testPod('b', { memory: '1536Mi' })]),
      ['Insufficient memory'],
    ],
    [
      'exactly full fits',
      testPod('p', { cpu: '1' }),
      info(testNode('n'), [testPod('a', { cpu: '1' })]),
      undefined,
    ],
    ['pod count', testPod('p'), info(testNode('n', { pods: '1' }), [testPod('a')]), ['Too many pods']],
    [
      'init container larger than the app counts',
      testPod('p', { memory: '1Gi', initMemory: '5Gi' }),
      info(testNode('n')),
      ['Insufficient memory'],
    ],
    [
      'nodeSelector mismatch',
      testPod('p', { nodeSelector: { disk: 'ssd' } }),
      info(testNode('n', { labels: { disk: 'hdd' } })),
      ["node(s) didn't match Pod's node affinity/selector"],
    ],
    [
      'nodeSelector match',
      testPod('p', { nodeSelector: { disk: 'ssd' } }),
      info(testNode('n', { labels: { disk: 'ssd' } })),
      undefined,
    ],
    [
      'required affinity: one of two terms matches',
      testPod('p', {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] },
                { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] },
              ],
            },
          },
        },
      }),
      info(testNode('n', { labels: { zone: 'b' } })),
      undefined,
    ],
    [
      'required affinity: NotIn excludes',
      testPod('p', {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['b'] }] }],
            },
          },
        },
      }),
      info(testNode('n', { labels: { zone: 'b' } })),
      ["node(s) didn't match Pod's node affinity/selector"],
    ],
    [
      'required affinity by metadata.name field',
      testPod('p', {
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['m'] }] }],
            },
          },
        },
      }),
      info(testNode('n')),
      ["node(s) didn't match Pod's node affinity/selector"],
    ],
    [
      'host port taken',
      testPod('p', { hostPort: 8080 }),
      info(testNode('n'), [testPod('a', { hostPort: 8080 })]),
      ["node(s) didn't have free ports for the requested pod ports"],
    ],
    [
      'other host port free',
      testPod('p', { hostPort: 8081 }),
      info(testNode('n'), [testPod('a', { hostPort: 8080 })]),
      undefined,
    ],
    [
      'NoSchedule taint untolerated',
      testPod('p'),
      info(testNode('n', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] })),
      ['node(s) had untolerated taint {dedicated: db}'],
    ],
    [
      'NoExecute taint untolerated',
      testPod('p'),
      info(testNode('n', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] })),
      ['node(s) had untolerated taint {node.kubernetes.io/unreachable}'],
    ],
    [
      'taint tolerated by Equal',
      testPod('p', {
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'db', effect: 'NoSchedule' }],
      }),
      info(testNode('n', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] })),
      undefined,
    ],
    [
      'toleration with another value does not tolerate',
      testPod('p', {
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' }],
      }),
      info(testNode('n', { taints: [{ key: 'dedicated', value: 'db', effect: 'NoSchedule' }] })),
      ['node(s) had untolerated taint {dedicated: db}'],
    ],
    [
      'empty-key Exists tolerates everything',
      testPod('p', { tolerations: [{ operator: 'Exists' }] }),
      info(
        testNode('n', {
          taints: [
            { key: 'a', effect: 'NoExecute' },
            { key: 'b', effect: 'NoSchedule' },
          ],
        }),
      ),
      undefined,
    ],
    [
      'PreferNoSchedule does not filter',
      testPod('p'),
      info(testNode('n', { taints: [{ key: 'x', effect: 'PreferNoSchedule' }] })),
      undefined,
    ],
  ];

  it.each(cases)('%s', (_name, pod, node, expected) => {
    expect(reasons(pod, node)).toEqual(expected);
  });

  it('sums reasons per node in kube-scheduler words', () => {
    expect(
      explain(
        3,
        new Map([
          ["node(s) didn't match Pod's node affinity/selector", 1],
          ['Insufficient memory', 2],
        ]),
      ),
    ).toBe(
      "0/3 nodes are available: 2 Insufficient memory, 1 node(s) didn't match Pod's node affinity/selector.",
    );
  });

  it('forgets a removed pod, host ports included', () => {
    const node = info(testNode('n'));
    node.addPod('default/a', testPod('a', { hostPort: 80, memory: '1Gi' }));
    node.removePod('default/a');
    expect(reasons(testPod('p', { hostPort: 80, memory: '4Gi' }), node)).toBeUndefined();
    expect(node.requested).toEqual({ milliCPU: 0, memory: 0, pods: 0 });
  });
});

describe('scheduler scores', () => {
  it('prefers the least allocated node', () => {
    const busy = info(testNode('a'), [testPod('x', { cpu: '1', memory: '2Gi' })]);
    const idle = info(testNode('b'));
    expect(pickNode(testPod('p', { cpu: '100m', memory: '100Mi' }), [busy, idle]).name).toBe('b');
  });

  it('spreads pods of one owner across nodes even when it is slightly fuller', () => {
    const a = info(testNode('a'), [testPod('x', { owner: 'web' }), testPod('y', { owner: 'web' })]);
    const b = info(testNode('b'), [testPod('z'), testPod('w'), testPod('v')]);
    expect(pickNode(testPod('p', { owner: 'web' }), [a, b]).name).toBe('b');
  });

  it('honours preferred node affinity', () => {
    const pod = testPod('p', {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 50,
              preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['b'] }] },
            },
          ],
        },
      },
    });
    const nodes = [
      info(testNode('a', { labels: { zone: 'a' } })),
      info(testNode('b', { labels: { zone: 'b' } })),
    ];
    expect(pickNode(pod, nodes).name).toBe('b');
  });

  it('breaks ties by node name, whatever the order given', () => {
    const nodes = ['c', 'a', 'b'].map((n) => info(testNode(n)));
    expect(pickNode(testPod('p'), nodes).name).toBe('a');
    expect(pickNode(testPod('p'), [...nodes].reverse()).name).toBe('a');
  });

  it('balances cpu and memory use', () => {
    // On "a" the pod would leave cpu and memory equally used; on "b" very unevenly.
    const a = info(testNode('a', { cpu: '4', memory: '4Gi' }), [testPod('x', { cpu: '1', memory: '1Gi' })]);
    const b = info(testNode('b', { cpu: '4', memory: '4Gi' }), [
      testPod('y', { cpu: '1900m', memory: '100Mi' }),
    ]);
    expect(pickNode(testPod('p', { cpu: '500m', memory: '512Mi' }), [b, a]).name).toBe('a');
  });
});
