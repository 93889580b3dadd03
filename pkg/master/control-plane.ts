/**
 * The control loops a master runs while it is the Raft leader: the scheduler and every
 * controller, over one set of shared informers. Each term of leadership starts from a fresh
 * list (new informers, new caches) so a new leader converges from what the store holds, not
 * from what an earlier term believed.
 */
import { Client, LocalDispatch } from '../client';
import { allControllers, ControllerOptions } from '../controller/all';
import { controllerContext, runControllers } from '../controller/context';
import { Scheduler } from '../scheduler/scheduler';

export async function runControlPlane(
  apiUrl: string,
  token: string,
  host: string,
  options: ControllerOptions,
  signal: AbortSignal,
  local?: LocalDispatch,
): Promise<void> {
  // Only this master's own API: if it stops leading, these loops stop with it. Its requests go
  // to that API in process (local): no socket, no HTTP; its watches stream over loopback HTTP.
  const client = new Client({
    servers: [apiUrl],
    token,
    userAgent: `bosun-control-plane/${host}`,
    local,
  });
  // Writes still queued when leadership ends (events above all) are the new leader's to make:
  // failing them at once lets the loops wind down instead of retrying a stopping API for minutes.
  signal.addEventListener('abort', () => client.close(), { once: true });
  try {
    const context = controllerContext(client, host);
    const controllers = [new Scheduler(context), ...allControllers(context, options)];
    await runControllers(context, controllers, signal);
  } finally {
    client.close();
  }
}
