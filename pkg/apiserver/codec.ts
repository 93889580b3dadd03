import { KubeObject } from '../api';
import { StoredValue } from '../store/types';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The stored form: the object's JSON without resourceVersion (the store's revision says it). */
export function encodeObject(object: KubeObject): Uint8Array {
  const { resourceVersion: _dropped, ...metadata } = object.metadata;
  return encoder.encode(JSON.stringify({ ...object, metadata }));
}

/** The object of a stored value, its resourceVersion the key's modRevision. */
export function decodeStored(stored: StoredValue): KubeObject {
  return withRevision(JSON.parse(decoder.decode(stored.value)) as KubeObject, stored.modRevision);
}

export function decodeBytes(value: Uint8Array, revision: number): KubeObject {
  return withRevision(JSON.parse(decoder.decode(value)) as KubeObject, revision);
}

function withRevision(object: KubeObject, revision: number): KubeObject {
  object.metadata.resourceVersion = String(revision);
  return object;
}

/** RFC 3339 with second precision, as Kubernetes' metav1.Time serialises. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
