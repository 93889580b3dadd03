/**
 * Every controller the raft leader runs, in one list. A master builds them with its client
 * (admin identity, talking to its own API) and runs them while it leads.
 */
import { Controller, ControllerContext } from './context';
import { DeploymentController } from './deployment/deployment';
import { EndpointsController } from './endpoints/endpoints';
import { GarbageCollector } from './gc/garbage-collector';
import { NamespaceController } from './namespace/namespace';
import { NodeLifecycleController } from './node/lifecycle';
import { ReplicaSetController } from './replicaset/replicaset';

export interface ControllerOptions {
  /** How long a node's Lease may go unrenewed before the node is Unknown (node lifecycle). */
  nodeGracePeriodMs: number;
  /** Default toleration of pods for an unreachable or not-ready node before eviction. */
  podEvictionTimeoutMs: number;
}

export const DEFAULT_CONTROLLER_OPTIONS: ControllerOptions = {
  nodeGracePeriodMs: 10_000,
  podEvictionTimeoutMs: 30_000,
};

export function allControllers(context: ControllerContext, options: ControllerOptions): Controller[] {
  const controllers: Controller[] = [];
  controllers.push(new ReplicaSetController(context), new DeploymentController(context));
  controllers.push(
    new NodeLifecycleController(context, {
      nodeGracePeriodMs: options.nodeGracePeriodMs,
      podEvictionTimeoutMs: options.podEvictionTimeoutMs,
    }),
  );
  controllers.push(new EndpointsController(context));
  controllers.push(new GarbageCollector(context));
  controllers.push(new NamespaceController(context));
  return controllers;
}
