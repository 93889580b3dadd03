/**
 * A workload test bed: the in-memory apiserver, a client, the fake kubelet, and controllers
 * that can be started and stopped (a stopped set and a new one with fresh informers is what a
 * leader change looks like). Plus builders for the objects the tests create.
 */
import { setMaxListeners } from 'events';
import { Deployment, Pod, ReplicaSet } from '../../pkg/api';
import { LocalApiServer, startLocalApiServer } from '../../pkg/apiserver/local';
import { Client } from '../../pkg/client';
import {
  Controller,
  ControllerContext,
  controllerContext,
  runControllers,
} from '../../pkg/controller/context';
import { FakeKubelet, FakeKubeletOptions } from './kubelet';

export interface RunningControllers {
  context: ControllerContext;
  controllers: Controller[];
  stop(): Promise<void>;
}

export interface TestBed {
  api: LocalApiServer;
  client: Client;
  kubelet?: FakeKubelet;
  /** Starts controllers on a fresh context (own informers) talking to `url` (default: the apiserver). */
  startControllers(
    make: (context: ControllerContext) => Controller[],
    url?: string,
  ): Promise<RunningControllers>;
  startKubelet(options?: FakeKubeletOptions): Promise<FakeKubelet>;
  pods(namespace?: string, labels?: Record<string, string>): Promise<Pod[]>;
  close(): Promise<void>;
}

export async function startTestBed(): Promise<TestBed> {
  const api = await startLocalApiServer();
  const client = new Client({ servers: [api.url], token: api.adminToken });
  const aborts: AbortController[] = [];
  const clients: Client[] = [client];
  const running: Promise<void>[] = [];
  const bed: TestBed = {
    api,
    client,
    async startControllers(make, url = api.url) {
      const own = new Client({ servers: [url], token: api.adminToken });
      clients.push(own);
      const context = controllerContext(own, 'test');
      const controllers = make(context);
      const abort = new AbortController();
      // Every informer and request of the controllers listens on it.
      setMaxListeners(200, abort.signal);
      aborts.push(abort);
      const done = runControllers(context, controllers, abort.signal).catch(() => undefined);
      running.push(done);
      await context.informers.waitForSync(abort.signal);
      return {
        context,
        controllers,
        stop: async () => {
          abort.abort();
          await done;
        },
      };
    },
    async startKubelet(options) {
      const abort = new AbortController();
      aborts.push(abort);
      const kubelet = new FakeKubelet(client, options);
      await kubelet.start(abort.signal);
      bed.kubelet = kubelet;
      return kubelet;
    },
    async pods(namespace = 'default', labels) {
      const selector = labels
        ? Object.entries(labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(',')
        : undefined;
      return (await client.resource('Pod').list(namespace, { labelSelector: selector })).items;
    },
    async close() {
      for (const abort of aborts) abort.abort();
      await Promise.all(running);
      for (const c of clients) c.close();
      await api.close();
    },
  };
  return bed;
}

export function podTemplate(labels: Record<string, string>, image = 'bosun/hello:local') {
  return {
    metadata: { labels },
    spec: { containers: [{ name: 'app', image }] },
  };
}

export function replicaSet(
  name: string,
  replicas: number,
  labels: Record<string, string> = { app: name },
  extra: Partial<ReplicaSet['spec']> = {},
): ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default' },
    spec: { replicas, selector: { matchLabels: labels }, template: podTemplate(labels), ...extra },
  };
}

export function deployment(
  name: string,
  replicas: number,
  extra: Partial<Deployment['spec']> = {},
  image = 'bosun/hello:local',
): Deployment {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: { replicas, selector: { matchLabels: labels }, template: podTemplate(labels, image), ...extra },
  };
}

/** A bare pod with these labels (an orphan until someone adopts it). */
export function pod(name: string, labels: Record<string, string>): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels },
    spec: { containers: [{ name: 'app', image: 'bosun/hello:local' }] },
  };
}
