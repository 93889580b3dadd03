import { bosunVersion } from '../util/version';
import { CommandIO, UsageError } from './io';

/** One `bosun` verb. `run` returns the process exit code. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[], io: CommandIO): Promise<number>;
}

const commands = new Map<string, Command>();

export function registerCommand(command: Command): void {
  if (commands.has(command.name)) throw new Error(`command ${command.name} registered twice`);
  commands.set(command.name, command);
}

function helpText(): string {
  const width = Math.max(...[...commands.keys()].map((name) => name.length));
  const lines = [...commands.values()].map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'bosun: a lightweight container orchestrator that speaks the Kubernetes API.',
    '',
    'Usage: bosun COMMAND [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run "bosun help COMMAND" for the options of one command.',
    '',
  ].join('\n');
}

registerCommand({
  name: 'help',
  summary: 'Show the commands, or the usage of one command',
  usage: 'bosun help [COMMAND]',
  async run(args, io) {
    if (args.length === 0) {
      io.stdout.write(helpText());
      return 0;
    }
    const command = commands.get(args[0]);
    if (!command) throw new UsageError(`unknown command "${args[0]}"; run "bosun help" for the list`);
    io.stdout.write(`${command.summary}\n\nUsage: ${command.usage}\n`);
    return 0;
  },
});

registerCommand({
  name: 'version',
  summary: 'Print the bosun version',
  usage: 'bosun version',
  async run(_args, io) {
    io.stdout.write(`bosun ${bosunVersion()} (node ${process.version})\n`);
    return 0;
  },
});

/** Runs one command line (without the executable name) and returns the exit code. */
export async function main(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    io.stdout.write(helpText());
    return name === undefined ? 1 : 0;
  }
  if (name === '--version') return commands.get('version')!.run([], io);
  const command = commands.get(name);
  if (!command) {
    io.stderr.write(`error: unknown command "${name}"; run "bosun help" for the list\n`);
    return 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(`${command.summary}\n\nUsage: ${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
}
