/**
 * The simulator in CI: 2,000 seeds (1,400 three-node, 600 five-node clusters), each with
 * drops, delays, duplicates, partitions, crashes losing unsynced state, pauses, clock drift,
 * snapshots and leadership transfers; safety checked at every step, liveness after healing,
 * and every client history checked for linearizability. A failing seed is printed with the
 * command that replays it.
 */
import { runSeed } from './cluster';

jest.setTimeout(180_000);

const SEEDS = Number(process.env.BOSUN_SIM_SEEDS ?? 2000);
const FIVE_NODE_SHARE = 0.3;

function replay(seed: number, nodes: number): string {
  return `npm run -s sim -- --seed ${seed} --nodes ${nodes} --trace`;
}

describe('raft simulation', () => {
  it.each([
    [3, Math.round(SEEDS * (1 - FIVE_NODE_SHARE)), 1],
    [5, Math.round(SEEDS * FIVE_NODE_SHARE), 100_001],
  ])('%i nodes: %i seeds are safe, live and linearizable', (nodes, count, start) => {
    const failures: string[] = [];
    let operations = 0;
    let elections = 0;
    for (let seed = start; seed < start + count; seed++) {
      const result = runSeed(seed, { nodes });
      operations += result.stats.operations;
      elections += result.stats.elections;
      if (!result.ok) failures.push(`seed ${seed}: ${result.violation}\n  replay: ${replay(seed, nodes)}`);
      if (failures.length >= 3) break;
    }
    expect(failures).toEqual([]);
    // The runs must have done real work, or passing would prove nothing.
    expect(operations / count).toBeGreaterThan(50);
    expect(elections / count).toBeGreaterThan(1);
  });
});
