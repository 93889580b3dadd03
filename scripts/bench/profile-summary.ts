/**
 * Where the time goes in a V8 CPU profile (`node --cpu-prof`): self time by function and by
 * file, busiest first. For the benchmarks' profiling of masters and agents.
 *
 *   node dist/scripts/bench/profile-summary.js FILE.cpuprofile [--top 25]
 */
import { readFileSync } from 'fs';
import { parseArgs } from 'util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' } },
  allowPositionals: true,
});
const top = Number(values.top);

function shortUrl(url: string): string {
  if (!url) return '(native)';
  const at = url.lastIndexOf('/node_modules/');
  if (at >= 0) return url.slice(at + 1);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 6);
  return url.replace(/^file:\/\//, '');
}

for (const file of positionals) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let idle = 0;
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') idle += us;
    const name = `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const f = frame.url ? shortUrl(frame.url) : frame.functionName;
    byFile.set(f, (byFile.get(f) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
  const busy = total - idle;
  console.log(
    `${file}\n  ${(total / 1e6).toFixed(1)} s profiled, busy ${(busy / 1e6).toFixed(1)} s (${pct(busy).trim()})`,
  );
  console.log('  self time by file:');
  for (const [name, us] of [...byFile].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`    ${pct(us)}  ${name}`);
  console.log('  self time by function:');
  for (const [name, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`    ${pct(us)}  ${name}`);
}
