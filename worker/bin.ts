#!/usr/bin/env node
// The entry point of the worker image and of the `work-queue` command: runs the CLI and turns its
// result into the process exit code.
import { main } from './cli';
import { ExitCode } from './contract';
import { CliError } from './errors';

main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof CliError) {
      for (const line of error.message.split('\n')) process.stderr.write(`work-queue: ${line}\n`);
      process.exit(error.exitCode);
    }
    process.stderr.write(`work-queue: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(ExitCode.failed);
  },
);
