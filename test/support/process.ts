import { ChildProcess, spawn } from 'child_process';
import { createWriteStream, existsSync } from 'fs';
import { join } from 'path';
import { repoRoot } from './docker';

export const BOSUN = join(repoRoot, 'dist', 'cmd', 'bosun.js');

/** A `bosun` process of a test, its output going to a log file (shown when a test fails). */
export interface BosunProcess {
  child: ChildProcess;
  log: string;
  exited: Promise<number | null>;
  /** SIGKILL, and wait until it is gone. */
  kill(): Promise<void>;
  /** SIGTERM, and wait until it has exited. */
  stop(): Promise<void>;
}

export function spawnBosun(args: string[], log: string, env: NodeJS.ProcessEnv = {}): BosunProcess {
  if (!existsSync(BOSUN)) throw new Error(`${BOSUN} does not exist: run "npm run build" first`);
  const out = createWriteStream(log, { flags: 'a' });
  const child = spawn(process.execPath, [BOSUN, ...args], {
    cwd: repoRoot,
    env: { ...process.env, BOSUN_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const signal = async (name: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(name);
    await exited;
  };
  return { child, log, exited, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}
