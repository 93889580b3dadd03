/**
 * Controllers against the in-memory apiserver: a real apiserver over HTTP on loopback, an
 * admin client, a controller context, and the controllers running until the test ends.
 */
import { setMaxListeners } from 'events';
import { ApiError, Pod } from '../../pkg/api';
import { LocalApiServer, startLocalApiServer } from '../../pkg/apiserver/local';
import { Client } from '../../pkg/client';
import {
  Controller,
  ControllerContext,
  controllerContext,
  runControllers,
} from '../../pkg/controller/context';

export interface ControllerHarness {
  api: LocalApiServer;
  client: Client;
  context: ControllerContext;
  /** Builds the controllers with the context, starts informers and controllers, resolves once synced. */
  start(build: (context: ControllerContext) => Controller[]): Promise<void>;
  /** Stops the controllers (as a lost leadership would); the apiserver keeps running. */
  stopControllers(): Promise<void>;
  close(): Promise<void>;
}

export async function startControllerHarness(): Promise<ControllerHarness> {
  const api = await startLocalApiServer();
  const client = new Client({ servers: [api.url], token: api.adminToken });
  let context = controllerContext(client);
  let abort: AbortController | undefined;
  let running: Promise<void> | undefined;
  const harness: ControllerHarness = {
    api,
    client,
    get context() {
      return context;
    },
    async start(build) {
      await harness.stopControllers();
      // A fresh context each time: a new leader starts with empty caches.
      context = controllerContext(client);
      const controllers = build(context);
      abort = new AbortController();
      // One abort listener per informer's watch and per controller: more than Node's default ten.
      setMaxListeners(100, abort.signal);
      running = runControllers(context, controllers, abort.signal);
      await context.informers.waitForSync(abort.signal);
    },
    async stopControllers() {
      abort?.abort();
      await running?.catch(() => undefined);
      abort = undefined;
      running = undefined;
    },
    async close() {
      await harness.stopControllers();
      client.close();
      await api.close();
    },
  };
  return harness;
}

/** True when the call fails with this HTTP code. */
export async function failsWith(code: number, call: Promise<unknown>): Promise<boolean> {
  try {
    await call;
    return false;
  } catch (error) {
    if (error instanceof ApiError) return error.code === code;
    throw error;
  }
}

/** Whether the object is gone (404). */
export async function isGone(call: Promise<unknown>): Promise<boolean> {
  return failsWith(404, call);
}

/** A minimal pod; pass overrides for spec and metadata. */
export function podManifest(
  name: string,
  namespace = 'default',
  extra: {
    labels?: Record<string, string>;
    spec?: Partial<Pod['spec']>;
    metadata?: Partial<Pod['metadata']>;
  } = {},
): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: extra.labels, ...extra.metadata },
    spec: {
      containers: [{ name: 'app', image: 'bosun/hello:local' }],
      terminationGracePeriodSeconds: 30,
      ...extra.spec,
    },
  } as Pod;
}
