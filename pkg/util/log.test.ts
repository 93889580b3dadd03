import { redact } from './log';

describe('redact', () => {
  it.each([
    [{ token: 'abc' }, { token: '[redacted]' }],
    [{ Authorization: 'Bearer abc' }, { Authorization: '[redacted]' }],
    [{ peer: { sharedSecret: 's', name: 'm1' } }, { peer: { sharedSecret: '[redacted]', name: 'm1' } }],
    [[{ adminToken: 'x' }], [{ adminToken: '[redacted]' }]],
    [
      { name: 'web', count: 3 },
      { name: 'web', count: 3 },
    ],
    ['plain', 'plain'],
  ])('redact(%j) = %j', (input, expected) => {
    expect(redact(input)).toEqual(expected);
  });
});
