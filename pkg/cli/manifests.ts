/** Reading manifests named by `-f`: files, directories (`-R` for subdirectories) and stdin. */
import { promises as fs } from 'fs';
import { join, resolve } from 'path';
import { decodeManifests, ManifestEntry } from '../api';
import { CommandIO } from './io';

const MANIFEST_FILE = /\.(ya?ml|json)$/;

/** A file (or stdin) to read, named as the user will see it in messages. */
export interface Source {
  name: string;
  read(): Promise<string>;
}

export async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** The files one `-f` names: the file, or a directory's manifest files (sorted; subdirectories with -R). */
export async function expand(
  filename: string,
  options: { recursive: boolean },
  io: CommandIO,
): Promise<Source[]> {
  if (filename === '-') return [{ name: '-', read: () => readStream(io.stdin) }];
  const absolute = resolve(io.cwd, filename);
  const stat = await fs.stat(absolute).catch(() => undefined);
  if (!stat) throw new MissingPathError(filename);
  if (!stat.isDirectory()) return [{ name: filename, read: () => fs.readFile(absolute, 'utf8') }];
  const entries = (await fs.readdir(absolute, { withFileTypes: true })).sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
  );
  const sources: Source[] = [];
  for (const entry of entries) {
    const child = join(filename, entry.name);
    if (entry.isDirectory()) {
      if (options.recursive) sources.push(...(await expand(child, options, io)));
    } else if (MANIFEST_FILE.test(entry.name)) {
      sources.push({ name: child, read: () => fs.readFile(resolve(io.cwd, child), 'utf8') });
    }
  }
  return sources;
}

export class MissingPathError extends Error {
  constructor(readonly path: string) {
    super(`the path ${JSON.stringify(path)} does not exist`);
  }
}

/**
 * Every manifest entry of every `-f`, in order; a path that does not exist or cannot be read
 * is handed to `onError` and the rest is still read.
 */
export async function readManifests(
  filenames: string[],
  options: { recursive: boolean },
  io: CommandIO,
  onError: (message: string) => void,
): Promise<ManifestEntry[]> {
  const entries: ManifestEntry[] = [];
  for (const filename of filenames) {
    let sources: Source[];
    try {
      sources = await expand(filename, options, io);
    } catch (error) {
      if (!(error instanceof MissingPathError)) throw error;
      onError(error.message);
      continue;
    }
    for (const source of sources) {
      let text: string;
      try {
        text = await source.read();
      } catch (error) {
        onError(`${source.name}: ${(error as Error).message}`);
        continue;
      }
      entries.push(...decodeManifests(text, source.name));
    }
  }
  return entries;
}
