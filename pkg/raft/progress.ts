/**
 * The leader's view of one follower: how much of the log it has (match), what to send next,
 * and how: one probe at a time until the logs agree, then pipelined appends (several in
 * flight), or a snapshot when it is behind the compacted log.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** Probe state: an append is out and unanswered; send no other until a response or heartbeat. */
  probeSent = false;
  /** Replicate state: last indexes of the appends in flight, oldest first. */
  inflights: number[] = [];
  /** Snapshot state: the index of the snapshot being sent. */
  pendingSnapshot = 0;
  /** Heard from it since the last CheckQuorum round. */
  recentActive = true;
  isLearner: boolean;

  constructor(next: number, isLearner = false) {
    this.next = next;
    this.isLearner = isLearner;
  }

  becomeProbe(): void {
    // After a snapshot, resume right after it; otherwise after what we know it has.
    this.next =
      this.state === 'snapshot' ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1;
    this.state = 'probe';
    this.probeSent = false;
    this.inflights = [];
    this.pendingSnapshot = 0;
  }

  becomeReplicate(): void {
    this.state = 'replicate';
    this.next = this.match + 1;
    this.probeSent = false;
    this.inflights = [];
    this.pendingSnapshot = 0;
  }

  becomeSnapshot(index: number): void {
    this.state = 'snapshot';
    this.pendingSnapshot = index;
    this.probeSent = false;
    this.inflights = [];
  }

  /** A successful append response up to `index`; false when it says nothing new. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    // Appends up to `index` have arrived: free their slots.
    while (this.inflights.length > 0 && this.inflights[0] <= index) this.inflights.shift();
    return updated;
  }

  /**
   * A rejected append at `rejected` (the prevIndex we sent); `hint` is where to try next.
   * False when the rejection is stale (we have moved on since).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  /** Whether more appends may be sent now. */
  isPaused(maxInflight: number): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.length >= maxInflight;
      case 'snapshot':
        return true;
    }
  }

  sentEntries(lastIndex: number): void {
    if (this.state === 'replicate') {
      this.next = lastIndex + 1;
      this.inflights.push(lastIndex);
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }
}
