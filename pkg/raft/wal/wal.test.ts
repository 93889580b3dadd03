import { promises as fs } from 'fs';
import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Entry } from '../types';
import { Wal, WalCorruptError } from './wal';

const entry = (index: number, term = 1, text = `e${index}`): Entry => ({
  index,
  term,
  type: 'normal',
  data: new TextEncoder().encode(text),
});
const range = (from: number, to: number, term = 1) =>
  Array.from({ length: to - from + 1 }, (_, i) => entry(from + i, term));
const texts = (entries: Entry[]) =>
  entries.map((e) => `${e.index}:${e.term}:${new TextDecoder().decode(e.data)}`);

function newDir(): string {
  return mkdtempSync(join(tmpdir(), 'bosun-wal-'));
}

async function segments(dir: string): Promise<string[]> {
  return (await fs.readdir(join(dir, 'wal'))).sort().map((f) => join(dir, 'wal', f));
}

describe('Wal', () => {
  it('reads back entries and the latest hard state after a reopen', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir);
    await wal.save(range(1, 3), { term: 1, vote: 'm1', commit: 0 }, true);
    await wal.save(range(4, 5), { term: 1, vote: 'm1', commit: 3 }, true);
    await wal.save([], { term: 2, vote: 'm2', commit: 5 }, true);
    await wal.close();
    const { wal: again, contents } = await Wal.open(dir);
    expect(contents.hardState).toEqual({ term: 2, vote: 'm2', commit: 5 });
    expect(texts(contents.entries)).toEqual(texts(range(1, 5)));
    await again.close();
  });

  it("keeps the newer entries when a later record overwrites an index (a new leader's log)", async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir);
    await wal.save(range(1, 5, 1), undefined, true);
    await wal.save([entry(3, 2, 'new3'), entry(4, 2, 'new4')], undefined, true);
    await wal.close();
    const { contents } = await Wal.open(dir);
    expect(texts(contents.entries)).toEqual(['1:1:e1', '2:1:e2', '3:2:new3', '4:2:new4']);
  });

  it('truncates a torn last record and notes it', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir);
    await wal.save(range(1, 3), { term: 1, vote: '', commit: 2 }, true);
    await wal.close();
    const [segment] = await segments(dir);
    const size = (await fs.stat(segment)).size;
    await fs.truncate(segment, size - 5); // the last record (the hard state) was cut short
    const warnings: unknown[] = [];
    const log = { warn: (...args: unknown[]) => warnings.push(args), error: () => undefined } as never;
    const { wal: again, contents } = await Wal.open(dir, { log });
    expect(texts(contents.entries)).toEqual(texts(range(1, 3)));
    expect(contents.hardState).toEqual({ term: 0, vote: '', commit: 0 });
    expect(warnings).toHaveLength(1);
    // The file was truncated at the torn record: new writes follow good data.
    await again.save([entry(4)], undefined, true);
    await again.close();
    expect(texts((await Wal.open(dir)).contents.entries)).toEqual(texts(range(1, 4)));
  });

  it('refuses a flipped byte before the tail, naming the file and offset', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir);
    await wal.save(range(1, 10), undefined, true);
    await wal.close();
    const [segment] = await segments(dir);
    const data = await fs.readFile(segment);
    data[40] ^= 0xff;
    await fs.writeFile(segment, data);
    const error = await Wal.open(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WalCorruptError);
    expect((error as Error).message).toMatch(new RegExp(`bad CRC in ${segment} at offset \\d+`));
  });

  it('opens an empty segment file as an empty log', async () => {
    const dir = newDir();
    await fs.mkdir(join(dir, 'wal'), { recursive: true });
    await fs.writeFile(join(dir, 'wal', '0000000000000001.wal'), '');
    const { wal, contents } = await Wal.open(dir);
    expect(contents).toEqual({
      hardState: { term: 0, vote: '', commit: 0 },
      entries: [],
      snapshot: undefined,
    });
    await wal.close();
  });

  it('refuses a missing segment', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir, { segmentBytes: 200 });
    for (let i = 1; i <= 30; i++) await wal.save([entry(i)], { term: 1, vote: '', commit: i - 1 }, false);
    await wal.close();
    const all = await segments(dir);
    expect(all.length).toBeGreaterThanOrEqual(3);
    await fs.rm(all[1]);
    await expect(Wal.open(dir)).rejects.toThrow(/segment 0+2\.wal is missing/);
  });

  it('saves snapshots, releases the segments they cover, and reopens from them', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir, { segmentBytes: 300 });
    for (let i = 1; i <= 40; i++) await wal.save([entry(i)], { term: 1, vote: 'm1', commit: i }, false);
    const before = (await segments(dir)).length;
    const snapshot = {
      meta: { index: 30, term: 1, conf: { voters: ['m1', 'm2', 'm3'], learners: [] } },
      data: new TextEncoder().encode('state@30'),
    };
    await wal.saveSnapshot(snapshot);
    await wal.save(range(41, 42), { term: 1, vote: 'm1', commit: 42 }, true);
    await wal.close();
    expect((await segments(dir)).length).toBeLessThan(before);
    const { contents } = await Wal.open(dir);
    expect(contents.snapshot).toEqual(snapshot);
    expect(contents.entries[0].index).toBe(31);
    expect(contents.entries[contents.entries.length - 1].index).toBe(42);
    expect(contents.hardState.commit).toBe(42);
  });

  it('writes large batches in one save', async () => {
    const dir = newDir();
    const { wal } = await Wal.open(dir);
    const batch = Array.from({ length: 2000 }, (_, i) => entry(i + 1, 1, 'x'.repeat(1024)));
    await wal.save(batch, { term: 1, vote: '', commit: 0 }, true);
    await wal.close();
    expect((await Wal.open(dir)).contents.entries).toHaveLength(2000);
  });
});
