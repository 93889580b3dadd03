/** Every type of pkg/api, and the union of the objects bosun stores. */
import type { Deployment, ReplicaSet, StatefulSet } from './apps';
import type { Binding, Event, Namespace, Node } from './cluster';
import type { ConfigMap, Secret } from './config';
import type { Lease } from './coordination';
import type { EndpointSlice } from './discovery';
import type { Pod } from './pod';
import type { Endpoints, Service } from './service';

export * from './meta';
export * from './pod';
export * from './service';
export * from './config';
export * from './cluster';
export * from './apps';
export * from './coordination';
export * from './discovery';
export * from './autoscaling';

/** Every kind the registry serves, discriminated by `kind`. */
export type KubeObject =
  | Pod
  | Service
  | Endpoints
  | ConfigMap
  | Secret
  | Namespace
  | Node
  | Event
  | Binding
  | Deployment
  | ReplicaSet
  | StatefulSet
  | Lease
  | EndpointSlice;

export type Kind = KubeObject['kind'];

/** The object of one kind: `ObjectOfKind<'Pod'>` is `Pod`. */
export type ObjectOfKind<K extends Kind> = Extract<KubeObject, { kind: K }>;
