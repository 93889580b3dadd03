/**
 * An informer index of owned objects by their controller, so that an owner finds what it
 * controls and the orphans it may adopt without scanning every object of its namespace:
 * with thousands of pods, a ReplicaSet sync that walks them all is O(pods) per sync and
 * O(pods²) for a rollout.
 */
import { getControllerOf, HasMetadata } from '../api';
import { Informer } from '../client';

export const OWNERSHIP_INDEX = 'ownership';

type Owned = HasMetadata & { metadata: { namespace?: string; resourceVersion?: string } };

/** `controller/<uid>` for an object with a controller, `orphan/<namespace>` for one without. */
export function ownershipValues(object: Owned): string[] {
  const ref = getControllerOf(object);
  return ref ? [`controller/${ref.uid}`] : [`orphan/${object.metadata.namespace ?? ''}`];
}

export function addOwnershipIndex<T extends Owned>(informer: Informer<T>): void {
  informer.addIndex(OWNERSHIP_INDEX, ownershipValues);
}

/** The objects of `namespace` whose controller has `uid`, in the informer's list order. */
export function controlledBy<T extends Owned>(informer: Informer<T>, namespace: string, uid: string): T[] {
  return informer
    .byIndex(OWNERSHIP_INDEX, `controller/${uid}`)
    .filter((object) => object.metadata.namespace === namespace);
}

/**
 * What an owner's claim has to look at: the objects of its namespace it controls and those
 * no one controls, in the informer's list order. Objects another owner controls are left out;
 * a claim skips those anyway.
 */
export function claimCandidates<T extends Owned>(informer: Informer<T>, namespace: string, uid: string): T[] {
  return informer
    .byIndex(OWNERSHIP_INDEX, `controller/${uid}`, `orphan/${namespace}`)
    .filter((object) => object.metadata.namespace === namespace);
}
