#!/usr/bin/env node
// The one bosun executable: thin wiring; every command lives in pkg/cli.
import { main } from '../pkg/cli/main';
import { processIO } from '../pkg/cli/io';
import '../pkg/cli/commands';

main(process.argv.slice(2), processIO()).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
