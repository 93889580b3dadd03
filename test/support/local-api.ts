/**
 * A fresh in-memory apiserver and an admin client for each test of the calling file, closed
 * after it: `const cluster = localApiPerTest();` then `cluster.client()` inside a test.
 */
import { startLocalApiServer, LocalApiServer } from '../../pkg/apiserver/local';
import { Client } from '../../pkg/client';

export interface LocalApiPerTest {
  api(): LocalApiServer;
  client(): Client;
}

export function localApiPerTest(): LocalApiPerTest {
  let api: LocalApiServer | undefined;
  let client: Client | undefined;
  beforeEach(async () => {
    api = await startLocalApiServer();
    client = new Client({ servers: [api.url], token: api.adminToken });
  });
  afterEach(async () => {
    client?.close();
    await api?.close();
  });
  return {
    api: () => api!,
    client: () => client!,
  };
}
