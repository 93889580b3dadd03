/**
 * A pod's volumes on this node:
 * - emptyDir: a Docker volume of the pod's own, removed with the pod (tmpfs for medium Memory);
 * - configMap / secret: files written under the agent's data directory and bind-mounted
 *   read-only; rewritten atomically (a `..data` link swapped to a new directory, as the
 *   kubelet does) when the object changes, so readers never see half an update;
 * - hostPath: a bind mount, only on agents started with --allow-host-path;
 * - persistentVolumeClaim: a named Docker volume per claim that outlives the pod.
 */
import { createHash } from 'crypto';
import { promises as fs } from 'fs';
import { join } from 'path';
import { ConfigMap, Container, Pod, Secret, Volume } from '../api';
import { LABEL } from './runtime/labels';
import { ContainerRuntime, Mount } from './runtime/types';

export class VolumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VolumeError';
  }
}

export interface VolumeSources {
  configMap(namespace: string, name: string): ConfigMap | undefined;
  secret(namespace: string, name: string): Secret | undefined;
}

export interface VolumeManagerOptions {
  runtime: ContainerRuntime;
  nodeName: string;
  /** Absolute: bind mounts name host paths. */
  dataDir: string;
  allowHostPath: boolean;
  extraLabels?: Record<string, string>;
}

type Files = Map<string, { content: Buffer; mode: number }>;

export function emptyDirVolumeName(podUid: string, volume: string): string {
  return `bosun-${podUid}-${volume}`;
}

export function claimVolumeName(namespace: string, claim: string): string {
  return `bosun-pvc-${namespace}-${claim}`;
}

export class VolumeManager {
  /** Content hash of each projected volume last written, so unchanged objects are not rewritten. */
  private readonly written = new Map<string, string>();

  constructor(private readonly options: VolumeManagerOptions) {}

  podDir(uid: string): string {
    return join(this.options.dataDir, 'pods', uid);
  }

  /** Makes every volume of the pod exist with its current content. Throws VolumeError when one cannot. */
  async setUp(pod: Pod, sources: VolumeSources): Promise<void> {
    const uid = pod.metadata.uid!;
    const namespace = pod.metadata.namespace ?? 'default';
    for (const volume of pod.spec.volumes ?? []) {
      if (volume.emptyDir && volume.emptyDir.medium !== 'Memory') {
        await this.options.runtime.ensureVolume(
          emptyDirVolumeName(uid, volume.name),
          this.labels({ [LABEL.podUid]: uid, [LABEL.volumeName]: volume.name }),
        );
      } else if (volume.persistentVolumeClaim) {
        const claim = volume.persistentVolumeClaim.claimName;
        await this.options.runtime.ensureVolume(
          claimVolumeName(namespace, claim),
          this.labels({ [LABEL.claim]: `${namespace}/${claim}` }),
        );
      } else if (volume.configMap || volume.secret) {
        await this.writeProjected(pod, volume, sources);
      } else if (volume.hostPath && !this.options.allowHostPath) {
        throw new VolumeError(
          `hostPath volume "${volume.name}" is not allowed on this node: start the agent with --allow-host-path to allow it`,
        );
      }
    }
  }

  private labels(extra: Record<string, string>): Record<string, string> {
    return { ...this.options.extraLabels, [LABEL.node]: this.options.nodeName, ...extra };
  }

  private async writeProjected(pod: Pod, volume: Volume, sources: VolumeSources): Promise<void> {
    const namespace = pod.metadata.namespace ?? 'default';
    const files: Files = new Map();
    const source = volume.configMap ?? volume.secret!;
    const name = volume.configMap ? volume.configMap.name : volume.secret!.secretName;
    const defaultMode = source.defaultMode ?? 0o644;
    const object = volume.configMap
      ? sources.configMap(namespace, name ?? '')
      : sources.secret(namespace, name ?? '');
    const kind = volume.configMap ? 'configmap' : 'secret';
    if (!object && !source.optional) throw new VolumeError(`${kind} "${name}" not found`);
    const data: Record<string, Buffer> = {};
    if (object && 'binaryData' in object)
      for (const [k, v] of Object.entries(object.binaryData ?? {})) data[k] = Buffer.from(v, 'base64');
    for (const [k, v] of Object.entries(object?.data ?? {}))
      data[k] = volume.secret ? Buffer.from(v, 'base64') : Buffer.from(v, 'utf8');
    if (source.items?.length) {
      for (const item of source.items) {
        const content = data[item.key];
        if (content === undefined) {
          if (source.optional) continue;
          throw new VolumeError(`${kind} "${name}" has no key "${item.key}"`);
        }
        files.set(item.path, { content, mode: item.mode ?? defaultMode });
      }
    } else {
      for (const [key, content] of Object.entries(data)) files.set(key, { content, mode: defaultMode });
    }
    await this.writeAtomically(join(this.podDir(pod.metadata.uid!), 'volumes', volume.name), files);
  }

