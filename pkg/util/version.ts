import { existsSync, readFileSync } from 'fs';
import { dirname, join } from 'path';

let cached: string | undefined;

/** bosun's version, from the package.json above this file (the same from source and from dist/). */
export function bosunVersion(): string {
  if (cached !== undefined) return cached;
  let dir = __dirname;
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      const pkg = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'bosun' && pkg.version) return (cached = pkg.version);
    }
    const parent = dirname(dir);
    if (parent === dir) return (cached = '0.0.0-unknown');
    dir = parent;
  }
}

/** The Kubernetes minor version bosun's API corresponds to (kubectl warns beyond one minor version of skew). */
export const KUBERNETES_MINOR = '32';

/** What agents report as their kubelet version, as Kubernetes nodes do (`kubectl get nodes` VERSION). */
export function kubeletVersion(): string {
  return `v1.${KUBERNETES_MINOR}.0-bosun.${bosunVersion()}`;
}

/** The path of the built `bosun` executable (dist/cmd/bosun.js), to start masters and agents with. */
export function bosunExecutable(): string {
  let dir = __dirname;
  for (;;) {
    const candidate = join(dir, 'package.json');
    if (
      existsSync(candidate) &&
      (JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string }).name === 'bosun'
    ) {
      return join(dir, 'dist', 'cmd', 'bosun.js');
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the bosun installation (package.json)');
    dir = parent;
  }
}
