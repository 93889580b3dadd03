/**
 * Bearer-token authentication and a small authorizer: admin tokens may do anything, read-only
 * tokens only read (get, list, watch), node tokens (one per agent) read everything and write
 * what a kubelet writes, the proxy token reads everything and writes only Services' status
 * (LoadBalancer ingress) and events. Tokens are compared in constant time and never logged.
 */
import { createHash, timingSafeEqual } from 'crypto';

export type Role = 'admin' | 'readonly' | 'node' | 'proxy';

export interface Identity {
  /** e.g. `admin`, `readonly`, `system:node:node-1`. */
  user: string;
  role: Role;
  /** For node identities: the node's name. */
  node?: string;
}

export interface TokenEntry {
  token: string;
  identity: Identity;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export class Authenticator {
  private readonly entries: Array<{ digest: Buffer; identity: Identity }>;

  constructor(tokens: TokenEntry[]) {
    this.entries = tokens.map((t) => ({ digest: digest(t.token), identity: t.identity }));
  }

  /** The identity of an Authorization header, or undefined when it names no known token. */
  authenticate(authorization: string | undefined): Identity | undefined {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) return undefined;
    const presented = digest(match[1]);
    let found: Identity | undefined;
    // Every entry is compared, so the time taken says nothing of which one matched.
    for (const entry of this.entries) if (timingSafeEqual(entry.digest, presented)) found = entry.identity;
    return found;
  }
}

const READ_VERBS = new Set(['get', 'list', 'watch']);
/** What a kubelet writes: its node and lease, events, its pods' status, and pod deletion after graceful termination. */
const NODE_WRITES = new Set(['nodes', 'nodes/status', 'leases', 'events', 'pods/status', 'pods']);

/** What the service proxy writes: a LoadBalancer Service's ingress address, and events. */
const PROXY_WRITES = new Set(['services/status', 'events']);

export function authorize(identity: Identity, verb: string, resource: string): boolean {
  if (identity.role === 'admin') return true;
  if (READ_VERBS.has(verb)) return true;
  if (identity.role === 'node') return NODE_WRITES.has(resource);
  if (identity.role === 'proxy') return PROXY_WRITES.has(resource);
  return false;
}
