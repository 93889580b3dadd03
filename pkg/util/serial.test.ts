import { Serial } from './serial';

describe('Serial', () => {
  it('runs tasks one at a time in order, and a failure stops only its own task', async () => {
    const serial = new Serial();
    const log: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const first = serial.run(async () => {
      log.push('first starts');
      await gate;
      log.push('first ends');
      return 1;
    });
    const second = serial.run(async () => {
      log.push('second');
      throw new Error('second failed');
    });
    const third = serial.run(async () => {
      log.push('third');
      return 3;
    });
    // Nothing after the first may start while it waits.
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['first starts']);
    release();
    await expect(first).resolves.toBe(1);
    await expect(second).rejects.toThrow('second failed');
    await expect(third).resolves.toBe(3);
    expect(log).toEqual(['first starts', 'first ends', 'second', 'third']);
  });
});
