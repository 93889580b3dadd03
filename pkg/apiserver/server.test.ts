import { describeApiConformance } from '../../test/support/api-conformance';
import { startLocalApiServer } from './local';

// The whole conformance suite against the in-process apiserver (LocalStore, real HTTP).
describeApiConformance('apiserver on a local store', async () => {
  const api = await startLocalApiServer([], { historyEvents: 200 });
  return {
    servers: [api.url],
    adminToken: api.adminToken,
    readonlyToken: api.readonlyToken,
    historyEvents: 200,
    close: api.close,
  };
});
