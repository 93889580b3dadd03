import type Docker from 'dockerode';

/**
 * A Docker client, loaded on first use: dockerode is a tenth of a second to load, and most
 * bosun processes (masters, the API front, every kubectl-like command) never talk to Docker.
 */
export async function dockerClient(): Promise<Docker> {
  const { default: DockerClient } = await import('dockerode');
  return new DockerClient();
}

/** Where a command reads and writes; tests pass their own, the executable passes the process's. */
export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  /** Working directory for relative paths (files, .bosun). */
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export function processIO(): CommandIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    cwd: process.cwd(),
    env: process.env,
  };
}

/** An error whose message is meant for the person at the terminal: printed as is, exit code 1. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * A duration flag in milliseconds, written as Go (and so kubectl) writes durations: `500ms`,
 * `10s`, `1.5m`, `1h30m`, `0`; the fallback when absent. Errors read as kubectl's.
 */
export function parseDuration(value: string | undefined, fallbackMs: number, flag = '--duration'): number {
  if (value === undefined) return fallbackMs;
  const invalid = () =>
    new UsageError(`invalid argument "${value}" for "${flag}" flag: time: invalid duration "${value}"`);
  if (value === '0') return 0;
  if (value.length === 0) throw invalid();
  const part = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let total = 0;
  let index = 0;
  while (index < value.length) {
    part.lastIndex = index;
    const match = part.exec(value);
    if (!match) throw invalid();
    total += Number(match[1]) * DURATION_UNITS[match[2]];
    index = part.lastIndex;
  }
  return total;
}
