import { randomBytes } from 'crypto';
import { LocalStore } from '../store/local';
import { MvccStore } from '../store/mvcc';
import { Authenticator, TokenEntry } from './auth';
import { ensureSystemNamespaces } from './bootstrap';
import { ObjectStore } from './objects';
import { podLogsHandler } from './pod-logs';
import { podStreamHandlers } from './pod-streams';
import { ApiServer } from './server';
import { serviceAllocationHooks } from './services';

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/16';
export const DEFAULT_NODE_PORT_RANGE: [number, number] = [30000, 32767];

/** An ObjectStore with bosun's standard hooks (Service allocations) over any storage. */
export function standardObjectStore(
  storage: ObjectStore['storage'],
  serviceCIDR = DEFAULT_SERVICE_CIDR,
): ObjectStore {
  return new ObjectStore(storage, {
    hooks: { Service: serviceAllocationHooks({ serviceCIDR, nodePortRange: DEFAULT_NODE_PORT_RANGE }) },
  });
}

export interface LocalApiServer {
  url: string;
  adminToken: string;
  readonlyToken: string;
  objects: ObjectStore;
  server: ApiServer;
  close(): Promise<void>;
}

/**
 * A whole apiserver in this process on a LocalStore: the in-memory apiserver that the
 * scheduler's and controllers' tests run against. Same code as a master's, minus Raft.
 */
export async function startLocalApiServer(
  extraTokens: TokenEntry[] = [],
  options: { historyEvents?: number } = {},
): Promise<LocalApiServer> {
  const adminToken = randomBytes(24).toString('hex');
  const readonlyToken = randomBytes(24).toString('hex');
  const objects = standardObjectStore(
    new LocalStore(new MvccStore({ historyEvents: options.historyEvents })),
  );
  const nodeToken = (node: string) => extraTokens.find((t) => t.identity.node === node)?.token;
  await ensureSystemNamespaces(objects);
  const server = new ApiServer({
    objects,
    authenticator: new Authenticator([
      { token: adminToken, identity: { user: 'admin', role: 'admin' } },
      { token: readonlyToken, identity: { user: 'readonly', role: 'readonly' } },
      ...extraTokens,
    ]),
    bookmarkIntervalMs: 1000,
    subresources: { 'pods/log': podLogsHandler(objects, nodeToken) },
    streams: podStreamHandlers(objects, nodeToken),
  });
  const address = await server.listen(0);
  return {
    url: `http://127.0.0.1:${address.port}`,
    adminToken,
    readonlyToken,
    objects,
    server,
    close: () => server.close(),
  };
}
