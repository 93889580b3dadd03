import { RestartBackoff } from './backoff';

describe('RestartBackoff', () => {
  it('starts at 10 s, doubles to 5 min, and resets after 10 min of running', () => {
    const backoff = new RestartBackoff();
    const delays: number[] = [];
    let t = 0;
    for (let i = 0; i < 7; i++) {
      delays.push(backoff.failed('pod/c', t, t + 1000));
      t += 400_000;
    }
    expect(delays).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
    expect(backoff.failed('pod/c', t, t + 600_000)).toBe(10_000);
    expect(backoff.readyAt('pod/c')).toBe(t + 600_000 + 10_000);
    backoff.forget('pod/');
    expect(backoff.readyAt('pod/c')).toBe(0);
  });
});
