/**
 * Adoption and release by selector, as Kubernetes' ControllerRefManager: an owner claims the
 * objects its selector matches. What it controls and still matches it keeps; what it
 * controls but no longer matches it releases (unless it is being deleted); orphans that match
 * it adopts (unless it or they are being deleted), after checking once, with a fresh read,
 * that it still exists and is not being deleted — its cached copy may be stale.
 */
import { ApiError, getControllerOf, HasMetadata, KubeObject, newControllerRef } from '../../api';
import { ResourceClient } from '../../client';

type Owner = Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>;
type Owned = HasMetadata & { metadata: { name?: string; namespace?: string } };

export interface ClaimOptions<T extends Owned> {
  owner: Owner;
  matches(object: T): boolean;
  /** The client of the claimed kind, for the adopt and release patches. */
  client: ResourceClient<T>;
  /** A fresh read of the owner; resolves when it may adopt, rejects when it may not. */
  canAdopt(): Promise<void>;
}

export interface ClaimResult<T> {
  claimed: T[];
  errors: Error[];
}

/** Claims `objects` for `owner`; errors (a failed patch) are collected, not thrown, as Kubernetes aggregates them. */
export async function claimObjects<T extends Owned>(
  objects: T[],
  options: ClaimOptions<T>,
): Promise<ClaimResult<T>> {
  const { owner } = options;
  const ownerDeleting = Boolean(owner.metadata.deletionTimestamp);
  const claimed: T[] = [];
  const errors: Error[] = [];
  let adoptable: Promise<void> | undefined;
  for (const object of objects) {
    const controller = getControllerOf(object);
    try {
      if (controller) {
        if (controller.uid !== owner.metadata.uid) continue;
        // Keeping what we own takes no write, so it is allowed even while being deleted.
        if (options.matches(object)) {
          claimed.push(object);
          continue;
        }
        if (ownerDeleting) continue;
        await release(object, options);
        continue;
      }
      if (ownerDeleting || !options.matches(object)) continue;
      if (object.metadata.deletionTimestamp) continue;
      if (object.metadata.namespace !== owner.metadata.namespace) continue;
      adoptable ??= options.canAdopt();
      await adoptable;
      claimed.push(await adopt(object, options));
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) continue;
      errors.push(error as Error);
    }
  }
  return { claimed, errors };
}

async function adopt<T extends Owned>(object: T, options: ClaimOptions<T>): Promise<T> {
  const patch = {
    metadata: { ownerReferences: [newControllerRef(options.owner)], uid: object.metadata.uid },
  };
  return options.client.patch(object.metadata.namespace, object.metadata.name!, patch, 'strategic');
}

async function release<T extends Owned>(object: T, options: ClaimOptions<T>): Promise<void> {
  const patch = {
    metadata: {
      ownerReferences: [{ $patch: 'delete', uid: options.owner.metadata.uid }],
      uid: object.metadata.uid,
    },
  };
  try {
    await options.client.patch(object.metadata.namespace, object.metadata.name!, patch, 'strategic');
  } catch (error) {
    // Invalid: it has no such owner any more, or it is another object of the same name. Either way not ours.
    if (error instanceof ApiError && error.code === 422) return;
    throw error;
  }
}

/** A canAdopt that re-reads the owner and refuses if it is gone, replaced, or being deleted. */
export function recheckOwner(owner: Owner, read: () => Promise<HasMetadata>): () => Promise<void> {
  return async () => {
    const fresh = await read();
    const { namespace, name, uid } = owner.metadata;
    if (fresh.metadata.uid !== uid)
      throw new Error(
        `original ${owner.kind} ${namespace}/${name} is gone: got uid ${fresh.metadata.uid}, wanted ${uid}`,
      );
    if (fresh.metadata.deletionTimestamp)
      throw new Error(
        `${owner.kind} ${namespace}/${name} has just been deleted at ${fresh.metadata.deletionTimestamp}`,
      );
  };
}
