/**
 * What every controller (and the scheduler) is given: the client, one shared informer per
 * kind (so ten controllers watching pods cost one watch and one cache, as client-go's
 * SharedInformerFactory does), and an event recorder. A controller is written against this
 * only, so it runs the same way on the raft leader and in a test with an in-memory apiserver.
 */
import { Kind, ObjectOfKind } from '../api';
import { Client, EventRecorder, Informer } from '../client';

export interface Controller {
  readonly name: string;
  /** Runs until the signal aborts (leadership lost or shutdown). Informers are already started. */
  run(signal: AbortSignal): Promise<void>;
}

export class SharedInformers {
  private readonly informers = new Map<string, Informer<never>>();
  private signal?: AbortSignal;

  constructor(private readonly client: Client) {}

  /** The one informer of a kind across all namespaces; started at once if the factory runs. */
  informer<K extends Kind>(kind: K): Informer<ObjectOfKind<K>> {
    let informer = this.informers.get(kind);
    if (!informer) {
      informer = new Informer(this.client.resource(kind) as never) as Informer<never>;
      this.informers.set(kind, informer);
      if (this.signal) void informer.run(this.signal);
    }
    return informer as unknown as Informer<ObjectOfKind<K>>;
  }

  /** Starts every informer requested so far, and any requested later, until the signal aborts. */
  start(signal: AbortSignal): void {
    this.signal = signal;
    for (const informer of this.informers.values()) void informer.run(signal);
  }

  async waitForSync(signal?: AbortSignal): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.waitForSync(signal)));
  }
}

export interface ControllerContext {
  client: Client;
  informers: SharedInformers;
  /** A recorder whose events name `component` as their source. */
  recorder(component: string): EventRecorder;
}

export function controllerContext(client: Client, host?: string): ControllerContext {
  const recorders = new Map<string, EventRecorder>();
  return {
    client,
    informers: new SharedInformers(client),
    recorder(component) {
      let recorder = recorders.get(component);
      if (!recorder) {
        recorder = new EventRecorder(client, { component, host });
        recorders.set(component, recorder);
      }
      return recorder;
    },
  };
}

/**
 * Runs controllers together: each registers its informers in its constructor, then all
 * informers start, sync, and the controllers run until the signal aborts.
 */
export async function runControllers(
  context: ControllerContext,
  controllers: Controller[],
  signal: AbortSignal,
): Promise<void> {
  context.informers.start(signal);
  await context.informers.waitForSync(signal);
  if (signal.aborted) return;
  await Promise.all(controllers.map((c) => c.run(signal)));
}
