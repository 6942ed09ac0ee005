#!/usr/bin/env node
// The entry point of the worker image and of the `work-queue` command: runs the CLI, turns its
// result into the process exit code, and ends what WORK_COMMAND left running and the traces not sent yet. Every error is one
// line; an unexpected one shows its stack trace only with WORK_QUEUE_DEBUG=1.
import { main } from './cli';
import { firstLine, thrownField } from './thrown';
import { CliError, exitCodeOf } from './errors';
import { endCommands } from './handler';
import { dropOutputOnceUnread, flushLines, linesWritten } from './stdout-lines';
import { endTracing } from './tracing/load';

const DEBUG = 'WORK_QUEUE_DEBUG';

let exiting = false;

async function exit(code: number): Promise<never> {
  if (!exiting) {
    exiting = true;
    await endCommands();
    await endTracing();
  }
  flushLines();
  await linesWritten();
  process.exit(code);
}

function fail(error: unknown): Promise<never> {
  if (error instanceof CliError) {
    for (const line of error.message.split('\n')) process.stderr.write(`work-queue: ${line}\n`);
    return exit(exitCodeOf(error));
  }
  const debug = process.env[DEBUG] && process.env[DEBUG] !== '0';
  const text = debug
    ? String(thrownField(error, 'stack') ?? error)
    : `${firstLine(error)} (${DEBUG}=1 shows the stack trace)`;
  process.stderr.write(`work-queue: unexpected error: ${text}\n`);
  return exit(exitCodeOf(error));
}

dropOutputOnceUnread();
process.on('uncaughtException', (error) => void fail(error));
process.on('unhandledRejection', (error) => void fail(error));

main(process.argv.slice(2), process.env).then(exit, fail);
