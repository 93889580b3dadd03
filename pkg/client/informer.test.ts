import { Pod } from '../api';
import { scriptedResourceClient } from '../../test/support/informers';
import { Informer } from './informer';

function pod(name: string, rv: string, labels: Record<string, string> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', resourceVersion: rv, labels },
    spec: { containers: [{ name: 'c', image: 'i' }] },
  } as Pod;
}

const byApp = (p: Pod) => (p.metadata.labels?.app ? [p.metadata.labels.app] : []);
const names = (pods: Pod[]) => pods.map((p) => p.metadata.name);

describe('Informer indexes', () => {
  let abort: AbortController;
  beforeEach(() => (abort = new AbortController()));
  afterEach(() => abort.abort());

  /** Resolves once the informer has applied the events pushed so far (it calls the handler last). */
  async function applied(informer: Informer<Pod>, rv: string): Promise<void> {
    for (let i = 0; i < 100 && informer.resourceVersion !== rv; i++) await new Promise(setImmediate);
    expect(informer.resourceVersion).toBe(rv);
  }

  it('files listed objects, follows updates and deletes, and answers in list order', async () => {
    const { client, push } = scriptedResourceClient([
      pod('a', '1', { app: 'x' }),
      pod('b', '1', { app: 'y' }),
    ]);
    const informer = new Informer(client);
    informer.addIndex('app', byApp);
    void informer.run(abort.signal);
    await informer.waitForSync();
    expect(names(informer.byIndex('app', 'x'))).toEqual(['a']);

    push({ type: 'ADDED', object: pod('c', '2', { app: 'x' }) });
    push({ type: 'MODIFIED', object: pod('b', '3', { app: 'x' }) });
    await applied(informer, '3');
    // b entered the cache before c: list() and byIndex agree on that order.
    expect(names(informer.byIndex('app', 'x'))).toEqual(['a', 'b', 'c']);
    expect(names(informer.list(undefined))).toEqual(['a', 'b', 'c']);
    expect(informer.byIndex('app', 'y')).toEqual([]);

    push({ type: 'MODIFIED', object: pod('a', '4', {}) });
    push({ type: 'DELETED', object: pod('c', '5', { app: 'x' }) });
    await applied(informer, '5');
    expect(names(informer.byIndex('app', 'x'))).toEqual(['b']);
    expect(informer.byIndex('app', 'x')[0].metadata.resourceVersion).toBe('3');
  });

  it('merges several values in list order, and indexes objects already cached when added late', async () => {
    const { client } = scriptedResourceClient([
      pod('a', '1', { app: 'y' }),
      pod('b', '1', { app: 'x' }),
      pod('c', '1', { app: 'y' }),
      pod('d', '1'),
    ]);
    const informer = new Informer(client);
    void informer.run(abort.signal);
    await informer.waitForSync();
    informer.addIndex('app', byApp);
    expect(names(informer.byIndex('app', 'x', 'y'))).toEqual(['a', 'b', 'c']);
    expect(names(informer.byIndex('app', 'nothing'))).toEqual([]);
    // The first index of a name stays: shared informers are indexed by several controllers.
    informer.addIndex('app', () => ['other']);
    expect(informer.byIndex('app', 'other')).toEqual([]);
    expect(() => informer.byIndex('missing', 'x')).toThrow(/no index "missing"/);
  });
});
