/** Pod volumes: names, exactly one source each, and the rules of the sources bosun runs. */
import { FieldError, FieldPath } from '../field';
import { tryParseQuantity } from '../quantity';
import { KeyToPath, PersistentVolumeClaim, Volume, VolumeSourceNames } from '../types';
import { validateDNS1123Label, validateObjectFieldSelector } from './container';
import { validateLocalNonReservedPath, validatePathNoBacksteps } from './paths';

const FILE_MODE_MESSAGE = 'must be a number between 0 and 0777 (octal), both inclusive';
const VOLUME_FIELD_PATHS = [
  'metadata.annotations',
  'metadata.labels',
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
];

export interface VolumeValidation {
  errors: FieldError[];
  /** The volumes that validated, by name; a mount may only name one of these. */
  volumes: Map<string, { claim: boolean }>;
}

/**
 * Validates `volumes`. As in Kubernetes, a volume with errors is not added to the result,
 * so mounts of it are reported too. `claimTemplates` are StatefulSet volumeClaimTemplates,
 * whose names mounts may use as well.
 */
export function validateVolumes(
  volumes: readonly Volume[],
  path: FieldPath,
  claimTemplates: readonly PersistentVolumeClaim[] = [],
): VolumeValidation {
  const errors: FieldError[] = [];
  const valid = new Map<string, { claim: boolean }>();
  volumes.forEach((volume, i) => {
    const volumePath = path.index(i);
    const volumeErrors = validateVolumeSource(volume, volumePath);
    if (!volume.name) volumeErrors.push(FieldError.required(volumePath.child('name')));
    else volumeErrors.push(...validateDNS1123Label(volume.name, volumePath.child('name')));
    if (valid.has(volume.name))
      volumeErrors.push(FieldError.duplicate(volumePath.child('name'), volume.name));
    if (volumeErrors.length === 0)
      valid.set(volume.name, {
        claim: volume.persistentVolumeClaim !== undefined || volume.ephemeral !== undefined,
      });
    errors.push(...volumeErrors);
  });
  for (const claim of claimTemplates)
    if (claim.metadata.name && !valid.has(claim.metadata.name))
      valid.set(claim.metadata.name, { claim: true });
  return { errors, volumes: valid };
}

function validateVolumeSource(volume: Volume, path: FieldPath): FieldError[] {
  const errors: FieldError[] = [];
  let sources = 0;
  for (const source of VolumeSourceNames) {
    if (volume[source] === undefined) continue;
    if (sources > 0) {
      errors.push(FieldError.forbidden(path.child(source), 'may not specify more than 1 volume type'));
      continue;
    }
    sources += 1;
    errors.push(...validateSourceFields(volume, source, path.child(source)));
  }
  if (sources === 0) errors.push(FieldError.required(path, 'must specify a volume type'));
  return errors;
}

function validateFileMode(mode: number | undefined, path: FieldPath): FieldError[] {
  return mode !== undefined && (mode < 0 || mode > 0o777)
    ? [FieldError.invalid(path, mode, FILE_MODE_MESSAGE)]
    : [];
}

function validateKeyToPath(item: KeyToPath, path: FieldPath): FieldError[] {
  const errors: FieldError[] = [];
  if (!item.key) errors.push(FieldError.required(path.child('key')));
  if (!item.path) errors.push(FieldError.required(path.child('path')));
  errors.push(...validateLocalNonReservedPath(item.path, path.child('path')));
  errors.push(...validateFileMode(item.mode, path.child('mode')));
  return errors;
}

function validateItems(items: readonly KeyToPath[] | undefined, path: FieldPath): FieldError[] {
  return (items ?? []).flatMap((item, i) => validateKeyToPath(item, path.index(i)));
}

