import { WorkQueue } from './workqueue';

describe('WorkQueue', () => {
  it('holds a key once however often it is added', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(queue.length).toBe(2);
    expect(await queue.get()).toBe('a');
    expect(await queue.get()).toBe('b');
  });

  it('never hands a key being processed to a second worker, and requeues it if it changed meanwhile', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    const key = await queue.get();
    queue.add('a'); // changed while being processed
    expect(queue.length).toBe(0);
    queue.done(key!);
    expect(queue.length).toBe(1);
    expect(await queue.get()).toBe('a');
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const queue = new WorkQueue();
    const next = queue.get();
    queue.add('x');
    expect(await next).toBe('x');
  });

  it('backs off exponentially per key until forgotten', () => {
    const queue = new WorkQueue({ baseDelayMs: 10, maxDelayMs: 100 });
    expect([0, 1, 2, 3, 4, 10].map((n) => queue.backoffFor(n))).toEqual([10, 20, 40, 80, 100, 100]);
    jest.useFakeTimers();
    try {
      queue.addRateLimited('k');
      queue.addRateLimited('k'); // the earlier deadline stands
      expect(queue.retries('k')).toBe(2);
      jest.advanceTimersByTime(9);
      expect(queue.length).toBe(0);
      jest.advanceTimersByTime(1);
      expect(queue.length).toBe(1);
      queue.forget('k');
      expect(queue.retries('k')).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('runs workers that retry failures and stop at shutdown', async () => {
    const queue = new WorkQueue({ baseDelayMs: 1 });
    const attempts: string[] = [];
    queue.add('flaky');
    queue.add('fine');
    const running = queue.run(2, async (key) => {
      attempts.push(key);
      if (key === 'flaky' && attempts.filter((k) => k === 'flaky').length < 3) throw new Error('not yet');
      if (attempts.filter((k) => k === 'flaky').length === 3) queue.shutDown();
    });
    await running;
    expect(attempts.filter((k) => k === 'flaky')).toHaveLength(3);
    expect(attempts).toContain('fine');
    expect(await queue.get()).toBeUndefined();
  });
});
