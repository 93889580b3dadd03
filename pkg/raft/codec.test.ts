import {
  CodecError,
  decodeHardState,
  decodeMessage,
  decodeSnapshot,
  encodeHardState,
  encodeMessage,
  encodeSnapshot,
} from './codec';
import { Random } from './sim/random';
import { Entry, Message } from './types';

const entry = (index: number, text: string, type: Entry['type'] = 'normal'): Entry => ({
  index,
  term: 7,
  type,
  data: new TextEncoder().encode(text),
});
const snapshot = {
  meta: { index: 1_234_567_890_123, term: 9, conf: { voters: ['m1', 'm2', 'm3'], learners: ['m4'] } },
  data: new Uint8Array([0, 1, 2, 255]),
};

const samples: Message[] = [
  {
    type: 'append',
    from: 'm1',
    to: 'm2',
    term: 3,
    index: 10,
    logTerm: 2,
    commit: 9,
    entries: [entry(11, 'a'), entry(12, '', 'confChange')],
  },
  {
    type: 'appendResponse',
    from: 'm2',
    to: 'm1',
    term: 3,
    index: 12,
    reject: true,
    rejectHint: 8,
    logTerm: 2,
  },
  { type: 'vote', from: 'm3', to: 'm1', term: 4, index: 12, logTerm: 3, transfer: true },
  { type: 'preVote', from: 'm3', to: 'm1', term: 5, index: 12, logTerm: 3, transfer: false },
  { type: 'voteResponse', from: 'm1', to: 'm3', term: 4, reject: false },
  { type: 'preVoteResponse', from: 'm1', to: 'm3', term: 5, reject: true },
  { type: 'heartbeat', from: 'm1', to: 'm2', term: 3, commit: 12, context: 'read-42' },
  { type: 'heartbeatResponse', from: 'm2', to: 'm1', term: 3, context: '' },
  { type: 'snapshot', from: 'm1', to: 'm4', term: 3, snapshot },
  { type: 'timeoutNow', from: 'm1', to: 'm2', term: 3 },
  { type: 'propose', from: 'm2', to: 'm1', term: 0, entries: [entry(0, 'x'.repeat(1024))] },
  { type: 'readIndex', from: 'm2', to: 'm1', term: 0, context: 'ctx' },
  { type: 'readIndexResponse', from: 'm1', to: 'm2', term: 3, index: 12, context: 'ctx' },
];

describe('codec', () => {
  it.each(samples.map((m) => [m.type, m] as const))('round-trips %s', (_type, message) => {
    expect(decodeMessage(encodeMessage(message))).toEqual(message);
  });

  it('round-trips hard state and snapshots, with indexes up to 2^53', () => {
    expect(decodeHardState(encodeHardState({ term: 2 ** 53 - 1, vote: 'm2', commit: 77 }))).toEqual({
      term: 2 ** 53 - 1,
      vote: 'm2',
      commit: 77,
    });
    expect(decodeSnapshot(encodeSnapshot(snapshot))).toEqual(snapshot);
  });

  it('round-trips random messages', () => {
    const random = new Random(42);
    for (let i = 0; i < 500; i++) {
      const message = {
        ...random.pick(samples),
        term: random.int(0, 1e9),
        from: `m${random.int(1, 9)}`,
      } as Message;
      expect(decodeMessage(encodeMessage(message))).toEqual(message);
    }
  });

  it('refuses truncated or garbage input with a clear error', () => {
    const encoded = encodeMessage(samples[0]);
    for (let cut = 0; cut < encoded.length; cut++) {
      expect(() => decodeMessage(encoded.subarray(0, cut))).toThrow(CodecError);
    }
    expect(() => decodeMessage(new Uint8Array([200, 1, 2]))).toThrow('unknown message type 200');
    expect(() => decodeMessage(Buffer.concat([encoded, Buffer.from([1])]))).toThrow('trailing bytes');
  });
});