function validateSourceFields(
  volume: Volume,
  source: (typeof VolumeSourceNames)[number],
  path: FieldPath,
): FieldError[] {
  const errors: FieldError[] = [];
  switch (source) {
    case 'hostPath': {
      const hostPath = volume.hostPath!;
      if (!hostPath.path) return [FieldError.required(path.child('path'))];
      errors.push(...validatePathNoBacksteps(hostPath.path, path.child('path')));
      const supported = [
        '',
        'BlockDevice',
        'CharDevice',
        'Directory',
        'DirectoryOrCreate',
        'File',
        'FileOrCreate',
        'Socket',
      ];
      const type = hostPath.type as string | undefined;
      if (type !== undefined && !supported.includes(type))
        errors.push(FieldError.notSupported(path.child('type'), type, supported));
      return errors;
    }
    case 'emptyDir': {
      const sizeLimit = volume.emptyDir!.sizeLimit;
      if (sizeLimit !== undefined && (tryParseQuantity(sizeLimit.trim())?.sign() ?? 0) < 0) {
        errors.push(
          FieldError.forbidden(path.child('sizeLimit'), 'SizeLimit field must be a valid resource quantity'),
        );
      }
      return errors;
    }
    case 'secret': {
      const secret = volume.secret!;
      if (!secret.secretName) errors.push(FieldError.required(path.child('secretName')));
      errors.push(...validateFileMode(secret.defaultMode, path.child('defaultMode')));
      errors.push(...validateItems(secret.items, path.child('items')));
      return errors;
    }
    case 'configMap': {
      const configMap = volume.configMap!;
      if (!configMap.name) errors.push(FieldError.required(path.child('name')));
      errors.push(...validateFileMode(configMap.defaultMode, path.child('defaultMode')));
      errors.push(...validateItems(configMap.items, path.child('items')));
      return errors;
    }
    case 'persistentVolumeClaim':
      return volume.persistentVolumeClaim!.claimName ? [] : [FieldError.required(path.child('claimName'))];
    case 'downwardAPI': {
      const downwardAPI = volume.downwardAPI!;
      errors.push(...validateFileMode(downwardAPI.defaultMode, path.child('defaultMode')));
      for (const item of downwardAPI.items ?? []) errors.push(...validateDownwardAPIFile(item, path));
      return errors;
    }
    case 'projected':
      return validateProjected(volume.projected!, path);
    case 'nfs': {
      const nfs = volume.nfs!;
      if (!nfs.server) errors.push(FieldError.required(path.child('server')));
      if (!nfs.path) errors.push(FieldError.required(path.child('path')));
      if (!nfs.path.startsWith('/'))
        errors.push(FieldError.invalid(path.child('path'), nfs.path, 'must be an absolute path'));
      return errors;
    }
    case 'csi':
      return volume.csi!.driver ? [] : [FieldError.required(path.child('driver'))];
    case 'ephemeral':
      return volume.ephemeral!.volumeClaimTemplate
        ? []
        : [FieldError.required(path.child('volumeClaimTemplate'))];
    default:
      // Network and cloud volume sources: accepted as given, bosun does not run them.
      return errors;
  }
}

type DownwardAPIFile = NonNullable<NonNullable<Volume['downwardAPI']>['items']>[number];

/** Kubernetes reports file problems under the source's path, not the item's. */
function validateDownwardAPIFile(file: DownwardAPIFile, path: FieldPath): FieldError[] {
  const errors: FieldError[] = [];
  if (!file.path) errors.push(FieldError.required(path.child('path')));
  errors.push(...validateLocalNonReservedPath(file.path, path.child('path')));
  if (file.fieldRef) {
    errors.push(...validateObjectFieldSelector(file.fieldRef, path.child('fieldRef'), VOLUME_FIELD_PATHS));
    if (file.resourceFieldRef)
      errors.push(
        FieldError.invalid(
          path,
          'resource',
          'fieldRef and resourceFieldRef can not be specified simultaneously',
        ),
      );
  } else if (file.resourceFieldRef) {
    if (!file.resourceFieldRef.containerName)
      errors.push(FieldError.required(path.child('resourceFieldRef', 'containerName')));
  } else {
    errors.push(FieldError.required(path, 'one of fieldRef and resourceFieldRef is required'));
  }
  errors.push(...validateFileMode(file.mode, path.child('mode')));
  return errors;
}

function validateProjected(projected: NonNullable<Volume['projected']>, path: FieldPath): FieldError[] {
  const errors = validateFileMode(projected.defaultMode, path.child('defaultMode'));
  const paths = new Set<string>();
  const claimPath = (target: string, badValue: string): void => {
    if (paths.has(target)) errors.push(FieldError.invalid(path, badValue, 'conflicting duplicate paths'));
    paths.add(target);
  };
  (projected.sources ?? []).forEach((source, i) => {
    const sourcePath = path.child('sources').index(i);
    let count = 0;
    for (const kind of ['secret', 'configMap'] as const) {
      const ref = source[kind];
      if (!ref) continue;
      count += 1;
      if (!ref.name) errors.push(FieldError.required(sourcePath.child(kind, 'name')));
      (ref.items ?? []).forEach((item, j) => {
        errors.push(...validateKeyToPath(item, sourcePath.child(kind, 'items').index(j)));
        if (item.path) claimPath(item.path, ref.name ?? '');
      });
    }
    if (source.downwardAPI) {
      count += 1;
      for (const file of source.downwardAPI.items ?? []) {
        errors.push(...validateDownwardAPIFile(file, sourcePath.child('downwardAPI')));
        if (file.path) claimPath(file.path, file.path);
      }
    }
    if (source.serviceAccountToken) {
      count += 1;
      const token = source.serviceAccountToken;
      const expiration = token.expirationSeconds ?? 0;
      const tokenPath = sourcePath.child('serviceAccountToken');
      if (expiration < 600)
        errors.push(
          FieldError.invalid(
            tokenPath.child('expirationSeconds'),
            expiration,
            'may not specify a duration less than 10 minutes',
          ),
        );
      if (expiration > 2 ** 32)
        errors.push(
          FieldError.invalid(
            tokenPath.child('expirationSeconds'),
            expiration,
            'may not specify a duration larger than 2^32 seconds',
          ),
        );
      if (!token.path) errors.push(FieldError.required(path.child('path')));
      else errors.push(...validateLocalNonReservedPath(token.path, path.child('path')));
    }
    if (source.clusterTrustBundle) count += 1;
    if (count > 1)
      errors.push(FieldError.forbidden(sourcePath, 'may not specify more than 1 volume type per source'));
  });
  return errors;
}
