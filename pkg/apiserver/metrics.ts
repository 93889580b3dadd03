/** Prometheus metrics of one apiserver (its own registry: several masters may share a process in tests). */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface RaftGauges {
  term: number;
  commitIndex: number;
  appliedIndex: number;
  isLeader: boolean;
}

export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'apiserver_request_total',
    help: 'API requests by verb, resource and HTTP code.',
    labelNames: ['verb', 'resource', 'code'],
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'apiserver_request_duration_seconds',
    help: 'API request latency by verb and resource (watches: time to the response headers).',
    labelNames: ['verb', 'resource'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly watchers = new Gauge({
    name: 'apiserver_registered_watchers',
    help: 'Open watches by resource.',
    labelNames: ['resource'],
    registers: [this.registry],
  });

  constructor(raft?: () => RaftGauges) {
    if (!raft) return;
    const gauge = (name: string, help: string, read: (g: RaftGauges) => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read(raft()));
        },
      });
    gauge('bosun_raft_term', 'Current Raft term.', (g) => g.term);
    gauge('bosun_raft_commit_index', 'Raft commit index.', (g) => g.commitIndex);
    gauge('bosun_raft_applied_index', 'Raft applied index (the store revision).', (g) => g.appliedIndex);
    gauge('bosun_raft_is_leader', '1 on the Raft leader, else 0.', (g) => (g.isLeader ? 1 : 0));
  }
}
