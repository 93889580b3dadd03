/**
 * The API conformance suite over real HTTP against three real `bosun master` processes: every
 * check the in-process apiserver passes, passed by a replicated cluster, with requests spread
 * over the masters (so writes reach followers and are forwarded to the leader).
 */
import { describeApiConformance } from '../support/api-conformance';
import { TestCluster } from '../support/masters';

describeApiConformance('a three-master cluster', async () => {
  const cluster = await TestCluster.start(3, ['--history-events', '200']);
  return {
    servers: cluster.masters.map((m) => `http://${m.api}`),
    adminToken: cluster.token,
    readonlyToken: 'ro',
    historyEvents: 200,
    close: () => cluster.stop(),
  };
});