  /**
   * Writes the files into a new timestamped directory, then swaps `..data` to it with one
   * rename; each file is a link through `..data`, so a reader sees the old set or the new one.
   */
  private async writeAtomically(dir: string, files: Files): Promise<void> {
    const hash = createHash('sha256');
    for (const [path, { content, mode }] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
      hash.update(path).update(String(mode)).update(content);
    }
    const digest = hash.digest('hex');
    if (this.written.get(dir) === digest) return;
    await fs.mkdir(dir, { recursive: true });
    const version = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${digest.slice(0, 8)}`;
    const versionDir = join(dir, version);
    await fs.mkdir(versionDir, { recursive: true });
    for (const [path, { content, mode }] of files) {
      const target = join(versionDir, path);
      await fs.mkdir(join(target, '..'), { recursive: true });
      await fs.writeFile(target, content, { mode });
      await fs.chmod(target, mode);
    }
    const tmpLink = join(dir, '..data_tmp');
    await fs.rm(tmpLink, { force: true });
    await fs.symlink(version, tmpLink);
    await fs.rename(tmpLink, join(dir, '..data'));
    const topLevel = new Set([...files.keys()].map((p) => p.split('/')[0]));
    for (const entry of await fs.readdir(dir)) {
      if (entry.startsWith('..')) {
        if (entry !== version && entry !== '..data')
          await fs.rm(join(dir, entry), { recursive: true, force: true });
        continue;
      }
      if (!topLevel.has(entry)) await fs.rm(join(dir, entry), { recursive: true, force: true });
    }
    for (const name of topLevel) {
      const link = join(dir, name);
      const existing = await fs.readlink(link).catch(() => undefined);
      if (existing !== join('..data', name)) {
        await fs.rm(link, { recursive: true, force: true });
        await fs.symlink(join('..data', name), link);
      }
    }
    this.written.set(dir, digest);
  }

  /** The mounts of one container (its volumeMounts, and its termination-message file). */
  mounts(pod: Pod, container: Container, terminationLog: string | undefined): Mount[] {
    const uid = pod.metadata.uid!;
    const namespace = pod.metadata.namespace ?? 'default';
    const volumes = new Map((pod.spec.volumes ?? []).map((v) => [v.name, v]));
    const mounts: Mount[] = [];
    for (const mount of container.volumeMounts ?? []) {
      const volume = volumes.get(mount.name);
      if (!volume) throw new VolumeError(`volumeMount "${mount.name}" names no volume of the pod`);
      const readOnly = mount.readOnly ?? false;
      const sub = mount.subPath ? `/${mount.subPath}` : '';
      if (volume.emptyDir?.medium === 'Memory') {
        const size = volume.emptyDir.sizeLimit;
        mounts.push({
          type: 'tmpfs',
          target: mount.mountPath,
          ...(size ? { sizeBytes: Number(size.replace(/[^0-9]/g, '')) || undefined } : {}),
        });
      } else if (volume.emptyDir) {
        mounts.push({
          type: 'volume',
          source: emptyDirVolumeName(uid, volume.name),
          target: mount.mountPath,
          readOnly,
        });
      } else if (volume.persistentVolumeClaim) {
        mounts.push({
          type: 'volume',
          source: claimVolumeName(namespace, volume.persistentVolumeClaim.claimName),
          target: mount.mountPath,
          readOnly,
        });
      } else if (volume.configMap || volume.secret) {
        mounts.push({
          type: 'bind',
          source: join(this.podDir(uid), 'volumes', volume.name) + sub,
          target: mount.mountPath,
          readOnly: true,
        });
      } else if (volume.hostPath) {
        if (!this.options.allowHostPath)
          throw new VolumeError(`hostPath volume "${volume.name}" is not allowed on this node`);
        mounts.push({ type: 'bind', source: volume.hostPath.path + sub, target: mount.mountPath, readOnly });
      } else {
        throw new VolumeError(`volume "${volume.name}" is of a type bosun does not support`);
      }
    }
    if (terminationLog) {
      mounts.push({
        type: 'bind',
        source: terminationLog,
        target: container.terminationMessagePath ?? '/dev/termination-log',
        readOnly: false,
      });
    }
    return mounts;
  }

  /** A fresh host file for a container attempt's termination message. */
  async terminationLog(uid: string, container: string, attempt: number): Promise<string> {
    const dir = join(this.podDir(uid), 'containers', container);
    await fs.mkdir(dir, { recursive: true });
    const path = join(dir, `${attempt}.termination-log`);
    await fs.writeFile(path, '', { mode: 0o666 });
    return path;
  }

  async readTerminationLog(uid: string, container: string, attempt: number): Promise<string | undefined> {
    const text = await fs
      .readFile(join(this.podDir(uid), 'containers', container, `${attempt}.termination-log`), 'utf8')
      .catch(() => '');
    return text.length > 0 ? text.slice(0, 4096) : undefined;
  }

  /** Removes the pod's own volumes and files (claims stay: they outlive pods). */
  async tearDown(uid: string, volumeNames: string[]): Promise<void> {
    for (const name of volumeNames) await this.options.runtime.removeVolume(emptyDirVolumeName(uid, name));
    await fs.rm(this.podDir(uid), { recursive: true, force: true });
    for (const key of this.written.keys()) if (key.startsWith(this.podDir(uid))) this.written.delete(key);
  }
}
