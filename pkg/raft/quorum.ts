/** Majority math, pure. */
import { NodeId } from './types';

/**
 * The highest index stored on a majority of `voters`: sort their match indexes descending
 * and take the one at position ⌊n/2⌋ — that many voters plus one have at least it.
 */
export function committedIndex(voters: readonly NodeId[], match: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const indexes = voters.map(match).sort((a, b) => b - a);
  return indexes[Math.floor(voters.length / 2)];
}

export type VoteResult = 'won' | 'lost' | 'pending';

export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const needed = Math.floor(voters.length / 2) + 1;
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === true) granted++;
    else if (vote === false) rejected++;
  }
  if (granted >= needed) return 'won';
  if (rejected > voters.length - needed) return 'lost';
  return 'pending';
}

export function isQuorum(voters: readonly NodeId[], members: ReadonlySet<NodeId>): boolean {
  return voters.filter((id) => members.has(id)).length >= Math.floor(voters.length / 2) + 1;
}
