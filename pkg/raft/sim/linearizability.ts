/**
 * A linearizability checker for key-value histories (Wing & Gong's search with Lowe's
 * memoization, as Porcupine does it), partitioned by key: a history is linearizable iff each
 * key's sub-history is, since keys are independent registers.
 *
 * An operation whose outcome is unknown (it timed out: it may or may not have been applied)
 * has an infinite return time and an unknown output: it may take effect at any point after
 * its call, including after everything else, which is the same as never.
 *
 * It knows nothing of Raft: histories come from the simulator or from real master processes.
 */

export type KvInput =
  | { op: 'put'; key: string; value: string }
  | { op: 'get'; key: string }
  /** Compare-and-set: writes `value` if the current value is `expected` ('' meaning absent). */
  | { op: 'cas'; key: string; expected: string; value: string };

/** For get: the value read ('' for absent); for cas: whether it swapped; for put: nothing. */
export type KvOutput = { value?: string; swapped?: boolean } | undefined;

export interface Operation {
  client: number;
  input: KvInput;
  /** undefined: unknown (the call timed out). */
  output: KvOutput;
  call: number;
  /** Infinity when the outcome is unknown. */
  return: number;
}

export interface CheckResult {
  ok: boolean;
  /** The key whose history is not linearizable, and its operations, for a failure report. */
  key?: string;
  operations?: Operation[];
  /** True when the search gave up (too large): neither proven nor refuted. */
  timedOut?: boolean;
}

type State = string; // '' = absent

function step(state: State, input: KvInput, output: KvOutput): { ok: boolean; state: State } {
  switch (input.op) {
    case 'put':
      return { ok: true, state: input.value };
    case 'get':
      return { ok: output === undefined || output.value === state, state };
    case 'cas': {
      const swaps = state === input.expected;
      if (output !== undefined && output.swapped !== swaps) return { ok: false, state };
      return { ok: true, state: swaps ? input.value : state };
    }
  }
}

interface Node {
  op: number;
  isCall: boolean;
  time: number;
  match?: Node; // the call's return event
  prev?: Node;
  next?: Node;
}

/** Checks one key's operations; `budget` bounds the search steps. */
function checkKey(ops: Operation[], budget: number): { ok: boolean; timedOut: boolean } {
  // Events sorted by time; at equal times calls come before returns (they overlap).
  const events: Node[] = [];
  ops.forEach((op, i) => {
    const call: Node = { op: i, isCall: true, time: op.call };
    const ret: Node = { op: i, isCall: false, time: op.return };
    call.match = ret;
    events.push(call, ret);
  });
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1));
  const head: Node = { op: -1, isCall: false, time: -Infinity };
  let prev = head;
  for (const event of events) {
    prev.next = event;
    event.prev = prev;
    prev = event;
  }

  const lift = (call: Node) => {
    call.prev!.next = call.next;
    if (call.next) call.next.prev = call.prev;
    const ret = call.match!;
    ret.prev!.next = ret.next;
    if (ret.next) ret.next.prev = ret.prev;
  };
  const unlift = (call: Node) => {
    const ret = call.match!;
    ret.prev!.next = ret;
    if (ret.next) ret.next.prev = ret;
    call.prev!.next = call;
    if (call.next) call.next.prev = call;
  };

  const linearized = new Uint8Array(ops.length);
  const seen = new Set<string>();
  const stack: Array<{ call: Node; state: State }> = [];
  let state: State = '';
  let entry = head.next;
  let steps = 0;
  while (head.next) {
    if (++steps > budget) return { ok: false, timedOut: true };
    if (entry && entry.isCall) {
      const op = ops[entry.op];
      const result = step(state, op.input, op.output);
      let advanced = false;
      if (result.ok) {
        linearized[entry.op] = 1;
        const key = `${Buffer.from(linearized).toString('base64')}|${result.state}`;
        if (!seen.has(key)) {
          seen.add(key);
          stack.push({ call: entry, state });
          state = result.state;
          lift(entry);
          entry = head.next;
          advanced = true;
        } else {
          linearized[entry.op] = 0;
        }
      }
      if (!advanced) entry = entry.next;
    } else {
      // A return reached before its call was linearized: backtrack.
      const top = stack.pop();
      if (!top) return { ok: false, timedOut: false };
      state = top.state;
      linearized[top.call.op] = 0;
      unlift(top.call);
      entry = top.call.next;
    }
  }
  return { ok: true, timedOut: false };
}

export function checkLinearizable(history: Operation[], budgetPerKey = 2_000_000): CheckResult {
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    const list = byKey.get(op.input.key) ?? [];
    list.push(op);
    byKey.set(op.input.key, list);
  }
  for (const [key, ops] of byKey) {
    const result = checkKey(ops, budgetPerKey);
    if (!result.ok) return { ok: false, key, operations: ops, timedOut: result.timedOut };
  }
  return { ok: true };
}
