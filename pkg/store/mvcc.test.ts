import { MvccStore } from './mvcc';
import {
  KeyExistsError,
  KeyNotFoundError,
  RevisionCompactedError,
  RevisionMismatchError,
  StorageEvent,
} from './types';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => (value ? new TextDecoder().decode(value) : undefined);

function storeWith(...keys: string[]): MvccStore {
  const store = new MvccStore();
  keys.forEach((key, i) => store.apply(i + 1, { op: 'create', key, value: bytes(key) }));
  return store;
}

describe('MvccStore writes', () => {
  it('creates, updates and deletes with revisions equal to the applied index', () => {
    const store = new MvccStore();
    expect(store.apply(3, { op: 'create', key: '/registry/pods/a/x', value: bytes('v1') })).toMatchObject({
      ok: true,
      revision: 3,
    });
    expect(
      store.apply(5, { op: 'update', key: '/registry/pods/a/x', value: bytes('v2'), expected: 3 }),
    ).toMatchObject({ ok: true, revision: 5 });
    const got = store.get('/registry/pods/a/x')!;
    expect({
      value: text(got.value),
      createRevision: got.createRevision,
      modRevision: got.modRevision,
    }).toEqual({ value: 'v2', createRevision: 3, modRevision: 5 });
    const deleted = store.apply(6, { op: 'delete', key: '/registry/pods/a/x', expected: 5 });
    expect(deleted.ok && text(deleted.previous?.value)).toBe('v2');
    expect(store.get('/registry/pods/a/x')).toBeUndefined();
    expect(store.currentRevision()).toBe(6);
  });

  it.each([
    ['create of an existing key', { op: 'create' as const, key: 'k/a', value: bytes('x') }, KeyExistsError],
    [
      'update of a missing key',
      { op: 'update' as const, key: 'k/missing', value: bytes('x') },
      KeyNotFoundError,
    ],
    [
      'update with a stale revision',
      { op: 'update' as const, key: 'k/a', value: bytes('x'), expected: 99 },
      RevisionMismatchError,
    ],
    ['delete of a missing key', { op: 'delete' as const, key: 'k/missing' }, KeyNotFoundError],
    [
      'delete with a stale revision',
      { op: 'delete' as const, key: 'k/a', expected: 99 },
      RevisionMismatchError,
    ],
  ])('refuses a %s and changes nothing but the revision', (_name, command, errorClass) => {
    const store = storeWith('k/a');
    const result = store.apply(2, command);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toBeInstanceOf(errorClass);
    expect(text(store.get('k/a')?.value)).toBe('k/a');
    expect(store.currentRevision()).toBe(2);
  });

  it('applies a transaction atomically when every compare holds, and not at all otherwise', () => {
    const store = storeWith('t/a', 't/b');
    const failed = store.apply(3, {
      op: 'txn',
      compares: [
        { key: 't/a', modRevision: 1 },
        { key: 't/b', modRevision: 7 },
      ],
      operations: [
        { type: 'put', key: 't/a', value: bytes('new') },
        { type: 'delete', key: 't/b' },
      ],
    });
    expect(failed).toMatchObject({ ok: true, succeeded: false });
    expect(text(store.get('t/a')?.value)).toBe('t/a');
    const succeeded = store.apply(4, {
      op: 'txn',
      compares: [
        { key: 't/a', modRevision: 1 },
        { key: 't/c', modRevision: 0 },
      ],
      operations: [
        { type: 'put', key: 't/a', value: bytes('new') },
        { type: 'delete', key: 't/b' },
        { type: 'put', key: 't/c', value: bytes('c') },
      ],
    });
    expect(succeeded).toMatchObject({ ok: true, succeeded: true, revision: 4 });
    expect(store.list('t/').items.map((i) => [i.key, text(i.value), i.modRevision])).toEqual([
      ['t/a', 'new', 4],
      ['t/c', 'c', 4],
    ]);
  });

  it('refuses to apply a revision twice or out of order', () => {
    const store = storeWith('a/b');
    expect(() => store.apply(1, undefined)).toThrow('revision 1 applied after 1');
  });
});

