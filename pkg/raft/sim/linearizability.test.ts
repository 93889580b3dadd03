import { checkLinearizable, KvInput, KvOutput, Operation } from './linearizability';

let client = 0;
function op(input: KvInput, output: KvOutput, call: number, ret: number): Operation {
  return { client: client++, input, output, call, return: ret };
}
const put = (key: string, value: string, call: number, ret: number) =>
  op({ op: 'put', key, value }, {}, call, ret);
const get = (key: string, value: string, call: number, ret: number) =>
  op({ op: 'get', key }, { value }, call, ret);
const cas = (
  key: string,
  expected: string,
  value: string,
  swapped: boolean | undefined,
  call: number,
  ret: number,
) => op({ op: 'cas', key, expected, value }, swapped === undefined ? undefined : { swapped }, call, ret);

describe('checkLinearizable', () => {
  it.each([
    ['sequential write then read', [put('x', '1', 0, 1), get('x', '1', 2, 3)]],
    [
      'a read overlapping a write may see either value',
      [put('x', '1', 0, 10), get('x', '', 1, 2), get('x', '1', 3, 4)],
    ],
    [
      'concurrent writes, reads agree on one order',
      [put('x', 'a', 0, 10), put('x', 'b', 0, 10), get('x', 'b', 11, 12), get('x', 'b', 13, 14)],
    ],
    ['a timed-out write may have been applied', [put('x', '1', 0, Infinity), get('x', '1', 5, 6)]],
    ['a timed-out write may never have been applied', [put('x', '1', 0, Infinity), get('x', '', 5, 6)]],
    [
      'compare-and-set',
      [
        put('x', '1', 0, 1),
        cas('x', '1', '2', true, 2, 3),
        cas('x', '1', '3', false, 4, 5),
        get('x', '2', 6, 7),
      ],
    ],
    [
      'keys are independent',
      [put('x', '1', 0, 1), put('y', '2', 0, 1), get('x', '1', 2, 3), get('y', '2', 2, 3)],
    ],
  ])('accepts: %s', (_name, history) => {
    expect(checkLinearizable(history).ok).toBe(true);
  });

  it.each([
    ['a stale read after a completed write', [put('x', '1', 0, 1), get('x', '', 2, 3)], 'x'],
    ['a lost write', [put('x', '1', 0, 1), put('x', '2', 2, 3), get('x', '1', 4, 5)], 'x'],
    ['reads going back in time', [put('x', '1', 0, 10), get('x', '1', 1, 2), get('x', '', 3, 4)], 'x'],
    [
      'two swaps from the same value both succeeding',
      [put('x', '0', 0, 1), cas('x', '0', 'a', true, 2, 5), cas('x', '0', 'b', true, 2, 5)],
      'x',
    ],
    ['a value never written', [put('y', '1', 0, 1), get('y', '7', 2, 3)], 'y'],
  ])('rejects: %s', (_name, history, key) => {
    const result = checkLinearizable(history);
    expect(result.ok).toBe(false);
    expect(result.key).toBe(key);
    expect(result.timedOut).toBe(false);
  });

  it('checks a large concurrent history quickly', () => {
    const history: Operation[] = [];
    let value = 0;
    for (let t = 0; t < 300; t++) {
      // Three clients with overlapping calls; the register's real order is the return order.
      history.push(put('k', String(++value), t * 10, t * 10 + 5));
      history.push(get('k', String(value), t * 10 + 6, t * 10 + 9));
    }
    const started = Date.now();
    expect(checkLinearizable(history).ok).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
