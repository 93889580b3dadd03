import { OwnerReference, Pod } from '../api';
import { Informer } from '../client';
import { scriptedResourceClient } from '../../test/support/informers';
import { addOwnershipIndex, claimCandidates, controlledBy, ownershipValues } from './ownership';

function ref(uid: string, controller = true): OwnerReference {
  return { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `rs-${uid}`, uid, controller };
}

function pod(name: string, namespace: string, owners: OwnerReference[] = []): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, resourceVersion: '1', ownerReferences: owners },
    spec: { containers: [{ name: 'c', image: 'i' }] },
  } as Pod;
}

async function syncedInformer(items: Pod[], signal: AbortSignal): Promise<Informer<Pod>> {
  const { client } = scriptedResourceClient(items);
  const informer = new Informer(client);
  addOwnershipIndex(informer);
  void informer.run(signal);
  await informer.waitForSync();
  return informer;
}

describe('ownership index', () => {
  it.each([
    ['a controller reference', pod('p', 'ns', [ref('u1')]), ['controller/u1']],
    ['only non-controller owners', pod('p', 'ns', [ref('u1', false)]), ['orphan/ns']],
    ['no owners', pod('p', 'ns'), ['orphan/ns']],
    ['the controller among other owners', pod('p', 'ns', [ref('u1', false), ref('u2')]), ['controller/u2']],
  ])('files a pod with %s', (_what, object, values) => {
    expect(ownershipValues(object)).toEqual(values);
  });

  it('gives an owner its own objects and its namespace orphans, in list order, and nothing else', async () => {
    const abort = new AbortController();
    try {
      const informer = await syncedInformer(
        [
          pod('orphan-1', 'ns'),
          pod('mine-1', 'ns', [ref('u1')]),
          pod('theirs', 'ns', [ref('u2')]),
          pod('orphan-elsewhere', 'other'),
          pod('mine-elsewhere', 'other', [ref('u1')]),
          pod('mine-2', 'ns', [ref('u1')]),
          pod('orphan-2', 'ns', [ref('u3', false)]),
        ],
        abort.signal,
      );
      const names = (pods: Pod[]) => pods.map((p) => p.metadata.name);
      expect(names(claimCandidates(informer, 'ns', 'u1'))).toEqual([
        'orphan-1',
        'mine-1',
        'mine-2',
        'orphan-2',
      ]);
      expect(names(controlledBy(informer, 'ns', 'u1'))).toEqual(['mine-1', 'mine-2']);
      expect(names(controlledBy(informer, 'other', 'u1'))).toEqual(['mine-elsewhere']);
      expect(names(claimCandidates(informer, 'empty', 'u9'))).toEqual([]);
    } finally {
      abort.abort();
    }
  });
});
