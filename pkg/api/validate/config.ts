/** ConfigMaps and Secrets: key names, the 1 MiB size limit, secret types, immutability. */
import { FieldError, FieldPath, Unquoted } from '../field';
import { ConfigMap, Secret } from '../types';
import { deepEqual, validateImmutable, validateMetadataOf, validateObjectMetaUpdate } from './meta';
import { isConfigMapKey } from './names';

/** The largest total of data a ConfigMap or Secret may hold. */
export const MAX_CONFIG_SIZE = 1024 * 1024;
const REDACTED = new Unquoted('"<secret contents redacted>"');

function validateKeys(data: Readonly<Record<string, string>> | undefined, path: FieldPath): FieldError[] {
  return Object.keys(data ?? {}).flatMap((key) =>
    isConfigMapKey(key).map((message) => FieldError.invalid(path.key(key), key, message)),
  );
}

export function validateConfigMap(configMap: ConfigMap): FieldError[] {
  const errors = validateMetadataOf(configMap);
  const dataPath = FieldPath.root('data');
  let totalSize = 0;
  for (const [key, value] of Object.entries(configMap.data ?? {})) {
    errors.push(...isConfigMapKey(key).map((message) => FieldError.invalid(dataPath.key(key), key, message)));
    if (configMap.binaryData && key in configMap.binaryData) {
      errors.push(FieldError.invalid(dataPath.key(key), key, 'duplicate of key present in binaryData'));
    }
    totalSize += Buffer.byteLength(value);
  }
  errors.push(...validateKeys(configMap.binaryData, FieldPath.root('binaryData')));
  for (const value of Object.values(configMap.binaryData ?? {}))
    totalSize += Buffer.from(value, 'base64').length;
  // Kubernetes points this error at the whole object.
  if (totalSize > MAX_CONFIG_SIZE) errors.push(FieldError.tooLong(FieldPath.root(), MAX_CONFIG_SIZE));
  return errors;
}

/** Keys each secret type must have. */
const REQUIRED_SECRET_KEYS: Readonly<Record<string, readonly string[]>> = {
  'kubernetes.io/dockercfg': ['.dockercfg'],
  'kubernetes.io/dockerconfigjson': ['.dockerconfigjson'],
  'kubernetes.io/ssh-auth': ['ssh-privatekey'],
  'kubernetes.io/tls': ['tls.crt', 'tls.key'],
};

export function validateSecret(secret: Secret): FieldError[] {
  const errors = validateMetadataOf(secret);
  const dataPath = FieldPath.root('data');
  const data = secret.data ?? {};
  errors.push(...validateKeys(data, dataPath));
  const totalSize = Object.values(data).reduce((sum, value) => sum + Buffer.from(value, 'base64').length, 0);
  if (totalSize > MAX_CONFIG_SIZE) errors.push(FieldError.tooLong(dataPath, MAX_CONFIG_SIZE));
  const type = secret.type ?? '';
  if (
    type === 'kubernetes.io/service-account-token' &&
    !secret.metadata.annotations?.['kubernetes.io/service-account.name']
  ) {
    errors.push(
      FieldError.required(
        FieldPath.root('metadata', 'annotations').key('kubernetes.io/service-account.name'),
      ),
    );
  }
  if (type === 'kubernetes.io/basic-auth' && !('username' in data) && !('password' in data)) {
    errors.push(FieldError.required(dataPath.key('username')), FieldError.required(dataPath.key('password')));
  }
  for (const key of REQUIRED_SECRET_KEYS[type] ?? []) {
    if (!(key in data)) errors.push(FieldError.required(dataPath.key(key)));
  }
  for (const key of ['.dockercfg', '.dockerconfigjson']) {
    if (!(REQUIRED_SECRET_KEYS[type] ?? []).includes(key) || !(key in data)) continue;
    try {
      JSON.parse(Buffer.from(data[key], 'base64').toString('utf8'));
    } catch (error) {
      errors.push(FieldError.invalid(dataPath.key(key), REDACTED, (error as Error).message));
    }
  }
  return errors;
}

/** An immutable ConfigMap or Secret keeps its data forever, and stays immutable. */
function validateImmutableData(
  next: { immutable?: boolean; data?: Record<string, string>; binaryData?: Record<string, string> },
  previous: typeof next,
): FieldError[] {
  if (!previous.immutable) return [];
  const errors: FieldError[] = [];
  if (!next.immutable)
    errors.push(
      FieldError.forbidden(FieldPath.root('immutable'), 'field is immutable when `immutable` is set'),
    );
  if (!deepEqual(next.data, previous.data))
    errors.push(FieldError.forbidden(FieldPath.root('data'), 'field is immutable when `immutable` is set'));
  if (!deepEqual(next.binaryData, previous.binaryData)) {
    errors.push(
      FieldError.forbidden(FieldPath.root('binaryData'), 'field is immutable when `immutable` is set'),
    );
  }
  return errors;
}

export function validateConfigMapUpdate(next: ConfigMap, previous: ConfigMap): FieldError[] {
  return [
    ...validateObjectMetaUpdate(next.metadata, previous.metadata, FieldPath.root('metadata')),
    ...validateImmutableData(next, previous),
  ];
}

export function validateSecretUpdate(next: Secret, previous: Secret): FieldError[] {
  return [
    ...validateObjectMetaUpdate(next.metadata, previous.metadata, FieldPath.root('metadata')),
    ...validateImmutable(next.type, previous.type, FieldPath.root('type')),
    ...validateImmutableData(next, previous),
  ];
}
