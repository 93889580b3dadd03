/** Helpers on object metadata that controllers, the scheduler and the CLI all need. */
import type { KubeObject, ObjectMeta, OwnerReference } from './types';

/** Anything with metadata. */
export interface HasMetadata {
  metadata: ObjectMeta;
}

/** `namespace/name`, or `name` for cluster-scoped objects: the key work queues and caches use. */
export function objectKey(object: HasMetadata): string {
  const { namespace, name = '' } = object.metadata;
  return namespace ? `${namespace}/${name}` : name;
}

/** The namespace and name of an objectKey. */
export function splitObjectKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf('/');
  return slash < 0
    ? { namespace: '', name: key }
    : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The owner reference marked `controller: true`, if any. */
export function getControllerOf(object: HasMetadata): OwnerReference | undefined {
  return object.metadata.ownerReferences?.find((reference) => reference.controller === true);
}

/** Whether `owner` is the controller of `object` (compared by uid, as Kubernetes does). */
export function isControlledBy(object: HasMetadata, owner: HasMetadata): boolean {
  const controller = getControllerOf(object);
  return (
    controller !== undefined && owner.metadata.uid !== undefined && controller.uid === owner.metadata.uid
  );
}

/** The owner reference a controller puts on what it creates: controller and blockOwnerDeletion set. */
export function newControllerRef(
  owner: Pick<KubeObject, 'apiVersion' | 'kind' | 'metadata'>,
): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** Consonants and digits that cannot spell words, as Kubernetes' rand.String uses. */
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const RANDOM_LENGTH = 5;
const MAX_GENERATED_BASE_LENGTH = 63 - RANDOM_LENGTH;

/**
 * `base` plus 5 random characters, as the apiserver does for `generateName` (the base is cut
 * to 58 characters). `random` returns numbers in [0, 1); pass a seeded one in tests.
 */
export function generateName(base: string, random: () => number = Math.random): string {
  let suffix = '';
  for (let i = 0; i < RANDOM_LENGTH; i++)
    suffix += NAME_ALPHABET[Math.floor(random() * NAME_ALPHABET.length)];
  return base.slice(0, MAX_GENERATED_BASE_LENGTH) + suffix;
}

/** The labels of an object, never undefined. */
export function labelsOf(object: HasMetadata): Readonly<Record<string, string>> {
  return object.metadata.labels ?? {};
}

/** The annotations of an object, never undefined. */
export function annotationsOf(object: HasMetadata): Readonly<Record<string, string>> {
  return object.metadata.annotations ?? {};
}
