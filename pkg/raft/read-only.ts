/**
 * ReadIndex (thesis §6.4): a linearizable read without a log write. The leader records its
 * commit index for the request, then confirms it is still leader with a round of
 * heartbeats carrying the request's context; once a quorum has answered, every request
 * recorded up to that one may be served when the apply index reaches its commit index.
 */
import { NodeId } from './types';

export interface ReadRequest {
  context: string;
  index: number;
  /** Who asked: the leader itself, or a follower that forwarded its client's read. */
  from: NodeId;
  acks: Set<NodeId>;
}

export class ReadOnly {
  private queue: ReadRequest[] = [];
  private readonly byContext = new Map<string, ReadRequest>();

  add(context: string, index: number, from: NodeId, self: NodeId): void {
    if (this.byContext.has(context)) return;
    const request: ReadRequest = { context, index, from, acks: new Set([self]) };
    this.queue.push(request);
    this.byContext.set(context, request);
  }

  /** A heartbeat response echoing `context` from `from`; returns the acks collected so far. */
  ack(context: string, from: NodeId): Set<NodeId> | undefined {
    const request = this.byContext.get(context);
    if (!request) return undefined;
    request.acks.add(from);
    return request.acks;
  }

  /** Removes and returns every request up to and including `context` (in order). */
  release(context: string): ReadRequest[] {
    const at = this.queue.findIndex((r) => r.context === context);
    if (at < 0) return [];
    const released = this.queue.splice(0, at + 1);
    for (const request of released) this.byContext.delete(request.context);
    return released;
  }

  /** The newest pending context (heartbeats carry it, confirming every older one as well). */
  lastPending(): string {
    return this.queue.length > 0 ? this.queue[this.queue.length - 1].context : '';
  }

  /** Leadership changed: pending reads cannot be confirmed; their callers time out and retry. */
  reset(): void {
    this.queue = [];
    this.byContext.clear();
  }
}
