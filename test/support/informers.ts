/**
 * A ResourceClient for informer tests without an apiserver: its list answers `items` at
 * revision 1, and its watch yields what the test pushes until the informer stops.
 */
import { ResourceClient, WatchEvent } from '../../pkg/client';

type Listed = { metadata: { name?: string; namespace?: string; resourceVersion?: string } };

export function scriptedResourceClient<T extends Listed>(
  items: T[],
  resource = 'pods',
): { client: ResourceClient<T>; push(event: WatchEvent<T>): void } {
  const pushed: Array<WatchEvent<T>> = [];
  let wake: (() => void) | undefined;
  const client = {
    info: { resource },
    listAll: async () => ({ metadata: { resourceVersion: '1' }, items }),
    async *watch(_namespace: unknown, _options: unknown, signal: AbortSignal) {
      signal.addEventListener('abort', () => wake?.(), { once: true });
      while (!signal.aborted) {
        const event = pushed.shift();
        if (event) yield event;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    },
  } as unknown as ResourceClient<T>;
  return {
    client,
    push(event) {
      pushed.push(event);
      wake?.();
    },
  };
}
