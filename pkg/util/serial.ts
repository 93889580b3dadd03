/**
 * Runs async tasks one at a time, in the order they were given: for changes to shared host
 * state (addresses on a device, iptables chains) that must not interleave. A failed task fails
 * only its own caller; the next one still runs.
 */
export class Serial {
  private tail: Promise<void> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