describe('MvccStore reads', () => {
  const keys = [
    '/registry/pods/a/p1',
    '/registry/pods/a/p2',
    '/registry/pods/b/p3',
    '/registry/services/a/s1',
    '/registry/pods/a/p0',
  ];

  it('lists by prefix in key order, with limit and a continue position', () => {
    const store = storeWith(...keys);
    expect(store.list('/registry/pods/a/').items.map((i) => i.key)).toEqual([
      '/registry/pods/a/p0',
      '/registry/pods/a/p1',
      '/registry/pods/a/p2',
    ]);
    const page1 = store.list('/registry/pods/', { limit: 2 });
    expect(page1.items.map((i) => i.key)).toEqual(['/registry/pods/a/p0', '/registry/pods/a/p1']);
    expect(page1.more).toBe(true);
    const page2 = store.list('/registry/pods/', {
      limit: 2,
      startAfter: '/registry/pods/a/p1',
      revision: page1.revision,
    });
    expect(page2.items.map((i) => i.key)).toEqual(['/registry/pods/a/p2', '/registry/pods/b/p3']);
    expect(page2.more).toBe(false);
    expect(store.list('/registry/').items).toHaveLength(5);
    expect(store.list('/registry/pod').items).toHaveLength(4);
  });

  it('reads at a past revision: later creates, updates and deletes are not seen', () => {
    const store = storeWith(...keys);
    store.apply(6, { op: 'update', key: '/registry/pods/a/p1', value: bytes('changed') });
    store.apply(7, { op: 'delete', key: '/registry/pods/a/p2' });
    store.apply(8, { op: 'create', key: '/registry/pods/a/p9', value: bytes('new') });
    const before = store.list('/registry/pods/a/', { revision: 5 });
    expect(before.items.map((i) => [i.key, text(i.value)])).toEqual([
      ['/registry/pods/a/p0', '/registry/pods/a/p0'],
      ['/registry/pods/a/p1', '/registry/pods/a/p1'],
      ['/registry/pods/a/p2', '/registry/pods/a/p2'],
    ]);
    expect(store.list('/registry/pods/a/').items.map((i) => i.key)).toEqual([
      '/registry/pods/a/p0',
      '/registry/pods/a/p1',
      '/registry/pods/a/p9',
    ]);
    expect(text(store.get('/registry/pods/a/p1', 5)?.value)).toBe('/registry/pods/a/p1');
  });

  it('forgets history on compaction: reads before it fail, current state is intact', () => {
    const store = storeWith(...keys);
    store.apply(6, { op: 'delete', key: '/registry/pods/a/p2' });
    store.apply(7, { op: 'update', key: '/registry/pods/a/p1', value: bytes('v7') });
    store.compact(6);
    expect(() => store.list('/registry/pods/', { revision: 5 })).toThrow(RevisionCompactedError);
    expect(store.list('/registry/pods/', { revision: 6 }).items.map((i) => i.key)).toEqual([
      '/registry/pods/a/p0',
      '/registry/pods/a/p1',
      '/registry/pods/b/p3',
    ]);
    expect(text(store.get('/registry/pods/a/p1', 6)?.value)).toBe('/registry/pods/a/p1');
    expect(text(store.get('/registry/pods/a/p1')?.value)).toBe('v7');
    expect(store.size).toBe(4);
  });
});

describe('MvccStore watches', () => {
  function record(store: MvccStore, prefix: string, from: number) {
    const events: Array<[StorageEvent['type'], string, number, string | undefined]> = [];
    const closed: Error[] = [];
    const handle = store.watch(
      prefix,
      from,
      (e) => events.push([e.type, e.key, e.modRevision, text(e.prevValue)]),
      (r) => closed.push(r),
    );
    return { events, closed, handle };
  }

  it('replays changes after the revision, then delivers new ones in order with previous values', () => {
    const store = storeWith('w/a', 'w/b', 'x/c');
    const watch = record(store, 'w/', 1);
    expect(watch.events).toEqual([['put', 'w/b', 2, undefined]]);
    store.apply(4, { op: 'update', key: 'w/a', value: bytes('a2') });
    store.apply(5, { op: 'update', key: 'x/c', value: bytes('c2') });
    store.apply(6, { op: 'delete', key: 'w/b' });
    expect(watch.events).toEqual([
      ['put', 'w/b', 2, undefined],
      ['put', 'w/a', 4, 'w/a'],
      ['delete', 'w/b', 6, 'w/b'],
    ]);
    watch.handle.stop();
    store.apply(7, { op: 'create', key: 'w/z', value: bytes('z') });
    expect(watch.events).toHaveLength(3);
    expect(store.watcherCount()).toBe(0);
  });

  it('fails at once for a revision older than the kept history', () => {
    const store = new MvccStore({ historyEvents: 10 });
    for (let i = 1; i <= 30; i++) store.apply(i, { op: 'create', key: `h/${i}`, value: bytes('v') });
    expect(store.compactedRevision()).toBeGreaterThan(0);
    expect(() => record(store, 'h/', 1)).toThrow(RevisionCompactedError);
    const recent = record(store, 'h/', store.compactedRevision());
    expect(recent.events.length).toBeGreaterThan(0);
  });

  it('round-trips a snapshot byte for byte and closes open watches on restore', () => {
    const store = storeWith('/registry/pods/a/p1', '/registry/pods/a/p2', 'other/x');
    store.apply(4, { op: 'delete', key: '/registry/pods/a/p2' });
    const snapshot = store.snapshot();
    const copy = new MvccStore();
    const watch = record(copy, 'any/', 0);
    copy.restore(snapshot);
    expect(Buffer.from(copy.snapshot()).equals(Buffer.from(snapshot))).toBe(true);
    expect(copy.currentRevision()).toBe(4);
    expect(copy.get('/registry/pods/a/p1')).toMatchObject({ createRevision: 1, modRevision: 1 });
    expect(copy.get('/registry/pods/a/p2')).toBeUndefined();
    expect(watch.closed[0]).toBeInstanceOf(RevisionCompactedError);
    expect(() => copy.restore(new Uint8Array([1, 2, 3]))).toThrow('not a bosun store snapshot');
  });
});
