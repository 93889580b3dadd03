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

describe('logger', () => {
  it('writes lines at and above the level, nothing below, and redacts secrets', async () => {
    const written: string[] = [];
    // The Console transport writes to console._stderr (jest's console has its own).
    const stderr = (console as unknown as { _stderr: NodeJS.WritableStream })._stderr;
    const write = jest.spyOn(stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const level = process.env.BOSUN_LOG_LEVEL;
    process.env.BOSUN_LOG_LEVEL = 'info';
    try {
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { logger } = require('./log') as typeof import('./log');
        const log = logger('test', { object: 'default/web' });
        expect(log.debug('hidden', { n: 1 })).toBe(log);
        log.info('shown', { token: 'abc' });
        log.warn('warned');
      });
      // winston hands lines to its transports on later ticks.
      for (let turn = 0; turn < 100 && written.length < 2; turn++) await new Promise(setImmediate);
    } finally {
      write.mockRestore();
      if (level === undefined) delete process.env.BOSUN_LOG_LEVEL;
      else process.env.BOSUN_LOG_LEVEL = level;
    }
    const lines = written.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.message)).toEqual(['shown', 'warned']);
    expect(lines[0]).toMatchObject({
      component: 'test',
      object: 'default/web',
      level: 'info',
      token: '[redacted]',
    });
  });
});
